#include "nextier/adapters/api_data_hub.h"

#include <condition_variable>
#include <deque>
#include <mutex>
#include <nlohmann/json.hpp>

#include "nextier/adapters/logging.h"
#include "nextier/adapters/multipart.h"
#include "nextier/engine/lead_state.h"

namespace nextier::adapters {

namespace {

constexpr size_t kQueueChunks = 16;

nlohmann::json TimeOrNull(int64_t t) {
  return t == 0 ? nlohmann::json(nullptr) : nlohmann::json(engine::FormatRfc3339(t));
}

// ?limit= (default 50, 1..1000); InvalidArgument otherwise.
Result<size_t> LimitOf(const HttpRequest& req) {
  const std::string text = req.Query("limit");
  if (text.empty()) return size_t{50};
  size_t n = 0;
  for (char c : text) {
    if (c < '0' || c > '9' || n > 100000) {
      return Status::InvalidArgument("limit must be a whole number from 1 to 1000", "limit");
    }
    n = n * 10 + static_cast<size_t>(c - '0');
  }
  if (n < 1 || n > 1000) {
    return Status::InvalidArgument("limit must be a whole number from 1 to 1000", "limit");
  }
  return n;
}

projections::FileRecord RecordOf(const ImportResult& r) {
  projections::FileRecord f;
  f.id = r.file_id;
  f.name = r.name;
  f.source = r.source;
  f.status = r.status;
  f.rows = r.counts.rows;
  f.imported = r.counts.imported;
  f.duplicates = r.counts.duplicates;
  f.rejected = r.counts.rejected;
  f.entities = r.counts.entities;
  f.created_at = r.created_at;
  f.finished_at = r.finished_at;
  f.failure = r.failure;
  for (const auto& [row, reason] : r.errors) f.errors.push_back({row, reason});
  f.mapping = r.mapping;
  f.size_bytes = r.bytes;
  return f;
}

// The state shared by an upload's sink (I/O thread) and its import (a pool thread).
struct UploadState {
  std::mutex mu;
  std::condition_variable cv;
  std::deque<std::string> chunks;
  bool eof = false;
  Status read_status;    // how the body ended
  Status import_status;  // the import's failure, seen by the sink to stop reading
  Responder respond;     // set by Finish
  bool responded = false;
};

class UploadSink final : public BodySink {
 public:
  UploadSink(std::shared_ptr<UploadState> state, std::optional<MultipartFileReader> multipart,
             Status early)
      : state_(std::move(state)), multipart_(std::move(multipart)), early_(std::move(early)) {}

  ~UploadSink() override {
    // A connection that went away without Finish: the import is abandoned.
    std::lock_guard lock(state_->mu);
    if (!state_->eof) {
      state_->eof = true;
      state_->read_status = Status::Unavailable("the upload connection closed");
      state_->cv.notify_all();
    }
  }

  Status OnChunk(std::string_view chunk) override {
    if (!early_.ok()) return early_;
    if (multipart_) return multipart_->Feed(chunk);
    return Push(chunk);
  }

  void Finish(Status read_status, Responder respond) override {
    if (!early_.ok()) return respond(HttpResponse::FromStatus(early_));
    if (read_status.ok() && multipart_) read_status = multipart_->Finish();
    std::lock_guard lock(state_->mu);
    state_->eof = true;
    state_->read_status = std::move(read_status);
    state_->respond = std::move(respond);
    state_->cv.notify_all();
  }

  // Queues a copy of `data` for the import, waiting while the queue is full.
  static Status PushTo(UploadState& state, std::string_view data) {
    std::unique_lock lock(state.mu);
    state.cv.wait(lock,
                  [&] { return state.chunks.size() < kQueueChunks || !state.import_status.ok(); });
    if (!state.import_status.ok()) return state.import_status;
    state.chunks.emplace_back(data);
    state.cv.notify_all();
    return Status::Ok();
  }

 private:
  Status Push(std::string_view data) { return PushTo(*state_, data); }

  std::shared_ptr<UploadState> state_;
  std::optional<MultipartFileReader> multipart_;
  Status early_;
};

// Runs on a pool thread: starts the import, feeds it the queued chunks, answers.
void RunUpload(std::shared_ptr<UploadState> state, DataHub& hub, ImportOptions options,
               projections::FilesProjection& files, projections::ProjectionRunner& runner,
               eventstore::EventStore& store) {
  // Never queue behind another import: this upload's I/O thread would wait on a full queue.
  auto job = hub.StartImport(std::move(options), /*wait=*/false);
  auto fail_import = [&](const Status& s) {
    std::lock_guard lock(state->mu);
    state->import_status = s;
    state->chunks.clear();
    state->cv.notify_all();
  };
  if (!job.ok()) fail_import(job.status());
  while (job.ok()) {
    std::string chunk;
    {
      std::unique_lock lock(state->mu);
      state->cv.wait(lock, [&] { return !state->chunks.empty() || state->eof; });
      if (state->chunks.empty()) break;  // eof
      chunk = std::move(state->chunks.front());
      state->chunks.pop_front();
      state->cv.notify_all();
    }
    if (Status s = (*job)->Feed(chunk); !s.ok()) fail_import(s);
  }
  // Wait for the end of the body (the sink's Finish) to have a responder.
  Status read_status;
  Responder respond;
  {
    std::unique_lock lock(state->mu);
    state->cv.wait(lock, [&] { return state->eof; });
    read_status = state->read_status;
    respond = state->respond;
  }
  if (!job.ok()) {
    if (respond) respond(HttpResponse::FromStatus(job.status()));
    return;
  }
  ImportResult result;
  const bool own_failure = !state->import_status.ok();
  if (!read_status.ok() && !own_failure) {
    result = (*job)->Abort(read_status.message());
  } else {
    result = (*job)->Finish();
  }
  if (!respond) return;                                         // the connection is gone
  (void)runner.WaitFor(store.Head(), std::chrono::seconds(5));  // GETs see it at once
  if (result.status == "done") {
    LogInfo("upload " + result.file_id + " imported " + std::to_string(result.counts.imported) +
            " of " + std::to_string(result.counts.rows) + " rows");
    // The read model's FILE when it has caught up, so the answer equals a later GET.
    auto stored = files.Get(result.file_id);
    const auto record = stored.ok() && stored->status == "done" ? *stored : RecordOf(result);
    return respond(
        HttpResponse::Json(202, nlohmann::json{{"file", FileJson(record, true)}}.dump()));
  }
  if (!read_status.ok() && read_status.code() == StatusCode::kInvalidArgument && !own_failure) {
    if (read_status.field() == "file") {
      return respond(HttpResponse::Error(400, "invalid_file", read_status.message(), "file"));
    }
    // The server could not read the body (a bad chunk, a body cut short): the request is
    // malformed, as for any other route, never a 503 that invites sending it again.
    return respond(HttpResponse::Error(400, "malformed_request", read_status.message()));
  }
  if (result.invalid_file) {
    const bool mapping = result.failure_code == StatusCode::kInvalidArgument &&
                         result.failure.find("mapping") != std::string::npos;
    return respond(HttpResponse::Error(400, mapping ? "invalid_mapping" : "invalid_file",
                                       result.failure, mapping ? "mapping" : "file"));
  }
  respond(HttpResponse::FromStatus(
      Status(result.failure_code == StatusCode::kOk ? StatusCode::kInternal : result.failure_code,
             result.failure)));
}

}  // namespace

nlohmann::json FileJson(const projections::FileRecord& f, bool detail) {
  nlohmann::json j = {{"id", f.id},
                      {"name", f.name},
                      {"source", f.source},
                      {"status", f.status},
                      {"rows", f.rows},
                      {"imported", f.imported},
                      {"duplicates", f.duplicates},
                      {"rejected", f.rejected},
                      {"entities", f.entities},
                      {"createdAt", TimeOrNull(f.created_at)},
                      {"finishedAt", TimeOrNull(f.finished_at)}};
  if (!f.failure.empty()) j["reason"] = f.failure;
  if (detail) {
    nlohmann::json errors = nlohmann::json::array();
    for (const auto& e : f.errors) errors.push_back({{"row", e.row}, {"reason", e.reason}});
    nlohmann::json mapping = nlohmann::json::object();
    for (const auto& [header, field] : f.mapping) mapping[header] = field;
    j["errors"] = std::move(errors);
    j["mapping"] = std::move(mapping);
  }
  return j;
}

nlohmann::json LeadJson(const projections::LeadView& l) {
  auto or_null = [](const std::string& s) {
    return s.empty() ? nlohmann::json(nullptr) : nlohmann::json(s);
  };
  nlohmann::json address = {{"street", or_null(l.street)},
                            {"city", or_null(l.city)},
                            {"state", or_null(l.state_code)},
                            {"zip", or_null(l.zip)}};
  if (!l.mailing_address.empty()) address["mailing"] = l.mailing_address;
  if (!l.property_address.empty()) address["property"] = l.property_address;
  return {{"id", l.id},
          {"leadId", or_null(l.human_id)},
          {"state", l.state},
          {"firstName", or_null(l.first_name)},
          {"lastName", or_null(l.last_name)},
          {"fullName", or_null(l.full_name)},
          {"company", or_null(l.company)},
          {"title", or_null(l.title)},
          {"roleScore", l.role_score},
          {"isEntity", l.is_entity},
          {"phone", l.phones.empty() ? nlohmann::json(nullptr) : nlohmann::json(l.phones[0])},
          {"phones", l.phones},
          {"email", or_null(l.email)},
          {"address", address},
          {"campaignId", or_null(l.campaign_id)},
          {"block", l.block == 0 ? nlohmann::json(nullptr) : nlohmann::json(l.block)},
          {"batch", l.batch == 0 ? nlohmann::json(nullptr) : nlohmann::json(l.batch)},
          {"initialMessageId", or_null(l.initial_message_id)},
          {"goldLabeledAt", TimeOrNull(l.gold_labeled_at)},
          {"fileId", l.file_id},
          {"row", l.row},
          {"source", l.source},
          {"forgotten", l.forgotten},
          {"createdAt", TimeOrNull(l.created_at)},
          {"updatedAt", TimeOrNull(l.updated_at)}};
}

void RegisterDataHubRoutes(Server& server, DataHub& hub, projections::FilesProjection& files,
                           projections::ProjectionRunner& runner, eventstore::EventStore& store,
                           WorkPool& pool) {
  const RouteOptions ops{{Role::kOps}, false, 4096};

  server.AddStreamingRoute(
      "POST", "/api/data-hub/upload", ops,
      [&hub, &files, &runner, &store, &pool](HttpRequest& req) -> std::unique_ptr<BodySink> {
        ImportOptions options;
        options.actor = "ops:" + req.key_name;
        options.name = req.Query("name");
        options.workflow_id = req.Query("workflow", kDefaultImportWorkflow);
        Status early;
        if (const std::string source = req.Query("source"); !source.empty()) {
          options.source = ParseLeadSource(source);
          if (!options.source) {
            early = Status::InvalidArgument(
                "source must be usbizdata, apollo, property or generic, not '" + source + "'",
                "source");
          }
        }
        auto state = std::make_shared<UploadState>();
        std::optional<MultipartFileReader> multipart;
        const std::string type = req.Header("content-type");
        std::string lower = type;
        for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        if (early.ok() && lower.rfind("multipart/form-data", 0) == 0) {
          auto boundary = MultipartBoundary(type);
          if (!boundary.ok()) {
            early = boundary.status();
          } else {
            multipart.emplace(*boundary, "file", [state](std::string_view data) {
              return UploadSink::PushTo(*state, data);
            });
          }
        } else if (early.ok() && lower.rfind("multipart/", 0) == 0) {
          early =
              Status::InvalidArgument("use multipart/form-data with a 'file' part", "Content-Type");
        }
        if (early.ok() && options.name.empty()) options.name = "upload.csv";
        if (early.ok()) {
          // The name is stored and shown in every FILE: bytes that are not UTF-8 (?name=%FF)
          // would make each later answer that dumps it fail, so refuse them here.
          try {
            (void)nlohmann::json(options.name).dump();
          } catch (const nlohmann::json::type_error&) {
            early = Status::InvalidArgument("name must be UTF-8 text", "name");
          }
        }
        if (early.ok()) {
          options.size_bytes = 0;
          if (!multipart) {
            const std::string length = req.Header("content-length");
            if (!length.empty()) options.size_bytes = std::strtoull(length.c_str(), nullptr, 10);
          }
          // The multipart filename is known only once its part header arrives; the query
          // name (or upload.csv) stands.
          pool.Post([state, &hub, options = std::move(options), &files, &runner, &store]() mutable {
            RunUpload(state, hub, std::move(options), files, runner, store);
          });
        }
        return std::make_unique<UploadSink>(state, std::move(multipart), early);
      });

  server.AddRoute("GET", "/api/data-hub/files", ops, [&files](HttpRequest& req, Responder respond) {
    auto limit = LimitOf(req);
    if (!limit.ok()) return respond(HttpResponse::FromStatus(limit.status()));
    auto page = files.List(*limit, req.Query("cursor"));
    if (!page.ok()) return respond(HttpResponse::FromStatus(page.status()));
    nlohmann::json items = nlohmann::json::array();
    for (const auto& f : page->items) items.push_back(FileJson(f, false));
    respond(HttpResponse::Json(
        200, nlohmann::json{{"items", items},
                            {"next", page->next ? nlohmann::json(*page->next) : nullptr}}
                 .dump()));
  });

  server.AddRoute("GET", "/api/data-hub/files/{id}", ops,
                  [&files](HttpRequest& req, Responder respond) {
                    auto f = files.Get(req.params[0]);
                    if (!f.ok()) return respond(HttpResponse::FromStatus(f.status()));
                    respond(HttpResponse::Json(200, FileJson(*f, true).dump()));
                  });
}

void RegisterLeadRoutes(Server& server, projections::LeadsProjection& leads) {
  const RouteOptions read{{Role::kOps, Role::kAgent}, false, 4096};
  auto list = [&leads](projections::LeadFilter filter, HttpRequest& req, Responder respond) {
    auto limit = LimitOf(req);
    if (!limit.ok()) return respond(HttpResponse::FromStatus(limit.status()));
    auto page = leads.List(filter, *limit, req.Query("cursor"));
    if (!page.ok()) return respond(HttpResponse::FromStatus(page.status()));
    nlohmann::json items = nlohmann::json::array();
    for (const auto& l : page->items) items.push_back(LeadJson(l));
    respond(HttpResponse::Json(
        200, nlohmann::json{{"items", items},
                            {"next", page->next ? nlohmann::json(*page->next) : nullptr}}
                 .dump()));
  };
  server.AddRoute("GET", "/api/leads", read, [list](HttpRequest& req, Responder respond) {
    // An unknown state would only ever match nothing: say so rather than answer an empty list.
    if (const std::string status = req.Query("status");
        !status.empty() && !engine::ParseLeadState(status).ok()) {
      return respond(HttpResponse::Error(
          400, "invalid_argument",
          "status must be a lead state (raw, enriched, queued, sent, responded, gold, called, "
          "booked, rejected, no_hit, failed, opted_out, not_interested), not '" +
              status + "'",
          "status"));
    }
    list({req.Query("status"), req.Query("campaign")}, req, std::move(respond));
  });
  server.AddRoute("GET", "/api/leads/enriched", read, [list](HttpRequest& req, Responder respond) {
    list({"enriched", req.Query("campaign")}, req, std::move(respond));
  });
  server.AddRoute("GET", "/api/leads/{id}", read, [&leads](HttpRequest& req, Responder respond) {
    auto l = leads.Get(req.params[0]);
    if (!l.ok()) return respond(HttpResponse::FromStatus(l.status()));
    respond(HttpResponse::Json(200, LeadJson(*l).dump()));
  });
}

}  // namespace nextier::adapters
