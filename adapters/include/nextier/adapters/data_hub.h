// The data hub's import pipeline: CSV bytes in, lead events out.
//
// An ImportJob is fed the file in chunks of any size (an HTTP body as it arrives, a file read
// by the CLI) and never holds the file: CsvReader -> the first record is the header ->
// MapHeaders (an explicit source or mapping wins) -> for every row MapRow, CleanLead,
// IsEntityName on the owner/contact name (never the company), ScoreTitle -> dedupe -> events.
//
// Dedupe, in this order: each E.164 phone, the email, the normalised name + company + ZIP
// (NameCompanyZipKey). Each is a keyed hash (KeyRing::BlindIndex, purposes in lead_index.h),
// looked up first among the rows of this file already imported (an open-addressing table of
// 64-bit hash prefixes, 16 bytes a key) and then among every stored lead (LeadIndexProjection,
// caught up before the import starts). A match is a DuplicateFound on the file's stream naming
// the matched lead and how; otherwise the row becomes a LeadImported (state raw) on a new
// stream `lead-<fileId>-<row>` (ExpectedVersion::NoStream), its personal fields sealed under
// that stream's key, its hashes set. A row with neither a name (person or company) nor a phone
// or email is rejected, as are the CSV reader's row errors; each rejected row is counted with
// {row, reason} (the first 100 kept).
//
// Events, on `file-<fileId>` and the lead streams, appended in units of `batch_rows` rows (one
// AppendUnit each, idempotency key "import:<fileId>:<n>", the file stream's FileProgressed
// closing each): FileUploaded (name, source, mapping) opens the first unit; the last unit ends
// with FileFinished (counts, first 100 row errors, mapping) or FileFailed (reason, the counts
// of what was stored). A file that is not CSV at all therefore stores only its file stream,
// FileUploaded + FileFailed in one unit, and no lead.
//
// Imports are serialised per DataHub: a second StartImport waits until the first job is
// finished, so dedupe sees every lead the earlier import stored.
//
// Thread-safety: DataHub may be shared; an ImportJob belongs to one thread at a time.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "nextier/adapters/cleaning.h"
#include "nextier/adapters/csv_reader.h"
#include "nextier/adapters/lead_mapping.h"
#include "nextier/common/status.h"
#include "nextier/engine/clock.h"
#include "nextier/engine/workflow_registry.h"
#include "nextier/eventstore/event_store.h"
#include "nextier/projections/lead_index.h"
#include "nextier/projections/projection.h"

namespace nextier::projections {
class FilesProjection;
}  // namespace nextier::projections

namespace nextier::adapters {

inline constexpr std::string_view kDefaultImportWorkflow = "real-estate-agents";

struct ImportOptions {
  std::string name;  // the file's name as shown (FILE.name)
  std::optional<LeadSource> source;
  std::vector<HeaderOverride> overrides;
  std::string workflow_id = std::string(kDefaultImportWorkflow);
  std::string actor = "system:import";
  std::string correlation_id;  // "" uses "import:<fileId>"
  uint64_t size_bytes = 0;     // when known in advance (FileUploaded.sizeBytes)
  size_t batch_rows = 1000;
  CsvOptions csv;
};

struct ImportCounts {
  uint64_t rows = 0;  // data rows, rejected ones included (not the header)
  uint64_t imported = 0;
  uint64_t duplicates = 0;
  uint64_t rejected = 0;
  uint64_t entities = 0;  // imported rows whose owner/contact is an entity
};

struct ImportResult {
  std::string file_id;
  std::string name;
  std::string source;   // usbizdata | apollo | property | generic ("" when no header was read)
  std::string status;   // done | failed
  std::string failure;  // why it failed
  bool invalid_file = false;  // failed because the input is not a CSV we can use (HTTP 400)
  StatusCode failure_code = StatusCode::kOk;
  ImportCounts counts;                                       // for a failed file: what was stored
  std::vector<std::pair<uint64_t, std::string>> errors;      // the first 100 {row, reason}
  std::vector<std::pair<std::string, std::string>> mapping;  // header -> field
  uint64_t bytes = 0;
  int64_t created_at = 0;
  int64_t finished_at = 0;
};

// The normalised name + company + ZIP key that the dedupe rule hashes: lowercase letters and
// digits of the name (first + last, else the full name), of the company and the ZIP, joined by
// '|'. Empty (no key) without a name, or without both company and ZIP.
std::string NameCompanyZipKey(const CleanedLead& lead);

class DataHub;

class ImportJob {
 public:
  ~ImportJob();  // an unfinished job is finished as failed ("the import was abandoned")
  ImportJob(const ImportJob&) = delete;
  ImportJob& operator=(const ImportJob&) = delete;

  // Parses and imports what `chunk` completes. A non-ok Status means the file failed (not CSV,
  // bad mapping) or storing failed: stop feeding and call Finish, which records FileFailed.
  Status Feed(std::string_view chunk);
  // Ends the input, stores the last batch and FileFinished (or FileFailed) and returns the
  // outcome. Calling it again returns the same result.
  ImportResult Finish();
  // Ends the job as failed with `reason` (an upload cut short); returns the outcome.
  ImportResult Abort(std::string reason);

  const std::string& file_id() const;
  uint64_t bytes_fed() const;
  ImportCounts counts() const;  // so far (progress)

 private:
  friend class DataHub;
  class Impl;
  explicit ImportJob(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

class DataHub {
 public:
  // Everything passed must outlive the hub and its jobs. `index` must be registered with
  // `runner`.
  DataHub(eventstore::EventStore& store, const engine::Clock& clock,
          engine::WorkflowRegistry& registry, projections::ProjectionRunner& runner,
          projections::LeadIndexProjection& index);
  ~DataHub();

  // Starts an import: checks the workflow (InvalidArgument, field "workflow"), waits for a
  // running import to finish (or, with `wait` false, returns Conflict at once), catches the
  // projections up. Appends nothing until the first batch.
  Result<std::unique_ptr<ImportJob>> StartImport(ImportOptions options, bool wait = true);

  // Imports the file at `path`; `progress(bytes, counts)` runs after each chunk when set.
  // NotFound when the file cannot be opened; otherwise the job's result (see status).
  Result<ImportResult> ImportFile(
      const std::string& path, ImportOptions options,
      const std::function<void(uint64_t, const ImportCounts&)>& progress = nullptr);

  // A file that was importing when its process stopped (killed, crashed, the disk full) would
  // show "importing" for ever. Once the read models reach the log's head as of this call, every
  // file `files` still shows importing from before it gets FileFailed ("interrupted"), with the
  // counts of what its stored batches hold; a file uploaded after this call is left alone. On a
  // thread of its own (catching up may take a while after a crash), stopped by the destructor.
  // `files` must be registered with the runner and outlive the hub.
  void FailInterruptedImports(const projections::FilesProjection& files);

 private:
  friend class ImportJob;
  void Release();

  eventstore::EventStore& store_;
  const engine::Clock& clock_;
  engine::WorkflowRegistry& registry_;
  projections::ProjectionRunner& runner_;
  projections::LeadIndexProjection& index_;
  struct Gate;
  std::unique_ptr<Gate> gate_;
  std::atomic<bool> stopping_{false};
  std::thread recovery_;
};

}  // namespace nextier::adapters
