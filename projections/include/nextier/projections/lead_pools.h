// LeadPoolsProjection: the two work queues of the lead journey, as ordered pools of lead ids.
//
//   kRaw       leads in state raw, entities included (skip trace must see them to reject them).
//              Enter on LeadImported; leave on LeadEnriched, LeadRejected, LeadNoHit,
//              LeadOptedOut, LeadForgotten.
//   kEnriched  leads skip-traced and not yet drawn into a campaign. Enter on LeadEnriched (unless
//              the lead opted out or was forgotten before); leave on LeadQueued, LeadOptedOut,
//              LeadForgotten, LeadRejected.
//
// Each pool is ordered best role score first, then import order (the seq of LeadImported), which
// is the order skip trace and the campaign dispatcher draw leads in. Like LeadsProjection, this
// folds the lead streams simply (no engine state machine here: projections sit below the engine).
//
// The projection also keeps the skip-trace jobs started and not finished (SkipTraceJobStarted on
// `skiptrace-<jobId>` adds, SkipTraceJobFinished removes), so that the skip-trace service finds
// the jobs to resume after a restart without scanning the log.
//
// Tables (part of the format; bump version() when changing them):
//   lead_pools.raw, lead_pools.enriched (one table per pool, so Count is O(1))
//                       key = be32(1000 - score clamped to [-1000, 1000]) || be64 seq of
//                             LeadImported || lead id;  value = file id
//   lead_pools.by_file  key = pool (1 byte) || file id || 0x00 || the pool table's key
//   lead_pools.leads    key = lead id;  value = the lead's pool and ordering facts (lead_pools.cc)
//   lead_pools.jobs     key = skip-trace job id;  value = ""
// Events on a lead stream before its LeadImported are ignored.
//
// Thread-safety: queries may run from any thread, concurrently with the runner applying; each
// query reads one committed snapshot.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "nextier/common/status.h"
#include "nextier/projections/projection.h"
#include "nextier/projections/read_model_store.h"

namespace nextier::projections {

class LeadPoolsProjection final : public Projection {
 public:
  enum class Pool : char { kRaw = 'r', kEnriched = 'e' };

  // Opens (creating) the tables in `store`, which must outlive the projection.
  static Result<std::unique_ptr<LeadPoolsProjection>> Open(ReadModelStore& store);

  std::string_view name() const override { return "lead_pools"; }
  uint32_t version() const override { return 1; }
  std::vector<Table> tables() const override { return {raw_, enriched_, by_file_, leads_, jobs_}; }
  Status Apply(Txn& txn, const eventstore::EventView& event) override;

  // Up to `limit` lead ids of `pool` in pool order, from the file `file_id` ("" = any file).
  // Ids that `accept` refuses (when given) are passed over and do not use up the limit, so a
  // caller that skips some (suppressed numbers, leads busy elsewhere) still gets a full block.
  // `accept` runs inside the query's read transaction: keep it short.
  Result<std::vector<std::string>> List(
      Pool pool, std::string_view file_id, size_t limit,
      const std::function<bool(std::string_view lead_id)>& accept = {}) const;

  // Visits the ids of `pool` (from `file_id`, "" = any) in pool order until `visit` returns
  // false: for callers whose stopping rule is not a count (skip trace takes entities it meets
  // without counting them).
  Status Visit(Pool pool, std::string_view file_id,
               const std::function<bool(std::string_view lead_id)>& visit) const;

  // The number of leads in `pool` (all files).
  Result<uint64_t> Count(Pool pool) const;

  // The pool `lead_id` is in; nullopt when in none (or unknown).
  Result<std::optional<Pool>> PoolOf(std::string_view lead_id) const;

  // Skip-trace job ids started and not finished, in id order.
  Result<std::vector<std::string>> UnfinishedSkipTraceJobs() const;

 private:
  struct Row;
  explicit LeadPoolsProjection(ReadModelStore& store) : store_(store) {}
  Status Load(const Txn& txn, std::string_view id, Row* row, bool* found) const;
  Table PoolTable(char pool) const;
  Status Enter(Txn& txn, Row& row, char pool);
  Status Leave(Txn& txn, Row& row);

  ReadModelStore& store_;
  Table raw_, enriched_, by_file_, leads_, jobs_;
};

}  // namespace nextier::projections
