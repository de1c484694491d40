#include "nextier/adapters/api_skip_trace.h"

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>

namespace nextier::adapters {

namespace {

nlohmann::json TimeOrNull(int64_t t) {
  return t == 0 ? nlohmann::json(nullptr) : nlohmann::json(engine::FormatRfc3339(t));
}

// The request body as a SkipTraceRequest; InvalidArgument naming the field otherwise.
Result<engine::SkipTraceRequest> ParseStart(const std::string& body) {
  engine::SkipTraceRequest r;
  nlohmann::json doc = nlohmann::json::object();
  if (body.find_first_not_of(" \t\r\n") != std::string::npos) {
    doc = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
    if (doc.is_discarded() || !doc.is_object()) {
      return Status::InvalidArgument("the body must be a JSON object", "body");
    }
  }
  if (auto it = doc.find("fileId"); it != doc.end() && !it->is_null()) {
    if (!it->is_string()) return Status::InvalidArgument("fileId must be a string", "fileId");
    r.file_id = it->get<std::string>();
  }
  if (auto it = doc.find("leadIds"); it != doc.end() && !it->is_null()) {
    if (!it->is_array()) {
      return Status::InvalidArgument("leadIds must be an array of lead ids", "leadIds");
    }
    for (size_t i = 0; i < it->size(); ++i) {
      const auto& id = (*it)[i];
      if (!id.is_string() || id.get_ref<const std::string&>().empty()) {
        return Status::InvalidArgument("leadIds must hold non-empty strings",
                                       "leadIds[" + std::to_string(i) + "]");
      }
      r.lead_ids.push_back(id.get<std::string>());
    }
  }
  if (auto it = doc.find("limit"); it != doc.end() && !it->is_null()) {
    // Anything above a day's worth of lookups is the same as "no more than the allowance".
    constexpr int64_t kMaxLimit = int64_t{1} << 40;
    int64_t limit = 0;
    if (it->is_number_unsigned()) {
      limit = static_cast<int64_t>(std::min<uint64_t>(it->get<uint64_t>(), kMaxLimit));
    } else if (it->is_number_integer()) {
      limit = it->get<int64_t>();
    } else if (it->is_number_float() && std::floor(it->get<double>()) == it->get<double>()) {
      limit =
          static_cast<int64_t>(std::clamp(it->get<double>(), -1.0, static_cast<double>(kMaxLimit)));
    } else {
      return Status::InvalidArgument("limit must be a whole number", "limit");
    }
    if (limit < 1) return Status::InvalidArgument("limit must be at least 1", "limit");
    r.limit = limit;
  }
  return r;
}

}  // namespace

nlohmann::json SkipTraceJobJson(const engine::SkipTraceJobStatus& j) {
  return {{"id", j.id},
          {"status", j.status},
          {"requested", j.requested},
          {"processed", j.processed},
          {"enriched", j.enriched},
          {"noHit", j.no_hit},
          {"rejected", {{"entity", j.rejected_entity}, {"invalid", j.rejected_invalid}}},
          {"failed", j.failed},
          {"skipped", j.skipped},
          {"dailyUsed", j.daily_used},
          {"dailyLimit", j.daily_limit},
          {"fileId", j.file_id.empty() ? nlohmann::json(nullptr) : nlohmann::json(j.file_id)},
          {"reason", j.reason.empty() ? nlohmann::json(nullptr) : nlohmann::json(j.reason)},
          {"startedAt", TimeOrNull(j.started_at)},
          {"finishedAt", TimeOrNull(j.finished_at)}};
}

void RegisterSkipTraceRoutes(Server& server, engine::SkipTraceService& service, WorkPool& pool) {
  const RouteOptions ops{{Role::kOps}, false, size_t{1} << 20};

  server.AddRoute(
      "POST", "/api/skip-trace/start", ops, [&service, &pool](HttpRequest& req, Responder respond) {
        auto request = ParseStart(req.body);
        if (!request.ok()) return respond(HttpResponse::FromStatus(request.status()));
        request->actor = "ops:" + req.key_name;
        request->correlation_id = req.Header("x-request-id");
        // Start waits for durable appends (the job, the rejections): keep it off the I/O thread.
        pool.Post([&service, request = std::move(*request), respond] {
          auto job = service.Start(request);
          if (job.ok()) {
            return respond(
                HttpResponse::Json(202, nlohmann::json{{"job", SkipTraceJobJson(*job)}}.dump()));
          }
          if (job.status().code() == StatusCode::kResourceExhausted &&
              job.status().message().find("daily skip-trace limit") != std::string::npos) {
            auto remaining = service.DailyRemaining();
            nlohmann::json err = {{"code", "daily_limit"},
                                  {"message", job.status().message()},
                                  {"remaining", remaining.ok() ? *remaining : 0}};
            return respond(HttpResponse::Json(429, nlohmann::json{{"error", err}}.dump()));
          }
          respond(HttpResponse::FromStatus(job.status()));
        });
      });

  server.AddRoute("GET", "/api/skip-trace/status/{job_id}", ops,
                  [&service, &pool](HttpRequest& req, Responder respond) {
                    pool.Post([&service, id = req.params[0], respond] {
                      auto job = service.Status(id);
                      if (!job.ok()) return respond(HttpResponse::FromStatus(job.status()));
                      respond(HttpResponse::Json(200, SkipTraceJobJson(*job).dump()));
                    });
                  });
}

}  // namespace nextier::adapters
