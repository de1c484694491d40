// The sandbox's test hooks on the HTTP API (only wired with `--provider sandbox`).
//
// Thread-safety: as for any route file: register before Server::Start(); `sms` must outlive
// the server.
#pragma once

#include "nextier/adapters/http_server.h"
#include "nextier/adapters/sandbox_sms.h"

namespace nextier::adapters {

// GET /api/sandbox/outbox[?limit=&cursor=] (roles ops, agent, auditor; admin always): every SMS
// the sandbox accepted, oldest first, as {"items": [{"id","from","to","body","campaignId",
// "leadId","kind","at"}], "next": cursor or null}. The cursor is opaque to clients (it is the
// last sequence number returned, as text). LMDB reads take microseconds, so the route answers on
// the I/O thread.
void RegisterSandboxRoutes(Server& server, SandboxSms& sms);

}  // namespace nextier::adapters
