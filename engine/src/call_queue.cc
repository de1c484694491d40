// The call queue: priority, entry ids, assignment, completion and the callback timer (see
// call_queue.h).
#include "nextier/engine/call_queue.h"

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>

namespace nextier::engine {

namespace es = nextier::eventstore;

namespace {

constexpr std::string_view kEntryPrefix = "call-";
constexpr double kMicrosPerDay = 86400.0 * 1e6;
// Recency halves every this many days.
constexpr double kRecencyHalfLifeDays = 2.0;

capnp::Data::Reader Bytes(const std::string& s) {
  return capnp::Data::Reader(reinterpret_cast<const capnp::byte*>(s.data()), s.size());
}

std::string CallbackTimerId(std::string_view entry_id, uint64_t n) {
  return "callback:" + std::string(entry_id) + ":" + std::to_string(n);
}

}  // namespace

bool IsCallDisposition(std::string_view d) {
  return std::find(kCallDispositions.begin(), kCallDispositions.end(), d) !=
         kCallDispositions.end();
}

double CallPriority(const workflows::Workflow& workflow, int role_score, Micros gold_labeled_at,
                    Micros now, double campaign_factor) {
  const auto& w = workflow.call_queue;
  const double sum = w.role_score + w.recency + w.campaign;
  const double role = std::clamp(role_score, 0, 100) / 100.0;
  const double age_days = std::max<Micros>(0, now - gold_labeled_at) / kMicrosPerDay;
  const double recency = std::pow(0.5, age_days / kRecencyHalfLifeDays);
  const double campaign =
      std::isfinite(campaign_factor) ? std::clamp(campaign_factor, 0.0, 1.0) : 0.0;
  // The loader refuses all-zero weights; a hand-built workflow with them ranks by role alone.
  if (!(sum > 0)) return role;
  return (w.role_score * role + w.recency * recency + w.campaign * campaign) / sum;
}

std::string CallEntryId(std::string_view lead_id, uint64_t n) {
  return std::string(kEntryPrefix) + std::string(lead_id) + "-" + std::to_string(n);
}

std::string NextCallEntryId(const Lead& lead) { return CallEntryId(lead.id, lead.version + 1); }

Result<std::string> LeadOfCallEntry(std::string_view entry_id) {
  const size_t dash = entry_id.rfind('-');
  if (!entry_id.starts_with(kEntryPrefix) || dash == std::string_view::npos ||
      dash <= kEntryPrefix.size() || dash + 1 >= entry_id.size()) {
    return Status::InvalidArgument("'" + std::string(entry_id) + "' is not a call-queue entry id",
                                   "id");
  }
  return std::string(entry_id.substr(kEntryPrefix.size(), dash - kEntryPrefix.size()));
}

es::NewEvent MakeCallQueued(std::string_view entry_id, double priority,
                            std::string_view campaign_id, std::string_view reason) {
  es::NewEvent e;
  auto q = e.builder().getPayload().initCallQueued();
  q.setEntryId(std::string(entry_id));
  q.setPriority(priority);
  q.setCampaignId(std::string(campaign_id));
  q.setReason(std::string(reason));
  return e;
}

Result<projections::CallEntry> LoadCallEntry(es::EventStore& store, std::string_view entry_id) {
  auto lead_id = LeadOfCallEntry(entry_id);
  if (!lead_id.ok()) return lead_id.status();
  projections::CallEntry entry;
  entry.id = entry_id;
  NEXTIER_RETURN_IF_ERROR(
      store.ReadStream(LeadStreamId(*lead_id), 1, SIZE_MAX, [&](const es::EventView& view) {
        projections::ApplyCallEvent(entry, view.event());
        return true;
      }));
  if (entry.status.empty()) {
    return Status::NotFound("no call-queue entry '" + std::string(entry_id) + "'");
  }
  return entry;
}

// ---- the service -----------------------------------------------------------------------------

struct CallQueueService::Impl {
  es::EventStore& store;
  const Clock& clock;
  LeadCommandHandler& handler;
  projections::ProjectionRunner& runner;
  const projections::LeadsProjection& leads;
  CallQueueServiceOptions options;

  Impl(es::EventStore& s, const Clock& c, LeadCommandHandler& h, projections::ProjectionRunner& r,
       const projections::LeadsProjection& l, CallQueueServiceOptions o)
      : store(s), clock(c), handler(h), runner(r), leads(l), options(std::move(o)) {}

  // Lets the read models show what a command just wrote, so that the caller's next list sees
  // it. Best effort: the events are durable either way, and a stalled runner reports itself.
  void AwaitReadModels(const es::AppendResult& r) {
    if (r.last_seq > 0) (void)runner.WaitFor(r.last_seq, options.read_model_wait);
  }

  static Status NotOpen(const Lead& lead, std::string_view entry_id) {
    if (lead.open_call_entry_id.empty()) {
      return Status::Conflict("call-queue entry " + std::string(entry_id) +
                              " is completed: nothing is open for lead " + lead.id);
    }
    return Status::Conflict("call-queue entry " + std::string(entry_id) + " is not open: lead " +
                            lead.id + "'s open entry is " + lead.open_call_entry_id);
  }

  Result<projections::CallEntry> Assign(std::string_view entry_id, std::string_view agent,
                                        std::string_view actor) {
    if (agent.empty()) return Status::InvalidArgument("an agent is required", "agent");
    auto existing = LoadCallEntry(store, entry_id);
    if (!existing.ok()) return existing.status();
    LeadCommand cmd;
    cmd.lead_id = existing->lead_id;
    cmd.actor = actor.empty() ? "agent:" + std::string(agent) : std::string(actor);
    cmd.correlation_id = std::string(entry_id);
    cmd.build = [&](const Lead& lead, LeadEvents& out) {
      if (lead.open_call_entry_id != entry_id) return NotOpen(lead, entry_id);
      if (!lead.call_agent.empty()) {
        // The same agent again is a harmless repeat: nothing to write.
        if (lead.call_agent == agent) return Status::Ok();
        return Status::Conflict("call-queue entry " + std::string(entry_id) + " is held by agent " +
                                lead.call_agent);
      }
      auto a = out.Add().getPayload().initCallAssigned();
      a.setEntryId(std::string(entry_id));
      a.setAgent(std::string(agent));
      return Status::Ok();
    };
    auto r = handler.Execute(cmd);
    if (!r.ok()) return r.status();
    AwaitReadModels(*r);
    return LoadCallEntry(store, entry_id);
  }

  Result<projections::CallEntry> Complete(std::string_view entry_id, std::string_view agent,
                                          std::string_view disposition, std::string_view notes,
                                          std::optional<Micros> callback_at,
                                          std::string_view actor) {
    if (!IsCallDisposition(disposition)) {
      return Status::InvalidArgument(
          "disposition must be one of booked, no_answer, voicemail, callback, not_interested, "
          "wrong_number, not '" +
              std::string(disposition) + "'",
          "disposition");
    }
    const bool callback = disposition == "callback";
    if (callback) {
      if (!callback_at) {
        return Status::InvalidArgument("a callback needs callbackAt", "callbackAt");
      }
      if (*callback_at <= clock.Now()) {
        return Status::InvalidArgument(
            "callbackAt " + FormatRfc3339(*callback_at) + " is not in the future", "callbackAt");
      }
    }
    auto existing = LoadCallEntry(store, entry_id);
    if (!existing.ok()) return existing.status();
    const std::string lead_id = existing->lead_id;

    // The number we text is the one a wrong-number call condemns (the skip-traced one first).
    std::string phone_hash;
    if (disposition == "wrong_number") {
      auto view = leads.Get(lead_id);
      if (!view.ok() && view.status().code() != StatusCode::kNotFound) return view.status();
      if (view.ok() && !view->phones.empty()) {
        phone_hash = store.keys().BlindIndex(projections::kPhonePurpose, view->phones.front());
      }
    }

    LeadCommand cmd;
    cmd.lead_id = lead_id;
    cmd.trigger = LeadTrigger::kCallCompleted;
    cmd.actor = actor.empty()
                    ? (agent.empty() ? std::string("agent:unknown") : "agent:" + std::string(agent))
                    : std::string(actor);
    cmd.correlation_id = std::string(entry_id);
    cmd.build = [&](const Lead& lead, LeadEvents& out) -> Status {
      if (lead.open_call_entry_id != entry_id) return NotOpen(lead, entry_id);
      if (!agent.empty() && !lead.call_agent.empty() && lead.call_agent != agent) {
        return Status::Conflict("call-queue entry " + std::string(entry_id) + " is held by agent " +
                                lead.call_agent);
      }
      auto e = out.Add();
      std::string sealed;
      if (!notes.empty()) {
        auto s = out.SealPersonal(
            e, [&](es::schema::Personal::Builder p) { p.setNotes(std::string(notes)); });
        if (!s.ok()) return s.status();
        sealed = std::move(*s);
      }
      auto c = e.getPayload().initCallCompleted();
      c.setEntryId(std::string(entry_id));
      c.setAgent(agent.empty() ? lead.call_agent : std::string(agent));
      c.setDisposition(std::string(disposition));
      if (!sealed.empty()) c.setPersonal(Bytes(sealed));
      if (callback) c.setCallbackAt(*callback_at);

      if (disposition == "not_interested") {
        auto n = out.Add().getPayload().initLeadNotInterested();
        n.setSource("call");
        n.setReason("call disposition not_interested");
      } else if (disposition == "wrong_number" && !phone_hash.empty()) {
        auto n = out.Add().getPayload().initNumberSuppressed();
        n.setPhoneHash(Bytes(phone_hash));
        n.setReason("wrong_number");
      } else if (callback) {
        out.events().push_back(MakeTimerScheduled(
            CallbackTimerId(entry_id, lead.version + 1), *callback_at, "callback", lead.stream,
            nlohmann::json{{"entry", std::string(entry_id)}}.dump()));
      }
      return Status::Ok();
    };
    auto r = handler.Execute(cmd);
    if (!r.ok()) return r.status();
    AwaitReadModels(*r);
    return LoadCallEntry(store, entry_id);
  }

  // The "callback" timer: the entry goes back to the queue, unless the lead moved on.
  Result<std::vector<es::StreamAppend>> FireCallback(const FiredTimer& t) {
    std::vector<es::StreamAppend> effects;
    auto args = nlohmann::json::parse(t.args, nullptr, false);
    if (!args.is_object() || !args.contains("entry") || !args["entry"].is_string()) {
      return Status::InvalidArgument("callback timer " + t.timer_id + " names no entry");
    }
    const std::string entry_id = args["entry"].get<std::string>();
    auto entry = LoadCallEntry(store, entry_id);
    if (!entry.ok()) return entry.status();
    auto lead = LoadLead(store, entry->lead_id);
    if (!lead.ok()) return lead.status();
    const bool still_wanted =
        entry->status == "completed" && entry->disposition == "callback" &&
        lead->open_call_entry_id.empty() &&
        (lead->state == LeadState::kGold || lead->state == LeadState::kCalled);
    if (!still_wanted) return effects;
    LeadCommand cmd;
    cmd.lead_id = lead->id;
    cmd.actor = options.actor;
    cmd.correlation_id = entry_id;
    cmd.causation_id = t.timer_id;
    cmd.build = [&](const Lead&, LeadEvents& out) {
      auto q = out.Add().getPayload().initCallRequeued();
      q.setEntryId(entry_id);
      q.setReason("callback");
      return Status::Ok();
    };
    auto events = PrepareLeadEvents(*lead, cmd, store.keys(), t.fired_at);
    if (!events.ok()) return events.status();
    // Expecting the version just folded: if the lead moved since the service read
    // target_version, the service sees the mismatch and fires again on the fresh stream.
    effects.push_back(es::StreamAppend{lead->stream, es::ExpectedVersion::Exactly(lead->version),
                                       std::move(*events)});
    return effects;
  }
};

CallQueueService::CallQueueService(es::EventStore& store, const Clock& clock,
                                   LeadCommandHandler& handler,
                                   projections::ProjectionRunner& runner,
                                   const projections::LeadsProjection& leads,
                                   CallQueueServiceOptions options)
    : impl_(std::make_shared<Impl>(store, clock, handler, runner, leads, std::move(options))) {}

void CallQueueService::RegisterTimerHandlers(TimerService& timers) {
  std::shared_ptr<Impl> impl = impl_;
  timers.RegisterHandler("callback", [impl](const FiredTimer& t) { return impl->FireCallback(t); });
}

Result<projections::CallEntry> CallQueueService::Assign(std::string_view entry_id,
                                                        std::string_view agent,
                                                        std::string_view actor) {
  return impl_->Assign(entry_id, agent, actor);
}

Result<projections::CallEntry> CallQueueService::Complete(
    std::string_view entry_id, std::string_view agent, std::string_view disposition,
    std::string_view notes, std::optional<Micros> callback_at, std::string_view actor) {
  return impl_->Complete(entry_id, agent, disposition, notes, callback_at, actor);
}

Result<projections::CallEntry> CallQueueService::Get(std::string_view entry_id) {
  return LoadCallEntry(impl_->store, entry_id);
}

}  // namespace nextier::engine
