// Campaigns and the SMS queue on the simulated clock: batches and their spacing, the daily cap
// per carrier day, quiet hours in six US time zones, suppression, pause/resume, and the
// outbox's never-twice reconciliation after a crash.
#include "nextier/engine/campaigns.h"

#include <capnp/serialize.h>
#include <gtest/gtest.h>

#include <map>
#include <mutex>
#include <set>

#include "nextier/engine/lead.h"
#include "nextier/engine/lead_commands.h"
#include "nextier/engine/outbox.h"
#include "nextier/engine/send_window.h"
#include "nextier/engine/timers.h"
#include "nextier/engine/workflow_registry.h"
#include "nextier/projections/lead_pools.h"
#include "nextier/projections/leads.h"
#include "nextier/projections/pending_timers.h"
#include "nextier/projections/sending.h"
#include "testing/testing.h"

namespace nextier::engine {
namespace {

namespace es = nextier::eventstore;
namespace pj = nextier::projections;

// 2026-11-28T15:00:00Z: 10:00 in New York, 07:00 in Los Angeles (no DST in late November).
constexpr Micros kStart = Micros{1'795'878'000} * kMicrosPerSecond;
constexpr Micros kHour = 3600 * kMicrosPerSecond;
constexpr const char* kFrom = "+15164079249";

// An SMS provider that remembers every accepted key, answers repeats with the first outcome
// and can be told it already holds a key (a send that happened before a crash).
class FakeSms final : public SmsProvider {
 public:
  struct Sent {
    OutboundSms sms;
    std::string id;
  };
  std::string_view name() const override { return "fake"; }
  Result<SmsSendOutcome> Send(const OutboundSms& sms) override {
    std::lock_guard lock(mu_);
    ++calls_;
    if (auto it = by_key_.find(sms.message_key); it != by_key_.end()) return it->second;
    SmsSendOutcome o;
    o.provider_message_id = "F" + std::to_string(sent_.size() + 1);
    by_key_[sms.message_key] = o;
    sent_.push_back({sms, o.provider_message_id});
    return o;
  }
  Result<std::optional<SmsSendOutcome>> Lookup(std::string_view key) override {
    std::lock_guard lock(mu_);
    ++lookups_;
    if (auto it = by_key_.find(std::string(key)); it != by_key_.end()) {
      return std::optional<SmsSendOutcome>(it->second);
    }
    return std::optional<SmsSendOutcome>();
  }
  std::vector<Sent> sent() const {
    std::lock_guard lock(mu_);
    return sent_;
  }
  int lookups() const {
    std::lock_guard lock(mu_);
    return lookups_;
  }

 private:
  mutable std::mutex mu_;
  std::map<std::string, SmsSendOutcome> by_key_;
  std::vector<Sent> sent_;
  int calls_ = 0;
  int lookups_ = 0;
};

// A valid US number in area code `area`, distinct per `i`.
std::string Phone(const std::string& area, int i) {
  char buf[20];
  std::snprintf(buf, sizeof buf, "+1%s%03d%04d", area.c_str(), 234 + (i / 10000) % 600, i % 10000);
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
    pools = pj::LeadPoolsProjection::Open(*models).value();
    outbox_pending = pj::OutboxProjection::Open(*models).value();
    suppression = pj::SuppressionProjection::Open(*models).value();
    counts = pj::CampaignsProjection::Open(*models).value();
    timers = pj::PendingTimers::Open(*models).value();
    runner = std::make_unique<pj::ProjectionRunner>(*store, *models);
    for (pj::Projection* p :
         std::initializer_list<pj::Projection*>{leads.get(), pools.get(), outbox_pending.get(),
                                                suppression.get(), counts.get(), timers.get()}) {
      Status s = runner->Add(*p);
      if (!s.ok()) throw std::runtime_error(s.ToString());
    }
    registry = std::make_unique<WorkflowRegistry>(*store, clock);
    Status s = registry->LoadLogAndDirectory(std::string(NEXTIER_SOURCE_DIR) + "/workflows");
    if (!s.ok()) throw std::runtime_error(s.ToString());
    timer_service = std::make_unique<TimerService>(*store, *runner, *timers, clock);
    campaigns = std::make_unique<CampaignService>(*store, clock, *registry, *runner, *pools, *leads,
                                                  *suppression);
    campaigns->RegisterTimerHandlers(*timer_service);
    s = timer_service->Start();
    if (!s.ok()) throw std::runtime_error(s.ToString());
    OutboxOptions oo;
    oo.retry_pause = std::chrono::milliseconds(5);
    outbox = std::make_unique<Outbox>(*store, *runner, *outbox_pending, sms, clock, oo);
  }
  ~Rig() {
    outbox.reset();
    timer_service.reset();
    runner.reset();
  }

  // Imports and enriches lead `id` with `phone`, living in `state`.
  void AddLead(const std::string& id, const std::string& phone, const std::string& state,
               int score = 50) {
    LeadCommandHandler handler(*store, clock);
    LeadCommand create;
    create.lead_id = id;
    create.build = [&](const Lead&, LeadEvents& out) {
      auto e = out.Add();
      auto sealed = out.SealPersonal(e, [&](es::schema::Personal::Builder p) {
        p.setFirstName("Pat" + id);
        p.setLastName("Smith");
        p.setState(state);
      });
      if (!sealed.ok()) return sealed.status();
      auto li = e.getPayload().initLeadImported();
      li.setLeadId(id);
      li.setFileId("file-1");
      li.setRow(1);
      li.setCompany("Acme " + id);
      li.setRoleScore(score);
      li.setPersonal(capnp::Data::Reader(reinterpret_cast<const capnp::byte*>(sealed->data()),
                                         sealed->size()));
      return Status::Ok();
    };
    ASSERT_OK(handler.Create(create));
    LeadCommand enrich;
    enrich.lead_id = id;
    enrich.trigger = LeadTrigger::kEnrich;
    const std::string hash = store->keys().BlindIndex(pj::kPhonePurpose, phone);
    enrich.build = [&](const Lead&, LeadEvents& out) {
      auto e = out.Add();
      auto sealed = out.SealPersonal(
          e, [&](es::schema::Personal::Builder p) { p.initPhones(1).set(0, phone); });
      if (!sealed.ok()) return sealed.status();
      auto le = e.getPayload().initLeadEnriched();
      le.setHumanId("NXT-" + id);
      le.setPhoneType("mobile");
      le.setPersonal(capnp::Data::Reader(reinterpret_cast<const capnp::byte*>(sealed->data()),
                                         sealed->size()));
      le.setPhoneHash(
          capnp::Data::Reader(reinterpret_cast<const capnp::byte*>(hash.data()), hash.size()));
      return Status::Ok();
    };
    ASSERT_OK(handler.Execute(enrich));
  }

  Status CatchUp() { return runner->WaitFor(store->Head(), std::chrono::seconds(30)); }

  Result<Campaign> NewCampaign(const std::string& name = "c") {
    CreateCampaign c;
    c.name = name;
    c.workflow = "business-owners";
    c.from_number = kFrom;
    c.actor = "ops:test";
    return campaigns->Create(c);
  }

  // Moves the clock, firing timers, then waits for the outbox to send what they intended.
  Status Advance(Micros d) {
    NEXTIER_RETURN_IF_ERROR(timer_service->AdvanceTo(clock.Now() + d));
    return outbox->Drain(std::chrono::seconds(120));
  }

  LeadState StateOf(const std::string& id) { return LoadLead(*store, id).value().state; }

  SimulatedClock clock;
  std::unique_ptr<es::EventStore> store;
  std::unique_ptr<pj::ReadModelStore> models;
  std::unique_ptr<pj::LeadsProjection> leads;
  std::unique_ptr<pj::LeadPoolsProjection> pools;
  std::unique_ptr<pj::OutboxProjection> outbox_pending;
  std::unique_ptr<pj::SuppressionProjection> suppression;
  std::unique_ptr<pj::CampaignsProjection> counts;
  std::unique_ptr<pj::PendingTimers> timers;
  std::unique_ptr<pj::ProjectionRunner> runner;
  std::unique_ptr<WorkflowRegistry> registry;
  std::unique_ptr<TimerService> timer_service;
  std::unique_ptr<CampaignService> campaigns;
  FakeSms sms;
  std::unique_ptr<Outbox> outbox;
};

class CampaignsTest : public ::testing::Test {
 protected:
  testing::TempDir dir_;
};

TEST_F(CampaignsTest, TwoThousandLeadsGoOutInEightBatchesExactlyTheDelayApart) {
  Rig rig(dir_.str());
  for (int i = 0; i < 2000; ++i) rig.AddLead(std::to_string(i + 1), Phone("212", i), "NY");
  ASSERT_OK(rig.outbox->Start());
  auto c = rig.NewCampaign();
  ASSERT_OK(c);
  auto started = rig.campaigns->Start(c->id, "ops:test");
  ASSERT_OK(started);
  ASSERT_EQ(started->blocks.size(), 1u);
  EXPECT_EQ(started->blocks[0].lead_ids.size(), 2000u);
  EXPECT_EQ(started->blocks[0].batches.size(), 8u);
  ASSERT_OK(rig.Advance(60 * kMicrosPerSecond));

  const auto sent = rig.sms.sent();
  ASSERT_EQ(sent.size(), 2000u);
  std::map<Micros, int> per_time;
  std::set<std::string> numbers;
  for (const auto& s : sent) {
    ++per_time[s.sms.at];
    numbers.insert(s.sms.to);
    EXPECT_EQ(s.sms.from, kFrom);
    EXPECT_EQ(s.sms.kind, "opener");
    EXPECT_NE(s.sms.body.find("Pat"), std::string::npos) << s.sms.body;
  }
  EXPECT_EQ(numbers.size(), 2000u);
  ASSERT_EQ(per_time.size(), 8u);
  Micros previous = 0;
  for (const auto& [at, n] : per_time) {
    EXPECT_EQ(n, 250);
    if (previous != 0) {
      EXPECT_EQ(at - previous, 5 * kMicrosPerSecond);
    }
    previous = at;
  }
  EXPECT_EQ(per_time.begin()->first, kStart);

  auto after = rig.campaigns->Get(c->id);
  ASSERT_OK(after);
  EXPECT_EQ(after->status, CampaignStatus::kCompleted);
  for (const auto& b : after->blocks[0].batches) EXPECT_TRUE(b.dispatched);
  ASSERT_OK(rig.CatchUp());
  auto counts = rig.counts->Counts(c->id);
  ASSERT_OK(counts);
  EXPECT_EQ(counts->queued, 2000u);
  EXPECT_EQ(counts->sent, 2000u);
  EXPECT_EQ(rig.StateOf("1"), LeadState::kSent);
  auto view = rig.leads->Get("1");
  ASSERT_OK(view);
  EXPECT_EQ(view->state, "sent");
  EXPECT_FALSE(view->initial_message_id.empty());
  EXPECT_EQ(rig.campaigns->CountSmsToday(kFrom, rig.clock.Now()).value(), 2000u);
}

TEST_F(CampaignsTest, BestRoleScoreIsDrawnFirstAndABlockHoldsAtMostTheBlockSize) {
  Rig rig(dir_.str());
  for (int i = 0; i < 2100; ++i) {
    rig.AddLead(std::to_string(i + 1), Phone("212", i), "NY", i < 100 ? 100 : 10);
  }
  auto c = rig.NewCampaign();
  ASSERT_OK(c);
  auto started = rig.campaigns->Start(c->id, "ops:test");
  ASSERT_OK(started);
  const auto& ids = started->blocks[0].lead_ids;
  ASSERT_EQ(ids.size(), 2000u);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(ids[i], std::to_string(i + 1));
  // Still dispatching: a second start is refused.
  auto again = rig.campaigns->Start(c->id, "ops:test");
  EXPECT_EQ(again.status().code(), StatusCode::kConflict);
}

TEST_F(CampaignsTest, FiveThousandLeadsOverThreeDaysNeverExceedTheCapInAPacificDay) {
  Rig rig(dir_.str());
  for (int i = 0; i < 5000; ++i) rig.AddLead(std::to_string(i + 1), Phone("212", i), "NY");
  ASSERT_OK(rig.outbox->Start());
  auto c = rig.NewCampaign();
  ASSERT_OK(c);
  // Three blocks drawn on day one: the first fills the day's cap, the rest wait for the next
  // carrier days (and, at Los Angeles midnight, for New York's morning).
  for (int block = 0; block < 3; ++block) {
    ASSERT_OK(rig.campaigns->Start(c->id, "ops:test"));
    ASSERT_OK(rig.Advance(60 * kMicrosPerSecond));
  }
  for (int step = 0; step < 4 * 24; ++step) ASSERT_OK(rig.Advance(kHour));

  const auto sent = rig.sms.sent();
  std::map<std::string, int> per_day;
  std::set<std::string> numbers;
  for (const auto& s : sent) {
    ++per_day[CarrierDayKey(s.sms.at)];
    EXPECT_TRUE(numbers.insert(s.sms.to).second) << "texted twice: " << s.sms.to;
  }
  EXPECT_EQ(numbers.size(), 5000u);
  ASSERT_EQ(per_day.size(), 3u);
  for (const auto& [day, n] : per_day) EXPECT_LE(n, 2000) << day;
  EXPECT_EQ(per_day.begin()->second, 2000);
}

TEST_F(CampaignsTest, NobodyIsTextedOutsideEightToNineLocalInSixTimeZones) {
  Rig rig(dir_.str());
  // Late November: no daylight saving anywhere in the US.
  const std::vector<std::tuple<std::string, std::string, int>> zones = {
      {"212", "NY", -5}, {"312", "IL", -6}, {"303", "CO", -7},
      {"310", "CA", -8}, {"907", "AK", -9}, {"808", "HI", -10}};
  std::map<std::string, int> offset_of;
  int n = 0;
  for (const auto& [area, state, offset] : zones) {
    for (int i = 0; i < 40; ++i) {
      const std::string phone = Phone(area, i);
      offset_of[phone] = offset;
      rig.AddLead(std::to_string(++n), phone, state);
    }
  }
  ASSERT_OK(rig.outbox->Start());
  // 15:00Z: open from New York to Denver, still night in Los Angeles, Alaska and Hawaii.
  auto c = rig.NewCampaign();
  ASSERT_OK(c);
  ASSERT_OK(rig.campaigns->Start(c->id, "ops:test"));
  for (int step = 0; step < 48 * 4; ++step) ASSERT_OK(rig.Advance(kHour / 4));
  const auto sent = rig.sms.sent();
  EXPECT_EQ(sent.size(), 240u);
  for (const auto& s : sent) {
    const Micros local = s.sms.at / kMicrosPerSecond + offset_of[s.sms.to] * 3600;
    const int minute_of_day = static_cast<int>(((local % 86400) + 86400) % 86400 / 60);
    EXPECT_GE(minute_of_day, 8 * 60) << s.sms.to << " at " << FormatRfc3339(s.sms.at);
    EXPECT_LT(minute_of_day, 21 * 60) << s.sms.to << " at " << FormatRfc3339(s.sms.at);
  }
  // Hawaii's 08:00 is 18:00Z: the first Hawaiian text cannot go before it.
  Micros first_hawaii = 0;
  for (const auto& s : sent) {
    if (offset_of[s.sms.to] == -10 && (first_hawaii == 0 || s.sms.at < first_hawaii)) {
      first_hawaii = s.sms.at;
    }
  }
  EXPECT_EQ(FormatRfc3339(first_hawaii), "2026-11-28T18:00:00Z");
}

TEST_F(CampaignsTest, AnOptedOutNumberIsNeverTextedAgainInAnyCampaign) {
  Rig rig(dir_.str());
  const std::string shared = Phone("212", 7);
  rig.AddLead("a", shared, "NY", 90);
  ASSERT_OK(rig.outbox->Start());
  auto first = rig.NewCampaign("first");
  ASSERT_OK(first);
  ASSERT_OK(rig.campaigns->Start(first->id, "ops:test"));
  ASSERT_OK(rig.Advance(kMicrosPerSecond));
  ASSERT_EQ(rig.sms.sent().size(), 1u);
  ASSERT_EQ(rig.StateOf("a"), LeadState::kSent);

  // Lead b has the same number (skip trace found it twice) and is drawn at night, so its
  // opener waits for the morning; lead a opts out meanwhile.
  rig.AddLead("b", shared, "NY", 90);
  rig.AddLead("c", Phone("212", 8), "NY", 10);
  rig.clock.AdvanceTo(kStart + 12 * kHour);  // 22:00 in New York
  auto second = rig.NewCampaign("second");
  ASSERT_OK(second);
  // The opener of lead a went to the shared number already: b is not drawn at all.
  auto started = rig.campaigns->Start(second->id, "ops:test");
  ASSERT_OK(started);
  EXPECT_EQ(started->blocks[0].lead_ids, std::vector<std::string>{"c"});

  LeadCommandHandler handler(*rig.store, rig.clock);
  LeadCommand stop;
  stop.lead_id = "a";
  stop.trigger = LeadTrigger::kOptOut;
  const std::string hash = rig.store->keys().BlindIndex(pj::kPhonePurpose, shared);
  stop.build = [&](const Lead&, LeadEvents& out) {
    auto o = out.Add().getPayload().initLeadOptedOut();
    o.setSource("reply");
    o.setPhoneHash(
        capnp::Data::Reader(reinterpret_cast<const capnp::byte*>(hash.data()), hash.size()));
    return Status::Ok();
  };
  ASSERT_OK(handler.Execute(stop));
  ASSERT_OK(rig.CatchUp());
  EXPECT_TRUE(rig.suppression->IsOptedOut(hash).value());

  // A third campaign later: still nothing to the opted-out number.
  ASSERT_OK(rig.Advance(24 * kHour));
  rig.AddLead("d", shared, "NY", 100);
  auto third = rig.NewCampaign("third");
  ASSERT_OK(third);
  auto none = rig.campaigns->Start(third->id, "ops:test");
  EXPECT_EQ(none.status().code(), StatusCode::kConflict) << none.status().ToString();
  ASSERT_OK(rig.Advance(24 * kHour));
  int to_shared = 0;
  for (const auto& s : rig.sms.sent()) to_shared += s.sms.to == shared ? 1 : 0;
  EXPECT_EQ(to_shared, 1);
}

TEST_F(CampaignsTest, ASuppressedNumberFoundAtSendTimeFailsTheLeadWithoutTexting) {
  Rig rig(dir_.str());
  const std::string number = Phone("212", 11);
  rig.AddLead("x", number, "NY");
  ASSERT_OK(rig.outbox->Start());
  rig.clock.AdvanceTo(kStart + 12 * kHour);  // 22:00 in New York: the opener must wait
  auto c = rig.NewCampaign();
  ASSERT_OK(c);
  ASSERT_OK(rig.campaigns->Start(c->id, "ops:test"));
  ASSERT_OK(rig.Advance(kMicrosPerSecond));
  EXPECT_EQ(rig.sms.sent().size(), 0u);
  EXPECT_EQ(rig.StateOf("x"), LeadState::kQueued);

  // The number opts out elsewhere overnight (e.g. STOP to another lead's text).
  std::vector<es::NewEvent> events(1);
  auto ns = events[0].builder().getPayload().initNumberSuppressed();
  const std::string hash = rig.store->keys().BlindIndex(pj::kPhonePurpose, number);
  ns.setPhoneHash(
      capnp::Data::Reader(reinterpret_cast<const capnp::byte*>(hash.data()), hash.size()));
  ns.setReason("opt_out");
  ASSERT_OK(rig.store->Append("suppression-test", es::ExpectedVersion::Any(), std::move(events)));
  ASSERT_OK(rig.Advance(24 * kHour));
  EXPECT_EQ(rig.sms.sent().size(), 0u);
  EXPECT_EQ(rig.StateOf("x"), LeadState::kFailed);
}

TEST_F(CampaignsTest, PauseStopsTheBatchesAndResumeSendsTheRest) {
  Rig rig(dir_.str());
  for (int i = 0; i < 600; ++i) rig.AddLead(std::to_string(i + 1), Phone("212", i), "NY");
  ASSERT_OK(rig.outbox->Start());
  auto c = rig.NewCampaign();
  ASSERT_OK(c);
  ASSERT_OK(rig.campaigns->Start(c->id, "ops:test"));
  ASSERT_OK(rig.Advance(kMicrosPerSecond));  // batch 1 only
  EXPECT_EQ(rig.sms.sent().size(), 250u);
  auto paused = rig.campaigns->Pause(c->id, "ops:test");
  ASSERT_OK(paused);
  EXPECT_EQ(paused->status, CampaignStatus::kPaused);
  ASSERT_OK(rig.Advance(kHour));
  EXPECT_EQ(rig.sms.sent().size(), 250u);
  auto resumed = rig.campaigns->Resume(c->id, "ops:test");
  ASSERT_OK(resumed);
  ASSERT_OK(rig.Advance(60 * kMicrosPerSecond));
  EXPECT_EQ(rig.sms.sent().size(), 600u);
  auto done = rig.campaigns->Get(c->id);
  ASSERT_OK(done);
  EXPECT_EQ(done->status, CampaignStatus::kCompleted);
}

TEST_F(CampaignsTest, AfterACrashTheOutboxLooksPendingSendsUpInsteadOfResending) {
  testing::TempDir dir;
  FakeSms* provider = nullptr;
  {
    Rig rig(dir.str());
    for (int i = 0; i < 10; ++i) rig.AddLead(std::to_string(i + 1), Phone("212", i), "NY");
    auto c = rig.NewCampaign();
    ASSERT_OK(c);
    ASSERT_OK(rig.campaigns->Start(c->id, "ops:test"));
    // Dispatch without an outbox running: ten intents, no outcome (the process "died" after
    // handing three of them to the provider).
    ASSERT_OK(rig.timer_service->AdvanceTo(rig.clock.Now() + kMicrosPerSecond));
    ASSERT_OK(rig.CatchUp());
    ASSERT_EQ(rig.outbox_pending->Count().value(), 10u);
    auto pending = rig.outbox_pending->List(0, 100).value();
    for (int i = 0; i < 3; ++i) {
      OutboundSms sms;
      sms.message_key = pending[i].message_key;
      sms.to = "early";
      ASSERT_OK(rig.sms.Send(sms));
    }
    ASSERT_OK(rig.outbox->Start());
    ASSERT_OK(rig.outbox->Drain(std::chrono::seconds(60)));
    EXPECT_EQ(rig.outbox_pending->Count().value(), 0u);
    const auto sent = rig.sms.sent();
    EXPECT_EQ(sent.size(), 10u);  // three before the "crash", seven after: none twice
    std::set<std::string> keys;
    for (const auto& s : sent) EXPECT_TRUE(keys.insert(s.sms.message_key).second);
    EXPECT_GE(rig.sms.lookups(), 10);
    EXPECT_EQ(rig.outbox->stats().reconciled, 3u);
    for (int i = 1; i <= 10; ++i) EXPECT_EQ(rig.StateOf(std::to_string(i)), LeadState::kSent);
    provider = nullptr;
  }
  (void)provider;
}

}  // namespace
}  // namespace nextier::engine
