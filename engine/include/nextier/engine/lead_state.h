// The lead state machine as values: the states a lead can be in, the triggers that move it, and
// the one question the rest of the engine asks: "may this trigger fire in this state, and where
// does it lead?".
//
// The transitions are those of DESIGN.md ("Shape"); the machine itself is a Boost.MSM table in
// engine/src/lead_state_machine.cc, which is the only place that knows them. MSM never appears in
// a header: callers see only these enums and ApplyTrigger.
//
// Thread-safety: pure functions over immutable data; call from any thread.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "nextier/common/status.h"

namespace nextier::engine {

// Declaration order is the order of the journey, then the side states; the numeric values are
// not stored anywhere (events and the API carry names), so this order may change.
enum class LeadState : uint8_t {
  kRaw,
  kEnriched,
  kQueued,
  kSent,
  kResponded,
  kGold,
  kCalled,
  kBooked,
  kRejected,
  kNoHit,
  kFailed,
  kOptedOut,
  kNotInterested,
};
inline constexpr size_t kLeadStateCount = 13;
inline constexpr std::array<LeadState, kLeadStateCount> kAllLeadStates = {
    LeadState::kRaw,           LeadState::kEnriched, LeadState::kQueued, LeadState::kSent,
    LeadState::kResponded,     LeadState::kGold,     LeadState::kCalled, LeadState::kBooked,
    LeadState::kRejected,      LeadState::kNoHit,    LeadState::kFailed, LeadState::kOptedOut,
    LeadState::kNotInterested,
};

// What happened to a lead, as far as its state is concerned. Each state-changing event type maps
// to one trigger (see TriggerOf in lead.h).
enum class LeadTrigger : uint8_t {
  kEnrich,             // skip trace found a mobile (LeadEnriched)
  kReject,             // entity owner or unusable row (LeadRejected)
  kNoHit,              // skip trace found no usable mobile (LeadNoHit)
  kQueue,              // drawn into a campaign block / batch (LeadQueued)
  kSent,               // the opener was accepted by the provider (SmsSent of the opener)
  kDeliveryFailed,     // the provider says the opener is undeliverable
  kReply,              // a reply that is not an opt-out (LeadResponded)
  kGoldLabel,          // a reply gave an email (LeadGoldLabeled)
  kNotInterested,      // a reply or a call says not interested (LeadNotInterested)
  kCallCompleted,      // a call was completed with a disposition (CallCompleted)
  kBook,               // a meeting was booked (MeetingBooked)
  kCancelMeeting,      // the meeting was cancelled (MeetingCancelled)
  kRescheduleMeeting,  // the meeting moved (MeetingRescheduled)
  kOptOut,             // STOP or any other reasonable means (LeadOptedOut)
};
inline constexpr size_t kLeadTriggerCount = 14;
inline constexpr std::array<LeadTrigger, kLeadTriggerCount> kAllLeadTriggers = {
    LeadTrigger::kEnrich,
    LeadTrigger::kReject,
    LeadTrigger::kNoHit,
    LeadTrigger::kQueue,
    LeadTrigger::kSent,
    LeadTrigger::kDeliveryFailed,
    LeadTrigger::kReply,
    LeadTrigger::kGoldLabel,
    LeadTrigger::kNotInterested,
    LeadTrigger::kCallCompleted,
    LeadTrigger::kBook,
    LeadTrigger::kCancelMeeting,
    LeadTrigger::kRescheduleMeeting,
    LeadTrigger::kOptOut,
};

// The API name of a state: "raw", "enriched", ..., "no_hit", "opted_out", "not_interested".
std::string_view LeadStateName(LeadState state);
// The inverse of LeadStateName; InvalidArgument (field "state") naming the text otherwise.
Result<LeadState> ParseLeadState(std::string_view name);

// The name of a trigger as used in errors and logs: "Enrich", "Queue", "OptOut", ...
std::string_view LeadTriggerName(LeadTrigger trigger);
// The inverse of LeadTriggerName; InvalidArgument (field "trigger") naming the text otherwise.
Result<LeadTrigger> ParseLeadTrigger(std::string_view name);

// The state `trigger` leads to from `from`. Some legal triggers keep the state: a further reply
// (responded, gold, called, booked, not_interested), a second gold label, a call completed on a
// booked lead and, beyond DESIGN.md's table, a further call completed on a called lead (a
// callback or a retried no-answer) and a rescheduled meeting on a booked one. An illegal one
// is a Conflict whose message names the state and the trigger, e.g.
// "lead is opted_out: cannot Queue (opted_out is final)"; callers that know the lead say which.
Result<LeadState> ApplyTrigger(LeadState from, LeadTrigger trigger);

// "<who> is <state>: cannot <Trigger> (<state> allows A, B)" or "(... <state> is final)": the
// Conflict message of an illegal trigger. `who` is "lead" or "lead lead-7".
std::string IllegalTriggerMessage(std::string_view who, LeadState from, LeadTrigger trigger);

// Whether ApplyTrigger(from, trigger) succeeds, without building an error.
bool IsLegal(LeadState from, LeadTrigger trigger);

// The triggers legal in `state`, in kAllLeadTriggers order ("Enrich, Reject, NoHit" for raw);
// "" for a final state (one with no legal trigger).
std::string LegalTriggerNames(LeadState state);

}  // namespace nextier::engine
