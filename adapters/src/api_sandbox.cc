#include "nextier/adapters/api_sandbox.h"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

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

nlohmann::json OutageState(const OutageSwitch& sw) {
  const auto o = sw.Get();
  if (!o) return nullptr;
  nlohmann::json j = {{"mode", OutageModeName(o->mode)}, {"delayMs", o->delay.count()}};
  if (o->until > 0) {
    j["until"] = engine::FormatRfc3339(o->until);
  } else {
    j["remaining"] = o->count;
  }
  return j;
}

nlohmann::json OutagesJson(SandboxSms& sms, SandboxSkipTrace* skip_trace) {
  return {{"sms", OutageState(sms.outage())},
          {"skipTrace", skip_trace != nullptr ? OutageState(skip_trace->outage()) : nullptr},
          {"failures",
           {{"sms", sms.outage().failures()},
            {"skipTrace", skip_trace != nullptr ? skip_trace->outage().failures() : 0}}}};
}

// One OUTAGE object (see api_sandbox.h) under `field`, or null (nullopt: end the outage).
Result<std::optional<Outage>> ParseOutage(const nlohmann::json& j, const std::string& field,
                                          const engine::Clock& clock) {
  if (j.is_null()) return std::optional<Outage>();
  if (!j.is_object()) {
    return Status::InvalidArgument(field + " must be an object or null", field);
  }
  for (const auto& [key, value] : j.items()) {
    if (key != "mode" && key != "count" && key != "seconds" && key != "delayMs") {
      return Status::InvalidArgument(
          field + ": unknown field '" + key + "' (expected mode, count, seconds, delayMs)",
          field + "." + key);
    }
  }
  Outage o;
  const auto mode = j.contains("mode") && j["mode"].is_string()
                        ? ParseOutageMode(j["mode"].get<std::string>())
                        : std::nullopt;
  if (!mode) {
    return Status::InvalidArgument(field +
                                       ".mode must be \"error\", \"timeout\" or "
                                       "\"lost_response\"",
                                   field + ".mode");
  }
  o.mode = *mode;
  if (j.contains("count") == j.contains("seconds")) {
    return Status::InvalidArgument(field + " needs exactly one of count and seconds", field);
  }
  if (j.contains("count")) {
    const auto& c = j["count"];
    if (!c.is_number_integer() || c.get<int64_t>() < 1 || c.get<int64_t>() > 1'000'000) {
      return Status::InvalidArgument(field + ".count must be a whole number from 1 to 1000000",
                                     field + ".count");
    }
    o.count = static_cast<int>(c.get<int64_t>());
  } else {
    const auto& sec = j["seconds"];
    if (!sec.is_number() || !(sec.get<double>() > 0) || sec.get<double>() > 604800) {
      return Status::InvalidArgument(field + ".seconds must be a number above 0, at most 604800",
                                     field + ".seconds");
    }
    o.clock = &clock;
    o.until = clock.Now() +
              std::max<engine::Micros>(
                  1, static_cast<engine::Micros>(sec.get<double>() * engine::kMicrosPerSecond));
  }
  if (j.contains("delayMs")) {
    const auto& d = j["delayMs"];
    if (!d.is_number_integer() || d.get<int64_t>() < 0 || d.get<int64_t>() > 15000) {
      return Status::InvalidArgument(field + ".delayMs must be a whole number from 0 to 15000",
                                     field + ".delayMs");
    }
    o.delay = std::chrono::milliseconds(d.get<int64_t>());
  }
  return std::optional<Outage>(o);
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

void RegisterSandboxOutageRoutes(Server& server, SandboxSms& sms, SandboxSkipTrace* skip_trace,
                                 const engine::Clock& clock) {
  const RouteOptions admin{{}, false, 4096};
  server.AddRoute("GET", "/api/sandbox/outage", admin,
                  [&sms, skip_trace](HttpRequest&, Responder respond) {
                    respond(HttpResponse::Json(200, OutagesJson(sms, skip_trace).dump()));
                  });
  server.AddRoute("DELETE", "/api/sandbox/outage", admin,
                  [&sms, skip_trace](HttpRequest&, Responder respond) {
                    sms.outage().Set(std::nullopt);
                    if (skip_trace != nullptr) skip_trace->outage().Set(std::nullopt);
                    respond(HttpResponse::Json(200, OutagesJson(sms, skip_trace).dump()));
                  });
  server.AddRoute("POST", "/api/sandbox/outage", admin,
                  [&sms, skip_trace, &clock](HttpRequest& req, Responder respond) {
                    const nlohmann::json body = nlohmann::json::parse(req.body, nullptr, false);
                    if (body.is_object()) {
                      for (const auto& [key, value] : body.items()) {
                        if (key != "sms" && key != "skipTrace") {
                          return respond(HttpResponse::Error(
                              400, "invalid_argument",
                              "unknown field '" + key + "' (expected sms, skipTrace)", key));
                        }
                      }
                    }
                    if (!body.is_object() || body.empty()) {
                      return respond(HttpResponse::Error(
                          400, "invalid_argument",
                          "the body must be a JSON object with \"sms\" and/or \"skipTrace\""));
                    }
                    // Everything is checked before anything changes: a 400 leaves both outages as
                    // they were.
                    std::optional<std::optional<Outage>> sms_outage, skip_outage;
                    if (body.contains("sms")) {
                      auto o = ParseOutage(body["sms"], "sms", clock);
                      if (!o.ok()) return respond(HttpResponse::FromStatus(o.status()));
                      sms_outage = *o;
                    }
                    if (body.contains("skipTrace")) {
                      if (skip_trace == nullptr) {
                        return respond(HttpResponse::Error(
                            400, "invalid_argument", "the skip-trace provider is not the sandbox",
                            "skipTrace"));
                      }
                      auto o = ParseOutage(body["skipTrace"], "skipTrace", clock);
                      if (!o.ok()) return respond(HttpResponse::FromStatus(o.status()));
                      skip_outage = *o;
                    }
                    if (sms_outage) sms.outage().Set(*sms_outage);
                    if (skip_outage) skip_trace->outage().Set(*skip_outage);
                    respond(HttpResponse::Json(200, OutagesJson(sms, skip_trace).dump()));
                  });
}

}  // namespace nextier::adapters
