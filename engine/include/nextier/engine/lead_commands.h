// Lead commands: command -> events on the lead's stream, guarded by the state machine.
//
// Execute() loads the lead (a fold of its stream), checks the command's trigger against the
// state machine, lets the command's builder add the events, checks every event's own transition
// in order, stamps the envelope (recordedAt from the Clock, correlation and causation ids, actor,
// workflow, commandId) and appends all of them as one unit with the folded version as expected
// version. A version conflict (someone appended meanwhile) re-loads, re-checks, re-builds and
// tries again, at most `max_attempts` times in all.
//
// Idempotency. A command the outside world can repeat (a webhook delivery id, a provider
// message id, a timer id) carries an idempotency key; it is also every event's commandId. The
// key is checked FIRST, before the state machine: while folding, the handler looks for an event
// of the lead's stream with that commandId and, when there is one, returns the original result
// (`duplicate` set) without checking anything else and without calling the builder. Checking the
// state first would be wrong: the repeat of an opt-out would find the lead opted out and answer
// Conflict instead of the original success. Two repeats racing each other are settled by the
// store, which also checks the key before the version. A key must therefore not be shared with
// appends to other streams: the lead's stream is where the handler looks.
//
// Concurrency. Commands on one lead through one handler are serialised by a per-lead lock (held
// across the durable append), so they never conflict with each other; the optimistic retry is
// for writers outside this handler (another handler, another process). Commands on different
// leads run in parallel and share the store's group commits. So main should wire one handler per
// store and share it: two handlers in one process are correct, but they contend like strangers.
//
// Thread-safety: Execute and Create may be called from any number of threads. They block until
// the events are durable, so call them from a worker, never from an I/O thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "nextier/common/status.h"
#include "nextier/engine/clock.h"
#include "nextier/engine/lead.h"
#include "nextier/engine/lead_state.h"
#include "nextier/eventstore/event_store.h"

namespace nextier::engine {

// What a builder writes into: the events of one command on one lead's stream.
class LeadEvents {
 public:
  LeadEvents(eventstore::KeyRing& keys, std::string stream, Micros now);
  LeadEvents(const LeadEvents&) = delete;
  LeadEvents& operator=(const LeadEvents&) = delete;

  // Adds an event and returns its builder: set the payload. The handler sets the envelope
  // afterwards (a keySubject set here is kept). Valid until the LeadEvents is destroyed.
  eventstore::schema::Event::Builder Add();

  // Seals the Personal message `fill` writes under the lead's key and sets `event`'s keySubject
  // to the lead's stream (so the key is stored with the event). Returns the sealed bytes for
  // the payload's `personal` field. NotFound when the lead was forgotten.
  Result<std::string> SealPersonal(
      eventstore::schema::Event::Builder event,
      const std::function<void(eventstore::schema::Personal::Builder)>& fill);

  const std::string& stream() const { return stream_; }
  // The time every event of this command will carry as recordedAt.
  Micros now() const { return now_; }
  size_t size() const { return events_.size(); }
  std::vector<eventstore::NewEvent>& events() { return events_; }

 private:
  eventstore::KeyRing& keys_;
  std::string stream_;
  Micros now_;
  std::vector<eventstore::NewEvent> events_;
};

// Fills the events of a command, given the lead as just loaded (for Create: an empty lead with
// its id and stream set, version 0). Called again on every retry with the fresh lead, so it must
// not have effects outside `out`. A non-ok Status aborts the command with that status and writes
// nothing; adding no event writes nothing and returns an empty AppendResult.
using LeadEventBuilder = std::function<Status(const Lead& lead, LeadEvents& out)>;

struct LeadCommand {
  std::string lead_id;  // the bare id ("7"), not the stream
  // The transition the command asks for, checked before the builder runs. Leave empty for a
  // command that only records facts (an SMS intent, a call assignment, a timer firing); the
  // events' own transitions are checked either way.
  std::optional<LeadTrigger> trigger;
  LeadEventBuilder build;
  // Optional; when set it is also every event's commandId (see the file comment).
  std::string idempotency_key;
  std::string correlation_id;  // the request or job that started the chain
  std::string causation_id;    // the event or command that caused this one
  std::string actor;           // "ops:alice", "webhook:signalhouse", "system:dispatcher"
  std::string workflow_id;     // left as the builder set them when empty
  std::string workflow_version;
};

struct LeadCommandOptions {
  // Attempts in all when the stream keeps changing under the command (>= 1).
  int max_attempts = 5;
};

// The events `command` adds to `lead` (as just folded), checked and stamped exactly as Execute
// would append them (`now` as recordedAt), but not appended: for a caller that appends them in a
// unit of its own, e.g. a timer handler returning a lead's effects (expect `lead.version` on the
// lead's stream). The trigger is checked (Conflict naming the lead, state and trigger), then
// the builder runs, then each event's own transition is checked in order. No idempotency check:
// that is the caller's unit's key. Creating (lead.version 0) needs LeadImported first.
Result<std::vector<eventstore::NewEvent>> PrepareLeadEvents(const Lead& lead,
                                                            const LeadCommand& command,
                                                            eventstore::KeyRing& keys, Micros now);

class LeadCommandHandler {
 public:
  struct Stats {
    uint64_t appended = 0;         // commands whose events were written
    uint64_t duplicates = 0;       // repeats answered with the original result
    uint64_t rejected = 0;         // illegal transitions (Conflict from the state machine)
    uint64_t version_retries = 0;  // attempts repeated after a version conflict
  };

  // `store` and `clock` must outlive the handler.
  LeadCommandHandler(eventstore::EventStore& store, const Clock& clock,
                     LeadCommandOptions options = {});
  ~LeadCommandHandler();
  LeadCommandHandler(const LeadCommandHandler&) = delete;
  LeadCommandHandler& operator=(const LeadCommandHandler&) = delete;

  // Runs `command` on an existing lead. Errors: InvalidArgument (no lead id or builder), NotFound
  // (no such lead), Conflict for an illegal transition ("lead lead-7 is opted_out: cannot Queue
  // (opted_out is final)") with nothing written, Conflict when the stream still changed under
  // the command after max_attempts, the builder's own error, or the store's.
  Result<eventstore::AppendResult> Execute(const LeadCommand& command);

  // Creates lead `command.lead_id`: the builder's first event must be LeadImported (later ones,
  // e.g. a LeadRejected, are checked like any). Appended with "no stream" expected; Conflict
  // "lead lead-7 already exists" when it does, unless the idempotency key is a repeat (then the
  // original result). `command.trigger` must be empty.
  Result<eventstore::AppendResult> Create(const LeadCommand& command);

  Stats stats() const;

 private:
  class LeadLocks;

  Result<eventstore::AppendResult> Run(const LeadCommand& command, bool create);

  eventstore::EventStore& store_;
  const Clock& clock_;
  const LeadCommandOptions options_;
  std::unique_ptr<LeadLocks> locks_;
  std::atomic<uint64_t> appended_{0};
  std::atomic<uint64_t> duplicates_{0};
  std::atomic<uint64_t> rejected_{0};
  std::atomic<uint64_t> version_retries_{0};
};

}  // namespace nextier::engine
