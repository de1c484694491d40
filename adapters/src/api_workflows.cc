#include <nlohmann/json.hpp>

#include "nextier/adapters/api_routes.h"

namespace nextier::adapters {
namespace {

nlohmann::json Summary(const engine::WorkflowVersionInfo& info) {
  const auto& wf = *info.workflow;
  return {{"id", wf.id},
          {"version", wf.version},
          {"name", wf.name},
          {"audience", wf.audience},
          {"updatedAt", engine::FormatRfc3339(info.recorded_at)}};
}

}  // namespace

void RegisterWorkflowRoutes(Server& server, engine::WorkflowRegistry& registry, WorkPool& pool) {
  const RouteOptions read{{Role::kOps, Role::kAgent}, false, 1024};
  const RouteOptions write{{Role::kOps}, false, size_t{1} << 20};

  server.AddRoute("GET", "/api/workflows", read, [&registry](HttpRequest&, Responder respond) {
    nlohmann::json items = nlohmann::json::array();
    for (const auto& info : registry.List()) items.push_back(Summary(info));
    respond(HttpResponse::Json(200, nlohmann::json{{"items", items}, {"next", nullptr}}.dump()));
  });

  server.AddRoute("GET", "/api/workflows/{id}", read,
                  [&registry](HttpRequest& req, Responder respond) {
                    auto info = registry.Get(req.params[0], req.Query("version"));
                    if (!info.ok()) return respond(HttpResponse::FromStatus(info.status()));
                    auto doc = nlohmann::json::parse(info->workflow->canonical_json);
                    doc["version"] = info->workflow->version;
                    doc["updatedAt"] = engine::FormatRfc3339(info->recorded_at);
                    respond(HttpResponse::Json(200, doc.dump()));
                  });

  server.AddRoute(
      "PUT", "/api/workflows/{id}", write, [&registry, &pool](HttpRequest& req, Responder respond) {
        nlohmann::json doc;
        try {
          doc = nlohmann::json::parse(req.body);
        } catch (const nlohmann::json::exception& e) {  // parse_error; out_of_range for 1e999
          return respond(HttpResponse::Error(400, "invalid_json",
                                             std::string("the body is not JSON: ") + e.what()));
        }
        // Validation and recording wait for a durable append: keep it off the I/O thread.
        pool.Post([&registry, doc = std::move(doc), id = req.params[0],
                   actor = "ops:" + req.key_name, respond] {
          auto r = registry.Submit(id, doc, actor);
          if (!r.errors.empty()) {
            nlohmann::json details = nlohmann::json::array();
            for (const auto& e : r.errors)
              details.push_back({{"field", e.field}, {"reason", e.reason}});
            nlohmann::json err = {{"code", "invalid_workflow"},
                                  {"message", r.status.message()},
                                  {"field", r.status.field()},
                                  {"details", details}};
            // The messages quote the path's id, which need not be UTF-8 (PUT /api/workflows/%FF):
            // a throwing dump on this worker would end the process.
            return respond(HttpResponse::Json(
                400, nlohmann::json{{"error", err}}.dump(
                         -1, ' ', false, nlohmann::json::error_handler_t::replace)));
          }
          if (!r.status.ok()) return respond(HttpResponse::FromStatus(r.status));
          auto out = Summary(r.info);
          out["created"] = r.created;
          respond(HttpResponse::Json(r.created ? 201 : 200, out.dump()));
        });
      });
}

}  // namespace nextier::adapters
