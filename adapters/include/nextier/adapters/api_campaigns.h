// The campaign endpoints of API.md ("Campaigns"): create, list, get, start, pause, resume.
// The objects passed in must outlive the server.
#pragma once

#include "nextier/adapters/http_server.h"
#include "nextier/adapters/work_pool.h"
#include "nextier/engine/campaigns.h"
#include "nextier/engine/clock.h"
#include "nextier/engine/workflow_registry.h"
#include "nextier/projections/sending.h"

namespace nextier::adapters {

// POST /api/campaigns/create, GET /api/campaigns, GET /api/campaigns/{id},
// POST /api/campaigns/{id}/start|pause|resume, POST /api/campaigns/{id}/migrate (role ops).
void RegisterCampaignRoutes(Server& server, engine::CampaignService& campaigns,
                            const projections::CampaignsProjection& counts,
                            engine::WorkflowRegistry& workflows, const engine::Clock& clock,
                            WorkPool& pool);

}  // namespace nextier::adapters
