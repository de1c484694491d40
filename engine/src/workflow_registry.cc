#include "nextier/engine/workflow_registry.h"

#include <algorithm>
#include <nlohmann/json.hpp>

namespace nextier::engine {

namespace es = nextier::eventstore;

namespace {
constexpr std::string_view kStreamPrefix = "workflow-";
}

WorkflowRegistry::WorkflowRegistry(es::EventStore& store, const Clock& clock)
    : store_(store), clock_(clock) {}

void WorkflowRegistry::Remember(WorkflowVersionInfo info) {
  std::lock_guard lock(mu_);
  auto& list = versions_[info.workflow->id];
  list.push_back(std::move(info));
}

Status WorkflowRegistry::LoadLogAndDirectory(const std::filesystem::path& dir) {
  // 1. Versions already in the log, in log order.
  Status bad;
  Status s = store_.ReadAll(1, SIZE_MAX, [&](const es::EventView& ev) {
    auto e = ev.event();
    if (e.getPayload().which() != es::schema::Event::Payload::WORKFLOW_VERSION_RECORDED)
      return true;
    auto rec = e.getPayload().getWorkflowVersionRecorded();
    auto parsed = workflows::ParseWorkflowText(rec.getDefinition().cStr(),
                                               std::string(e.getStreamId().cStr()));
    if (!parsed.ok()) {
      bad = Status::Corruption(
          "event " + std::to_string(ev.seq()) +
          ": a recorded workflow no longer parses: " + parsed.status().message());
      return false;
    }
    WorkflowVersionInfo info;
    info.workflow = std::make_shared<const workflows::Workflow>(std::move(parsed).value());
    info.recorded_at = e.getRecordedAt();
    info.stream_version = e.getStreamVersion();
    Remember(std::move(info));
    return true;
  });
  NEXTIER_RETURN_IF_ERROR(s);
  NEXTIER_RETURN_IF_ERROR(bad);
  // 2. The directory's files; all must validate before any is recorded.
  auto loaded = workflows::LoadWorkflowDirectory(dir);
  if (!loaded.ok()) return loaded.status();
  for (const auto& wf : *loaded) {
    // A file adds its version only when that content was never recorded: an older file must
    // not undo a version ops submitted through the API since.
    if (Get(wf.id, wf.version).ok()) continue;
    WorkflowVersionInfo info;
    bool created = false;
    NEXTIER_RETURN_IF_ERROR(Record(wf, "system:startup", &info, &created));
  }
  return Status::Ok();
}

Status WorkflowRegistry::Record(const workflows::Workflow& wf, std::string_view actor,
                                WorkflowVersionInfo* out, bool* created) {
  const std::string stream = std::string(kStreamPrefix) + wf.id;
  for (int attempt = 0; attempt < 5; ++attempt) {
    uint64_t expected = 0;
    {
      std::lock_guard lock(mu_);
      auto it = versions_.find(wf.id);
      if (it != versions_.end() && !it->second.empty()) {
        const auto& latest = it->second.back();
        if (latest.workflow->version == wf.version) {
          *out = latest;
          *created = false;
          return Status::Ok();
        }
        expected = latest.stream_version;
      }
    }
    es::NewEvent e;
    auto b = e.builder();
    b.setRecordedAt(clock_.Now());
    b.setActor(std::string(actor));
    b.setWorkflowId(wf.id);
    b.setWorkflowVersion(wf.version);
    auto rec = b.getPayload().initWorkflowVersionRecorded();
    rec.setWorkflowId(wf.id);
    rec.setVersion(wf.version);
    rec.setDefinition(wf.canonical_json);
    const Micros at = b.getRecordedAt();
    std::vector<es::NewEvent> events;
    events.push_back(std::move(e));
    auto r = store_.Append(stream, es::ExpectedVersion::Exactly(expected), std::move(events));
    if (r.ok()) {
      WorkflowVersionInfo info;
      info.workflow = std::make_shared<const workflows::Workflow>(wf);
      info.recorded_at = at;
      info.stream_version = r->streams[0].last_version;
      Remember(info);
      *out = std::move(info);
      *created = true;
      return Status::Ok();
    }
    if (r.status().code() != StatusCode::kConflict) return r.status();
    // Someone else recorded a version meanwhile: catch up from the stream and try again.
    std::vector<WorkflowVersionInfo> fresh;
    NEXTIER_RETURN_IF_ERROR(
        store_.ReadStream(stream, expected + 1, SIZE_MAX, [&](const es::EventView& ev) {
          auto ee = ev.event();
          auto parsed = workflows::ParseWorkflowText(
              ee.getPayload().getWorkflowVersionRecorded().getDefinition().cStr(), stream);
          if (parsed.ok()) {
            WorkflowVersionInfo info;
            info.workflow = std::make_shared<const workflows::Workflow>(std::move(parsed).value());
            info.recorded_at = ee.getRecordedAt();
            info.stream_version = ee.getStreamVersion();
            fresh.push_back(std::move(info));
          }
          return true;
        }));
    for (auto& f : fresh) Remember(std::move(f));
  }
  return Status::Conflict("workflow " + wf.id + ": too many concurrent edits, try again");
}

WorkflowRegistry::SubmitResult WorkflowRegistry::Submit(std::string_view id,
                                                        const nlohmann::json& doc,
                                                        std::string_view actor) {
  SubmitResult out;
  auto checked = workflows::CheckWorkflow(doc);
  if (!checked.errors.empty()) {
    out.errors = std::move(checked.errors);
    out.status = Status::InvalidArgument(
        out.errors[0].reason + (out.errors.size() > 1
                                    ? " (and " + std::to_string(out.errors.size() - 1) + " more)"
                                    : std::string()),
        out.errors[0].field);
    return out;
  }
  if (checked.workflow->id != id) {
    out.status =
        Status::InvalidArgument("the document's id '" + checked.workflow->id +
                                    "' does not match the path's '" + std::string(id) + "'",
                                "id");
    out.errors.push_back({"id", out.status.message()});
    return out;
  }
  out.status = Record(*checked.workflow, actor, &out.info, &out.created);
  return out;
}

std::vector<WorkflowVersionInfo> WorkflowRegistry::List() const {
  std::lock_guard lock(mu_);
  std::vector<WorkflowVersionInfo> out;
  for (const auto& [id, list] : versions_) {
    if (!list.empty()) out.push_back(list.back());
  }
  return out;
}

Result<WorkflowVersionInfo> WorkflowRegistry::Get(std::string_view id,
                                                  std::string_view version) const {
  std::lock_guard lock(mu_);
  auto it = versions_.find(id);
  if (it == versions_.end() || it->second.empty()) {
    return Status::NotFound("no workflow '" + std::string(id) + "'");
  }
  if (version.empty()) return it->second.back();
  for (auto v = it->second.rbegin(); v != it->second.rend(); ++v) {
    if (v->workflow->version == version) return *v;
  }
  return Status::NotFound("workflow '" + std::string(id) + "' has no version '" +
                          std::string(version) + "'");
}

}  // namespace nextier::engine
