#include "nextier/adapters/api_audit.h"

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "nextier/adapters/event_json.h"
#include "nextier/engine/lead.h"
#include "nextier/engine/lead_state.h"

namespace nextier::adapters {
namespace {

using nlohmann::json;

constexpr std::string_view kHumanIdPrefix = "NXT-";
constexpr uint64_t kDefaultExportLimit = 100000;
// A page also ends once its body passes this size, so a log of large events (workflow
// definitions, long webhook bodies) cannot make one response unbounded.
constexpr size_t kExportPageBytes = size_t{64} << 20;

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

// Dumps without throwing: EventJson already makes its text valid UTF-8, this is the backstop.
std::string Dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

}  // namespace

Result<std::string> ResolveLeadId(eventstore::EventStore& store, std::string_view id) {
  if (id.empty()) return Status::InvalidArgument("a lead id is required", "id");
  auto version = store.StreamVersion(engine::LeadStreamId(id));
  if (!version.ok()) return version.status();
  if (*version > 0) return std::string(id);
  // A human LEAD ID's number is the version of its LeadIdAssigned event in `lead-ids`.
  if (id.substr(0, kHumanIdPrefix.size()) == kHumanIdPrefix) {
    const auto n = ParseUnsigned(id.substr(kHumanIdPrefix.size()));
    std::string found;
    if (n && *n > 0) {
      NEXTIER_RETURN_IF_ERROR(
          store.ReadStream("lead-ids", *n, 1, [&](const eventstore::EventView& ev) {
            auto p = ev.event().getPayload();
            if (p.isLeadIdAssigned() &&
                std::string_view(p.getLeadIdAssigned().getHumanId().cStr()) == id) {
              found = p.getLeadIdAssigned().getLeadId().cStr();
            }
            return false;
          }));
    }
    if (!found.empty()) return found;
  }
  return Status::NotFound("lead " + std::string(id) + " does not exist");
}

Result<json> LeadHistoryJson(eventstore::EventStore& store, std::string_view id,
                             std::optional<engine::Micros> at) {
  auto lead_id = ResolveLeadId(store, id);
  if (!lead_id.ok()) return lead_id.status();
  engine::Lead lead;
  lead.id = *lead_id;
  lead.stream = engine::LeadStreamId(*lead_id);
  json events = json::array();
  NEXTIER_RETURN_IF_ERROR(
      store.ReadStream(lead.stream, 1, SIZE_MAX, [&](const eventstore::EventView& ev) {
        // Each event on its own: business time only moves forward, but the filter must not
        // depend on it.
        if (at && ev.event().getRecordedAt() > *at) return true;
        engine::Apply(lead, ev.event());
        events.push_back(EventJson(ev, store.keys(), /*open_personal=*/true));
        return true;
      }));
  if (lead.version == 0) {
    return Status::NotFound("lead " + *lead_id +
                            (at ? " did not exist yet at " + engine::FormatRfc3339(*at)
                                : std::string(" does not exist")));
  }
  json out = {{"leadId", *lead_id}};
  if (!lead.human_id.empty()) out["humanId"] = lead.human_id;
  out["state"] = std::string(engine::LeadStateName(lead.state));
  if (at) out["at"] = engine::FormatRfc3339(*at);
  // The fold never fails; events the state machine would not allow are shown, not hidden.
  if (lead.inconsistent_events > 0) {
    out["inconsistentEvents"] = lead.inconsistent_events;
    out["firstInconsistency"] = lead.first_inconsistency;
  }
  out["events"] = std::move(events);
  return out;
}

void RegisterAuditRoutes(Server& server, eventstore::EventStore& store, WorkPool& pool) {
  const RouteOptions readers{{Role::kOps, Role::kAgent, Role::kAuditor}, false, 1024};
  const RouteOptions auditor{{Role::kAuditor}, false, 1024};

  server.AddRoute("GET", "/api/leads/{id}/history", readers,
                  [&store, &pool](HttpRequest& req, Responder respond) {
                    std::optional<engine::Micros> at;
                    if (const std::string text = req.Query("at"); !text.empty()) {
                      auto t = engine::ParseRfc3339(text);
                      if (!t.ok()) {
                        return respond(HttpResponse::Error(
                            400, "invalid_argument",
                            "at must be an RFC 3339 time, e.g. 2026-11-28T14:00:00Z", "at"));
                      }
                      at = *t;
                    }
                    pool.Post([&store, id = req.params[0], at, respond] {
                      auto history = LeadHistoryJson(store, id, at);
                      if (!history.ok()) return respond(HttpResponse::FromStatus(history.status()));
                      respond(HttpResponse::Json(200, Dump(*history)));
                    });
                  });

  // Verify scans the whole log: on the pool, never on an I/O thread, and one at a time, so
  // that auditors asking together cannot occupy every pool thread for the length of a scan.
  auto verifying = std::make_shared<std::atomic<bool>>(false);
  server.AddRoute(
      "GET", "/api/audit/verify", auditor,
      [&store, &pool, verifying](HttpRequest&, Responder respond) {
        if (verifying->exchange(true)) {
          return respond(HttpResponse::Error(
              429, "limit_reached", "a verify is already running; ask again when it has finished"));
        }
        pool.Post([&store, verifying, respond] {
          auto report = store.Verify();
          verifying->store(false);
          if (!report.ok()) return respond(HttpResponse::FromStatus(report.status()));
          json out = {{"ok", report->ok},
                      {"events", report->events},
                      {"streams", report->streams},
                      {"headHash",
                       eventstore::HexEncode(report->head_hash.data(), report->head_hash.size())}};
          if (!report->ok) {
            out["firstBad"] = report->first_bad;
            out["problem"] = report->problem;
          }
          respond(HttpResponse::Json(200, Dump(out)));
        });
      });

  // The export leaves personal fields sealed: an export file must not carry PII. The server
  // sends only whole bodies (no chunked streaming), so a large log comes in pages: when events
  // remain after this one, the X-Next-From header names the seq to ask for next.
  server.AddRoute(
      "GET", "/api/audit/export", auditor, [&store, &pool](HttpRequest& req, Responder respond) {
        uint64_t from = 1;
        if (const std::string text = req.Query("from"); !text.empty()) {
          auto n = ParseUnsigned(text);
          if (!n || *n < 1) {
            return respond(HttpResponse::Error(
                400, "invalid_argument", "from must be a sequence number of 1 or more", "from"));
          }
          from = *n;
        }
        uint64_t limit = kDefaultExportLimit;
        if (const std::string text = req.Query("limit"); !text.empty()) {
          auto n = ParseUnsigned(text);
          if (!n || *n < 1 || *n > kDefaultExportLimit) {
            return respond(HttpResponse::Error(
                400, "invalid_argument",
                "limit must be a whole number from 1 to " + std::to_string(kDefaultExportLimit),
                "limit"));
          }
          limit = *n;
        }
        pool.Post([&store, from, limit, respond] {
          std::string body;
          uint64_t count = 0, last = 0;
          bool more = false;
          // One event past the page tells whether another page exists, without trusting Head().
          Status s = store.ReadAll(from, limit + 1, [&](const eventstore::EventView& ev) {
            if (count == limit || body.size() >= kExportPageBytes) {
              more = true;
              return false;
            }
            body += Dump(EventJson(ev, store.keys(), /*open_personal=*/false));
            body += '\n';
            last = ev.seq();
            ++count;
            return true;
          });
          if (!s.ok()) return respond(HttpResponse::FromStatus(s));
          HttpResponse r;
          r.status = 200;
          r.content_type = "application/x-ndjson";
          r.body = std::move(body);
          if (more) r.headers.emplace_back("X-Next-From", std::to_string(last + 1));
          respond(std::move(r));
        });
      });
}

}  // namespace nextier::adapters
