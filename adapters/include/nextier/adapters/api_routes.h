// The REST endpoints of API.md, registered on a Server. Each Register* function adds one
// group; the objects passed in must outlive the server.
#pragma once

#include "nextier/adapters/http_server.h"
#include "nextier/adapters/work_pool.h"
#include "nextier/engine/workflow_registry.h"

namespace nextier::adapters {

// GET /api/workflows, GET /api/workflows/{id}[?version=], PUT /api/workflows/{id}.
void RegisterWorkflowRoutes(Server& server, engine::WorkflowRegistry& registry, WorkPool& pool);

}  // namespace nextier::adapters
