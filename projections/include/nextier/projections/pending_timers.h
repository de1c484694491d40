// PendingTimers: the read model of durable timers that are scheduled and have neither fired
// nor been cancelled, ordered by due time. The timer service (engine/timers.h) arms and fires
// from it.
//
// Folding: TimerScheduled makes a timer pending (a TimerScheduled for an id that is already
// pending reschedules it: new due time and arguments); TimerFired and TimerCancelled end it.
// A timer id is used once for all time: once an id has fired or been cancelled, a later
// TimerScheduled with that id is ignored (its fire would be a duplicate of the first, and the
// idempotency key "timer:<id>" would swallow it). Ids must be 1 to kMaxTimerIdSize bytes; a
// TimerScheduled with another id is ignored.
//
// Tables (names are part of the format; bump version() when changing them):
//   timers.by_due  key = be64(dueAt with the sign bit flipped) || timerId
//                  value = be64 scheduledSeq || str kind || str target || str args
//                          || str correlationId   (str = be32 length || bytes)
//   timers.by_id   key = timerId, value = be64(dueAt with the sign bit flipped)
//   timers.done    key = timerId, value = 'F' (fired) or 'C' (cancelled) || be64 seq
// Ties in due time are ordered by timer id (bytewise). timers.done grows by one row per timer
// ever finished (TODO(retention): prune rows older than the idempotency window).
//
// Thread-safety: queries may run from any thread, concurrently with the runner applying.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "nextier/common/status.h"
#include "nextier/projections/projection.h"
#include "nextier/projections/read_model_store.h"

namespace nextier::projections {

constexpr size_t kMaxTimerIdSize = 256;

struct PendingTimer {
  std::string timer_id;
  int64_t due_at = 0;  // microseconds since the epoch (business time)
  std::string kind;
  std::string target;  // the stream the timer acts on
  std::string args;    // small JSON object
  std::string correlation_id;
  uint64_t scheduled_seq = 0;  // the seq of the (latest) TimerScheduled event
};

enum class TimerState { kUnknown, kPending, kFired, kCancelled };

class PendingTimers final : public Projection {
 public:
  // Opens (creating) the tables in `store`, which must outlive the projection.
  static Result<std::unique_ptr<PendingTimers>> Open(ReadModelStore& store);

  std::string_view name() const override { return "pending_timers"; }
  uint32_t version() const override { return 1; }
  std::vector<Table> tables() const override { return {by_due_, by_id_, done_}; }
  Status Apply(Txn& txn, const eventstore::EventView& event) override;

  // The earliest pending timers due at or before `at_or_before`, at most `max`, in due order
  // (ties by timer id).
  Result<std::vector<PendingTimer>> Earliest(int64_t at_or_before, size_t max) const;
  // The same inside the caller's transaction (read or write).
  Status Earliest(const Txn& txn, int64_t at_or_before, size_t max,
                  std::vector<PendingTimer>* out) const;
  // The pending timer `timer_id`, or nullopt when it is not pending.
  Result<std::optional<PendingTimer>> Get(std::string_view timer_id) const;
  Result<TimerState> State(std::string_view timer_id) const;
  // How many timers are pending.
  Result<uint64_t> Count() const;

 private:
  explicit PendingTimers(ReadModelStore& store) : store_(store) {}
  Status RemovePending(Txn& txn, std::string_view timer_id);

  ReadModelStore& store_;
  Table by_due_, by_id_, done_;
};

}  // namespace nextier::projections
