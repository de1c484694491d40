// Names and parsing of lead states and triggers (the transitions live in lead_state_machine.cc).
#include "nextier/engine/lead_state.h"

#include <string>

namespace nextier::engine {

namespace {

constexpr std::array<std::string_view, kLeadStateCount> kStateNames = {
    "raw",    "enriched", "queued", "sent",   "responded", "gold",           "called",
    "booked", "rejected", "no_hit", "failed", "opted_out", "not_interested",
};

constexpr std::array<std::string_view, kLeadTriggerCount> kTriggerNames = {
    "Enrich",
    "Reject",
    "NoHit",
    "Queue",
    "Sent",
    "DeliveryFailed",
    "Reply",
    "GoldLabel",
    "NotInterested",
    "CallCompleted",
    "Book",
    "CancelMeeting",
    "RescheduleMeeting",
    "OptOut",
};

}  // namespace

std::string_view LeadStateName(LeadState state) {
  const auto i = static_cast<size_t>(state);
  return i < kStateNames.size() ? kStateNames[i] : std::string_view("unknown");
}

Result<LeadState> ParseLeadState(std::string_view name) {
  for (size_t i = 0; i < kStateNames.size(); ++i) {
    if (kStateNames[i] == name) return static_cast<LeadState>(i);
  }
  return Status::InvalidArgument("unknown lead state '" + std::string(name) + "'", "state");
}

std::string_view LeadTriggerName(LeadTrigger trigger) {
  const auto i = static_cast<size_t>(trigger);
  return i < kTriggerNames.size() ? kTriggerNames[i] : std::string_view("Unknown");
}

Result<LeadTrigger> ParseLeadTrigger(std::string_view name) {
  for (size_t i = 0; i < kTriggerNames.size(); ++i) {
    if (kTriggerNames[i] == name) return static_cast<LeadTrigger>(i);
  }
  return Status::InvalidArgument("unknown lead trigger '" + std::string(name) + "'", "trigger");
}

std::string LegalTriggerNames(LeadState state) {
  std::string out;
  for (LeadTrigger t : kAllLeadTriggers) {
    if (!IsLegal(state, t)) continue;
    if (!out.empty()) out += ", ";
    out += LeadTriggerName(t);
  }
  return out;
}

std::string IllegalTriggerMessage(std::string_view who, LeadState from, LeadTrigger trigger) {
  std::string msg(who);
  msg += " is ";
  msg += LeadStateName(from);
  msg += ": cannot ";
  msg += LeadTriggerName(trigger);
  const std::string legal = LegalTriggerNames(from);
  msg += " (";
  msg += LeadStateName(from);
  msg += legal.empty() ? " is final" : " allows " + legal;
  msg += ")";
  return msg;
}

}  // namespace nextier::engine
