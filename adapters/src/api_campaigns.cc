#include "nextier/adapters/api_campaigns.h"

#include <nlohmann/json.hpp>

namespace nextier::adapters {
namespace {

using nlohmann::json;

std::string TimeOrNull(engine::Micros t) { return t == 0 ? "" : engine::FormatRfc3339(t); }

Result<json> CampaignJson(const engine::Campaign& c, engine::CampaignService& campaigns,
                          const projections::CampaignsProjection& counts,
                          engine::WorkflowRegistry& workflows, const engine::Clock& clock) {
  json blocks = json::array();
  for (const auto& b : c.blocks) {
    json batches = json::array();
    for (const auto& batch : b.batches) {
      json jb = {{"number", batch.number},
                 {"size", batch.size},
                 {"status", batch.dispatched ? "sent" : "pending"},
                 {"sentAt", nullptr}};
      if (batch.dispatched) {
        jb["sentAt"] = engine::FormatRfc3339(batch.sent_at);
        jb["texted"] = batch.sent;
        jb["deferred"] = batch.deferred;
        jb["failed"] = batch.failed;
      }
      batches.push_back(std::move(jb));
    }
    blocks.push_back({{"number", b.number}, {"size", b.lead_ids.size()}, {"batches", batches}});
  }
  auto n = counts.Counts(c.id);
  if (!n.ok()) return n.status();
  const engine::Micros now = clock.Now();
  auto today = campaigns.CountSmsToday(c.from_number, now);
  if (!today.ok()) return today.status();
  int cap = 0;
  if (auto wf = workflows.Get(c.workflow_id, c.workflow_version); wf.ok()) {
    cap = wf->workflow->limits.daily_sms_cap;
  }
  json out = {{"id", c.id},
              {"name", c.name},
              {"status", std::string(engine::CampaignStatusName(c.status))},
              {"workflow", {{"id", c.workflow_id}, {"version", c.workflow_version}}},
              {"signalhouseCampaignId", c.signalhouse_campaign_id},
              {"fromNumber", c.from_number},
              {"aiWorker", c.ai_worker},
              {"blocks", blocks},
              {"counts",
               {{"queued", n->queued},
                {"sent", n->sent},
                {"delivered", n->delivered},
                {"failed", n->failed},
                {"responded", n->responded},
                {"gold", n->gold},
                {"optedOut", n->opted_out}}},
              {"today", {{"sent", *today}, {"cap", cap}}},
              {"createdAt", TimeOrNull(c.created_at)},
              {"updatedAt", TimeOrNull(c.updated_at)}};
  return out;
}

std::string StringField(const json& body, const char* name) {
  auto it = body.find(name);
  if (it == body.end() || !it->is_string()) return {};
  return it->get<std::string>();
}

}  // namespace

void RegisterCampaignRoutes(Server& server, engine::CampaignService& campaigns,
                            const projections::CampaignsProjection& counts,
                            engine::WorkflowRegistry& workflows, const engine::Clock& clock,
                            WorkPool& pool) {
  const RouteOptions ops{{Role::kOps}, false, size_t{64} << 10};
  auto view = [&campaigns, &counts, &workflows, &clock](const engine::Campaign& c) {
    return CampaignJson(c, campaigns, counts, workflows, clock);
  };

  server.AddRoute("POST", "/api/campaigns/create", ops,
                  [&campaigns, &pool, view](HttpRequest& req, Responder respond) {
                    json body = json::parse(req.body, nullptr, false);
                    if (!body.is_object()) {
                      return respond(HttpResponse::Error(400, "invalid_json",
                                                         "the body must be a JSON object"));
                    }
                    for (const char* f :
                         {"name", "workflow", "signalhouseCampaignId", "fromNumber", "aiWorker"}) {
                      if (body.contains(f) && !body[f].is_string()) {
                        return respond(HttpResponse::Error(
                            400, "invalid_argument", std::string(f) + " must be a string", f));
                      }
                    }
                    engine::CreateCampaign r;
                    r.name = StringField(body, "name");
                    r.workflow = StringField(body, "workflow");
                    r.signalhouse_campaign_id = StringField(body, "signalhouseCampaignId");
                    r.from_number = StringField(body, "fromNumber");
                    r.ai_worker = StringField(body, "aiWorker");
                    r.actor = "ops:" + req.key_name;
                    pool.Post([&campaigns, view, r = std::move(r), respond] {
                      auto c = campaigns.Create(r);
                      if (!c.ok()) return respond(HttpResponse::FromStatus(c.status()));
                      auto j = view(*c);
                      if (!j.ok()) return respond(HttpResponse::FromStatus(j.status()));
                      respond(HttpResponse::Json(201, json{{"campaign", *j}}.dump()));
                    });
                  });

  server.AddRoute(
      "GET", "/api/campaigns", ops,
      [&campaigns, &counts, &pool, view](HttpRequest& req, Responder respond) {
        size_t limit = 50;
        const std::string l = req.Query("limit");
        if (!l.empty()) {
          char* end = nullptr;
          const long v = std::strtol(l.c_str(), &end, 10);
          if (*end != '\0' || v < 1 || v > 1000) {
            return respond(HttpResponse::Error(400, "invalid_argument",
                                               "limit must be a number from 1 to 1000", "limit"));
          }
          limit = static_cast<size_t>(v);
        }
        pool.Post([&campaigns, &counts, view, limit, cursor = req.Query("cursor"), respond] {
          bool more = false;
          auto ids = counts.List(limit, cursor, &more);
          if (!ids.ok()) return respond(HttpResponse::FromStatus(ids.status()));
          json items = json::array();
          for (const auto& id : *ids) {
            auto c = campaigns.Get(id);
            if (!c.ok()) return respond(HttpResponse::FromStatus(c.status()));
            auto j = view(*c);
            if (!j.ok()) return respond(HttpResponse::FromStatus(j.status()));
            items.push_back(std::move(*j));
          }
          json next = nullptr;
          if (more && !ids->empty()) next = ids->back();
          respond(HttpResponse::Json(200, json{{"items", items}, {"next", next}}.dump()));
        });
      });

  server.AddRoute("GET", "/api/campaigns/{id}", ops,
                  [&campaigns, &pool, view](HttpRequest& req, Responder respond) {
                    pool.Post([&campaigns, view, id = req.params[0], respond] {
                      auto c = campaigns.Get(id);
                      if (!c.ok()) return respond(HttpResponse::FromStatus(c.status()));
                      auto j = view(*c);
                      if (!j.ok()) return respond(HttpResponse::FromStatus(j.status()));
                      respond(HttpResponse::Json(200, j->dump()));
                    });
                  });

  server.AddRoute(
      "POST", "/api/campaigns/{id}/migrate", ops,
      [&campaigns, &pool, view](HttpRequest& req, Responder respond) {
        json body = json::parse(req.body, nullptr, false);
        if (!body.is_object() || !body.contains("version") || !body["version"].is_string()) {
          return respond(HttpResponse::Error(400, "invalid_argument",
                                             "the body must be {\"version\": \"...\"}", "version"));
        }
        pool.Post([&campaigns, view, id = req.params[0],
                   version = body["version"].get<std::string>(), actor = "ops:" + req.key_name,
                   respond] {
          auto c = campaigns.Migrate(id, version, actor);
          if (!c.ok()) return respond(HttpResponse::FromStatus(c.status()));
          auto j = view(*c);
          if (!j.ok()) return respond(HttpResponse::FromStatus(j.status()));
          respond(HttpResponse::Json(200, json{{"campaign", *j}}.dump()));
        });
      });

  using Command =
      Result<engine::Campaign> (engine::CampaignService::*)(std::string_view, std::string_view);
  const std::pair<const char*, Command> commands[] = {
      {"start", &engine::CampaignService::Start},
      {"pause", &engine::CampaignService::Pause},
      {"resume", &engine::CampaignService::Resume},
  };
  for (const auto& [verb, command] : commands) {
    server.AddRoute(
        "POST", std::string("/api/campaigns/{id}/") + verb, ops,
        [&campaigns, &pool, view, command = command](HttpRequest& req, Responder respond) {
          pool.Post([&campaigns, view, command, id = req.params[0], actor = "ops:" + req.key_name,
                     respond] {
            auto c = (campaigns.*command)(id, actor);
            if (!c.ok()) return respond(HttpResponse::FromStatus(c.status()));
            auto j = view(*c);
            if (!j.ok()) return respond(HttpResponse::FromStatus(j.status()));
            respond(HttpResponse::Json(200, json{{"campaign", *j}}.dump()));
          });
        });
  }
}

}  // namespace nextier::adapters
