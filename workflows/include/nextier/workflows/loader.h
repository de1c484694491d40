// Loading and validating workflow definitions.
//
// Every entry point validates the whole document and reports every problem it finds, each as
// a field path ("limits.batchSize", "templates.followUps[1].body"; "" for the document as a
// whole) and a reason. The rules are listed in workflows/README.md. The same validation
// serves the files in workflows/, `nextier workflow check FILE...` and
// `PUT /api/workflows/{id}`.
//
// Thread-safety: free functions with no shared state; safe to call concurrently.
#pragma once

#include <cstddef>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "nextier/common/status.h"
#include "nextier/workflows/workflow.h"

namespace nextier::workflows {

// Documents larger than this are rejected before parsing.
inline constexpr std::size_t kMaxWorkflowBytes = 1 << 20;

struct FieldError {
  std::string field;  // path into the document; "" for the document as a whole
  std::string reason;
  bool operator==(const FieldError&) const = default;
};

// The outcome of validating one document: a Workflow, or every error found.
struct CheckResult {
  std::optional<Workflow> workflow;  // set iff `errors` is empty
  std::vector<FieldError> errors;    // section by section, in the order README.md lists them
};

// Validates a parsed document.
CheckResult CheckWorkflow(const nlohmann::json& doc);

// Parses JSON text and validates it. Syntax errors are reported with their line and column
// ("invalid JSON at line 3, column 7: ..."), and duplicate keys, which JSON parsers otherwise
// resolve silently, are errors on the duplicated field.
CheckResult CheckWorkflowText(std::string_view json_text);

// The same checks, as a Result. On failure the Status is InvalidArgument; its field() is the
// first error's path and its message the first reason, followed by `source_name` (a file name
// or "api") and how many more errors there are.
Result<Workflow> ParseWorkflow(const nlohmann::json& doc, std::string_view source_name);
Result<Workflow> ParseWorkflowText(std::string_view json_text, std::string_view source_name);

// Reads and parses one file. NotFound when it does not exist, Unavailable when it cannot be
// read, InvalidArgument when it is too large or invalid.
Result<Workflow> LoadWorkflowFile(const std::filesystem::path& path);

// Loads every `*.json` file directly in `dir`, sorted by file name. Fails on the first file
// that does not load, or with Conflict when two files share an id.
Result<std::vector<Workflow>> LoadWorkflowDirectory(const std::filesystem::path& dir);

// For `nextier workflow check FILE...`: one line per problem, "FILE: field.path: reason"
// ("FILE: reason" for a problem with the whole file), files in the order given. A file whose
// id was already defined by an earlier file gets "FILE: id: ...". Empty when all are valid.
std::vector<std::string> CheckFiles(const std::vector<std::filesystem::path>& paths);

}  // namespace nextier::workflows
