// Lead commands: the state machine guards the stream; envelope, idempotency and concurrency.
#include "nextier/engine/lead_commands.h"

#include <capnp/serialize.h>
#include <gtest/gtest.h>

#include <atomic>
#include <cstring>
#include <memory>
#include <set>
#include <thread>

#include "lead_events.h"
#include "nextier/eventstore/personal.h"
#include "testing/testing.h"

namespace nextier::engine {
namespace {

namespace es = nextier::eventstore;
using namespace test;  // NOLINT: the event helpers

constexpr Micros kStart = Micros{1'795'874'400} * kMicrosPerSecond;

// A builder adding `fills` in order.
LeadEventBuilder Add(std::vector<Fill> fills) {
  return [fills = std::move(fills)](const Lead&, LeadEvents& out) {
    for (const auto& fill : fills) fill(out.Add());
    return Status::Ok();
  };
}

LeadCommand Command(std::string lead_id, std::optional<LeadTrigger> trigger,
                    std::vector<Fill> fills, std::string key = {}) {
  LeadCommand c;
  c.lead_id = std::move(lead_id);
  c.trigger = trigger;
  c.build = Add(std::move(fills));
  c.idempotency_key = std::move(key);
  c.correlation_id = "corr-1";
  c.causation_id = "cause-1";
  c.actor = "system:test";
  return c;
}

class LeadCommandsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    es::LmdbOptions o;
    o.path = dir_.str();
    o.sync = false;  // these tests are about ordering, not durability
    auto s = es::OpenLmdbEventStore(o);
    ASSERT_OK(s);
    store_ = std::move(s).value();
    handler_ = std::make_unique<LeadCommandHandler>(*store_, clock_);
  }

  void CreateLead(const std::string& id) {
    ASSERT_OK(handler_->Create(Command(id, std::nullopt, {Imported()})));
  }
  // A lead driven through commands up to `state` (one of the main line's first six).
  void LeadIn(const std::string& id, LeadState state) {
    CreateLead(id);
    const std::vector<std::pair<LeadTrigger, Fill>> steps = {
        {LeadTrigger::kEnrich, Enriched()},
        {LeadTrigger::kQueue, Queued()},
        {LeadTrigger::kSent, SmsSent("open-" + id, "sh-" + id)},
        {LeadTrigger::kReply, Responded()},
        {LeadTrigger::kGoldLabel, GoldLabeled()},
    };
    for (const auto& [trigger, fill] : steps) {
      auto lead = LoadLead(*store_, id);
      ASSERT_OK(lead);
      if (lead->state == state) return;
      ASSERT_OK(handler_->Execute(Command(id, trigger, {fill})));
    }
    ASSERT_EQ(LoadLead(*store_, id)->state, state);
  }
  uint64_t Version(const std::string& id) { return *store_->StreamVersion("lead-" + id); }
  LeadState StateOf(const std::string& id) { return LoadLead(*store_, id)->state; }

  nextier::testing::TempDir dir_;
  SimulatedClock clock_{kStart};
  std::unique_ptr<es::EventStore> store_;
  std::unique_ptr<LeadCommandHandler> handler_;
};

TEST_F(LeadCommandsTest, CreateAppendsLeadImportedToANewStream) {
  auto r = handler_->Create(Command("7", std::nullopt, {Imported()}));
  ASSERT_OK(r);
  ASSERT_EQ(r->streams.size(), 1u);
  EXPECT_EQ(r->streams[0].stream, "lead-7");
  EXPECT_EQ(r->streams[0].first_version, 1u);
  auto lead = LoadLead(*store_, "7");
  ASSERT_OK(lead);
  EXPECT_EQ(lead->state, LeadState::kRaw);
  EXPECT_EQ(lead->company, "Acme Realty");
  bool checked = false;
  ASSERT_OK(store_->ReadStream("lead-7", 1, 1, [&](const es::EventView& ev) {
    EXPECT_EQ(ev.event().getPayload().getLeadImported().getLeadId(), "7");
    checked = true;
    return true;
  }));
  EXPECT_TRUE(checked);
}

TEST_F(LeadCommandsTest, CreatingAnExistingLeadIsAConflict) {
  CreateLead("7");
  auto again = handler_->Create(Command("7", std::nullopt, {Imported()}));
  ASSERT_EQ(again.status().code(), StatusCode::kConflict);
  EXPECT_EQ(again.status().message(), "lead lead-7 already exists");
  EXPECT_EQ(Version("7"), 1u);
}

TEST_F(LeadCommandsTest, CreateNeedsLeadImportedFirstAndChecksWhatFollows) {
  auto wrong = handler_->Create(Command("7", std::nullopt, {Enriched()}));
  EXPECT_EQ(wrong.status().code(), StatusCode::kInvalidArgument);
  auto entity = handler_->Create(Command("8", std::nullopt, {Imported(), Rejected()}));
  ASSERT_OK(entity);
  EXPECT_EQ(StateOf("8"), LeadState::kRejected);
  auto booked = handler_->Create(Command("9", std::nullopt, {Imported(), MeetingBooked("m", 1)}));
  EXPECT_EQ(booked.status().code(), StatusCode::kConflict);
  EXPECT_EQ(*store_->StreamVersion("lead-7"), 0u);
  EXPECT_EQ(*store_->StreamVersion("lead-9"), 0u);
}

TEST_F(LeadCommandsTest, TheJourneyRunsThroughCommandsToBooked) {
  CreateLead("7");
  ASSERT_OK(handler_->Execute(Command("7", LeadTrigger::kEnrich, {Enriched()})));
  ASSERT_OK(handler_->Execute(Command("7", LeadTrigger::kQueue, {Queued()})));
  ASSERT_OK(handler_->Execute(Command("7", std::nullopt, {Intended("open-7")})));
  ASSERT_OK(handler_->Execute(Command("7", LeadTrigger::kSent, {SmsSent("open-7", "sh-7")})));
  ASSERT_OK(handler_->Execute(
      Command("7", LeadTrigger::kGoldLabel, {Reply("EMAIL"), GoldLabeled(), CallQueued("c1")})));
  // A call completed with a booking: gold -> called -> booked in one unit, with reminders.
  auto r = handler_->Execute(Command(
      "7", LeadTrigger::kCallCompleted,
      {CallCompleted("c1", "booked"), MeetingBooked("meet-1", kStart + 86'400 * kMicrosPerSecond),
       TimerScheduled("rem-24h", "reminder", kStart),
       TimerScheduled("rem-1h", "reminder", kStart)}));
  ASSERT_OK(r);
  EXPECT_EQ(r->last_seq - r->first_seq, 3u) << "one unit of four events";
  auto lead = LoadLead(*store_, "7");
  ASSERT_OK(lead);
  EXPECT_EQ(lead->state, LeadState::kBooked);
  EXPECT_EQ(lead->meeting_id, "meet-1");
  EXPECT_EQ(lead->pending_timers.size(), 2u);
  EXPECT_EQ(lead->initial_message_id, "sh-7");
  EXPECT_EQ(lead->version, 12u);
  EXPECT_EQ(handler_->stats().appended, 7u);
}

TEST_F(LeadCommandsTest, BookingARawLeadIsAConflictNamingTheLeadAndWritesNothing) {
  CreateLead("7");
  bool built = false;
  LeadCommand c = Command("7", LeadTrigger::kBook, {MeetingBooked("m", 1)});
  c.build = [&built](const Lead&, LeadEvents& out) {
    built = true;
    MeetingBooked("m", 1)(out.Add());
    return Status::Ok();
  };
  auto r = handler_->Execute(c);
  ASSERT_EQ(r.status().code(), StatusCode::kConflict);
  EXPECT_EQ(r.status().message(),
            "lead lead-7 is raw: cannot Book (raw allows Enrich, Reject, NoHit)");
  EXPECT_FALSE(built) << "the state machine is asked before the builder";
  EXPECT_EQ(Version("7"), 1u);
  EXPECT_EQ(handler_->stats().rejected, 1u);
}

TEST_F(LeadCommandsTest, QueueingOrTextingAnOptedOutLeadIsAConflictAndWritesNothing) {
  LeadIn("7", LeadState::kSent);
  ASSERT_OK(handler_->Execute(Command("7", LeadTrigger::kOptOut, {Reply("OPT_OUT"), OptedOut()})));
  const uint64_t version = Version("7");
  auto queue = handler_->Execute(Command("7", LeadTrigger::kQueue, {Queued()}));
  ASSERT_EQ(queue.status().code(), StatusCode::kConflict);
  EXPECT_EQ(queue.status().message(),
            "lead lead-7 is opted_out: cannot Queue (opted_out is final)");
  auto text = handler_->Execute(Command("7", LeadTrigger::kSent, {SmsSent("x", "y")}));
  ASSERT_EQ(text.status().code(), StatusCode::kConflict);
  EXPECT_EQ(text.status().message(), "lead lead-7 is opted_out: cannot Sent (opted_out is final)");
  EXPECT_EQ(Version("7"), version);
}

TEST_F(LeadCommandsTest, EnrichingASentLeadIsAConflict) {
  LeadIn("7", LeadState::kSent);
  auto r = handler_->Execute(Command("7", LeadTrigger::kEnrich, {Enriched()}));
  ASSERT_EQ(r.status().code(), StatusCode::kConflict);
  EXPECT_NE(r.status().message().find("lead lead-7 is sent: cannot Enrich"), std::string::npos);
}

TEST_F(LeadCommandsTest, EventsAreCheckedEvenWithoutATrigger) {
  CreateLead("7");
  // A fact-only command whose builder slips in a state change the machine does not allow.
  auto r = handler_->Execute(Command("7", std::nullopt, {CallQueued("c1"), MeetingBooked("m", 1)}));
  ASSERT_EQ(r.status().code(), StatusCode::kConflict);
  EXPECT_EQ(r.status().message(),
            "lead lead-7 is raw: cannot Book (raw allows Enrich, Reject, NoHit) [MeetingBooked]");
  EXPECT_EQ(Version("7"), 1u);
}

TEST_F(LeadCommandsTest, MissingLeadsAndBadCommandsAreRefused) {
  EXPECT_EQ(handler_->Execute(Command("404", LeadTrigger::kEnrich, {Enriched()})).status().code(),
            StatusCode::kNotFound);
  EXPECT_EQ(handler_->Execute(Command("", LeadTrigger::kEnrich, {Enriched()})).status().code(),
            StatusCode::kInvalidArgument);
  LeadCommand no_builder = Command("7", LeadTrigger::kEnrich, {});
  no_builder.build = nullptr;
  EXPECT_EQ(handler_->Execute(no_builder).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(handler_->Create(Command("7", LeadTrigger::kEnrich, {Imported()})).status().code(),
            StatusCode::kInvalidArgument);
}

TEST_F(LeadCommandsTest, ABuildersErrorIsReturnedAndNothingIsWritten) {
  CreateLead("7");
  LeadCommand c = Command("7", LeadTrigger::kEnrich, {});
  c.build = [](const Lead& lead, LeadEvents& out) {
    Enriched()(out.Add());
    return Status::Unavailable("skip trace provider down for " + lead.stream);
  };
  auto r = handler_->Execute(c);
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(r.status().message(), "skip trace provider down for lead-7");
  EXPECT_EQ(Version("7"), 1u);
}

TEST_F(LeadCommandsTest, ABuilderThatAddsNothingWritesNothing) {
  CreateLead("7");
  auto r = handler_->Execute(Command("7", std::nullopt, {}));
  ASSERT_OK(r);
  EXPECT_TRUE(r->streams.empty());
  EXPECT_EQ(Version("7"), 1u);
}

TEST_F(LeadCommandsTest, EveryEventCarriesTheEnvelopeAndTheClocksTime) {
  CreateLead("7");
  clock_.AdvanceTo(kStart + 5 * kMicrosPerSecond);
  LeadCommand c = Command("7", LeadTrigger::kEnrich, {Enriched(), TimerScheduled("t", "x", 1)},
                          "skiptrace:job-1:7");
  c.correlation_id = "job-1";
  c.causation_id = "skiptrace-job-1@3";
  c.actor = "system:skiptrace";
  c.workflow_id = "real-estate-agents";
  c.workflow_version = "v-123";
  ASSERT_OK(handler_->Execute(c));
  int seen = 0;
  ASSERT_OK(store_->ReadStream("lead-7", 2, SIZE_MAX, [&](const es::EventView& ev) {
    auto e = ev.event();
    EXPECT_EQ(e.getRecordedAt(), kStart + 5 * kMicrosPerSecond);
    EXPECT_EQ(e.getCorrelationId(), "job-1");
    EXPECT_EQ(e.getCausationId(), "skiptrace-job-1@3");
    EXPECT_EQ(e.getActor(), "system:skiptrace");
    EXPECT_EQ(e.getWorkflowId(), "real-estate-agents");
    EXPECT_EQ(e.getWorkflowVersion(), "v-123");
    EXPECT_EQ(e.getCommandId(), "skiptrace:job-1:7");
    EXPECT_EQ(e.getStreamId(), "lead-7");
    ++seen;
    return true;
  }));
  EXPECT_EQ(seen, 2);
  auto lead = LoadLead(*store_, "7");
  EXPECT_EQ(lead->created_at, kStart);
  EXPECT_EQ(lead->updated_at, kStart + 5 * kMicrosPerSecond);
}

TEST_F(LeadCommandsTest, ARepeatedKeyReturnsTheOriginalResultWithoutCheckingTheStateAgain) {
  LeadIn("7", LeadState::kSent);
  const std::string key = "signalhouse:delivery:abc";
  int builds = 0;
  LeadCommand c = Command("7", LeadTrigger::kOptOut, {}, key);
  c.build = [&builds](const Lead&, LeadEvents& out) {
    ++builds;
    Reply("OPT_OUT")(out.Add());
    OptedOut()(out.Add());
    return Status::Ok();
  };
  auto first = handler_->Execute(c);
  ASSERT_OK(first);
  EXPECT_FALSE(first->duplicate);
  // The lead is opted out now, so OptOut would be illegal: the repeat still succeeds.
  auto repeat = handler_->Execute(c);
  ASSERT_OK(repeat);
  EXPECT_TRUE(repeat->duplicate);
  EXPECT_EQ(repeat->first_seq, first->first_seq);
  EXPECT_EQ(repeat->last_seq, first->last_seq);
  ASSERT_EQ(repeat->streams.size(), 1u);
  EXPECT_EQ(repeat->streams[0].stream, "lead-7");
  EXPECT_EQ(repeat->streams[0].first_version, first->streams[0].first_version);
  EXPECT_EQ(repeat->streams[0].last_version, first->streams[0].last_version);
  EXPECT_EQ(builds, 1);
  EXPECT_EQ(Version("7"), first->streams[0].last_version);
  EXPECT_EQ(handler_->stats().duplicates, 1u);
}

TEST_F(LeadCommandsTest, ConcurrentRepeatsOfOneKeyWriteOnce) {
  LeadIn("7", LeadState::kResponded);
  const uint64_t before = Version("7");
  std::atomic<int> originals{0}, duplicates{0}, failures{0};
  // Two handlers, as two processes would be: the per-lead lock of one does not cover the other.
  LeadCommandHandler other(*store_, clock_);
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&, i] {
      LeadCommandHandler& h = (i % 2 == 0) ? *handler_ : other;
      auto r = h.Execute(Command("7", LeadTrigger::kReply, {Reply(), Responded()}, "delivery-1"));
      if (!r.ok()) {
        ++failures;
      } else {
        ++(r->duplicate ? duplicates : originals);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(originals.load(), 1);
  EXPECT_EQ(duplicates.load(), 7);
  EXPECT_EQ(Version("7"), before + 2);
}

TEST_F(LeadCommandsTest, ConcurrentCommandsOnOneLeadAllLandWithoutLostUpdates) {
  LeadIn("7", LeadState::kResponded);
  const uint64_t before = Version("7");
  constexpr int kThreads = 8, kPerThread = 25;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        auto r = handler_->Execute(Command("7", LeadTrigger::kReply, {Reply()},
                                           "reply-" + std::to_string(t) + "-" + std::to_string(i)));
        if (!r.ok()) ++failures;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(Version("7"), before + kThreads * kPerThread);
  auto lead = LoadLead(*store_, "7");
  EXPECT_EQ(lead->replies, static_cast<uint32_t>(kThreads * kPerThread));
  EXPECT_EQ(lead->state, LeadState::kResponded);
}

TEST_F(LeadCommandsTest, ContendingHandlersRetryVersionConflictsAndLoseNoUpdate) {
  LeadIn("7", LeadState::kResponded);
  const uint64_t before = Version("7");
  // Several handlers (as separate processes would be) contend on one lead with no shared lock,
  // so appends conflict and are retried. Attempts are generous: this is about losing nothing.
  constexpr int kHandlers = 4, kPerHandler = 30;
  std::vector<std::unique_ptr<LeadCommandHandler>> handlers;
  for (int h = 0; h < kHandlers; ++h) {
    handlers.push_back(
        std::make_unique<LeadCommandHandler>(*store_, clock_, LeadCommandOptions{1000}));
  }
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int h = 0; h < kHandlers; ++h) {
    threads.emplace_back([&, h] {
      for (int i = 0; i < kPerHandler; ++i) {
        auto r = handlers[h]->Execute(Command("7", LeadTrigger::kReply, {Reply()}));
        if (!r.ok()) ++failures;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(Version("7"), before + kHandlers * kPerHandler);
  EXPECT_EQ(LoadLead(*store_, "7")->replies, static_cast<uint32_t>(kHandlers * kPerHandler));
  uint64_t retries = 0;
  for (auto& h : handlers) retries += h->stats().version_retries;
  std::printf("version conflicts retried: %llu\n", static_cast<unsigned long long>(retries));
}

// A builder that, the first `times` it runs, lets another writer append to the lead first.
LeadEventBuilder Interfering(es::EventStore& store, int times, Fill interference, Fill mine,
                             int* builds) {
  return [&store, times, interference, mine, builds](const Lead&, LeadEvents& out) {
    if ((*builds)++ < times) {
      auto r = store.Append("lead-7", es::ExpectedVersion::Any(), Events({interference}));
      if (!r.ok()) return r.status();
    }
    mine(out.Add());
    return Status::Ok();
  };
}

TEST_F(LeadCommandsTest, AVersionConflictIsRetriedOnTheReloadedLead) {
  LeadIn("7", LeadState::kSent);
  const uint64_t before = Version("7");
  int builds = 0;
  LeadCommand c = Command("7", LeadTrigger::kGoldLabel, {});
  c.build = Interfering(*store_, 1, Reply("EMAIL"), GoldLabeled(), &builds);
  auto r = handler_->Execute(c);
  ASSERT_OK(r);
  EXPECT_EQ(builds, 2);
  EXPECT_EQ(r->streams[0].first_version, before + 2) << "after the other writer's event";
  EXPECT_EQ(StateOf("7"), LeadState::kGold);
  EXPECT_EQ(handler_->stats().version_retries, 1u);
}

TEST_F(LeadCommandsTest, TheRetryChecksTheStateMachineAgain) {
  LeadIn("7", LeadState::kSent);
  int builds = 0;
  LeadCommand c = Command("7", LeadTrigger::kGoldLabel, {});
  // Meanwhile the lead opts out: the retry must see it and refuse.
  c.build = Interfering(*store_, 1, OptedOut(), GoldLabeled(), &builds);
  auto r = handler_->Execute(c);
  ASSERT_EQ(r.status().code(), StatusCode::kConflict);
  EXPECT_EQ(r.status().message(),
            "lead lead-7 is opted_out: cannot GoldLabel (opted_out is final)");
  EXPECT_EQ(builds, 1);
  EXPECT_EQ(StateOf("7"), LeadState::kOptedOut);
}

TEST_F(LeadCommandsTest, AStreamThatKeepsChangingIsAConflictAfterMaxAttempts) {
  LeadIn("7", LeadState::kSent);
  int builds = 0;
  LeadCommand c = Command("7", LeadTrigger::kGoldLabel, {});
  c.build = Interfering(*store_, 1000, Reply(), GoldLabeled(), &builds);
  auto r = handler_->Execute(c);
  ASSERT_EQ(r.status().code(), StatusCode::kConflict);
  EXPECT_EQ(r.status().message(),
            "lead lead-7: its stream kept changing under the command; gave up after 5 attempts");
  EXPECT_EQ(builds, 5);
  EXPECT_EQ(StateOf("7"), LeadState::kSent) << "only the other writer's events landed";
}

TEST_F(LeadCommandsTest, PersonalDataIsSealedUnderTheLeadsKey) {
  LeadCommand c = Command("7", std::nullopt, {});
  c.build = [](const Lead&, LeadEvents& out) {
    auto e = out.Add();
    Imported()(e);
    auto sealed = out.SealPersonal(e, [](es::schema::Personal::Builder p) {
      p.setFirstName("Ada");
      p.initPhones(1).set(0, "+15164079249");
    });
    if (!sealed.ok()) return sealed.status();
    e.getPayload().getLeadImported().setPersonal(Bytes(*sealed));
    return Status::Ok();
  };
  ASSERT_OK(handler_->Create(c));
  std::string subject, personal;
  ASSERT_OK(store_->ReadStream("lead-7", 1, 1, [&](const es::EventView& ev) {
    subject = ev.event().getKeySubject().cStr();
    auto d = ev.event().getPayload().getLeadImported().getPersonal();
    personal.assign(reinterpret_cast<const char*>(d.begin()), d.size());
    return true;
  }));
  EXPECT_EQ(subject, "lead-7");
  EXPECT_EQ(personal.find("Ada"), std::string::npos) << "never in clear";
  auto opened = store_->keys().Open("lead-7", personal);
  ASSERT_OK(opened);
  std::string first, phone;
  ASSERT_OK(es::ReadPersonal(*opened, [&](es::schema::Personal::Reader p) {
    first = p.getFirstName().cStr();
    phone = p.getPhones()[0].cStr();
  }));
  EXPECT_EQ(first, "Ada");
  EXPECT_EQ(phone, "+15164079249");
}

TEST_F(LeadCommandsTest, PrepareLeadEventsChecksAndStampsWithoutAppending) {
  LeadIn("7", LeadState::kGold);
  auto lead = LoadLead(*store_, "7");
  ASSERT_OK(lead);
  const uint64_t version = lead->version;
  auto events = PrepareLeadEvents(
      *lead, Command("7", LeadTrigger::kBook, {MeetingBooked("m", 1)}, "timer:t-9"), store_->keys(),
      kStart + 42);
  ASSERT_OK(events);
  ASSERT_EQ(events->size(), 1u);
  auto b = (*events)[0].builder();
  EXPECT_EQ(b.getRecordedAt(), kStart + 42);
  EXPECT_EQ(b.getCommandId(), "timer:t-9");
  EXPECT_EQ(Version("7"), version);
  auto illegal = PrepareLeadEvents(*lead, Command("7", LeadTrigger::kQueue, {Queued()}),
                                   store_->keys(), kStart);
  EXPECT_EQ(illegal.status().code(), StatusCode::kConflict);
}

}  // namespace
}  // namespace nextier::engine
