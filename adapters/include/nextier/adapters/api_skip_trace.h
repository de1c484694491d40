// The skip-trace endpoints of API.md ("Skip trace"), registered on a Server. The service and the
// pool must outlive the server.
//
// POST /api/skip-trace/start (ops) body {"fileId"?, "leadIds"?, "limit"?} (an empty body is {}):
//   202 {"job": JOB}; 400 invalid_json for a body that is not a JSON object, 400
//   invalid_argument with `field` for a wrong type or a limit < 1; 429 {"error": {"code":
//   "daily_limit", "message", "remaining": N}} when the day's allowance is used up.
// GET /api/skip-trace/status/{job_id} (ops): JOB; 404 not_found for an unknown id.
// JOB: {"id", "status", "requested", "processed", "enriched", "noHit", "rejected": {"entity",
//   "invalid"}, "failed", "skipped", "dailyUsed", "dailyLimit", "fileId", "reason",
//   "startedAt", "finishedAt"}.
//
// Both handlers run their store work on the WorkPool, never on the I/O thread.
#pragma once

#include <nlohmann/json_fwd.hpp>

#include "nextier/adapters/http_server.h"
#include "nextier/adapters/work_pool.h"
#include "nextier/engine/skip_trace.h"

namespace nextier::adapters {

void RegisterSkipTraceRoutes(Server& server, engine::SkipTraceService& service, WorkPool& pool);

// The API's JSON for one job.
nlohmann::json SkipTraceJobJson(const engine::SkipTraceJobStatus& job);

}  // namespace nextier::adapters
