#include "nextier/adapters/api_calls_meetings.h"

#include <cstdlib>
#include <nlohmann/json.hpp>
#include <optional>

namespace nextier::adapters {
namespace {

using nlohmann::json;

json TimeOrNull(engine::Micros t) {
  if (t == 0) return nullptr;
  return engine::FormatRfc3339(t);
}

json StringOrNull(const std::string& s) {
  if (s.empty()) return nullptr;
  return s;
}

json EntryJson(const projections::CallEntry& e, const projections::LeadsProjection& leads) {
  json lead = nullptr;
  if (auto v = leads.Get(e.lead_id); v.ok()) {
    std::string name = v->full_name;
    if (name.empty()) {
      name = v->first_name;
      if (!v->last_name.empty()) name += (name.empty() ? "" : " ") + v->last_name;
    }
    lead = {{"name", name},
            {"company", v->company},
            {"title", v->title},
            {"phone", v->phones.empty() ? json(nullptr) : json(v->phones.front())},
            {"email", StringOrNull(v->email)},
            {"leadId", StringOrNull(v->human_id)},
            {"state", v->state}};
  }
  return {{"id", e.id},
          {"leadId", e.lead_id},
          {"priority", e.priority},
          {"status", e.status},
          {"assignedTo", StringOrNull(e.assigned_to)},
          {"disposition", StringOrNull(e.disposition)},
          {"callbackAt", TimeOrNull(e.callback_at)},
          {"createdAt", TimeOrNull(e.created_at)},
          {"updatedAt", TimeOrNull(e.updated_at)},
          {"campaign", StringOrNull(e.campaign_id)},
          {"closedReason", StringOrNull(e.closed_reason)},
          {"lead", lead}};
}

json MeetingJson(const projections::Meeting& m) {
  json reminders = json::array();
  for (const auto& r : m.reminders) {
    reminders.push_back(
        {{"offset", r.offset}, {"dueAt", engine::FormatRfc3339(r.due_at)}, {"status", r.status}});
  }
  return {{"id", m.id},
          {"leadId", m.lead_id},
          {"startsAt", engine::FormatRfc3339(m.starts_at)},
          {"endsAt", engine::FormatRfc3339(m.ends_at)},
          {"durationMinutes", m.duration_minutes},
          {"agent", StringOrNull(m.agent)},
          {"link", StringOrNull(m.link)},
          {"status", m.status},
          {"reminders", reminders},
          {"createdAt", TimeOrNull(m.created_at)},
          {"updatedAt", TimeOrNull(m.updated_at)}};
}

// The ?limit= of a list: 50 by default, 1 to 1000.
std::optional<size_t> Limit(const HttpRequest& req, Responder& respond) {
  const std::string l = req.Query("limit");
  if (l.empty()) return size_t{50};
  char* end = nullptr;
  const long v = std::strtol(l.c_str(), &end, 10);
  if (*end != '\0' || v < 1 || v > 1000) {
    respond(HttpResponse::Error(400, "invalid_argument", "limit must be a number from 1 to 1000",
                                "limit"));
    return std::nullopt;
  }
  return static_cast<size_t>(v);
}

// The body as a JSON object ("" counts as {} when `empty_ok`); responds 400 otherwise.
std::optional<json> ObjectBody(const HttpRequest& req, Responder& respond, bool empty_ok) {
  if (empty_ok && req.body.find_first_not_of(" \t\r\n") == std::string::npos) {
    return json::object();
  }
  json body = json::parse(req.body, nullptr, false);
  if (!body.is_object()) {
    respond(HttpResponse::Error(400, "invalid_json", "the body must be a JSON object"));
    return std::nullopt;
  }
  return body;
}

// A string field: "" when absent or null; responds 400 and returns nullopt when not a string.
std::optional<std::string> StringField(const json& body, const char* name, Responder& respond) {
  auto it = body.find(name);
  if (it == body.end() || it->is_null()) return std::string();
  if (!it->is_string()) {
    respond(HttpResponse::Error(400, "invalid_argument", std::string(name) + " must be a string",
                                name));
    return std::nullopt;
  }
  return it->get<std::string>();
}

// An RFC 3339 time (query or body text); responds 400 naming `field` when malformed.
std::optional<engine::Micros> TimeField(const std::string& text, const char* field,
                                        Responder& respond) {
  auto t = engine::ParseRfc3339(text);
  if (!t.ok()) {
    respond(HttpResponse::Error(
        400, "invalid_argument",
        std::string(field) + " must be an RFC 3339 time, not '" + text + "'", field));
    return std::nullopt;
  }
  return *t;
}

std::string Actor(const HttpRequest& req) {
  return std::string(RoleName(req.role)) + ":" + req.key_name;
}

}  // namespace

void RegisterCallQueueRoutes(Server& server, engine::CallQueueService& calls,
                             const projections::CallQueueProjection& queue,
                             const projections::LeadsProjection& leads, WorkPool& pool) {
  const RouteOptions agents{{Role::kAgent, Role::kOps}, false, size_t{64} << 10};

  server.AddRoute(
      "GET", "/api/call-queue", agents,
      [&queue, &leads, &pool](HttpRequest& req, Responder respond) {
        auto limit = Limit(req, respond);
        if (!limit) return;
        projections::CallQueueFilter filter;
        filter.status = req.Query("status");
        filter.agent = req.Query("agent");
        filter.campaign = req.Query("campaign");
        pool.Post([&queue, &leads, filter = std::move(filter), limit = *limit,
                   cursor = req.Query("cursor"), respond] {
          auto page = queue.List(filter, limit, cursor);
          if (!page.ok()) return respond(HttpResponse::FromStatus(page.status()));
          json items = json::array();
          for (const auto& e : page->items) items.push_back(EntryJson(e, leads));
          json next = nullptr;
          if (page->next) next = *page->next;
          respond(HttpResponse::Json(200, json{{"items", items}, {"next", next}}.dump()));
        });
      });

  server.AddRoute(
      "PUT", "/api/call-queue/{id}/assign", agents,
      [&calls, &leads, &pool](HttpRequest& req, Responder respond) {
        auto body = ObjectBody(req, respond, /*empty_ok=*/true);
        if (!body) return;
        auto agent = StringField(*body, "agent", respond);
        if (!agent) return;
        if (agent->empty()) *agent = req.key_name;
        pool.Post([&calls, &leads, id = req.params[0], agent = std::move(*agent),
                   actor = Actor(req), respond] {
          auto e = calls.Assign(id, agent, actor);
          if (!e.ok()) return respond(HttpResponse::FromStatus(e.status()));
          respond(HttpResponse::Json(200, json{{"entry", EntryJson(*e, leads)}}.dump()));
        });
      });

  server.AddRoute(
      "PUT", "/api/call-queue/{id}/complete", agents,
      [&calls, &leads, &pool](HttpRequest& req, Responder respond) {
        auto body = ObjectBody(req, respond, /*empty_ok=*/false);
        if (!body) return;
        auto disposition = StringField(*body, "disposition", respond);
        if (!disposition) return;
        auto notes = StringField(*body, "notes", respond);
        if (!notes) return;
        auto agent = StringField(*body, "agent", respond);
        if (!agent) return;
        auto callback_text = StringField(*body, "callbackAt", respond);
        if (!callback_text) return;
        if (disposition->empty()) {
          return respond(HttpResponse::Error(400, "invalid_argument", "disposition is required",
                                             "disposition"));
        }
        std::optional<engine::Micros> callback_at;
        if (!callback_text->empty()) {
          callback_at = TimeField(*callback_text, "callbackAt", respond);
          if (!callback_at) return;
        }
        pool.Post([&calls, &leads, id = req.params[0], agent = std::move(*agent),
                   disposition = std::move(*disposition), notes = std::move(*notes), callback_at,
                   actor = Actor(req), respond] {
          auto e = calls.Complete(id, agent, disposition, notes, callback_at, actor);
          if (!e.ok()) return respond(HttpResponse::FromStatus(e.status()));
          respond(HttpResponse::Json(200, json{{"entry", EntryJson(*e, leads)}}.dump()));
        });
      });
}

void RegisterMeetingRoutes(Server& server, engine::MeetingService& meetings,
                           const projections::MeetingsProjection& model, WorkPool& pool) {
  const RouteOptions agents{{Role::kAgent, Role::kOps}, false, size_t{64} << 10};

  server.AddRoute(
      "POST", "/api/meetings/book", agents,
      [&meetings, &pool](HttpRequest& req, Responder respond) {
        auto body = ObjectBody(req, respond, /*empty_ok=*/false);
        if (!body) return;
        engine::BookMeeting r;
        auto lead = StringField(*body, "leadId", respond);
        if (!lead) return;
        auto starts = StringField(*body, "startsAt", respond);
        if (!starts) return;
        auto agent = StringField(*body, "agent", respond);
        if (!agent) return;
        auto link = StringField(*body, "link", respond);
        if (!link) return;
        if (lead->empty()) {
          return respond(
              HttpResponse::Error(400, "invalid_argument", "leadId is required", "leadId"));
        }
        if (starts->empty()) {
          return respond(
              HttpResponse::Error(400, "invalid_argument", "startsAt is required", "startsAt"));
        }
        auto t = TimeField(*starts, "startsAt", respond);
        if (!t) return;
        if (auto it = body->find("durationMinutes"); it != body->end() && !it->is_null()) {
          if (!it->is_number_integer()) {
            return respond(HttpResponse::Error(
                400, "invalid_argument", "durationMinutes must be an integer", "durationMinutes"));
          }
          const auto d = it->get<int64_t>();
          r.duration_minutes =
              static_cast<int>(d < 0 ? -1 : (d > projections::kMaxMeetingMinutes ? 1'000'000 : d));
        }
        r.lead_id = std::move(*lead);
        r.starts_at = *t;
        r.agent = agent->empty() ? req.key_name : std::move(*agent);
        r.link = std::move(*link);
        r.actor = Actor(req);
        pool.Post([&meetings, r = std::move(r), respond] {
          auto m = meetings.Book(r);
          if (!m.ok()) return respond(HttpResponse::FromStatus(m.status()));
          respond(HttpResponse::Json(201, json{{"meeting", MeetingJson(*m)}}.dump()));
        });
      });

  server.AddRoute("POST", "/api/meetings/{id}/cancel", agents,
                  [&meetings, &pool](HttpRequest& req, Responder respond) {
                    auto body = ObjectBody(req, respond, /*empty_ok=*/true);
                    if (!body) return;
                    auto reason = StringField(*body, "reason", respond);
                    if (!reason) return;
                    pool.Post([&meetings, id = req.params[0], reason = std::move(*reason),
                               actor = Actor(req), respond] {
                      auto m = meetings.Cancel(id, reason, actor);
                      if (!m.ok()) return respond(HttpResponse::FromStatus(m.status()));
                      respond(HttpResponse::Json(200, json{{"meeting", MeetingJson(*m)}}.dump()));
                    });
                  });

  server.AddRoute("POST", "/api/meetings/{id}/reschedule", agents,
                  [&meetings, &pool](HttpRequest& req, Responder respond) {
                    auto body = ObjectBody(req, respond, /*empty_ok=*/false);
                    if (!body) return;
                    auto starts = StringField(*body, "startsAt", respond);
                    if (!starts) return;
                    if (starts->empty()) {
                      return respond(HttpResponse::Error(400, "invalid_argument",
                                                         "startsAt is required", "startsAt"));
                    }
                    auto t = TimeField(*starts, "startsAt", respond);
                    if (!t) return;
                    pool.Post([&meetings, id = req.params[0], t = *t, actor = Actor(req), respond] {
                      auto m = meetings.Reschedule(id, t, actor);
                      if (!m.ok()) return respond(HttpResponse::FromStatus(m.status()));
                      respond(HttpResponse::Json(200, json{{"meeting", MeetingJson(*m)}}.dump()));
                    });
                  });

  server.AddRoute("POST", "/api/meetings/{id}/outcome", agents,
                  [&meetings, &pool](HttpRequest& req, Responder respond) {
                    auto body = ObjectBody(req, respond, /*empty_ok=*/false);
                    if (!body) return;
                    auto status = StringField(*body, "status", respond);
                    if (!status) return;
                    if (status->empty()) {
                      return respond(HttpResponse::Error(400, "invalid_argument",
                                                         "status is required", "status"));
                    }
                    pool.Post([&meetings, id = req.params[0], status = std::move(*status),
                               actor = Actor(req), respond] {
                      auto m = meetings.RecordOutcome(id, status, actor);
                      if (!m.ok()) return respond(HttpResponse::FromStatus(m.status()));
                      respond(HttpResponse::Json(200, json{{"meeting", MeetingJson(*m)}}.dump()));
                    });
                  });

  server.AddRoute(
      "GET", "/api/meetings", agents, [&model, &pool](HttpRequest& req, Responder respond) {
        auto limit = Limit(req, respond);
        if (!limit) return;
        projections::MeetingFilter filter;
        if (const std::string from = req.Query("from"); !from.empty()) {
          auto t = TimeField(from, "from", respond);
          if (!t) return;
          filter.from = *t;
        }
        if (const std::string to = req.Query("to"); !to.empty()) {
          auto t = TimeField(to, "to", respond);
          if (!t) return;
          filter.to = *t;
        }
        filter.agent = req.Query("agent");
        pool.Post([&model, filter = std::move(filter), limit = *limit, cursor = req.Query("cursor"),
                   respond] {
          auto page = model.List(filter, limit, cursor);
          if (!page.ok()) return respond(HttpResponse::FromStatus(page.status()));
          json items = json::array();
          for (const auto& m : page->items) items.push_back(MeetingJson(m));
          json next = nullptr;
          if (page->next) next = *page->next;
          respond(HttpResponse::Json(200, json{{"items", items}, {"next", next}}.dump()));
        });
      });
}

}  // namespace nextier::adapters
