// The lead fold: events of `lead-<id>` -> Lead.
#include "nextier/engine/lead.h"

#include <algorithm>
#include <cstdint>

namespace nextier::engine {

namespace es = nextier::eventstore;
using Payload = es::schema::Event::Payload;

namespace {

constexpr std::string_view kLeadStreamPrefix = "lead-";

std::string Str(capnp::Text::Reader t) { return std::string(t.cStr(), t.size()); }
std::string Str(capnp::Data::Reader d) {
  return std::string(reinterpret_cast<const char*>(d.begin()), d.size());
}

bool IsOpenerKey(const Lead& lead, std::string_view key) {
  return !lead.initial_message_key.empty() && key == lead.initial_message_key;
}

void AddPhoneHash(Lead& lead, std::string hash) {
  if (hash.empty()) return;
  if (std::find(lead.phone_hashes.begin(), lead.phone_hashes.end(), hash) !=
      lead.phone_hashes.end()) {
    return;
  }
  lead.phone_hashes.push_back(std::move(hash));
}

void RemoveTimer(Lead& lead, std::string_view id) {
  auto& timers = lead.pending_timers;
  timers.erase(
      std::remove_if(timers.begin(), timers.end(), [id](const LeadTimer& t) { return t.id == id; }),
      timers.end());
}

// Everything but the state: what each payload tells about the lead.
void ApplyFields(Lead& lead, const es::schema::Event::Reader& e) {
  auto p = e.getPayload();
  switch (p.which()) {
    case Payload::LEAD_IMPORTED: {
      auto x = p.getLeadImported();
      lead.file_id = Str(x.getFileId());
      lead.row = x.getRow();
      lead.source = Str(x.getSource());
      lead.company = Str(x.getCompany());
      lead.title = Str(x.getTitle());
      lead.role_score = x.getRoleScore();
      lead.is_entity = x.getIsEntity();
      for (auto h : x.getPhoneHashes()) AddPhoneHash(lead, Str(h));
      lead.email_hash = Str(x.getEmailHash());
      lead.name_key_hash = Str(x.getNameKeyHash());
      break;
    }
    case Payload::LEAD_REJECTED:
      lead.rejection_code = Str(p.getLeadRejected().getCode());
      break;
    case Payload::LEAD_ENRICHED: {
      auto x = p.getLeadEnriched();
      lead.human_id = Str(x.getHumanId());
      AddPhoneHash(lead, Str(x.getPhoneHash()));
      break;
    }
    case Payload::LEAD_QUEUED: {
      auto x = p.getLeadQueued();
      lead.campaign_id = Str(x.getCampaignId());
      lead.block_number = x.getBlockNumber();
      lead.batch_number = x.getBatchNumber();
      break;
    }
    case Payload::SMS_SEND_INTENDED: {
      auto x = p.getSmsSendIntended();
      if (x.getKind() == "opener" && lead.initial_message_key.empty()) {
        lead.initial_message_key = Str(x.getMessageKey());
      }
      break;
    }
    case Payload::SMS_SENT: {
      auto x = p.getSmsSent();
      if (x.getKind() == "opener" || IsOpenerKey(lead, Str(x.getMessageKey()))) {
        if (lead.initial_message_key.empty()) lead.initial_message_key = Str(x.getMessageKey());
        lead.initial_message_id = Str(x.getProviderMessageId());
      }
      break;
    }
    case Payload::REPLY_RECEIVED: {
      auto x = p.getReplyReceived();
      ++lead.replies;
      lead.last_classification = Str(x.getClassification());
      break;
    }
    case Payload::LEAD_RESPONDED: {
      auto x = p.getLeadResponded();
      if (x.getClassification().size() > 0) lead.last_classification = Str(x.getClassification());
      break;
    }
    case Payload::LEAD_GOLD_LABELED: {
      auto x = p.getLeadGoldLabeled();
      lead.gold_labeled_at = x.getGoldLabeledAt() != 0 ? x.getGoldLabeledAt() : e.getRecordedAt();
      if (x.getEmailHash().size() > 0) lead.email_hash = Str(x.getEmailHash());
      break;
    }
    case Payload::LEAD_OPTED_OUT:
      lead.opt_out_source = Str(p.getLeadOptedOut().getSource());
      break;
    case Payload::CALL_QUEUED:
      lead.open_call_entry_id = Str(p.getCallQueued().getEntryId());
      lead.call_agent.clear();
      break;
    case Payload::CALL_ASSIGNED: {
      auto x = p.getCallAssigned();
      if (lead.open_call_entry_id.empty()) lead.open_call_entry_id = Str(x.getEntryId());
      if (x.getEntryId() == lead.open_call_entry_id.c_str()) lead.call_agent = Str(x.getAgent());
      break;
    }
    case Payload::CALL_COMPLETED: {
      auto x = p.getCallCompleted();
      lead.last_disposition = Str(x.getDisposition());
      if (x.getEntryId() == lead.open_call_entry_id.c_str()) {
        lead.open_call_entry_id.clear();
        lead.call_agent.clear();
      }
      break;
    }
    case Payload::CALL_REQUEUED:
      lead.open_call_entry_id = Str(p.getCallRequeued().getEntryId());
      lead.call_agent.clear();
      break;
    case Payload::CALL_CLOSED:
      if (p.getCallClosed().getEntryId() == lead.open_call_entry_id.c_str()) {
        lead.open_call_entry_id.clear();
        lead.call_agent.clear();
      }
      break;
    case Payload::MEETING_BOOKED: {
      auto x = p.getMeetingBooked();
      lead.meeting_id = Str(x.getMeetingId());
      lead.meeting_starts_at = x.getStartsAt();
      break;
    }
    case Payload::MEETING_CANCELLED:
      lead.meeting_id.clear();
      lead.meeting_starts_at = 0;
      break;
    case Payload::MEETING_OUTCOME_RECORDED:  // the meeting is over, held or not
      lead.meeting_id.clear();
      lead.meeting_starts_at = 0;
      break;
    case Payload::MEETING_RESCHEDULED:
      lead.meeting_starts_at = p.getMeetingRescheduled().getStartsAt();
      break;
    case Payload::TIMER_SCHEDULED: {
      auto x = p.getTimerScheduled();
      std::string id = Str(x.getTimerId());
      RemoveTimer(lead, id);
      lead.pending_timers.push_back({std::move(id), Str(x.getKind()), x.getDueAt()});
      break;
    }
    case Payload::TIMER_FIRED:
      RemoveTimer(lead, Str(p.getTimerFired().getTimerId()));
      break;
    case Payload::TIMER_CANCELLED:
      RemoveTimer(lead, Str(p.getTimerCancelled().getTimerId()));
      break;
    case Payload::LEAD_FORGOTTEN:
      lead.forgotten = true;
      break;
    default:
      break;
  }
}

// Identity, version, times and workflow: what every event says.
void ApplyEnvelope(Lead& lead, const es::schema::Event::Reader& e) {
  if (lead.stream.empty() && e.getStreamId().size() > 0) {
    lead.stream = Str(e.getStreamId());
    if (lead.stream.starts_with(kLeadStreamPrefix)) {
      lead.id = lead.stream.substr(kLeadStreamPrefix.size());
    }
  }
  // An event not stored yet (being checked before its append) has no version: it will be next.
  lead.version = e.getStreamVersion() != 0 ? e.getStreamVersion() : lead.version + 1;
  if (lead.created_at == 0) lead.created_at = e.getRecordedAt();
  lead.updated_at = e.getRecordedAt();
  if (e.getWorkflowId().size() > 0) {
    lead.workflow_id = Str(e.getWorkflowId());
    lead.workflow_version = Str(e.getWorkflowVersion());
  }
}

std::string Who(const Lead& lead) { return "lead " + lead.stream; }

}  // namespace

std::string LeadStreamId(std::string_view lead_id) {
  std::string s(kLeadStreamPrefix);
  s += lead_id;
  return s;
}

std::optional<LeadTrigger> TriggerOf(const Lead& lead, const es::schema::Event::Reader& event) {
  auto p = event.getPayload();
  switch (p.which()) {
    case Payload::LEAD_REJECTED:
      return LeadTrigger::kReject;
    case Payload::LEAD_ENRICHED:
      return LeadTrigger::kEnrich;
    case Payload::LEAD_NO_HIT:
      return LeadTrigger::kNoHit;
    case Payload::LEAD_QUEUED:
      return LeadTrigger::kQueue;
    case Payload::SMS_SENT: {
      auto x = p.getSmsSent();
      if (x.getKind() == "opener" || IsOpenerKey(lead, Str(x.getMessageKey()))) {
        return LeadTrigger::kSent;
      }
      return std::nullopt;
    }
    case Payload::SMS_SEND_FAILED: {
      // A transient failure is retried by the outbox; only a permanent one fails the lead.
      auto x = p.getSmsSendFailed();
      if (x.getPermanent() && IsOpenerKey(lead, Str(x.getMessageKey()))) {
        return LeadTrigger::kDeliveryFailed;
      }
      return std::nullopt;
    }
    case Payload::SMS_DELIVERY_FAILED: {
      auto id = p.getSmsDeliveryFailed().getProviderMessageId();
      if (!lead.initial_message_id.empty() && id == lead.initial_message_id.c_str()) {
        return LeadTrigger::kDeliveryFailed;
      }
      return std::nullopt;
    }
    case Payload::LEAD_RESPONDED:
      return LeadTrigger::kReply;
    case Payload::LEAD_GOLD_LABELED:
      return LeadTrigger::kGoldLabel;
    case Payload::LEAD_OPTED_OUT:
      return LeadTrigger::kOptOut;
    case Payload::LEAD_NOT_INTERESTED:
      return LeadTrigger::kNotInterested;
    case Payload::CALL_COMPLETED:
      return LeadTrigger::kCallCompleted;
    case Payload::MEETING_BOOKED:
      return LeadTrigger::kBook;
    case Payload::MEETING_CANCELLED:
      return LeadTrigger::kCancelMeeting;
    case Payload::MEETING_OUTCOME_RECORDED:
      // A no-show returns the lead to called, as a cancelled meeting does; a meeting that took
      // place leaves it booked.
      if (event.getPayload().getMeetingOutcomeRecorded().getOutcome() == "no_show") {
        return LeadTrigger::kCancelMeeting;
      }
      return std::nullopt;
    case Payload::MEETING_RESCHEDULED:
      return LeadTrigger::kRescheduleMeeting;
    default:
      return std::nullopt;
  }
}

void Apply(Lead& lead, const es::schema::Event::Reader& event) {
  // The trigger is decided on the lead as it was before this event (the opener's ids).
  const std::optional<LeadTrigger> trigger = TriggerOf(lead, event);
  ApplyEnvelope(lead, event);
  if (trigger) {
    auto next = ApplyTrigger(lead.state, *trigger);
    if (next.ok()) {
      lead.state = *next;
    } else {
      if (lead.inconsistent_events++ == 0) {
        lead.first_inconsistency = "version " + std::to_string(lead.version) + ": " +
                                   IllegalTriggerMessage("lead", lead.state, *trigger);
      }
    }
  }
  ApplyFields(lead, event);
}

Status ApplyChecked(Lead& lead, const es::schema::Event::Reader& event) {
  const bool imported = event.getPayload().which() == Payload::LEAD_IMPORTED;
  if (lead.version == 0 && !imported) {
    return Status::NotFound(Who(lead) +
                            " does not exist: its first event must be LeadImported, not " +
                            std::string(es::PayloadTypeName(event.getPayload().which())));
  }
  if (lead.version > 0 && imported) return Status::Conflict(Who(lead) + " already exists");
  if (auto trigger = TriggerOf(lead, event); trigger && !IsLegal(lead.state, *trigger)) {
    return Status::Conflict(IllegalTriggerMessage(Who(lead), lead.state, *trigger) + " [" +
                            std::string(es::PayloadTypeName(event.getPayload().which())) + "]");
  }
  Apply(lead, event);
  return Status::Ok();
}

Result<Lead> LoadLead(es::EventStore& store, std::string_view lead_id) {
  if (lead_id.empty()) return Status::InvalidArgument("a lead id is required", "leadId");
  Lead lead;
  lead.id = std::string(lead_id);
  lead.stream = LeadStreamId(lead_id);
  NEXTIER_RETURN_IF_ERROR(store.ReadStream(lead.stream, 1, SIZE_MAX, [&](const es::EventView& ev) {
    Apply(lead, ev.event());
    return true;
  }));
  if (lead.version == 0) return Status::NotFound("lead " + lead.stream + " does not exist");
  return lead;
}

}  // namespace nextier::engine
