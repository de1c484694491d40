// Meetings on the simulated clock: booking (confirmation, three reminder timers, the agent's
// slot, the past), reminders firing at exactly -24h/-1h/-15m, past ones skipped, reschedule
// moving them, cancel cancelling them, and an opted-out lead getting none.
#include "nextier/engine/meetings.h"

#include <capnp/message.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "nextier/engine/call_queue.h"
#include "nextier/engine/lead.h"
#include "nextier/engine/lead_commands.h"
#include "nextier/engine/timers.h"
#include "nextier/engine/workflow_registry.h"
#include "nextier/projections/calls_meetings.h"
#include "nextier/projections/leads.h"
#include "nextier/projections/pending_timers.h"
#include "nextier/projections/sending.h"
#include "testing/testing.h"

namespace nextier::engine {
namespace {

namespace es = nextier::eventstore;
namespace pj = nextier::projections;
using Which = es::schema::Event::Payload::Which;

// 2026-11-28T15:00:00Z (10:00 in New York).
constexpr Micros kStart = Micros{1'795'878'000} * kMicrosPerSecond;
constexpr Micros kMinute = 60 * kMicrosPerSecond;
constexpr Micros kHour = 60 * kMinute;
constexpr Micros kDay = 24 * kHour;

capnp::Data::Reader Bytes(const std::string& s) {
  return capnp::Data::Reader(reinterpret_cast<const capnp::byte*>(s.data()), s.size());
}

std::string Phone(int i) {
  char buf[20];
  std::snprintf(buf, sizeof buf, "+1212234%04d", i % 10000);
  return buf;
}

struct Rig {
  explicit Rig(const std::string& dir) : clock(kStart) {
    es::LmdbOptions lo;
    lo.path = dir + "/log";
    lo.sync = false;
    store = es::OpenLmdbEventStore(lo).value();
    pj::ReadModelOptions ro;
    ro.path = dir + "/projections";
    ro.sync = false;
    models = pj::ReadModelStore::Open(ro).value();
    leads = pj::LeadsProjection::Open(*models, store->keys()).value();
    suppression = pj::SuppressionProjection::Open(*models).value();
    calls = pj::CallQueueProjection::Open(*models).value();
    meetings = pj::MeetingsProjection::Open(*models).value();
    timers = pj::PendingTimers::Open(*models).value();
    runner = std::make_unique<pj::ProjectionRunner>(*store, *models);
    for (pj::Projection* p : std::initializer_list<pj::Projection*>{
             leads.get(), suppression.get(), calls.get(), meetings.get(), timers.get()}) {
      Status s = runner->Add(*p);
      if (!s.ok()) throw std::runtime_error(s.ToString());
    }
    registry = std::make_unique<WorkflowRegistry>(*store, clock);
    Status s = registry->LoadLogAndDirectory(std::string(NEXTIER_SOURCE_DIR) + "/workflows");
    if (!s.ok()) throw std::runtime_error(s.ToString());
    handler = std::make_unique<LeadCommandHandler>(*store, clock);
    timer_service = std::make_unique<TimerService>(*store, *runner, *timers, clock);
    service = std::make_unique<CallQueueService>(*store, clock, *handler, *runner, *leads);
    service->RegisterTimerHandlers(*timer_service);
    meeting_service = std::make_unique<MeetingService>(*store, clock, *registry, *handler, *runner,
                                                       *meetings, *leads);
    meeting_service->RegisterTimerHandlers(*timer_service);
    s = timer_service->Start();
    if (!s.ok()) throw std::runtime_error(s.ToString());
  }
  ~Rig() {
    timer_service.reset();
    runner.reset();
  }

  void Run(const std::string& id, std::optional<LeadTrigger> trigger,
           const std::function<Status(const Lead&, LeadEvents&)>& build) {
    LeadCommand c;
    c.lead_id = id;
    c.trigger = trigger;
    c.build = build;
    c.actor = "test";
    ASSERT_OK(handler->Execute(c));
  }

  // Imports lead `id` and walks it to gold (enriched, queued, opener sent, gold label), with
  // a CallQueued in the gold label's unit. Returns the entry id.
  std::string GoldLead(const std::string& id, int role_score, int phone_no) {
    const std::string phone = Phone(phone_no);
    LeadCommand create;
    create.lead_id = id;
    create.build = [&](const Lead&, LeadEvents& out) {
      auto e = out.Add();
      auto sealed = out.SealPersonal(e, [&](es::schema::Personal::Builder p) {
        p.setFirstName("Pat" + id);
        p.setLastName("Smith");
        p.setState("NY");
      });
      if (!sealed.ok()) return sealed.status();
      auto li = e.getPayload().initLeadImported();
      li.setLeadId(id);
      li.setCompany("Acme " + id);
      li.setTitle("Owner");
      li.setRoleScore(role_score);
      li.setPersonal(Bytes(*sealed));
      return Status::Ok();
    };
    EXPECT_OK(handler->Create(create));
    const std::string hash = store->keys().BlindIndex(pj::kPhonePurpose, phone);
    Run(id, LeadTrigger::kEnrich, [&](const Lead&, LeadEvents& out) {
      auto e = out.Add();
      auto sealed = out.SealPersonal(
          e, [&](es::schema::Personal::Builder p) { p.initPhones(1).set(0, phone); });
      if (!sealed.ok()) return sealed.status();
      auto le = e.getPayload().initLeadEnriched();
      le.setHumanId("NXT-" + id);
      le.setPhoneType("mobile");
      le.setPersonal(Bytes(*sealed));
      le.setPhoneHash(Bytes(hash));
      return Status::Ok();
    });
    Run(id, LeadTrigger::kQueue, [&](const Lead&, LeadEvents& out) {
      out.Add().getPayload().initLeadQueued().setCampaignId("camp-1");
      return Status::Ok();
    });
    const std::string key = "sms:camp-1:" + id + ":opener";
    Run(id, std::nullopt, [&](const Lead&, LeadEvents& out) {
      auto i = out.Add().getPayload().initSmsSendIntended();
      i.setMessageKey(key);
      i.setKind("opener");
      i.setCampaignId("camp-1");
      return Status::Ok();
    });
    Run(id, LeadTrigger::kSent, [&](const Lead&, LeadEvents& out) {
      auto s = out.Add().getPayload().initSmsSent();
      s.setMessageKey(key);
      s.setProviderMessageId("P-" + id);
      s.setKind("opener");
      return Status::Ok();
    });
    std::string entry;
    auto wf = registry->Get("business-owners").value();
    Run(id, LeadTrigger::kGoldLabel, [&](const Lead& lead, LeadEvents& out) {
      auto g = out.Add().getPayload().initLeadGoldLabeled();
      g.setPhoneVerified(true);
      g.setGoldLabeledAt(out.now());
      entry = NextCallEntryId(lead);
      const double priority =
          CallPriority(*wf.workflow, lead.role_score, out.now(), out.now(), 1.0);
      out.events().push_back(MakeCallQueued(entry, priority, "camp-1", "gold_label"));
      return Status::Ok();
    });
    return entry;
  }

  Status CatchUp() { return runner->WaitFor(store->Head(), std::chrono::seconds(30)); }
  LeadState StateOf(const std::string& id) { return LoadLead(*store, id).value().state; }

  // The payload types of lead `id`'s stream, in order.
  std::vector<std::string> Types(const std::string& id) {
    std::vector<std::string> out;
    EXPECT_OK(store->ReadStream(LeadStreamId(id), 1, SIZE_MAX, [&](const es::EventView& v) {
      out.emplace_back(v.event().getType().cStr());
      return true;
    }));
    return out;
  }

  SimulatedClock clock;
  std::unique_ptr<es::EventStore> store;
  std::unique_ptr<pj::ReadModelStore> models;
  std::unique_ptr<pj::LeadsProjection> leads;
  std::unique_ptr<pj::SuppressionProjection> suppression;
  std::unique_ptr<pj::CallQueueProjection> calls;
  std::unique_ptr<pj::MeetingsProjection> meetings;
  std::unique_ptr<pj::PendingTimers> timers;
  std::unique_ptr<pj::ProjectionRunner> runner;
  std::unique_ptr<WorkflowRegistry> registry;
  std::unique_ptr<LeadCommandHandler> handler;
  std::unique_ptr<TimerService> timer_service;
  std::unique_ptr<CallQueueService> service;
  std::unique_ptr<MeetingService> meeting_service;
};

// One event of a lead's stream, flattened for assertions.
struct Ev {
  std::string type;
  Micros at = 0;
  std::string timer_id, kind, args;  // TimerScheduled / TimerCancelled
  Micros due = 0;
  std::string meeting, offset, reason, key;  // ReminderSent / ReminderSkipped
};

std::vector<Ev> Events(Rig& rig, const std::string& lead) {
  std::vector<Ev> out;
  const Status s =
      rig.store->ReadStream(LeadStreamId(lead), 1, SIZE_MAX, [&](const es::EventView& v) {
        Ev e;
        e.type = v.event().getType().cStr();
        e.at = v.event().getRecordedAt();
        const auto p = v.event().getPayload();
        switch (p.which()) {
          case Which::TIMER_SCHEDULED: {
            const auto t = p.getTimerScheduled();
            e.timer_id = t.getTimerId().cStr();
            e.kind = t.getKind().cStr();
            e.args = t.getArgs().cStr();
            e.due = t.getDueAt();
            break;
          }
          case Which::TIMER_CANCELLED:
            e.timer_id = p.getTimerCancelled().getTimerId().cStr();
            break;
          case Which::REMINDER_SENT:
            e.meeting = p.getReminderSent().getMeetingId().cStr();
            e.offset = p.getReminderSent().getOffset().cStr();
            e.key = p.getReminderSent().getMessageKey().cStr();
            break;
          case Which::REMINDER_SKIPPED:
            e.meeting = p.getReminderSkipped().getMeetingId().cStr();
            e.offset = p.getReminderSkipped().getOffset().cStr();
            e.reason = p.getReminderSkipped().getReason().cStr();
            break;
          case Which::MEETING_OUTCOME_RECORDED:
            e.meeting = p.getMeetingOutcomeRecorded().getMeetingId().cStr();
            e.reason = p.getMeetingOutcomeRecorded().getOutcome().cStr();
            break;
          default:
            break;
        }
        out.push_back(std::move(e));
        return true;
      });
  EXPECT_TRUE(s.ok()) << s.ToString();
  return out;
}

std::vector<Ev> OfType(const std::vector<Ev>& events, const std::string& type,
                       const std::string& kind = {}) {
  std::vector<Ev> out;
  for (const auto& e : events) {
    if (e.type == type && (kind.empty() || e.kind == kind)) out.push_back(e);
  }
  return out;
}

// The "sms" timers (text requests) of a lead whose template starts with `prefix`.
std::vector<nlohmann::json> SmsRequests(const std::vector<Ev>& events, const std::string& prefix) {
  std::vector<nlohmann::json> out;
  for (const auto& e : OfType(events, "TimerScheduled", "sms")) {
    auto args = nlohmann::json::parse(e.args);
    if (args["template"].get<std::string>().starts_with(prefix)) {
      args["dueAt"] = e.due;
      out.push_back(args);
    }
  }
  return out;
}

BookMeeting Booking(const std::string& lead, Micros starts_at, const std::string& agent = "bob") {
  BookMeeting b;
  b.lead_id = lead;
  b.starts_at = starts_at;
  b.agent = agent;
  b.link = "https://meet.example.com/" + lead;
  return b;
}

// Lead `lead` walked to gold (phone 1), then booked at `starts_at`.
Result<pj::Meeting> GoldAndBook(Rig& rig, const std::string& lead, Micros starts_at,
                                const std::string& agent = "bob") {
  rig.GoldLead(lead, 100, 1);
  return rig.meeting_service->Book(Booking(lead, starts_at, agent));
}

class MeetingsTest : public ::testing::Test {
 protected:
  testing::TempDir dir_;
};

TEST(MeetingIdsTest, MeetingIdsNameTheirLead) {
  EXPECT_EQ(MeetingId("42", 9), "mtg-42-9");
  EXPECT_EQ(LeadOfMeeting("mtg-42-9").value(), "42");
  EXPECT_FALSE(LeadOfMeeting("call-42-9").ok());
}

TEST(MeetingTimeTest, FormatsInTheLeadsZone) {
  // 2026-12-01T19:00:00Z is 2:00 PM in New York.
  const Micros t = kStart + 3 * kDay + 4 * kHour;
  EXPECT_EQ(FormatMeetingTime(t, "+12122345678", ""), "Tue, Dec 1 at 2:00 PM EST");
  EXPECT_EQ(FormatMeetingTime(t, "", "CA"), "Tue, Dec 1 at 11:00 AM PST");
  EXPECT_EQ(FormatMeetingTime(t, "", ""), "2026-12-01T19:00:00Z");
}

TEST_F(MeetingsTest, BookingConfirmsAndRemindsAtExactlyTwentyFourHoursOneHourAndFifteenMinutes) {
  Rig rig(dir_.str());
  const Micros starts = kStart + 3 * kDay + 4 * kHour;
  auto m = GoldAndBook(rig, "1", starts);
  ASSERT_OK(m);
  EXPECT_EQ(m->lead_id, "1");
  EXPECT_EQ(m->status, "booked");
  EXPECT_EQ(m->starts_at, starts);
  EXPECT_EQ(m->ends_at, starts + 15 * kMinute);  // the workflow's default
  EXPECT_EQ(m->agent, "bob");
  EXPECT_EQ(LeadOfMeeting(m->id).value(), "1");
  EXPECT_EQ(rig.StateOf("1"), LeadState::kBooked);
  ASSERT_EQ(m->reminders.size(), 3u);
  for (const auto& r : m->reminders) EXPECT_EQ(r.status, "pending");

  // One unit: the booking, the confirmation request and three reminder timers.
  auto events = Events(rig, "1");
  auto confirmations = SmsRequests(events, "confirmation");
  ASSERT_EQ(confirmations.size(), 1u);
  EXPECT_EQ(confirmations[0]["kind"], "confirmation");
  EXPECT_EQ(confirmations[0]["dueAt"], kStart);
  EXPECT_EQ(confirmations[0]["values"]["agentName"], "bob");
  EXPECT_EQ(confirmations[0]["values"]["link"], "https://meet.example.com/1");
  EXPECT_EQ(confirmations[0]["values"]["meetingTime"], "Tue, Dec 1 at 2:00 PM EST");
  auto reminders = OfType(events, "TimerScheduled", "reminder");
  ASSERT_EQ(reminders.size(), 3u);
  EXPECT_EQ(reminders[0].due, starts - kDay);
  EXPECT_EQ(reminders[1].due, starts - kHour);
  EXPECT_EQ(reminders[2].due, starts - 15 * kMinute);

  // Nothing fires before its time.
  ASSERT_OK(rig.timer_service->AdvanceTo(starts - kDay - 1));
  EXPECT_TRUE(OfType(Events(rig, "1"), "ReminderSent").empty());
  ASSERT_OK(rig.timer_service->AdvanceTo(starts + kHour));

  events = Events(rig, "1");
  auto sent = OfType(events, "ReminderSent");
  ASSERT_EQ(sent.size(), 3u);
  const std::pair<const char*, Micros> expected[] = {
      {"24h", starts - kDay}, {"1h", starts - kHour}, {"15m", starts - 15 * kMinute}};
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(sent[i].offset, expected[i].first);
    EXPECT_EQ(sent[i].at, expected[i].second) << sent[i].offset;
    EXPECT_EQ(sent[i].meeting, m->id);
  }
  auto texts = SmsRequests(events, "reminder:");
  ASSERT_EQ(texts.size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(texts[i]["template"], std::string("reminder:") + expected[i].first);
    EXPECT_EQ(texts[i]["kind"], "reminder");
    EXPECT_EQ(texts[i]["dueAt"], expected[i].second);
    EXPECT_EQ(texts[i]["key"], sent[i].key);
  }
  EXPECT_EQ(texts[2]["values"]["link"], "https://meet.example.com/1");
  EXPECT_EQ(OfType(events, "ReminderSkipped").size(), 0u);

  ASSERT_OK(rig.CatchUp());
  auto model = rig.meetings->Get(m->id);
  ASSERT_OK(model);
  for (const auto& r : model->reminders) EXPECT_EQ(r.status, "sent") << r.offset;
  EXPECT_EQ(model->reminders[0].due_at, starts - kDay);
}

TEST_F(MeetingsTest, PastStartsAreInvalidAndOnlyGoldOrCalledLeadsBook) {
  Rig rig(dir_.str());
  rig.GoldLead("1", 100, 1);
  auto past = rig.meeting_service->Book(Booking("1", kStart - kMinute));
  EXPECT_EQ(past.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(past.status().field(), "startsAt");
  EXPECT_EQ(rig.meeting_service->Book(Booking("1", kStart)).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(rig.meeting_service->Book(Booking("404", kStart + kDay)).status().code(),
            StatusCode::kNotFound);
  auto too_long = Booking("1", kStart + kDay);
  too_long.duration_minutes = 0;
  EXPECT_EQ(rig.meeting_service->Book(too_long).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(rig.StateOf("1"), LeadState::kGold);

  ASSERT_OK(rig.meeting_service->Book(Booking("1", kStart + kDay)));
  // Booked already: the state machine refuses a second booking.
  EXPECT_EQ(rig.meeting_service->Book(Booking("1", kStart + 2 * kDay, "carol")).status().code(),
            StatusCode::kConflict);
}

TEST_F(MeetingsTest, AnAgentCannotHaveTwoMeetingsInOneSlot) {
  Rig rig(dir_.str());
  for (int i = 1; i <= 4; ++i) rig.GoldLead(std::to_string(i), 100, i);
  const Micros two_pm = kStart + kDay + 4 * kHour;
  ASSERT_OK(rig.meeting_service->Book(Booking("1", two_pm, "bob")));
  auto clash = rig.meeting_service->Book(Booking("2", two_pm + 10 * kMinute, "bob"));
  EXPECT_EQ(clash.status().code(), StatusCode::kConflict);
  EXPECT_NE(clash.status().message().find("bob"), std::string::npos);
  EXPECT_EQ(rig.StateOf("2"), LeadState::kGold);
  auto before = Booking("3", two_pm - 20 * kMinute, "bob");
  before.duration_minutes = 30;
  EXPECT_EQ(rig.meeting_service->Book(before).status().code(), StatusCode::kConflict);
  // Back to back is fine, and so is another agent at the same time.
  ASSERT_OK(rig.meeting_service->Book(Booking("2", two_pm + 15 * kMinute, "bob")));
  ASSERT_OK(rig.meeting_service->Book(Booking("3", two_pm, "alice")));
  // A cancelled meeting frees its slot.
  auto first = rig.meetings->List({kStart, kStart + 2 * kDay, "bob"}, 10, "");
  ASSERT_OK(first);
  ASSERT_EQ(first->items.size(), 2u);
  EXPECT_EQ(first->items[0].lead_id, "1");
  ASSERT_OK(rig.meeting_service->Cancel(first->items[0].id));
  ASSERT_OK(rig.meeting_service->Book(Booking("4", two_pm, "bob")));
}

TEST_F(MeetingsTest, RemindersAlreadyPastAtBookingAreSkipped) {
  Rig rig(dir_.str());
  const Micros starts = kStart + 30 * kMinute;
  auto m = GoldAndBook(rig, "1", starts);
  ASSERT_OK(m);
  auto events = Events(rig, "1");
  auto skipped = OfType(events, "ReminderSkipped");
  ASSERT_EQ(skipped.size(), 2u);
  EXPECT_EQ(skipped[0].offset, "24h");
  EXPECT_EQ(skipped[1].offset, "1h");
  EXPECT_EQ(skipped[0].reason, "past");
  EXPECT_EQ(OfType(events, "TimerScheduled", "reminder").size(), 1u);
  EXPECT_EQ(m->reminders[0].status, "skipped");
  EXPECT_EQ(m->reminders[1].status, "skipped");
  EXPECT_EQ(m->reminders[2].status, "pending");

  ASSERT_OK(rig.timer_service->AdvanceTo(starts + kHour));
  auto sent = OfType(Events(rig, "1"), "ReminderSent");
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].offset, "15m");
  EXPECT_EQ(sent[0].at, starts - 15 * kMinute);
}

TEST_F(MeetingsTest, RescheduleMovesTheReminders) {
  Rig rig(dir_.str());
  const Micros old_start = kStart + 3 * kDay;
  auto m = GoldAndBook(rig, "1", old_start);
  ASSERT_OK(m);
  // The 24h reminder goes out for the old time...
  ASSERT_OK(rig.timer_service->AdvanceTo(old_start - kDay + kHour));
  ASSERT_EQ(OfType(Events(rig, "1"), "ReminderSent").size(), 1u);
  // ...then the meeting moves two days later.
  const Micros new_start = old_start + 2 * kDay;
  EXPECT_EQ(rig.meeting_service->Reschedule(m->id, kStart).status().code(),
            StatusCode::kInvalidArgument);
  auto moved = rig.meeting_service->Reschedule(m->id, new_start);
  ASSERT_OK(moved);
  EXPECT_EQ(moved->starts_at, new_start);
  EXPECT_EQ(moved->ends_at, new_start + 15 * kMinute);
  for (const auto& r : moved->reminders) EXPECT_EQ(r.status, "pending");
  EXPECT_EQ(rig.StateOf("1"), LeadState::kBooked);
  EXPECT_EQ(SmsRequests(Events(rig, "1"), "confirmation").size(), 2u);

  ASSERT_OK(rig.timer_service->AdvanceTo(new_start + kHour));
  auto sent = OfType(Events(rig, "1"), "ReminderSent");
  ASSERT_EQ(sent.size(), 4u);
  EXPECT_EQ(sent[0].at, old_start - kDay);
  EXPECT_EQ(sent[1].offset, "24h");
  EXPECT_EQ(sent[1].at, new_start - kDay);
  EXPECT_EQ(sent[2].at, new_start - kHour);
  EXPECT_EQ(sent[3].at, new_start - 15 * kMinute);
  // Every message key is distinct (one text per reminder, ever).
  std::set<std::string> keys;
  for (const auto& s : sent) keys.insert(s.key);
  EXPECT_EQ(keys.size(), 4u);
}

TEST_F(MeetingsTest, RescheduleCloseToTheStartSkipsWhatIsPast) {
  Rig rig(dir_.str());
  rig.GoldLead("1", 100, 1);
  auto m = rig.meeting_service->Book(Booking("1", kStart + 3 * kDay));
  ASSERT_OK(m);
  auto moved = rig.meeting_service->Reschedule(m->id, kStart + 40 * kMinute);
  ASSERT_OK(moved);
  EXPECT_EQ(moved->reminders[0].status, "skipped");
  EXPECT_EQ(moved->reminders[1].status, "skipped");
  EXPECT_EQ(moved->reminders[2].status, "pending");
  ASSERT_OK(rig.timer_service->AdvanceTo(kStart + 4 * kDay));
  auto sent = OfType(Events(rig, "1"), "ReminderSent");
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].offset, "15m");
  EXPECT_EQ(sent[0].at, kStart + 25 * kMinute);
}

TEST_F(MeetingsTest, CancelCancelsTheRemindersAndNoneFires) {
  Rig rig(dir_.str());
  const Micros starts = kStart + 3 * kDay;
  auto m = GoldAndBook(rig, "1", starts);
  ASSERT_OK(m);
  auto cancelled = rig.meeting_service->Cancel(m->id, "lead asked");
  ASSERT_OK(cancelled);
  EXPECT_EQ(cancelled->status, "cancelled");
  for (const auto& r : cancelled->reminders) EXPECT_EQ(r.status, "cancelled");
  EXPECT_EQ(rig.StateOf("1"), LeadState::kCalled);
  EXPECT_EQ(OfType(Events(rig, "1"), "TimerCancelled").size(), 3u);
  EXPECT_EQ(rig.meeting_service->Cancel(m->id).status().code(), StatusCode::kConflict);
  EXPECT_EQ(rig.meeting_service->Reschedule(m->id, starts + kDay).status().code(),
            StatusCode::kConflict);
  EXPECT_EQ(rig.meeting_service->Cancel("mtg-1-999").status().code(), StatusCode::kNotFound);

  ASSERT_OK(rig.timer_service->AdvanceTo(starts + kDay));
  auto events = Events(rig, "1");
  EXPECT_TRUE(OfType(events, "ReminderSent").empty());
  EXPECT_TRUE(SmsRequests(events, "reminder:").empty());
  ASSERT_OK(rig.CatchUp());
  auto model = rig.meetings->Get(m->id);
  ASSERT_OK(model);
  EXPECT_EQ(model->status, "cancelled");

  // A called lead can book again.
  ASSERT_OK(rig.meeting_service->Book(Booking("1", starts + 2 * kDay)));
}

TEST_F(MeetingsTest, AnOptedOutLeadGetsNoReminder) {
  Rig rig(dir_.str());
  rig.GoldLead("1", 100, 1);
  const Micros starts = kStart + 3 * kDay;
  ASSERT_OK(rig.meeting_service->Book(Booking("1", starts)));
  // The opt-out alone (even if nobody cancelled the reminder timers).
  rig.Run("1", LeadTrigger::kOptOut, [](const Lead&, LeadEvents& out) {
    out.Add().getPayload().initLeadOptedOut().setSource("reply");
    return Status::Ok();
  });
  ASSERT_OK(rig.timer_service->AdvanceTo(starts + kHour));
  auto events = Events(rig, "1");
  EXPECT_TRUE(OfType(events, "ReminderSent").empty());
  EXPECT_TRUE(SmsRequests(events, "reminder:").empty());
  auto skipped = OfType(events, "ReminderSkipped");
  ASSERT_EQ(skipped.size(), 3u);
  for (const auto& s : skipped) EXPECT_EQ(s.reason, "opted_out");
}

TEST_F(MeetingsTest, CompletingACallKeepsABookedLeadBooked) {
  Rig rig(dir_.str());
  const std::string entry = rig.GoldLead("1", 100, 1);
  ASSERT_OK(rig.meeting_service->Book(Booking("1", kStart + kDay)));
  ASSERT_OK(rig.service->Complete(entry, "bob", "booked", "", std::nullopt));
  EXPECT_EQ(rig.StateOf("1"), LeadState::kBooked);
}

TEST_F(MeetingsTest, AnOutcomeIsRecordedOnceTheMeetingHasStartedAndOnlyOnce) {
  Rig rig(dir_.str());
  const Micros starts = kStart + 3 * kDay;
  auto m = GoldAndBook(rig, "1", starts);
  ASSERT_OK(m);
  auto early = rig.meeting_service->RecordOutcome(m->id, "completed");
  EXPECT_EQ(early.status().code(), StatusCode::kConflict);
  EXPECT_NE(early.status().message().find("once it has started"), std::string::npos)
      << early.status().ToString();
  auto bogus = rig.meeting_service->RecordOutcome(m->id, "done");
  EXPECT_EQ(bogus.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(bogus.status().field(), "status");
  EXPECT_EQ(rig.meeting_service->RecordOutcome("mtg-1-999", "completed").status().code(),
            StatusCode::kNotFound);

  ASSERT_OK(rig.timer_service->AdvanceTo(starts + 5 * kMinute));
  auto done = rig.meeting_service->RecordOutcome(m->id, "completed", "agent:bob");
  ASSERT_OK(done);
  EXPECT_EQ(done->status, "completed");
  for (const auto& r : done->reminders) EXPECT_EQ(r.status, "sent");  // all three went out
  EXPECT_EQ(rig.StateOf("1"), LeadState::kBooked);
  ASSERT_OK(rig.CatchUp());
  auto model = rig.meetings->Get(m->id);
  ASSERT_OK(model);
  EXPECT_EQ(model->status, "completed");

  // The same outcome again changes nothing; the other one, a cancel or a move is refused.
  auto again = rig.meeting_service->RecordOutcome(m->id, "completed");
  ASSERT_OK(again);
  EXPECT_EQ(again->status, "completed");
  const auto outcomes = OfType(Events(rig, "1"), "MeetingOutcomeRecorded");
  ASSERT_EQ(outcomes.size(), 1u);
  EXPECT_EQ(outcomes[0].meeting, m->id);
  EXPECT_EQ(outcomes[0].reason, "completed");
  EXPECT_EQ(rig.meeting_service->RecordOutcome(m->id, "no_show").status().code(),
            StatusCode::kConflict);
  EXPECT_EQ(rig.meeting_service->Cancel(m->id).status().code(), StatusCode::kConflict);
  EXPECT_EQ(rig.meeting_service->Reschedule(m->id, starts + kDay).status().code(),
            StatusCode::kConflict);
  EXPECT_EQ(rig.StateOf("1"), LeadState::kBooked);
}

TEST_F(MeetingsTest, ANoShowReturnsTheLeadToCalledAndCancelsRemindersStillPending) {
  Rig rig(dir_.str());
  const Micros starts = kStart + 3 * kDay;
  auto m = GoldAndBook(rig, "1", starts, "bob");
  ASSERT_OK(m);
  // The clock passes the start before the reminder timers had their turn.
  rig.clock.AdvanceTo(starts + 20 * kMinute);
  auto no_show = rig.meeting_service->RecordOutcome(m->id, "no_show");
  ASSERT_OK(no_show);
  EXPECT_EQ(no_show->status, "no_show");
  for (const auto& r : no_show->reminders) EXPECT_EQ(r.status, "cancelled");
  EXPECT_EQ(OfType(Events(rig, "1"), "TimerCancelled").size(), 3u);
  EXPECT_EQ(rig.StateOf("1"), LeadState::kCalled);
  ASSERT_OK(rig.CatchUp());
  auto row = rig.leads->Get("1");
  ASSERT_OK(row);
  EXPECT_EQ(row->state, "called");

  ASSERT_OK(rig.timer_service->AdvanceTo(starts + kHour));
  auto events = Events(rig, "1");
  EXPECT_TRUE(OfType(events, "ReminderSent").empty());
  EXPECT_TRUE(SmsRequests(events, "reminder:").empty());

  // The lead can be booked again, in the same agent's next slot.
  auto rebooked = rig.meeting_service->Book(Booking("1", starts + kDay, "bob"));
  ASSERT_OK(rebooked);
  EXPECT_EQ(rig.StateOf("1"), LeadState::kBooked);
  EXPECT_EQ(rig.meeting_service->RecordOutcome(m->id, "no_show")->status, "no_show");
}

TEST_F(MeetingsTest, OfTwoOutcomesRecordedAtOnceOnlyOneIsStored) {
  Rig rig(dir_.str());
  constexpr int kLeads = 6;
  std::vector<std::string> ids;
  for (int i = 1; i <= kLeads; ++i) {
    rig.GoldLead(std::to_string(i), 100, i);
    auto m = rig.meeting_service->Book(Booking(std::to_string(i), kStart + kDay + i * kHour));
    ASSERT_OK(m);
    ids.push_back(m->id);
  }
  rig.clock.AdvanceTo(kStart + 2 * kDay);
  for (int i = 0; i < kLeads; ++i) {
    // Both pass the meeting's "booked" check before either is stored; the lead's fold decides.
    Result<pj::Meeting> held = Status::Internal("unset"), missed = Status::Internal("unset");
    std::thread a([&] { held = rig.meeting_service->RecordOutcome(ids[i], "completed"); });
    std::thread b([&] { missed = rig.meeting_service->RecordOutcome(ids[i], "no_show"); });
    a.join();
    b.join();
    ASSERT_TRUE(held.ok() != missed.ok())
        << held.status().ToString() << " / " << missed.status().ToString();
    const auto& lost = held.ok() ? missed : held;
    EXPECT_EQ(lost.status().code(), StatusCode::kConflict) << lost.status().ToString();
    const std::string lead = std::to_string(i + 1);
    EXPECT_EQ(OfType(Events(rig, lead), "MeetingOutcomeRecorded").size(), 1u);
    auto now = rig.meeting_service->Get(ids[i]);
    ASSERT_OK(now);
    EXPECT_EQ(now->status, held.ok() ? "completed" : "no_show");
    EXPECT_EQ(rig.StateOf(lead), held.ok() ? LeadState::kBooked : LeadState::kCalled);
  }
}

TEST_F(MeetingsTest, ListsMeetingsByTimeAndAgent) {
  Rig rig(dir_.str());
  for (int i = 1; i <= 3; ++i) rig.GoldLead(std::to_string(i), 100, i);
  ASSERT_OK(rig.meeting_service->Book(Booking("1", kStart + 2 * kDay, "bob")));
  ASSERT_OK(rig.meeting_service->Book(Booking("2", kStart + kDay, "alice")));
  ASSERT_OK(rig.meeting_service->Book(Booking("3", kStart + 3 * kDay, "bob")));
  auto all = rig.meetings->List({}, 10, "");
  ASSERT_OK(all);
  ASSERT_EQ(all->items.size(), 3u);
  EXPECT_EQ(all->items[0].lead_id, "2");
  EXPECT_EQ(all->items[1].lead_id, "1");
  EXPECT_EQ(all->items[2].lead_id, "3");
  auto window = rig.meetings->List({kStart + kDay + kHour, kStart + 3 * kDay, ""}, 10, "");
  ASSERT_OK(window);
  ASSERT_EQ(window->items.size(), 1u);
  EXPECT_EQ(window->items[0].lead_id, "1");
  auto bobs = rig.meetings->List({kStart, kStart + 10 * kDay, "bob"}, 1, "");
  ASSERT_OK(bobs);
  ASSERT_EQ(bobs->items.size(), 1u);
  ASSERT_TRUE(bobs->next.has_value());
  auto more = rig.meetings->List({kStart, kStart + 10 * kDay, "bob"}, 1, *bobs->next);
  ASSERT_OK(more);
  ASSERT_EQ(more->items.size(), 1u);
  EXPECT_EQ(more->items[0].lead_id, "3");
  EXPECT_FALSE(more->next.has_value());
}

}  // namespace
}  // namespace nextier::engine
