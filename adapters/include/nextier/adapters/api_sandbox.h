// The sandbox's test hooks on the HTTP API (only wired with `--provider sandbox`).
//
// Thread-safety: as for any route file: register before Server::Start(); `sms` must outlive
// the server.
#pragma once

#include "nextier/adapters/http_server.h"
#include "nextier/adapters/sandbox_skip_trace.h"
#include "nextier/adapters/sandbox_sms.h"
#include "nextier/engine/clock.h"

namespace nextier::adapters {

// GET /api/sandbox/outbox[?limit=&cursor=] (roles ops, agent, auditor; admin always): every SMS
// the sandbox accepted, oldest first, as {"items": [{"id","from","to","body","campaignId",
// "leadId","kind","at"}], "next": cursor or null}. The cursor is opaque to clients (it is the
// last sequence number returned, as text). LMDB reads take microseconds, so the route answers on
// the I/O thread.
void RegisterSandboxRoutes(Server& server, SandboxSms& sms);

// Simulated provider outages (sandbox_outage.h), all role admin:
//   POST /api/sandbox/outage {"sms": OUTAGE|null, "skipTrace": OUTAGE|null}: a key present
//     starts (OUTAGE) or ends (null) that provider's outage; a key left out leaves it as it is.
//     OUTAGE = {"mode": "error"|"timeout"|"lost_response", and exactly one of "count": N (the
//     next N calls fail, 1..1000000) or "seconds": S (calls fail until the engine's clock has
//     moved S seconds, 0 < S <= 604800: business time, so with --sim-clock only
//     POST /api/test/clock/advance ends it), and "delayMs" (timeout: how long each failing call
//     is held, 0..15000, default 100)}. Answers 200 with the state GET gives; 400
//     invalid_argument naming the field for anything else.
//   GET /api/sandbox/outage: {"sms": STATE|null, "skipTrace": STATE|null, "failures": {"sms": N,
//     "skipTrace": N}} with STATE = {"mode", "remaining" (count) or "until" (RFC 3339),
//     "delayMs"}; failures count the calls failed by outages since start.
//   DELETE /api/sandbox/outage: ends both; answers like GET.
// `skip_trace` is null when the skip-trace provider is not the sandbox ("skipTrace" is then a
// 400). `sms`, `skip_trace` and `clock` must outlive the server.
void RegisterSandboxOutageRoutes(Server& server, SandboxSms& sms, SandboxSkipTrace* skip_trace,
                                 const engine::Clock& clock);

}  // namespace nextier::adapters
