// POST /api/leads/{id}/forget (role admin only): the right to be forgotten over HTTP (see
// engine/forget.h for what forgetting does). The lead is named by its id or its LEAD ID
// ("NXT-000123"). Answers, once the forgetting is durable and the read models show it (or 30 s
// have passed; it is durable either way):
//   200 {"leadId", "forgotten": true, "at", "alreadyForgotten"}
//       `at` is when the lead was forgotten: a repeat (alreadyForgotten true) appends nothing
//       and answers with the original time;
//   404 not_found for an unknown lead.
// The actor recorded on LeadForgotten is "admin:<key name>".
//
// Everything passed in must outlive the server and the pool.
#pragma once

#include "nextier/adapters/http_server.h"
#include "nextier/adapters/work_pool.h"
#include "nextier/engine/forget.h"
#include "nextier/eventstore/event_store.h"
#include "nextier/projections/projection.h"

namespace nextier::adapters {

void RegisterForgetRoutes(Server& server, engine::ForgetService& forget,
                          eventstore::EventStore& store, projections::ProjectionRunner& runner,
                          WorkPool& pool);

}  // namespace nextier::adapters
