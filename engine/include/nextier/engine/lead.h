// The lead aggregate: what the engine knows about one lead, folded from its stream `lead-<id>`.
//
// Apply() is the fold step and is pure: it reads one event and updates a Lead value, mapping
// each state-changing payload to its LeadTrigger (TriggerOf) and moving the state through the
// state machine (ApplyTrigger). The fold never fails: history is what happened, so an event
// whose transition the machine does not allow from the folded state (it cannot be written
// through LeadCommandHandler, but an older rule set or a hand-made stream could hold one) leaves
// the state as it was and is counted in `inconsistent_events`. ApplyChecked() is the strict
// variant used before appending.
//
// Personal data stays sealed: the fold keeps only blind-index hashes, never names or numbers.
//
// Thread-safety: Lead is a plain value; the functions are pure apart from LoadLead, which reads
// the store (safe from any thread).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "nextier/common/status.h"
#include "nextier/engine/clock.h"
#include "nextier/engine/lead_state.h"
#include "nextier/eventstore/event_store.h"

namespace nextier::engine {

// "lead-<id>".
std::string LeadStreamId(std::string_view lead_id);

// A durable timer scheduled on the lead's stream and neither fired nor cancelled yet.
struct LeadTimer {
  std::string id;
  std::string kind;  // batch | followup | reminder | callback | ...
  Micros due_at = 0;
};

struct Lead {
  std::string id;      // "7"
  std::string stream;  // "lead-7"
  LeadState state = LeadState::kRaw;
  uint64_t version = 0;  // the stream version of the last event folded (0: no stream)

  // Import (LeadImported).
  std::string file_id;
  uint64_t row = 0;
  std::string source;
  std::string company;
  std::string title;
  int32_t role_score = 0;
  bool is_entity = false;
  std::vector<std::string> phone_hashes;  // blind indexes, import's then skip trace's
  std::string email_hash;                 // import's, replaced by the gold label's
  std::string name_key_hash;

  std::string rejection_code;  // entity | invalid (LeadRejected)
  std::string human_id;        // the LEAD ID, "NXT-000123" (LeadEnriched)

  // Campaign (LeadQueued). The workflow is the one on the last event that named one.
  std::string campaign_id;
  uint32_t block_number = 0;
  uint32_t batch_number = 0;
  std::string workflow_id;
  std::string workflow_version;

  // The opener: its outbox key (SmsSendIntended of kind "opener") and provider id (SmsSent).
  // A failure of this message, and of no other, fails the lead.
  std::string initial_message_key;
  std::string initial_message_id;

  // Replies.
  uint32_t replies = 0;  // ReplyReceived events
  std::string last_classification;
  Micros gold_labeled_at = 0;
  std::string opt_out_source;  // reply | provider | api

  // Calls and meetings.
  std::string open_call_entry_id;  // queued or assigned, not completed or closed
  std::string call_agent;          // the agent the open entry is assigned to
  std::string last_disposition;
  std::string meeting_id;  // the booked meeting ahead: "" once cancelled or its outcome recorded
  Micros meeting_starts_at = 0;

  std::vector<LeadTimer> pending_timers;  // in scheduling order

  bool forgotten = false;  // LeadForgotten: its key is destroyed, sealed data unreadable
  Micros created_at = 0;   // recordedAt of the first event
  Micros updated_at = 0;   // recordedAt of the last event

  // Events whose transition was illegal from the folded state (state left unchanged); the
  // first such is described in `first_inconsistency`.
  uint64_t inconsistent_events = 0;
  std::string first_inconsistency;
};

// The trigger an event fires on `lead`, or nullopt for an event that records a fact without
// moving the state (an SMS intent, a delivery receipt, a call assignment, a timer...). SmsSent,
// SmsSendFailed (permanent) and SmsDeliveryFailed fire only for the lead's opener.
std::optional<LeadTrigger> TriggerOf(const Lead& lead,
                                     const eventstore::schema::Event::Reader& event);

// Folds one event into `lead` (the event's own streamVersion and recordedAt are taken as they
// are). Never fails: see the file comment.
void Apply(Lead& lead, const eventstore::schema::Event::Reader& event);

// Like Apply, but an event the state machine does not allow, or a LeadImported on a lead that
// exists, is a Conflict naming the lead ("lead lead-7 is raw: cannot Book (...)") and leaves
// `lead` untouched.
Status ApplyChecked(Lead& lead, const eventstore::schema::Event::Reader& event);

// Reads and folds the stream of lead `lead_id` (the bare id, not "lead-<id>"). NotFound when the
// stream does not exist; InvalidArgument for an empty id.
Result<Lead> LoadLead(eventstore::EventStore& store, std::string_view lead_id);

}  // namespace nextier::engine
