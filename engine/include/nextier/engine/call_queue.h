// The call queue: gold leads waiting for an agent's call, their assignment and the outcome of
// the call (API.md, "Call queue").
//
// An entry lives on its lead's stream (`lead-<id>`): CallQueued (written by whoever gold-labels
// the lead, in the same unit, with MakeCallQueued), CallAssigned, CallCompleted, CallRequeued
// and CallClosed. Its id is "call-<leadId>-<n>", n being the stream version at which it was
// queued (NextCallEntryId), so ids are deterministic and unique without a counter.
//
// Completing a call is one unit on the lead's stream: CallCompleted (gold -> called; a booked
// lead stays booked) with the agent's notes sealed under the lead's key, and by disposition:
//   not_interested -> LeadNotInterested{source "call"}   (the lead -> not_interested)
//   wrong_number   -> NumberSuppressed{phoneHash of the number we text, "wrong_number"}
//   callback       -> a durable "callback" timer at callbackAt, whose firing requeues the
//                     entry (CallRequeued) unless the lead moved on meanwhile (booked, opted
//                     out, not interested, or another entry opened).
//
// Priority (CallPriority) is computed once, when the entry is queued, and stored in the event:
//   (w.role * roleScore/100 + w.recency * recency + w.campaign * campaignFactor) / (sum of w)
// with recency = 0.5 ^ (age of the gold label in days / 2) at queueing time (1 for a label
// given just now, 0.5 two days later), and campaignFactor the caller's 0..1 weight of the
// lead's campaign: 1 for a lead that came in through a campaign (the default), 0 for one that
// did not. The queue lists highest priority first, then oldest.
//
// Thread-safety: the free functions are pure (LoadCallEntry reads the store, safe from any
// thread). CallQueueService's methods may be called from any thread; they block on durable
// appends, so call them from a worker, never from an I/O thread.
#pragma once

#include <array>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "nextier/common/status.h"
#include "nextier/engine/clock.h"
#include "nextier/engine/lead.h"
#include "nextier/engine/lead_commands.h"
#include "nextier/engine/timers.h"
#include "nextier/eventstore/event_store.h"
#include "nextier/projections/calls_meetings.h"
#include "nextier/projections/leads.h"
#include "nextier/projections/projection.h"
#include "nextier/projections/sending.h"
#include "nextier/workflows/workflow.h"

namespace nextier::engine {

inline constexpr std::array<std::string_view, 6> kCallDispositions = {
    "booked", "no_answer", "voicemail", "callback", "not_interested", "wrong_number"};
bool IsCallDisposition(std::string_view disposition);

// The entry's priority from `workflow`'s weights (see the file comment), in [0, 1].
// `role_score` is clamped to 0..100; a gold label in the future counts as fresh.
double CallPriority(const workflows::Workflow& workflow, int role_score, Micros gold_labeled_at,
                    Micros now, double campaign_factor = 1.0);

// "call-<leadId>-<n>".
std::string CallEntryId(std::string_view lead_id, uint64_t n);
// The id of an entry queued in the next unit on `lead`'s stream: n = lead.version + 1.
std::string NextCallEntryId(const Lead& lead);
// The lead an entry id belongs to; InvalidArgument (field "id") for a malformed id.
Result<std::string> LeadOfCallEntry(std::string_view entry_id);

// The CallQueued event for the caller's unit on the lead's stream (the envelope is the
// caller's to stamp, e.g. through LeadEvents). `reason`: why, e.g. "gold_label".
eventstore::NewEvent MakeCallQueued(std::string_view entry_id, double priority,
                                    std::string_view campaign_id, std::string_view reason);

// The entry as folded from its lead's stream; NotFound when it was never queued.
Result<projections::CallEntry> LoadCallEntry(eventstore::EventStore& store,
                                             std::string_view entry_id);

struct CallQueueServiceOptions {
  std::string actor = "system:call-queue";  // on timer effects
  // How long a command waits for the read models to show its events before answering.
  std::chrono::milliseconds read_model_wait = std::chrono::milliseconds(30000);
};

class CallQueueService {
 public:
  // Everything passed in must outlive the service. `runner` must hold `leads` (the wrong-number
  // disposition reads the lead's number from it).
  CallQueueService(eventstore::EventStore& store, const Clock& clock, LeadCommandHandler& handler,
                   projections::ProjectionRunner& runner, const projections::LeadsProjection& leads,
                   CallQueueServiceOptions options = {});

  // Registers the "callback" timer handler; before timers.Start/AdvanceTo.
  void RegisterTimerHandlers(TimerService& timers);

  // Gives the open entry to `agent`. Assigning it again to the agent holding it writes nothing
  // and succeeds. InvalidArgument for an empty agent or a malformed id; NotFound for an unknown
  // entry; Conflict when another agent holds it or it is completed.
  Result<projections::CallEntry> Assign(std::string_view entry_id, std::string_view agent,
                                        std::string_view actor = {});

  // Completes the open entry (see the file comment). `agent` empty means whoever holds it;
  // otherwise Conflict when another agent holds it. InvalidArgument (field "disposition") for
  // an unknown disposition, (field "callbackAt") for a callback without a future time;
  // NotFound for an unknown entry; Conflict for an entry already completed or a transition the
  // lead's state does not allow (e.g. not_interested on a booked lead). `callback_at` is
  // ignored for other dispositions. Returns the entry as it now is.
  Result<projections::CallEntry> Complete(std::string_view entry_id, std::string_view agent,
                                          std::string_view disposition, std::string_view notes,
                                          std::optional<Micros> callback_at,
                                          std::string_view actor = {});

  // The entry as folded from its lead's stream.
  Result<projections::CallEntry> Get(std::string_view entry_id);

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace nextier::engine
