// SkipTraceService: finds a textable phone for raw leads through a SkipTraceProvider, under a
// daily limit, as jobs that survive restarts.
//
// A job (stream `skiptrace-<jobId>`) is started with SkipTraceJobStarted naming its candidates:
// the given lead ids that are raw, or the raw pool (LeadPoolsProjection) of a file or of all
// files, best role score first, taking usable leads up to min(limit, the day's remaining
// allowance) and every entity or unusable lead met on the way. Entities and unusable leads (no
// last name, or neither state nor ZIP) are rejected (LeadRejected{entity|invalid}) inside
// Start(), before any provider call, and do not count against the limit. The rest is worked on
// the service's own threads:
//
//   hit      one unit: lead stream {LeadEnriched: the human LEAD ID, the phones and emails found
//            (sealed), the chosen phone's blind index} expecting the lead's folded version and
//            checked by the state machine (raw -> enriched); `lead-ids` {LeadIdAssigned}
//            expecting its version N (the id is NXT-<N+1>, six digits); `skiptrace-day-<day>`
//            {SkipTraceCounted} expecting its version (the count used that day, checked against
//            the limit); the job stream {SkipTraceCounted outcome "enriched"}.
//   miss     the same unit with LeadNoHit (raw -> no_hit) and no LEAD ID; it counts for the day.
//   error    Unavailable/Internal from the provider: SkipTraceAttemptFailed on the lead stream,
//            then a retry after a bounded exponential backoff; the last attempt is final=true
//            and counted "failed" on the job (the lead stays raw; nothing counts for the day).
//            InvalidArgument is final at once (a retry cannot help).
//   429      ResourceExhausted from the provider pauses the job (`pause_on_429`) and asks again
//            for the same lead; a pause is not an attempt.
//
// The daily limit. The count is the version of `skiptrace-day-<day>`, appended in the same unit
// as the enrichment it counts with that version expected, so the limit holds across threads,
// processes and restarts (a conflict re-reads and re-checks). Within the process, a lead holds
// a reservation of one unit of the day's allowance from before its provider call until its
// outcome is stored, so no lead past the limit is ever sent to the provider. When the
// allowance runs out mid-job, the job's remaining leads are left raw and the job finishes
// "done" with a reason. Start() answers ResourceExhausted "daily skip-trace limit of N reached;
// 0 remaining" when nothing remains (what running jobs have reserved counts as used).
//
// Restarts. Jobs started and not finished are found in LeadPoolsProjection's small table of
// unfinished jobs (UnfinishedSkipTraceJobs); the constructor (and Resume()) folds each job's
// stream to learn which leads already have an outcome there and continues with the others. An
// outcome is one unit with the lead's events, and the lead must still be raw, so a lead is never
// enriched twice. After a kill -9 between a provider call and its unit, that one lead is asked
// again (the provider has no idempotency key for look-ups); a clean Stop() finishes the lead in
// hand before stopping, and interrupts only pauses and backoffs.
//
// Backoffs and pauses are waits in real (steady) time, not business time: they are about the
// provider's pace. Day keys come from the Clock (business time).
//
// Thread-safety: all public methods may be called from any thread. Start() blocks on durable
// appends (call it from a worker, never an I/O thread). The provider is called from the
// service's `threads` worker threads, concurrently when threads > 1.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "nextier/common/status.h"
#include "nextier/engine/clock.h"
#include "nextier/engine/providers.h"
#include "nextier/eventstore/event_store.h"
#include "nextier/projections/lead_pools.h"
#include "nextier/projections/leads.h"
#include "nextier/projections/projection.h"

namespace nextier::engine {

struct SkipTraceOptions {
  int daily_limit = 2000;
  // The provider day a lookup counts against; default: the UTC date "YYYY-MM-DD".
  std::function<std::string(Micros)> day_key;
  // Provider calls per lead in all when it keeps failing (>= 1).
  int max_attempts = 4;
  std::chrono::milliseconds backoff_base{100};  // doubled after each failure
  std::chrono::milliseconds backoff_cap{5000};
  std::chrono::milliseconds pause_on_429{2000};
  int threads = 1;
  std::string actor = "system:skiptrace";
  // How long Start and Resume wait for the read models to reach the log's head.
  std::chrono::milliseconds read_model_wait{10000};
};

// "2026-11-28": the UTC date of `t`.
std::string UtcDayKey(Micros t);

struct SkipTraceRequest {
  std::string file_id;                // "" = any file (ignored when lead_ids is given)
  std::vector<std::string> lead_ids;  // empty = draw from the raw pool
  std::optional<int64_t> limit;       // >= 1 when given
  std::string actor;                  // "ops:alice"
  std::string correlation_id;         // the request; the job id when empty
};

// API.md's JOB, plus what helps to read it.
struct SkipTraceJobStatus {
  std::string id;
  std::string status;      // queued | running | done | failed
  uint64_t requested = 0;  // leads the job took on (rejected ones included)
  uint64_t processed = 0;  // of those, leads with an outcome
  uint64_t enriched = 0;
  uint64_t no_hit = 0;
  uint64_t rejected_entity = 0;
  uint64_t rejected_invalid = 0;
  uint64_t failed = 0;      // provider errors after the last retry
  uint64_t skipped = 0;     // asked for but not taken, or no longer raw when their turn came
  uint64_t daily_used = 0;  // today's count
  uint64_t daily_limit = 0;
  std::string file_id;
  std::string reason;  // why a job stopped early or failed
  Micros started_at = 0;
  Micros finished_at = 0;  // 0 while not finished
};
using SkipTraceJob = SkipTraceJobStatus;

class SkipTraceService {
 public:
  // Everything passed in must outlive the service. `runner` must have `pools` and `leads`
  // registered. Starts the worker threads and resumes unfinished jobs (see resume_status()).
  SkipTraceService(eventstore::EventStore& store, const Clock& clock,
                   projections::ProjectionRunner& runner,
                   const projections::LeadPoolsProjection& pools,
                   const projections::LeadsProjection& leads, SkipTraceProvider& provider,
                   SkipTraceOptions options = {});
  ~SkipTraceService();  // Stop()
  SkipTraceService(const SkipTraceService&) = delete;
  SkipTraceService& operator=(const SkipTraceService&) = delete;

  // Starts a job (see the file comment) and returns it at once with status "queued"; its
  // rejections are already stored. InvalidArgument (with field) for a limit < 1;
  // ResourceExhausted when the day's allowance is used up; Unavailable after Stop(); the
  // store's errors.
  Result<SkipTraceJob> Start(const SkipTraceRequest& request);

  // The job as its stream tells (plus "running" while this service works on it). NotFound for an
  // unknown id.
  Result<SkipTraceJobStatus> Status(const std::string& job_id);

  // Skip-traces counted today (business day of the clock), and what remains of the limit
  // (excluding what running jobs have reserved or still hold).
  Result<uint64_t> DailyUsed();
  Result<uint64_t> DailyRemaining();
  int daily_limit() const;

  // Picks up unfinished jobs not yet being worked on (the constructor does this once; call
  // again after the read models were rebuilt). Its result is also kept in resume_status().
  ::nextier::Status Resume();
  ::nextier::Status resume_status() const;

  // Blocks until the job is finished or `timeout` passes (Unavailable then). For tests and the
  // demo.
  ::nextier::Status WaitForJob(const std::string& job_id, std::chrono::milliseconds timeout);

  // Stops taking leads, interrupts pauses and backoffs, lets each worker finish the lead in
  // hand, joins the threads. Unfinished jobs stay unfinished (resumed next time). Idempotent.
  void Stop();

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace nextier::engine
