// Forgetting a lead: append LeadForgotten (with its effects), then destroy the keys.
#include "nextier/engine/forget.h"

#include <algorithm>
#include <unordered_set>

#include "nextier/engine/lead.h"
#include "nextier/engine/timers.h"

namespace nextier::engine {

namespace es = nextier::eventstore;
using Which = es::schema::Event::Payload::Which;

namespace {

std::string Str(capnp::Text::Reader t) { return std::string(t.cStr(), t.size()); }
std::string Str(capnp::Data::Reader d) {
  return std::string(reinterpret_cast<const char*>(d.begin()), d.size());
}

// The stored LeadForgotten of `stream` (the first, should there be several), if any.
struct Stored {
  bool found = false;
  Micros at = 0;
  uint64_t seq = 0;
  std::vector<std::string> subjects;
};

Result<Stored> FindForgotten(es::EventStore& store, const std::string& stream) {
  Stored out;
  NEXTIER_RETURN_IF_ERROR(store.ReadStream(stream, 1, SIZE_MAX, [&](const es::EventView& v) {
    const auto e = v.event();
    if (e.getPayload().which() != Which::LEAD_FORGOTTEN) return true;
    out.found = true;
    out.at = e.getRecordedAt();
    out.seq = v.seq();
    for (auto s : e.getPayload().getLeadForgotten().getSubjects()) out.subjects.push_back(Str(s));
    return false;
  }));
  return out;
}

// Destroys `subject`'s key unless it is already gone (Forget writes a tombstone either way; the
// check only spares a write).
Status Destroy(es::KeyRing& keys, const std::string& subject) {
  if (keys.IsForgotten(subject)) return Status::Ok();
  return keys.Forget(subject);
}

}  // namespace

ForgetService::ForgetService(es::EventStore& store, LeadCommandHandler& handler)
    : store_(store), handler_(handler) {}

Result<std::vector<std::string>> ForgetService::OrphanSubjects(
    const std::vector<std::string>& phone_hashes) {
  std::vector<std::string> subjects;
  if (phone_hashes.empty()) return subjects;
  const std::unordered_set<std::string> hashes(phone_hashes.begin(), phone_hashes.end());
  // The whole orphan stream: forgetting is rare, and an orphan carries no lead id to index by.
  NEXTIER_RETURN_IF_ERROR(
      store_.ReadStream(kOrphanRepliesStream, 1, SIZE_MAX, [&](const es::EventView& v) {
        const auto e = v.event();
        if (e.getPayload().which() != Which::REPLY_RECEIVED) return true;
        const std::string subject = Str(e.getKeySubject());
        if (!subject.starts_with(kOrphanSubjectPrefix)) return true;
        if (hashes.count(Str(e.getPayload().getReplyReceived().getFromHash())) == 0) return true;
        if (std::find(subjects.begin(), subjects.end(), subject) == subjects.end()) {
          subjects.push_back(subject);
        }
        return true;
      }));
  return subjects;
}

Result<ForgetOutcome> ForgetService::Forget(std::string_view lead_id, std::string_view actor,
                                            std::string_view reason) {
  if (lead_id.empty()) return Status::InvalidArgument("a lead id is required", "leadId");
  auto lead = LoadLead(store_, lead_id);
  if (!lead.ok()) return lead.status();
  ForgetOutcome out;
  out.lead_id = std::string(lead_id);
  if (!lead->forgotten) {
    auto orphans = OrphanSubjects(lead->phone_hashes);
    if (!orphans.ok()) return orphans.status();
    LeadCommand cmd;
    cmd.lead_id = out.lead_id;
    cmd.actor = std::string(actor);
    cmd.idempotency_key = "forget:" + out.lead_id;
    cmd.correlation_id = cmd.idempotency_key;
    cmd.build = [&](const Lead& l, LeadEvents& ev) {
      if (l.forgotten) return Status::Ok();  // forgotten meanwhile by another writer
      auto f = ev.Add().getPayload().initLeadForgotten();
      f.setReason(std::string(reason));
      auto list = f.initSubjects(static_cast<unsigned>(orphans->size()));
      for (size_t i = 0; i < orphans->size(); ++i)
        list.set(static_cast<unsigned>(i), (*orphans)[i]);
      for (const auto& t : l.pending_timers) {
        ev.events().push_back(MakeTimerCancelled(t.id, "forgotten"));
      }
      if (!l.open_call_entry_id.empty()) {
        auto c = ev.Add().getPayload().initCallClosed();
        c.setEntryId(l.open_call_entry_id);
        c.setReason("forgotten");
      }
      return Status::Ok();
    };
    auto appended = handler_.Execute(cmd);
    if (!appended.ok()) return appended.status();
  }
  // The stored event (the original one on a repeat) says what to destroy and when it happened.
  auto stored = FindForgotten(store_, lead->stream);
  if (!stored.ok()) return stored.status();
  if (!stored->found) {
    return Status::Internal("forget: lead " + out.lead_id +
                            " has no LeadForgotten after forgetting it");
  }
  out.at = stored->at;
  out.seq = stored->seq;
  out.already = lead->forgotten;
  out.subjects.push_back(lead->stream);
  for (auto& s : stored->subjects) {
    if (s.starts_with(kOrphanSubjectPrefix)) out.subjects.push_back(std::move(s));
  }
  for (const auto& s : out.subjects) NEXTIER_RETURN_IF_ERROR(Destroy(store_.keys(), s));
  return out;
}

}  // namespace nextier::engine
