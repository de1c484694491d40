#include "nextier/adapters/api_sandbox.h"

#include <nlohmann/json.hpp>

namespace nextier::adapters {

namespace {

constexpr size_t kDefaultLimit = 50;
constexpr size_t kMaxLimit = 1000;

// A whole decimal number without sign, or nullopt (also on overflow).
std::optional<uint64_t> ParseUnsigned(std::string_view text) {
  if (text.empty() || text.size() > 19) return std::nullopt;
  uint64_t n = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    n = n * 10 + static_cast<uint64_t>(c - '0');
  }
  return n;
}

}  // namespace

void RegisterSandboxRoutes(Server& server, SandboxSms& sms) {
  const RouteOptions read{{Role::kOps, Role::kAgent, Role::kAuditor}, false, 1024};

  server.AddRoute("GET", "/api/sandbox/outbox", read, [&sms](HttpRequest& req, Responder respond) {
    size_t limit = kDefaultLimit;
    if (const std::string text = req.Query("limit"); !text.empty()) {
      auto n = ParseUnsigned(text);
      if (!n || *n < 1 || *n > kMaxLimit) {
        return respond(HttpResponse::Error(400, "invalid_argument",
                                           "limit must be a whole number from 1 to 1000", "limit"));
      }
      limit = static_cast<size_t>(*n);
    }
    uint64_t after = 0;
    if (const std::string text = req.Query("cursor"); !text.empty()) {
      auto n = ParseUnsigned(text);
      if (!n) {
        return respond(HttpResponse::Error(400, "invalid_argument",
                                           "cursor is not one this list returned", "cursor"));
      }
      after = *n;
    }
    // One more than asked tells whether a next page exists, so the last page says null.
    auto page = sms.List(after, limit + 1);
    if (!page.ok()) return respond(HttpResponse::FromStatus(page.status()));
    const bool more = page->size() > limit;
    if (more) page->resize(limit);
    nlohmann::json items = nlohmann::json::array();
    for (const auto& m : *page) {
      items.push_back({{"id", m.id},
                       {"from", m.from},
                       {"to", m.to},
                       {"body", m.body},
                       {"campaignId", m.campaign_id},
                       {"leadId", m.lead_id},
                       {"kind", m.kind},
                       {"at", engine::FormatRfc3339(m.at)}});
    }
    nlohmann::json next = nullptr;
    if (more && !page->empty()) next = std::to_string(page->back().seq);
    respond(HttpResponse::Json(200, nlohmann::json{{"items", items}, {"next", next}}.dump(
                                        -1, ' ', false, nlohmann::json::error_handler_t::replace)));
  });
}

}  // namespace nextier::adapters
