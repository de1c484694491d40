// Durable timers: scheduling and cancelling are events; TimerService fires what falls due.
//
// Scheduling a timer is a TimerScheduled event appended by the caller IN THE SAME UNIT as the
// state change that causes it (MakeTimerScheduled builds the event; put it in your
// StreamAppend), and cancelling is a TimerCancelled event the same way. The PendingTimers read
// model (projections/pending_timers.h) keeps what is pending ordered by due time.
//
// Firing a timer runs the handler registered for its kind, which returns the timer's effects
// as StreamAppends (it appends nothing itself), then appends TimerFired{timerId, firedAt} to
// the timer's target stream TOGETHER with the effects as ONE unit under the idempotency key
// "timer:<timerId>". So a timer's effects are stored exactly once, even when a crash makes the
// service fire it again: the repeat is answered as a duplicate and writes nothing.
//
// Schedule, reschedule (a TimerScheduled with a pending id moves it) and cancel a timer on its
// target stream. A timer with no target fires onto the stream "timers".
//
// Guarding against a cancel that races the fire: the service reads the target stream's version
// V, waits for the read model to reach the log's head, checks the timer is still pending, runs
// the handler and appends to the target stream expecting exactly V. A TimerCancelled (or any
// event) appended to the target in between makes the append a Conflict; the service then
// starts over and finds the timer cancelled. Handlers get V as FiredTimer::target_version and
// should fold the target stream up to it; an effect on the target stream is appended in the
// same StreamAppend as TimerFired, expecting V (a handler's own expectation on the target must
// equal V, or the fire is retried).
//
// Firing order is due-time order (ties: timer id, bytewise), never before the clock reaches
// the due time, one timer at a time: a timer's unit is stored and folded into the read model
// before the next is chosen, so a timer a handler schedules earlier than others fires first.
//
// Real clock (Start): one Asio thread with a steady timer armed for the earliest pending due
// time, re-armed whenever the read model moves (new timers scheduled by anyone; so start the
// ProjectionRunner too, or new timers are only seen when the service next wakes). After a
// restart every pending timer is armed again from the read model and overdue ones fire at
// once, oldest first. The thread belongs to timers alone, so it fires synchronously (waiting
// for each commit): later timers must wait for earlier ones anyway.
//
// Simulated clock: no thread. AdvanceTo(t) fires every timer due up to t on the calling
// thread, setting the SimulatedClock to each timer's due time before firing it, and returns
// when all their effects are stored and folded; then it sets the clock to t.
//
// Handlers: a handler that fails with a retryable status (Unavailable, ResourceExhausted)
// leaves its timer pending (real clock: retried after `retry_backoff`, later timers wait;
// simulated clock: AdvanceTo returns the error with the clock at that timer's due time). Any
// other failure (or effects the store rejects as invalid) is a bug or bad data that must not
// wedge the queue: the timer fires without effects, the failure is counted in stats() and kept
// in last_error(). A timer kind with no handler fires without effects too (counted as
// unhandled).
//
// Thread-safety: RegisterHandler before Start/AdvanceTo. Start, Stop, AdvanceTo, AdvanceBy,
// stats and last_error may be called from any thread; AdvanceTo calls are serialised.
// Handlers run on the service's thread (real) or the AdvanceTo caller's thread (simulated).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "nextier/common/status.h"
#include "nextier/engine/clock.h"
#include "nextier/eventstore/event_store.h"
#include "nextier/projections/pending_timers.h"
#include "nextier/projections/projection.h"

namespace nextier::engine {

// A timer being fired, as its handler sees it.
struct FiredTimer {
  std::string timer_id;
  std::string kind;
  std::string target;  // the stream the timer acts on
  std::string args;    // the JSON text given when it was scheduled
  std::string correlation_id;
  Micros due_at = 0;
  Micros fired_at = 0;          // the clock when firing (>= due_at)
  uint64_t target_version = 0;  // the target stream's version this fire builds on
};

// Returns the timer's effects (possibly none). Must not append anything itself: the service
// appends the effects with TimerFired as one unit (so it may be called again for the same
// timer after a conflict or a crash, and only one call's effects are ever stored).
using TimerHandler =
    std::function<Result<std::vector<eventstore::StreamAppend>>(const FiredTimer&)>;

// A TimerScheduled event for the caller's unit. `args` is a small JSON object (text). Timer ids
// are unique for all time and 1 to projections::kMaxTimerIdSize bytes.
eventstore::NewEvent MakeTimerScheduled(std::string_view timer_id, Micros due_at,
                                        std::string_view kind, std::string_view target,
                                        std::string_view args = "{}");
// A TimerCancelled event for the caller's unit (put it on the timer's target stream so that a
// racing fire conflicts with it, see above).
eventstore::NewEvent MakeTimerCancelled(std::string_view timer_id, std::string_view reason);
// The idempotency key a timer's fire is appended under.
std::string TimerIdempotencyKey(std::string_view timer_id);

struct TimerServiceOptions {
  // The actor stamped on TimerFired (and on effects that leave it empty).
  std::string actor = "system:timers";
  // Attempts to fire one timer when its target stream keeps changing under it.
  int max_conflict_retries = 16;
  // Real clock: the wait before retrying after a retryable failure.
  std::chrono::milliseconds retry_backoff = std::chrono::milliseconds(1000);
  // How long to wait for the read model to reach an event before giving up (Unavailable).
  std::chrono::milliseconds projection_timeout = std::chrono::milliseconds(30000);
  // Real clock: the most timers fired in one turn before the thread checks for new work/Stop.
  size_t fire_batch = 256;
};

struct TimerStats {
  uint64_t fired = 0;             // units appended
  uint64_t duplicates = 0;        // fires answered as duplicates (fired before a crash)
  uint64_t conflicts = 0;         // appends retried because the target stream moved
  uint64_t skipped = 0;           // chosen, but no longer pending when re-checked
  uint64_t handler_failures = 0;  // non-retryable handler errors (fired without effects)
  uint64_t unhandled = 0;         // kinds with no handler (fired without effects)
  uint64_t retries = 0;           // retryable failures (timer left pending)
  Micros last_lateness = 0;       // fired_at - due_at of the last fire
};

class TimerService {
 public:
  // `log`, `runner` (with `timers` added to it), `timers` and `clock` must outlive the service.
  // A SimulatedClock selects the simulated mode.
  TimerService(eventstore::EventStore& log, projections::ProjectionRunner& runner,
               const projections::PendingTimers& timers, Clock& clock,
               TimerServiceOptions options = {});
  ~TimerService();  // Stop()
  TimerService(const TimerService&) = delete;
  TimerService& operator=(const TimerService&) = delete;

  // Registers the handler for timers of `kind` (replacing any). Before Start/AdvanceTo.
  void RegisterHandler(std::string kind, TimerHandler handler);

  bool simulated() const;

  // Real clock: catches the read model up with the log, arms the earliest pending timer
  // (overdue ones fire at once, oldest first) and returns; the timers then fire on the
  // service's thread. Simulated clock: catches up and returns (nothing runs on its own).
  Status Start();
  // Stops the thread (after the fire in progress, if any). Safe to call twice.
  void Stop();

  // Simulated clock only (InvalidArgument otherwise): fires every timer due at or before `t`
  // in due order, each with the clock at its due time (never earlier than now), waiting until
  // its unit is stored and folded, then moves the clock to `t`. A time before now fires what is
  // overdue and leaves the clock where it is.
  Status AdvanceTo(Micros t);
  Status AdvanceBy(std::chrono::microseconds d);

  TimerStats stats() const;
  // The last error met while firing (Ok when none).
  Status last_error() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace nextier::engine
