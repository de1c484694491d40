// Meetings: booking, cancelling, rescheduling and the reminder timer (see meetings.h).
#include "nextier/engine/meetings.h"

#include <date/date.h>
#include <date/tz.h>

#include <chrono>
#include <cstdio>
#include <exception>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>

#include "nextier/engine/campaigns.h"
#include "nextier/engine/send_window.h"
#include "nextier/engine/sms_queue.h"

namespace nextier::engine {

namespace es = nextier::eventstore;

namespace {

constexpr std::string_view kMeetingPrefix = "mtg-";
constexpr Micros kMinute = 60 * kMicrosPerSecond;

std::string ReminderTimerBase(std::string_view meeting_id, std::string_view offset) {
  return "reminder:" + std::string(meeting_id) + ":" + std::string(offset);
}

// The pending reminder timer of `meeting_id` at `offset` on `lead`, or nullptr.
const LeadTimer* PendingReminder(const Lead& lead, std::string_view meeting_id,
                                 std::string_view offset) {
  const std::string base = ReminderTimerBase(meeting_id, offset);
  for (const auto& t : lead.pending_timers) {
    if (t.kind != "reminder") continue;
    if (t.id == base || t.id.starts_with(base + ":")) return &t;
  }
  return nullptr;
}

std::string ReminderArgs(std::string_view meeting_id, std::string_view offset) {
  return nlohmann::json{{"meeting", std::string(meeting_id)}, {"offset", std::string(offset)}}
      .dump();
}

void AddSkipped(LeadEvents& out, std::string_view meeting_id, std::string_view offset,
                std::string_view reason) {
  auto s = out.Add().getPayload().initReminderSkipped();
  s.setMeetingId(std::string(meeting_id));
  s.setOffset(std::string(offset));
  s.setReason(std::string(reason));
}

// The actor of a command: the caller's, else the meeting's agent ("agent:unknown" without one).
std::string ActorOr(std::string_view actor, std::string_view agent) {
  if (!actor.empty()) return std::string(actor);
  return agent.empty() ? std::string("agent:unknown") : "agent:" + std::string(agent);
}

// Checked in a command's build, on the lead as just folded: a cancel, move or outcome of this
// meeting that reached the lead first makes it no longer the lead's booked meeting.
Status StillBooked(const Lead& lead, std::string_view meeting_id) {
  if (lead.meeting_id == meeting_id) return Status::Ok();
  return Status::Conflict("meeting " + std::string(meeting_id) + " is not lead " + lead.id +
                          "'s booked meeting");
}

std::map<std::string, std::string> SmsValues(std::string_view agent, std::string_view link,
                                             const std::string& meeting_time) {
  return {{"agentName", agent.empty() ? std::string("our team") : std::string(agent)},
          {"meetingTime", meeting_time},
          {"link", std::string(link)}};
}

}  // namespace

std::string MeetingId(std::string_view lead_id, uint64_t n) {
  return std::string(kMeetingPrefix) + std::string(lead_id) + "-" + std::to_string(n);
}

Result<std::string> LeadOfMeeting(std::string_view meeting_id) {
  const size_t dash = meeting_id.rfind('-');
  if (!meeting_id.starts_with(kMeetingPrefix) || dash == std::string_view::npos ||
      dash <= kMeetingPrefix.size() || dash + 1 >= meeting_id.size()) {
    return Status::InvalidArgument("'" + std::string(meeting_id) + "' is not a meeting id", "id");
  }
  return std::string(meeting_id.substr(kMeetingPrefix.size(), dash - kMeetingPrefix.size()));
}

Result<projections::Meeting> LoadMeeting(es::EventStore& store, std::string_view meeting_id) {
  auto lead_id = LeadOfMeeting(meeting_id);
  if (!lead_id.ok()) return lead_id.status();
  projections::Meeting m;
  m.id = meeting_id;
  NEXTIER_RETURN_IF_ERROR(
      store.ReadStream(LeadStreamId(*lead_id), 1, SIZE_MAX, [&](const es::EventView& view) {
        projections::ApplyMeetingEvent(m, view.event());
        return true;
      }));
  if (m.status.empty()) return Status::NotFound("no meeting '" + std::string(meeting_id) + "'");
  return m;
}

std::string FormatMeetingTime(Micros starts_at, std::string_view e164,
                              std::string_view address_state) {
  std::string state = e164.empty() ? std::string() : StateForPhone(e164);
  std::vector<std::string> zones = ZonesForState(state.empty() ? address_state : state);
  if (zones.empty() && !state.empty()) zones = ZonesForState(address_state);
  const date::time_zone* zone = nullptr;
  if (!zones.empty()) {
    try {
      zone = date::locate_zone(zones.front());
    } catch (const std::exception&) {
      zone = nullptr;  // not in this system's tzdata
    }
  }
  if (zone == nullptr) return FormatRfc3339(starts_at);
  using Us = std::chrono::microseconds;
  const date::sys_time<Us> t{Us(starts_at)};
  const auto info = zone->get_info(t);
  const date::local_time<Us> local = zone->to_local(t);
  const auto day = date::floor<date::days>(local);
  const date::year_month_day ymd{day};
  const date::weekday wd{day};
  const auto minutes = std::chrono::duration_cast<std::chrono::minutes>(local - day).count();
  static constexpr const char* kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                            "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  const int hour24 = static_cast<int>(minutes / 60);
  const int hour12 = hour24 % 12 == 0 ? 12 : hour24 % 12;
  char buf[96];
  std::snprintf(buf, sizeof buf, "%s, %s %u at %d:%02d %s %s", kDays[wd.c_encoding() % 7],
                kMonths[(static_cast<unsigned>(ymd.month()) + 11) % 12],
                static_cast<unsigned>(ymd.day()), hour12, static_cast<int>(minutes % 60),
                hour24 < 12 ? "AM" : "PM", info.abbrev.c_str());
  return buf;
}

// ---- the service -----------------------------------------------------------------------------

struct MeetingService::Impl {
  es::EventStore& store;
  const Clock& clock;
  WorkflowRegistry& workflows;
  LeadCommandHandler& handler;
  projections::ProjectionRunner& runner;
  const projections::MeetingsProjection& meetings;
  const projections::LeadsProjection& leads;
  MeetingServiceOptions options;
  // Held from the slot check to the durable append of Book and Reschedule, so that two of
  // them never both take one agent's slot.
  std::mutex slot_mu;

  Impl(es::EventStore& s, const Clock& c, WorkflowRegistry& w, LeadCommandHandler& h,
       projections::ProjectionRunner& r, const projections::MeetingsProjection& m,
       const projections::LeadsProjection& l, MeetingServiceOptions o)
      : store(s),
        clock(c),
        workflows(w),
        handler(h),
        runner(r),
        meetings(m),
        leads(l),
        options(std::move(o)) {}

  Status CatchUp() { return runner.WaitFor(store.Head(), options.read_model_wait); }

  // Best effort, like CallQueueService: the events are durable either way.
  void AwaitReadModels(const es::AppendResult& r) {
    if (r.last_seq > 0) (void)runner.WaitFor(r.last_seq, options.read_model_wait);
  }

  // Runs `cmd`, then answers with the meeting as stored. `meeting_id` is read after the command
  // ran (Book's build is what names it).
  Result<projections::Meeting> ExecuteAndLoad(const LeadCommand& cmd,
                                              const std::string& meeting_id) {
    auto appended = handler.Execute(cmd);
    if (!appended.ok()) return appended.status();
    AwaitReadModels(*appended);
    return LoadMeeting(store, meeting_id);
  }

  // The meeting length of the lead's workflow (its own, else its campaign's), else 15.
  int DefaultDuration(const Lead& lead) {
    std::string id = lead.workflow_id, version = lead.workflow_version;
    if (id.empty() && !lead.campaign_id.empty()) {
      if (auto c = LoadCampaign(store, lead.campaign_id); c.ok()) {
        id = c->workflow_id;
        version = c->workflow_version;
      }
    }
    if (!id.empty()) {
      if (auto wf = workflows.Get(id, version); wf.ok())
        return wf->workflow->meeting.duration_minutes;
    }
    return 15;
  }

  std::string MeetingTimeFor(std::string_view lead_id, Micros starts_at) {
    auto view = leads.Get(lead_id);
    if (!view.ok()) return FormatRfc3339(starts_at);
    return FormatMeetingTime(starts_at, view->phones.empty() ? "" : view->phones.front(),
                             view->state_code);
  }

  Status CheckSlot(std::string_view agent, Micros starts_at, Micros ends_at,
                   std::string_view except_id) {
    // The caller caught the read model up under slot_mu.
    if (agent.empty()) return Status::Ok();
    auto taken = meetings.Overlapping(agent, starts_at, ends_at, except_id);
    if (!taken.ok()) return taken.status();
    if (taken->empty()) return Status::Ok();
    const auto& m = taken->front();
    return Status::Conflict("agent " + std::string(agent) + " already has meeting " + m.id +
                            " from " + FormatRfc3339(m.starts_at) + " to " +
                            FormatRfc3339(m.ends_at));
  }

  Result<projections::Meeting> Book(const BookMeeting& r) {
    if (r.lead_id.empty()) return Status::InvalidArgument("a lead id is required", "leadId");
    if (r.starts_at <= clock.Now()) {
      return Status::InvalidArgument("startsAt " + FormatRfc3339(r.starts_at) + " is in the past",
                                     "startsAt");
    }
    auto lead = LoadLead(store, r.lead_id);
    if (!lead.ok()) return lead.status();
    const int duration = r.duration_minutes ? *r.duration_minutes : DefaultDuration(*lead);
    if (duration < 1 || duration > projections::kMaxMeetingMinutes) {
      return Status::InvalidArgument(
          "durationMinutes must be from 1 to " + std::to_string(projections::kMaxMeetingMinutes),
          "durationMinutes");
    }
    const Micros ends_at = r.starts_at + duration * kMinute;

    std::lock_guard lock(slot_mu);
    NEXTIER_RETURN_IF_ERROR(CatchUp());
    NEXTIER_RETURN_IF_ERROR(CheckSlot(r.agent, r.starts_at, ends_at, {}));
    const std::string meeting_time = MeetingTimeFor(r.lead_id, r.starts_at);
    std::string meeting_id;
    LeadCommand cmd;
    cmd.lead_id = r.lead_id;
    cmd.trigger = LeadTrigger::kBook;
    cmd.actor = ActorOr(r.actor, r.agent);
    cmd.build = [&](const Lead& l, LeadEvents& out) {
      meeting_id = MeetingId(l.id, l.version + 1);
      const std::string link = r.link.empty() ? options.link_base + meeting_id : r.link;
      auto b = out.Add().getPayload().initMeetingBooked();
      b.setMeetingId(meeting_id);
      b.setStartsAt(r.starts_at);
      b.setDurationMinutes(static_cast<uint32_t>(duration));
      b.setAgent(r.agent);
      b.setLink(link);
      const auto values = SmsValues(r.agent, link, meeting_time);
      out.events().push_back(
          RequestLeadSms(LeadSmsRequest{l.id, "confirmation", "confirmation",
                                        "sms:confirmation:" + meeting_id, values, ""},
                         out.now()));
      for (std::string_view off : projections::kReminderOffsets) {
        const Micros due = r.starts_at - projections::ReminderOffsetMicros(off);
        if (due > out.now()) {
          out.events().push_back(MakeTimerScheduled(ReminderTimerBase(meeting_id, off), due,
                                                    "reminder", l.stream,
                                                    ReminderArgs(meeting_id, off)));
        } else {
          AddSkipped(out, meeting_id, off, "past");
        }
      }
      return Status::Ok();
    };
    return ExecuteAndLoad(cmd, meeting_id);
  }

  Result<projections::Meeting> Cancel(std::string_view meeting_id, std::string_view reason,
                                      std::string_view actor) {
    auto m = LoadMeeting(store, meeting_id);
    if (!m.ok()) return m.status();
    if (m->status != "booked") {
      return Status::Conflict("meeting " + std::string(meeting_id) + " is " + m->status);
    }
    LeadCommand cmd;
    cmd.lead_id = m->lead_id;
    cmd.trigger = LeadTrigger::kCancelMeeting;
    cmd.actor = ActorOr(actor, {});
    cmd.correlation_id = std::string(meeting_id);
    cmd.build = [&](const Lead& l, LeadEvents& out) {
      NEXTIER_RETURN_IF_ERROR(StillBooked(l, meeting_id));
      auto c = out.Add().getPayload().initMeetingCancelled();
      c.setMeetingId(std::string(meeting_id));
      c.setReason(reason.empty() ? std::string("cancelled") : std::string(reason));
      for (std::string_view off : projections::kReminderOffsets) {
        if (const LeadTimer* t = PendingReminder(l, meeting_id, off)) {
          out.events().push_back(MakeTimerCancelled(t->id, "meeting cancelled"));
        }
      }
      return Status::Ok();
    };
    return ExecuteAndLoad(cmd, std::string(meeting_id));
  }

  Result<projections::Meeting> Reschedule(std::string_view meeting_id, Micros starts_at,
                                          std::string_view actor) {
    if (starts_at <= clock.Now()) {
      return Status::InvalidArgument("startsAt " + FormatRfc3339(starts_at) + " is in the past",
                                     "startsAt");
    }
    auto m = LoadMeeting(store, meeting_id);
    if (!m.ok()) return m.status();
    if (m->status != "booked") {
      return Status::Conflict("meeting " + std::string(meeting_id) + " is " + m->status);
    }
    const Micros ends_at = starts_at + int64_t{m->duration_minutes} * kMinute;

    std::lock_guard lock(slot_mu);
    NEXTIER_RETURN_IF_ERROR(CatchUp());
    NEXTIER_RETURN_IF_ERROR(CheckSlot(m->agent, starts_at, ends_at, meeting_id));
    const std::string meeting_time = MeetingTimeFor(m->lead_id, starts_at);
    LeadCommand cmd;
    cmd.lead_id = m->lead_id;
    cmd.trigger = LeadTrigger::kRescheduleMeeting;
    cmd.actor = ActorOr(actor, m->agent);
    cmd.correlation_id = std::string(meeting_id);
    cmd.build = [&](const Lead& l, LeadEvents& out) {
      NEXTIER_RETURN_IF_ERROR(StillBooked(l, meeting_id));
      auto x = out.Add().getPayload().initMeetingRescheduled();
      x.setMeetingId(std::string(meeting_id));
      x.setStartsAt(starts_at);
      x.setPreviousStartsAt(l.meeting_starts_at);
      const std::string n = std::to_string(l.version + 1);
      for (std::string_view off : projections::kReminderOffsets) {
        const Micros due = starts_at - projections::ReminderOffsetMicros(off);
        const LeadTimer* pending = PendingReminder(l, meeting_id, off);
        if (due > out.now()) {
          // A pending timer is moved (same id); one that already fired needs a fresh id,
          // since timer ids are unique for all time.
          const std::string id =
              pending != nullptr ? pending->id : ReminderTimerBase(meeting_id, off) + ":" + n;
          out.events().push_back(
              MakeTimerScheduled(id, due, "reminder", l.stream, ReminderArgs(meeting_id, off)));
        } else {
          if (pending != nullptr) {
            out.events().push_back(MakeTimerCancelled(pending->id, "meeting rescheduled"));
          }
          AddSkipped(out, meeting_id, off, "past");
        }
      }
      out.events().push_back(
          RequestLeadSms(LeadSmsRequest{l.id, "confirmation", "confirmation",
                                        "sms:confirmation:" + std::string(meeting_id) + ":" + n,
                                        SmsValues(m->agent, m->link, meeting_time), ""},
                         out.now()));
      return Status::Ok();
    };
    return ExecuteAndLoad(cmd, std::string(meeting_id));
  }

  Result<projections::Meeting> RecordOutcome(std::string_view meeting_id, std::string_view outcome,
                                             std::string_view actor) {
    if (outcome != "completed" && outcome != "no_show") {
      return Status::InvalidArgument(
          "status must be completed or no_show, not '" + std::string(outcome) + "'", "status");
    }
    auto m = LoadMeeting(store, meeting_id);
    if (!m.ok()) return m.status();
    if (m->status == outcome) return m;  // already recorded: a repeat changes nothing
    if (m->status != "booked") {
      return Status::Conflict("meeting " + std::string(meeting_id) + " is " + m->status);
    }
    if (clock.Now() < m->starts_at) {
      return Status::Conflict("meeting " + std::string(meeting_id) + " starts at " +
                              FormatRfc3339(m->starts_at) +
                              ": its outcome can be recorded once it has started");
    }
    LeadCommand cmd;
    cmd.lead_id = m->lead_id;
    if (outcome == "no_show") cmd.trigger = LeadTrigger::kCancelMeeting;
    cmd.actor = ActorOr(actor, m->agent);
    cmd.correlation_id = std::string(meeting_id);
    cmd.build = [&](const Lead& l, LeadEvents& out) {
      NEXTIER_RETURN_IF_ERROR(StillBooked(l, meeting_id));  // also a second, racing outcome
      auto x = out.Add().getPayload().initMeetingOutcomeRecorded();
      x.setMeetingId(std::string(meeting_id));
      x.setOutcome(std::string(outcome));
      for (std::string_view off : projections::kReminderOffsets) {
        if (const LeadTimer* t = PendingReminder(l, meeting_id, off)) {
          out.events().push_back(MakeTimerCancelled(t->id, "meeting " + std::string(outcome)));
        }
      }
      return Status::Ok();
    };
    return ExecuteAndLoad(cmd, std::string(meeting_id));
  }

  // The "reminder" timer: text the lead if the meeting still stands, else record the skip.
  Result<std::vector<es::StreamAppend>> FireReminder(const FiredTimer& t) {
    std::vector<es::StreamAppend> effects;
    auto args = nlohmann::json::parse(t.args, nullptr, false);
    if (!args.is_object() || !args.contains("meeting") || !args["meeting"].is_string() ||
        !args.contains("offset") || !args["offset"].is_string()) {
      return Status::InvalidArgument("reminder timer " + t.timer_id + " has malformed args");
    }
    const std::string meeting_id = args["meeting"].get<std::string>();
    const std::string offset = args["offset"].get<std::string>();
    auto m = LoadMeeting(store, meeting_id);
    if (!m.ok()) return m.status();
    auto lead = LoadLead(store, m->lead_id);
    if (!lead.ok()) return lead.status();

    std::string skip;
    if (m->status != "booked") {
      skip = m->status;
    } else if (lead->state == LeadState::kOptedOut) {
      skip = "opted_out";
    } else if (lead->meeting_id != meeting_id) {
      skip = "not_current";
    } else if (lead->state != LeadState::kBooked) {
      skip = "lead_" + std::string(LeadStateName(lead->state));
    }
    const std::string meeting_time =
        skip.empty() ? MeetingTimeFor(m->lead_id, m->starts_at) : std::string();

    LeadCommand cmd;
    cmd.lead_id = lead->id;
    cmd.actor = options.actor;
    cmd.correlation_id = meeting_id;
    cmd.causation_id = t.timer_id;
    cmd.build = [&](const Lead& l, LeadEvents& out) {
      if (!skip.empty()) {
        AddSkipped(out, meeting_id, offset, skip);
        return Status::Ok();
      }
      const std::string key = "sms:" + t.timer_id;
      auto s = out.Add().getPayload().initReminderSent();
      s.setMeetingId(meeting_id);
      s.setOffset(offset);
      s.setMessageKey(key);
      out.events().push_back(
          RequestLeadSms(LeadSmsRequest{l.id, "reminder", "reminder:" + offset, key,
                                        SmsValues(m->agent, m->link, meeting_time), ""},
                         out.now()));
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

MeetingService::MeetingService(es::EventStore& store, const Clock& clock,
                               WorkflowRegistry& workflows, LeadCommandHandler& handler,
                               projections::ProjectionRunner& runner,
                               const projections::MeetingsProjection& meetings,
                               const projections::LeadsProjection& leads,
                               MeetingServiceOptions options)
    : impl_(std::make_shared<Impl>(store, clock, workflows, handler, runner, meetings, leads,
                                   std::move(options))) {}

void MeetingService::RegisterTimerHandlers(TimerService& timers) {
  std::shared_ptr<Impl> impl = impl_;
  timers.RegisterHandler("reminder", [impl](const FiredTimer& t) { return impl->FireReminder(t); });
}

Result<projections::Meeting> MeetingService::Book(const BookMeeting& request) {
  return impl_->Book(request);
}
Result<projections::Meeting> MeetingService::Cancel(std::string_view meeting_id,
                                                    std::string_view reason,
                                                    std::string_view actor) {
  return impl_->Cancel(meeting_id, reason, actor);
}
Result<projections::Meeting> MeetingService::Reschedule(std::string_view meeting_id,
                                                        Micros starts_at, std::string_view actor) {
  return impl_->Reschedule(meeting_id, starts_at, actor);
}
Result<projections::Meeting> MeetingService::RecordOutcome(std::string_view meeting_id,
                                                           std::string_view outcome,
                                                           std::string_view actor) {
  return impl_->RecordOutcome(meeting_id, outcome, actor);
}
Result<projections::Meeting> MeetingService::Get(std::string_view meeting_id) {
  return LoadMeeting(impl_->store, meeting_id);
}

}  // namespace nextier::engine
