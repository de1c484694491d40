// Projections: read models folded from the event log, and the runner that keeps them current.
//
// A Projection turns events into rows of its own tables in a ReadModelStore. The
// ProjectionRunner follows the log (catch-up, then live) and applies events in batches: each
// batch is ONE read-model write transaction holding every projection's updates and its new
// checkpoint (the seq of the last event it applied). The checkpoint and the rows commit or
// vanish together, so after any crash each projection resumes exactly after the last event it
// applied: every event is applied exactly once, none skipped. Many events share one
// transaction, which is what keeps projections cheap.
//
// Checkpoints live in the table "_checkpoints": key = projection name, value = be64 seq ||
// be32 projection version. When a projection's version() differs from the stored one, the
// runner empties its tables and replays it from the start (its layout or meaning changed).
//
// Thread-safety: Add and AddListener/RemoveListener may be called at any time from any thread;
// the other methods too. Events are applied under one mutex, either by the runner's own thread
// (after Start) or by a thread calling CatchUp/WaitFor that finds the runner idle ("helping"),
// so a caller that waits for its own append does not pay a thread hand-off.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "nextier/common/status.h"
#include "nextier/eventstore/event_store.h"
#include "nextier/projections/read_model_store.h"

namespace nextier::projections {

class Projection {
 public:
  virtual ~Projection() = default;

  // Unique and stable: it keys the checkpoint.
  virtual std::string_view name() const = 0;
  // Bump when the tables' layout or meaning changes; the runner then rebuilds this projection.
  virtual uint32_t version() const { return 1; }
  // The tables this projection owns: Rebuild empties them.
  virtual std::vector<Table> tables() const = 0;
  // Folds one event into the tables through `txn` (a write transaction the runner commits).
  // Called with strictly increasing seqs, every event of the log once. Must be deterministic
  // and keep all its state in its tables (no in-memory state that an aborted batch would leave
  // behind). A non-ok status aborts the whole batch and stops the runner (a bug or corruption
  // that needs an operator); it is reported by status() and WaitFor. A retryable status
  // (ResourceExhausted, Unavailable: from here or the read models' store, typically a full disk)
  // does not stop it: the batch is tried again after a pause until room returns, and WaitFor
  // answers that status meanwhile.
  virtual Status Apply(Txn& txn, const eventstore::EventView& event) = 0;
  // Called once a batch after its last Apply, before the commit, in the same transaction. A
  // projection may keep a batch's writes in memory and write them here, in key order (random
  // keys written one by one cost a cold descent of the tree each). A non-ok status aborts the
  // batch as from Apply.
  virtual Status Flush(Txn& /*txn*/) { return Status::Ok(); }
  // Called before each batch: forget whatever an earlier batch that was not committed kept.
  virtual void Discard() {}
};

struct RunnerOptions {
  // The most events one read-model transaction takes.
  size_t max_batch_events = 8192;
  // How long the runner's thread sleeps on the log before re-checking for Stop.
  std::chrono::milliseconds poll = std::chrono::milliseconds(50);
  // Under load, gather: after a batch of at least `busy_batch_events` events (the log is being
  // written fast) the runner rests `busy_pause` before the next, so that one read-model commit
  // and its fdatasync carry many events instead of the few that came in during one commit.
  // Lightly loaded, batches stay small and nothing waits. Readers that need the newest state
  // call WaitFor, which applies at once itself while the runner rests. 0: never rest.
  size_t busy_batch_events = 0;
  std::chrono::milliseconds busy_pause = std::chrono::milliseconds(0);
};

class ProjectionRunner {
 public:
  // `log` and `store` must outlive the runner.
  ProjectionRunner(eventstore::EventStore& log, ReadModelStore& store, RunnerOptions options = {});
  ~ProjectionRunner();  // Stop()
  ProjectionRunner(const ProjectionRunner&) = delete;
  ProjectionRunner& operator=(const ProjectionRunner&) = delete;

  // Registers `projection` (not owned; it must outlive the runner) and loads its checkpoint
  // (rebuilding it when its version changed). InvalidArgument for a repeated name.
  Status Add(Projection& projection);

  // Starts the runner's thread: catch up from the checkpoints, then follow the log live. The
  // thread ends when an Apply fails; after fixing the cause (or a Rebuild), Start again.
  Status Start();
  // Stops and joins the thread (within about RunnerOptions::poll). Safe to call twice.
  void Stop();

  // Applies, on the calling thread, everything up to the log's head as of this call.
  Status CatchUp();
  // Returns Ok once every projection has applied up to `seq`; Unavailable when `timeout`
  // passes first; the runner's error when it stopped on one. Helps apply when the runner is
  // idle, so it works without Start too.
  Status WaitFor(uint64_t seq, std::chrono::milliseconds timeout);

  // The seq every projection has applied up to (the lowest checkpoint; the head when there are
  // no projections).
  uint64_t position() const;
  // One projection's checkpoint; NotFound for an unknown name.
  Result<uint64_t> checkpoint(std::string_view projection) const;
  // The log's head minus position(): how far the read models trail the log (a metric).
  uint64_t lag() const;
  // Ok, or the error that stopped the runner.
  Status status() const;

  // Empties every projection's tables, resets the checkpoints (one transaction), then replays
  // the log up to its head as of the call, returning when done. Readers see partial read
  // models meanwhile. If the process dies half-way, the checkpoints say where it got to and
  // the next start simply continues. Clears a previous error.
  Status Rebuild();

  // `fn(position)` runs after every commit that moved position(), on the committing thread,
  // and must be short (post to your own executor). Returns an id for RemoveListener; once
  // RemoveListener returns, `fn` is not running and will not run again.
  uint64_t AddListener(std::function<void(uint64_t)> fn);
  void RemoveListener(uint64_t id);

 private:
  struct Entry {
    Projection* projection;
    std::string name;
    std::atomic<uint64_t> checkpoint{0};
  };

  // Applies one batch after position(); requires apply_mu_. Sets *progressed.
  Status ApplyBatchLocked(bool* progressed);
  Status ResetLocked(const std::vector<Entry*>& entries);
  void RecomputePositionLocked();
  void Fail(const Status& s);
  // True (and noted for WaitFor) when `s` is retryable (a full disk...), which is waited out.
  bool WaitOut(const Status& s);
  void Notify(uint64_t position);
  void Run();

  eventstore::EventStore& log_;
  ReadModelStore& store_;
  const RunnerOptions options_;
  Table checkpoints_;

  std::mutex apply_mu_;            // held while applying
  mutable std::mutex entries_mu_;  // with apply_mu_, guards changes to entries_
  std::vector<std::unique_ptr<Entry>> entries_;
  std::atomic<uint64_t> position_{0};
  std::atomic<bool> empty_{true};

  mutable std::mutex state_mu_;
  std::condition_variable state_cv_;  // notified after each commit and on failure
  Status status_;
  Status full_;  // the retryable error being waited out; cleared by the next commit

  std::mutex listeners_mu_;
  std::vector<std::pair<uint64_t, std::function<void(uint64_t)>>> listeners_;
  uint64_t next_listener_ = 1;

  std::atomic<bool> stop_{false};
  std::atomic<bool> running_{false};
  std::thread thread_;
};

}  // namespace nextier::projections
