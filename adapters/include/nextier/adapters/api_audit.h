// The auditors' endpoints of API.md ("Leads" history and "Audit"), and the lead history document
// they share with `nextier history`.
//
// Thread-safety: the functions below read the store in their own read transactions and may run
// on any thread; the routes run them on the WorkPool, never on an I/O thread. The store and the
// pool passed to RegisterAuditRoutes must outlive the server.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "nextier/adapters/http_server.h"
#include "nextier/adapters/work_pool.h"
#include "nextier/common/status.h"
#include "nextier/engine/clock.h"
#include "nextier/eventstore/event_store.h"

namespace nextier::adapters {

// The bare lead id ("7") of a lead named by that id or by its human LEAD ID ("NXT-000123",
// looked up in the stream `lead-ids`). InvalidArgument (field "id") for an empty id; NotFound
// when no such lead exists.
Result<std::string> ResolveLeadId(eventstore::EventStore& store, std::string_view id);

// {"leadId", "humanId"?, "state", "events": [EventJson...]} of lead `id` (either kind of id, see
// ResolveLeadId), personal data opened. With `at`, only the events recorded at or before it and
// the state they fold to, i.e. the lead as it was then; NotFound if it did not exist yet.
Result<nlohmann::json> LeadHistoryJson(eventstore::EventStore& store, std::string_view id,
                                       std::optional<engine::Micros> at = std::nullopt);

// GET /api/leads/{id}/history[?at=TIME] (roles ops, agent, auditor),
// GET /api/audit/verify and GET /api/audit/export?from=SEQ[&limit=N] (role auditor).
void RegisterAuditRoutes(Server& server, eventstore::EventStore& store, WorkPool& pool);

}  // namespace nextier::adapters
