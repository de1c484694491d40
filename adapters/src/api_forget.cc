#include "nextier/adapters/api_forget.h"

#include <chrono>
#include <nlohmann/json.hpp>
#include <string>

#include "nextier/adapters/api_audit.h"

namespace nextier::adapters {

void RegisterForgetRoutes(Server& server, engine::ForgetService& forget,
                          eventstore::EventStore& store, projections::ProjectionRunner& runner,
                          WorkPool& pool) {
  // No roles listed: admin only. No body is read.
  const RouteOptions admin{{}, false, 4096};
  server.AddRoute(
      "POST", "/api/leads/{id}/forget", admin,
      [&forget, &store, &runner, &pool](HttpRequest& req, Responder respond) {
        std::string actor = std::string(RoleName(req.role)) + ":" + req.key_name;
        pool.Post(
            [&forget, &store, &runner, id = req.params[0], actor = std::move(actor), respond] {
              auto lead_id = ResolveLeadId(store, id);
              if (!lead_id.ok()) return respond(HttpResponse::FromStatus(lead_id.status()));
              auto out = forget.Forget(*lead_id, actor, "request");
              if (!out.ok()) return respond(HttpResponse::FromStatus(out.status()));
              // The read models next: a reader right after this answer sees the lead forgotten.
              // Durable already, so a slow runner does not turn this into an error.
              (void)runner.WaitFor(out->seq, std::chrono::seconds(30));
              respond(HttpResponse::Json(200, nlohmann::json{{"leadId", out->lead_id},
                                                             {"forgotten", true},
                                                             {"at", engine::FormatRfc3339(out->at)},
                                                             {"alreadyForgotten", out->already}}
                                                  .dump()));
            });
      });
}

}  // namespace nextier::adapters
