// The call-queue and meeting endpoints of API.md ("Call queue", "Meetings"). Roles: agent, ops
// (and admin). Commands run on the WorkPool (they wait for durable appends); lists read the
// read models. The objects passed in must outlive the server.
//
// Responses beyond API.md: assign and complete answer 200 {"entry": ITEM} (ITEM as in the
// list, with the embedded lead); cancel and reschedule answer 200 {"meeting": MEETING}.
// Complete also takes an optional "agent" (default: whoever holds the entry); cancel an
// optional "reason". Book's "agent" defaults to the caller's key name.
//
// Thread-safety: register before Server::Start.
#pragma once

#include "nextier/adapters/http_server.h"
#include "nextier/adapters/work_pool.h"
#include "nextier/engine/call_queue.h"
#include "nextier/engine/meetings.h"
#include "nextier/projections/calls_meetings.h"
#include "nextier/projections/leads.h"

namespace nextier::adapters {

// GET /api/call-queue, PUT /api/call-queue/{id}/assign, PUT /api/call-queue/{id}/complete.
void RegisterCallQueueRoutes(Server& server, engine::CallQueueService& calls,
                             const projections::CallQueueProjection& queue,
                             const projections::LeadsProjection& leads, WorkPool& pool);

// POST /api/meetings/book, POST /api/meetings/{id}/cancel, POST /api/meetings/{id}/reschedule,
// GET /api/meetings.
void RegisterMeetingRoutes(Server& server, engine::MeetingService& meetings,
                           const projections::MeetingsProjection& model, WorkPool& pool);

}  // namespace nextier::adapters
