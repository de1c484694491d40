// WorkflowRegistry: every workflow version ever used, kept in the log.
//
// Each workflow id has a stream `workflow-<id>`; each new version of its definition is a
// WorkflowVersionRecorded event carrying the canonical JSON, so replaying old history can
// always find the rules that were in force. The latest version of an id is its stream's last
// event. Loading the shipped directory records a file only when its content was never recorded
// for that id (so a version submitted through the API is not undone by the older file on the
// next start, while an edited file does become the latest). Recording a version changes
// nothing that runs: campaigns pin the version they started with until ops move them.
//
// Thread-safety: all methods may be called concurrently.
#pragma once

#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

#include "nextier/common/status.h"
#include "nextier/engine/clock.h"
#include "nextier/eventstore/event_store.h"
#include "nextier/workflows/loader.h"
#include "nextier/workflows/workflow.h"

namespace nextier::engine {

struct WorkflowVersionInfo {
  std::shared_ptr<const workflows::Workflow> workflow;
  Micros recorded_at = 0;
  uint64_t stream_version = 0;  // 1 for the first version recorded for this id
};

class WorkflowRegistry {
 public:
  WorkflowRegistry(eventstore::EventStore& store, const Clock& clock);

  // Reads every version recorded in the log, then records the workflows of `dir` (*.json) that
  // are new. Fails, recording nothing, when a file does not validate.
  Status LoadLogAndDirectory(const std::filesystem::path& dir);

  // Validates `doc` for `id` (the path's id must match the document's) and records it as the
  // latest version unless it already is. On validation failure returns the errors.
  struct SubmitResult {
    Status status;
    std::vector<workflows::FieldError> errors;  // when status is InvalidArgument from checking
    WorkflowVersionInfo info;
    bool created = false;  // false when this content was already the latest version
  };
  SubmitResult Submit(std::string_view id, const nlohmann::json& doc, std::string_view actor);

  // The latest version of every id, sorted by id.
  std::vector<WorkflowVersionInfo> List() const;
  // `version` empty means the latest. NotFound names the id (and version).
  Result<WorkflowVersionInfo> Get(std::string_view id, std::string_view version = {}) const;

 private:
  Status Record(const workflows::Workflow& wf, std::string_view actor, WorkflowVersionInfo* out,
                bool* created);
  void Remember(WorkflowVersionInfo info);

  eventstore::EventStore& store_;
  const Clock& clock_;
  mutable std::mutex mu_;
  // id -> versions in recording order (the last is the latest).
  std::map<std::string, std::vector<WorkflowVersionInfo>, std::less<>> versions_;
};

}  // namespace nextier::engine
