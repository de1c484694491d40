// FilesProjection: the FILE read model of the data hub (API.md, "Data hub"), folded from the
// file streams (`file-<id>`).
//
// Folding: FileUploaded creates the file (status importing, createdAt = its recordedAt, name,
// source, mapping); FileProgressed updates the counts; FileFinished sets status done, the final
// counts, the first row errors and the mapping, finishedAt; FileFailed sets status failed with
// its reason and counts, finishedAt (creating the file from the stream id when no FileUploaded
// came first).
//
// Tables (part of the format; bump version() when changing them):
//   files.by_id   key = file id, value = the encoded FileRecord (record_codec.h)
//   files.order   key = be64 seq of the file's first event || file id, value = ""
//
// Thread-safety: queries may run from any thread, concurrently with the runner applying.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "nextier/common/status.h"
#include "nextier/projections/projection.h"
#include "nextier/projections/read_model_store.h"

namespace nextier::projections {

struct FileRowError {
  uint64_t row = 0;
  std::string reason;
};

struct FileRecord {
  std::string id;
  std::string name;
  std::string source;
  std::string status;  // importing | done | failed
  uint64_t size_bytes = 0;
  uint64_t rows = 0;
  uint64_t imported = 0;
  uint64_t duplicates = 0;
  uint64_t rejected = 0;
  uint64_t entities = 0;
  int64_t created_at = 0;                                    // microseconds (business time)
  int64_t finished_at = 0;                                   // 0 while importing
  std::string failure;                                       // FileFailed's reason
  std::vector<FileRowError> errors;                          // the first 100
  std::vector<std::pair<std::string, std::string>> mapping;  // header -> field
  uint64_t first_seq = 0;
};

struct FilePage {
  std::vector<FileRecord> items;
  std::optional<std::string> next;  // opaque cursor, nullopt at the end
};

class FilesProjection final : public Projection {
 public:
  static Result<std::unique_ptr<FilesProjection>> Open(ReadModelStore& store);

  std::string_view name() const override { return "files"; }
  uint32_t version() const override { return 1; }
  std::vector<Table> tables() const override { return {by_id_, order_}; }
  Status Apply(Txn& txn, const eventstore::EventView& event) override;

  // NotFound when no such file.
  Result<FileRecord> Get(std::string_view file_id) const;
  // Files in upload order, oldest first, after `cursor` (empty: from the start). InvalidArgument
  // (field "cursor") for a cursor this projection did not hand out.
  Result<FilePage> List(size_t limit, std::string_view cursor) const;

 private:
  explicit FilesProjection(ReadModelStore& store) : store_(store) {}
  Status Load(const Txn& txn, std::string_view id, FileRecord* out, bool* found) const;
  Status Save(Txn& txn, const FileRecord& record);

  ReadModelStore& store_;
  Table by_id_, order_;
};

}  // namespace nextier::projections
