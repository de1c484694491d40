#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "nextier/engine/timers.h"
#include "testing/testing.h"
#include "timer_test_util.h"

namespace nextier::engine {
namespace {

using eventstore::ExpectedVersion;
using eventstore::NewEvent;
using eventstore::StreamAppend;
using projections::TimerState;
using testutil::AppendOne;
using testutil::One;
using testutil::Opaque;
using testutil::ReadTimerLog;
using testutil::TimerRig;
using namespace std::chrono_literals;

constexpr Micros kT0 = Micros{1'790'000'000} * kMicrosPerSecond;
constexpr Micros kSecond = kMicrosPerSecond;

// A handler whose only effect is an opaque "effect" event carrying the timer id, on the target.
Result<std::vector<StreamAppend>> EffectOnTarget(const FiredTimer& t) {
  std::vector<StreamAppend> out;
  out.push_back(StreamAppend{t.target, ExpectedVersion::Any(), One(Opaque("effect", t.timer_id))});
  return out;
}

void Schedule(TimerRig& rig, const std::string& id, Micros due, const std::string& kind = "k",
              const std::string& target = "lead-1") {
  std::vector<NewEvent> events;
  events.push_back(Opaque("state-change"));
  events.push_back(MakeTimerScheduled(id, due, kind, target, R"({"n":1})"));
  ASSERT_OK(AppendOne(*rig.log, target, std::move(events)));
}

void Cancel(TimerRig& rig, const std::string& id, const std::string& target = "lead-1") {
  ASSERT_OK(AppendOne(*rig.log, target, One(MakeTimerCancelled(id, "test"))));
}

std::vector<std::string> FiredIds(TimerRig& rig) {
  std::vector<std::string> ids;
  for (auto& f : ReadTimerLog(*rig.log).fired) ids.push_back(f.timer_id);
  return ids;
}

TEST(TimerServiceTest, HundredThousandTimersFireInDueOrderExactlyOnce) {
  nextier::testing::TempDir dir;
  SimulatedClock clock(kT0);
  TimerRig rig(dir.str(), clock);
  rig.service->RegisterHandler("k", EffectOnTarget);

  constexpr int kTimers = 100'000;
  constexpr Micros kSpan = 20'000 * kSecond;
  std::mt19937_64 rng(42);
  std::map<std::string, Micros> due;
  for (int unit = 0; unit < kTimers / 1000; ++unit) {
    std::vector<NewEvent> events;
    for (int i = 0; i < 1000; ++i) {
      const std::string id = "t" + std::to_string(unit * 1000 + i);
      // Whole seconds only, so many timers share a due time and ties are exercised.
      const Micros d = kT0 + static_cast<Micros>(rng() % 20'000) * kSecond;
      due[id] = d;
      events.push_back(MakeTimerScheduled(id, d, "k", "lead-" + std::to_string(rng() % 1000)));
    }
    ASSERT_OK(AppendOne(*rig.log, "scheduler-" + std::to_string(unit), std::move(events)));
  }
  ASSERT_OK(rig.service->Start());
  ASSERT_EQ(*rig.timers->Count(), static_cast<uint64_t>(kTimers));

  // Advance in uneven steps; after each, exactly the timers due by then have fired.
  for (Micros step : {kSpan / 10, kSpan / 10 + 1, kSpan / 3, kSpan / 2, kSpan * 4 / 5, kSpan}) {
    ASSERT_OK(rig.service->AdvanceTo(kT0 + step));
    EXPECT_EQ(clock.Now(), kT0 + step);
    const auto due_by_then = std::count_if(due.begin(), due.end(),
                                           [&](const auto& d) { return d.second <= kT0 + step; });
    ASSERT_EQ(*rig.timers->Count(), static_cast<uint64_t>(kTimers - due_by_then));
  }
  ASSERT_EQ(*rig.timers->Count(), 0u);

  auto log = ReadTimerLog(*rig.log);
  ASSERT_EQ(log.fired.size(), static_cast<size_t>(kTimers));
  for (const auto& [id, n] : log.fire_count) ASSERT_EQ(n, 1) << id << " fired " << n << " times";
  ASSERT_EQ(log.fire_count.size(), static_cast<size_t>(kTimers));
  for (size_t i = 0; i < log.fired.size(); ++i) {
    const auto& f = log.fired[i];
    ASSERT_EQ(f.fired_at, due[f.timer_id]) << f.timer_id << " fired off its due time";
    ASSERT_EQ(f.stream, log.scheduled[f.timer_id].front().target);
    if (i > 0) {
      const auto& p = log.fired[i - 1];
      ASSERT_LT(std::make_pair(due[p.timer_id], p.timer_id),
                std::make_pair(due[f.timer_id], f.timer_id))
          << "fired out of order at " << i;
    }
    // The effect is in the same unit, right after TimerFired.
    const auto& effect = log.opaque["effect"][f.timer_id];
    ASSERT_EQ(effect.size(), 1u);
    ASSERT_EQ(effect.front(), f.seq + 1);
  }
  const TimerStats st = rig.service->stats();
  EXPECT_EQ(st.fired, static_cast<uint64_t>(kTimers));
  EXPECT_EQ(st.duplicates + st.conflicts + st.handler_failures + st.unhandled, 0u);
}

TEST(TimerServiceTest, TimersAHandlerSchedulesFireInOrderWithTheRest) {
  nextier::testing::TempDir dir;
  SimulatedClock clock(kT0);
  TimerRig rig(dir.str(), clock);
  std::vector<std::pair<std::string, Micros>> seen;
  rig.service->RegisterHandler("chain", [&](const FiredTimer& t) {
    seen.emplace_back(t.timer_id, clock.Now());
    std::vector<StreamAppend> out;
    if (t.timer_id == "a") {
      // A follow-up due before "c" (already pending), and one already overdue.
      out.push_back(StreamAppend{
          t.target, ExpectedVersion::Any(),
          One(MakeTimerScheduled("a.next", t.fired_at + 5 * kSecond, "chain", t.target))});
      out.push_back(StreamAppend{
          "lead-2", ExpectedVersion::Any(),
          One(MakeTimerScheduled("a.overdue", t.fired_at - kSecond, "chain", "lead-2"))});
    }
    return Result<std::vector<StreamAppend>>(std::move(out));
  });
  Schedule(rig, "a", kT0 + 10 * kSecond, "chain");
  Schedule(rig, "b", kT0 + 12 * kSecond, "chain");
  Schedule(rig, "c", kT0 + 20 * kSecond, "chain");
  ASSERT_OK(rig.service->AdvanceTo(kT0 + 100 * kSecond));
  using Seen = std::vector<std::pair<std::string, Micros>>;
  EXPECT_EQ(seen, (Seen{{"a", kT0 + 10 * kSecond},
                        {"a.overdue", kT0 + 10 * kSecond},  // at once; the clock never goes back
                        {"b", kT0 + 12 * kSecond},
                        {"a.next", kT0 + 15 * kSecond},
                        {"c", kT0 + 20 * kSecond}}));
  EXPECT_EQ(FiredIds(rig), (std::vector<std::string>{"a", "a.overdue", "b", "a.next", "c"}));
}

TEST(TimerServiceTest, CancelledTimersNeverFire) {
  nextier::testing::TempDir dir;
  SimulatedClock clock(kT0);
  TimerRig rig(dir.str(), clock);
  rig.service->RegisterHandler("k", EffectOnTarget);
  std::set<std::string> cancelled;
  for (int i = 0; i < 300; ++i) {
    Schedule(rig, "t" + std::to_string(i), kT0 + (i + 1) * kSecond, "k",
             "lead-" + std::to_string(i % 7));
  }
  for (int i = 0; i < 300; i += 3) {
    Cancel(rig, "t" + std::to_string(i), "lead-" + std::to_string(i % 7));
    cancelled.insert("t" + std::to_string(i));
  }
  ASSERT_OK(rig.service->AdvanceTo(kT0 + 150 * kSecond));
  // Cancel some of the rest while they are still pending.
  for (int i = 200; i < 300; i += 5) {
    if (cancelled.insert("t" + std::to_string(i)).second) {
      Cancel(rig, "t" + std::to_string(i), "lead-" + std::to_string(i % 7));
    }
  }
  ASSERT_OK(rig.service->AdvanceTo(kT0 + 1000 * kSecond));
  auto log = ReadTimerLog(*rig.log);
  for (int i = 0; i < 300; ++i) {
    const std::string id = "t" + std::to_string(i);
    if (cancelled.count(id)) {
      EXPECT_EQ(log.fire_count.count(id), 0u) << id << " was cancelled but fired";
      EXPECT_EQ(*rig.timers->State(id), TimerState::kCancelled);
    } else {
      EXPECT_EQ(log.fire_count[id], 1) << id;
    }
  }
  EXPECT_EQ(log.opaque["effect"].size(), 300 - cancelled.size());
}

TEST(TimerServiceTest, TheClockStandsAtEachDueTimeWhileItsTimerFires) {
  nextier::testing::TempDir dir;
  SimulatedClock clock(kT0);
  TimerRig rig(dir.str(), clock);
  int calls = 0;
  rig.service->RegisterHandler("k", [&](const FiredTimer& t) {
    ++calls;
    EXPECT_EQ(clock.Now(), t.due_at);
    EXPECT_EQ(t.fired_at, t.due_at);
    EXPECT_EQ(t.args, R"({"n":1})");
    return Result<std::vector<StreamAppend>>(std::vector<StreamAppend>{});
  });
  Schedule(rig, "x", kT0 + 3 * kSecond);
  Schedule(rig, "y", kT0 + 7 * kSecond);
  ASSERT_OK(rig.service->AdvanceBy(5s));
  EXPECT_EQ(clock.Now(), kT0 + 5 * kSecond);
  EXPECT_EQ(calls, 1);
  ASSERT_OK(rig.service->AdvanceTo(kT0 + kSecond));  // the past: nothing moves
  EXPECT_EQ(clock.Now(), kT0 + 5 * kSecond);
  ASSERT_OK(rig.service->AdvanceTo(kT0 + 7 * kSecond - 1));
  EXPECT_EQ(calls, 1) << "never early";
  ASSERT_OK(rig.service->AdvanceTo(kT0 + 7 * kSecond));
  EXPECT_EQ(calls, 2);
}

TEST(TimerServiceTest, TimerFiredAndEffectsAreOneUnitWithStampedMetadata) {
  nextier::testing::TempDir dir;
  SimulatedClock clock(kT0);
  TimerRig rig(dir.str(), clock);
  rig.service->RegisterHandler("k", [&](const FiredTimer& t) {
    std::vector<StreamAppend> out;
    out.push_back(StreamAppend{t.target, ExpectedVersion::Exactly(t.target_version),
                               One(Opaque("on-target"))});
    out.push_back(StreamAppend{"audit", ExpectedVersion::Any(), One(Opaque("elsewhere"))});
    return Result<std::vector<StreamAppend>>(std::move(out));
  });
  {
    std::vector<NewEvent> events;
    events.push_back(MakeTimerScheduled("t1", kT0 + kSecond, "k", "lead-9"));
    events.front().builder().setCorrelationId("req-77");
    ASSERT_OK(AppendOne(*rig.log, "lead-9", std::move(events)));
  }
  ASSERT_OK(rig.service->AdvanceTo(kT0 + 2 * kSecond));
  std::vector<std::tuple<uint64_t, std::string, std::string>> rows;
  ASSERT_OK(rig.log->ReadAll(2, 10, [&](const eventstore::EventView& ev) {
    auto e = ev.event();
    EXPECT_EQ(std::string(e.getCorrelationId().cStr()), "req-77");
    EXPECT_EQ(std::string(e.getCausationId().cStr()), "timer:t1");
    EXPECT_EQ(std::string(e.getCommandId().cStr()), "timer:t1");
    EXPECT_EQ(std::string(e.getActor().cStr()), "system:timers");
    EXPECT_EQ(e.getRecordedAt(), kT0 + kSecond);
    rows.emplace_back(ev.seq(), e.getStreamId().cStr(), e.getType().cStr());
    return true;
  }));
  using Rows = std::vector<std::tuple<uint64_t, std::string, std::string>>;
  EXPECT_EQ(rows,
            (Rows{{2, "lead-9", "TimerFired"}, {3, "lead-9", "Opaque"}, {4, "audit", "Opaque"}}));
}

TEST(TimerServiceTest, ACancelStoredWhileTheHandlerRunsWins) {
  nextier::testing::TempDir dir;
  SimulatedClock clock(kT0);
  TimerRig rig(dir.str(), clock);
  int calls = 0;
  rig.service->RegisterHandler("k", [&](const FiredTimer& t) -> Result<std::vector<StreamAppend>> {
    if (++calls == 1) {
      // Another writer cancels the timer on its target between the check and the append.
      auto r = AppendOne(*rig.log, t.target, One(MakeTimerCancelled(t.timer_id, "raced")));
      if (!r.ok()) return r.status();
    }
    return EffectOnTarget(t);
  });
  Schedule(rig, "t1", kT0 + kSecond);
  ASSERT_OK(rig.service->AdvanceTo(kT0 + 2 * kSecond));
  auto log = ReadTimerLog(*rig.log);
  EXPECT_EQ(log.fire_count.count("t1"), 0u);
  EXPECT_TRUE(log.opaque["effect"].empty());
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(rig.service->stats().conflicts, 1u);
  EXPECT_EQ(rig.service->stats().skipped, 1u);
}

TEST(TimerServiceTest, AFireRepeatedAfterACrashIsADuplicateAndWritesNothing) {
  nextier::testing::TempDir dir;
  SimulatedClock clock(kT0);
  TimerRig rig(dir.str(), clock);
  rig.service->RegisterHandler("k", [&](const FiredTimer& t) -> Result<std::vector<StreamAppend>> {
    // As if an earlier process had fired this timer and died before its read model saw it.
    NewEvent fired;
    fired.builder().getPayload().initTimerFired().setTimerId(t.timer_id);
    std::vector<StreamAppend> unit;
    unit.push_back(StreamAppend{t.target, ExpectedVersion::Any(), One(std::move(fired))});
    auto r = rig.log->AppendUnit(std::move(unit), TimerIdempotencyKey(t.timer_id));
    if (!r.ok()) return r.status();
    return EffectOnTarget(t);
  });
  Schedule(rig, "t1", kT0 + kSecond);
  ASSERT_OK(rig.service->AdvanceTo(kT0 + 2 * kSecond));
  auto log = ReadTimerLog(*rig.log);
  EXPECT_EQ(log.fire_count["t1"], 1);
  EXPECT_TRUE(log.opaque["effect"].empty()) << "the repeat's effects were stored";
  EXPECT_EQ(rig.service->stats().duplicates, 1u);
  EXPECT_EQ(*rig.timers->State("t1"), TimerState::kFired);
}

TEST(TimerServiceTest, RetryableHandlerErrorsLeaveTheTimerPending) {
  nextier::testing::TempDir dir;
  SimulatedClock clock(kT0);
  TimerRig rig(dir.str(), clock);
  int calls = 0;
  rig.service->RegisterHandler("k", [&](const FiredTimer& t) -> Result<std::vector<StreamAppend>> {
    if (++calls == 1) return Status::Unavailable("provider down");
    return EffectOnTarget(t);
  });
  Schedule(rig, "t1", kT0 + kSecond);
  Schedule(rig, "t2", kT0 + 2 * kSecond);
  Status s = rig.service->AdvanceTo(kT0 + 10 * kSecond);
  EXPECT_EQ(s.code(), StatusCode::kUnavailable);
  EXPECT_EQ(clock.Now(), kT0 + kSecond) << "the clock stops at the timer that failed";
  EXPECT_EQ(*rig.timers->State("t1"), TimerState::kPending);
  EXPECT_EQ(rig.service->last_error().code(), StatusCode::kUnavailable);
  ASSERT_OK(rig.service->AdvanceTo(kT0 + 10 * kSecond));
  EXPECT_EQ(FiredIds(rig), (std::vector<std::string>{"t1", "t2"}));
  EXPECT_EQ(rig.service->stats().retries, 1u);
}

TEST(TimerServiceTest, BadTimersFireWithoutEffectsRatherThanWedgeTheQueue) {
  nextier::testing::TempDir dir;
  SimulatedClock clock(kT0);
  TimerRig rig(dir.str(), clock);
  rig.service->RegisterHandler("broken",
                               [](const FiredTimer&) -> Result<std::vector<StreamAppend>> {
                                 return Status::InvalidArgument("args do not parse");
                               });
  rig.service->RegisterHandler("throws",
                               [](const FiredTimer&) -> Result<std::vector<StreamAppend>> {
                                 throw std::runtime_error("boom");
                               });
  rig.service->RegisterHandler("bad-effects", [](const FiredTimer&) {
    std::vector<StreamAppend> out;
    out.push_back(StreamAppend{"", ExpectedVersion::Any(), One(Opaque("effect"))});
    return Result<std::vector<StreamAppend>>(std::move(out));
  });
  rig.service->RegisterHandler("k", EffectOnTarget);
  Schedule(rig, "t1", kT0 + 1 * kSecond, "broken");
  Schedule(rig, "t2", kT0 + 2 * kSecond, "nobody-handles-this");
  Schedule(rig, "t3", kT0 + 3 * kSecond, "throws");
  Schedule(rig, "t4", kT0 + 4 * kSecond, "bad-effects");
  Schedule(rig, "t5", kT0 + 5 * kSecond, "k");
  ASSERT_OK(rig.service->AdvanceTo(kT0 + 10 * kSecond));
  EXPECT_EQ(FiredIds(rig), (std::vector<std::string>{"t1", "t2", "t3", "t4", "t5"}));
  const TimerStats st = rig.service->stats();
  EXPECT_EQ(st.handler_failures, 3u);
  EXPECT_EQ(st.unhandled, 1u);
  EXPECT_NE(rig.service->last_error().message().find("effects rejected"), std::string::npos);
  EXPECT_EQ(ReadTimerLog(*rig.log).opaque["effect"].size(), 1u);
}

TEST(TimerServiceTest, AHandlerBuildingOnAnotherVersionOfTheTargetIsRetried) {
  nextier::testing::TempDir dir;
  SimulatedClock clock(kT0);
  TimerRig rig(dir.str(), clock);
  int calls = 0;
  rig.service->RegisterHandler("k", [&](const FiredTimer& t) {
    // The first call builds on a stale version; the retry on the one it is given.
    const uint64_t v = ++calls == 1 ? t.target_version + 5 : t.target_version;
    std::vector<StreamAppend> out;
    out.push_back(StreamAppend{t.target, ExpectedVersion::Exactly(v), One(Opaque("effect"))});
    return Result<std::vector<StreamAppend>>(std::move(out));
  });
  Schedule(rig, "t1", kT0 + kSecond);
  ASSERT_OK(rig.service->AdvanceTo(kT0 + 2 * kSecond));
  EXPECT_EQ(calls, 2);
  EXPECT_EQ(ReadTimerLog(*rig.log).fire_count["t1"], 1);
  EXPECT_EQ(rig.service->stats().conflicts, 1u);
}

TEST(TimerServiceTest, ATimerWithoutTargetFiresOntoTheTimersStream) {
  nextier::testing::TempDir dir;
  SimulatedClock clock(kT0);
  TimerRig rig(dir.str(), clock);
  rig.service->RegisterHandler("k", EffectOnTarget);
  ASSERT_OK(AppendOne(*rig.log, "ops", One(MakeTimerScheduled("t1", kT0 + kSecond, "k", ""))));
  ASSERT_OK(rig.service->AdvanceTo(kT0 + kSecond));
  auto log = ReadTimerLog(*rig.log);
  ASSERT_EQ(log.fired.size(), 1u);
  EXPECT_EQ(log.fired.front().stream, "timers");
  EXPECT_EQ(log.opaque["effect"]["t1"].size(), 1u);
}

TEST(TimerServiceTest, AdvanceToNeedsTheSimulatedClock) {
  nextier::testing::TempDir dir;
  RealClock clock;
  TimerRig rig(dir.str(), clock);
  EXPECT_FALSE(rig.service->simulated());
  EXPECT_EQ(rig.service->AdvanceTo(clock.Now()).code(), StatusCode::kInvalidArgument);
}

// --- the real clock -------------------------------------------------------------------------

bool WaitUntil(const std::function<bool()>& done, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(5ms);
  }
  return done();
}

TEST(TimerServiceRealClockTest, FiresInDueOrderAndNeverEarly) {
  nextier::testing::TempDir dir;
  RealClock clock;
  TimerRig rig(dir.str(), clock);
  rig.service->RegisterHandler("k", EffectOnTarget);
  ASSERT_OK(rig.runner->Start());
  ASSERT_OK(rig.service->Start());
  std::mt19937 rng(3);
  const Micros now = clock.Now();
  std::map<std::string, Micros> due;
  for (int i = 0; i < 60; ++i) {
    const std::string id = "t" + std::to_string(i);
    due[id] = now + (50 + static_cast<Micros>(rng() % 400)) * 1000;
    Schedule(rig, id, due[id], "k", "lead-" + std::to_string(i % 5));
  }
  ASSERT_TRUE(WaitUntil([&] { return rig.timers->Count().value() == 0; }, 20s))
      << rig.service->last_error().ToString();
  auto log = ReadTimerLog(*rig.log);
  ASSERT_EQ(log.fired.size(), 60u);
  std::vector<Micros> lateness;
  for (size_t i = 0; i < log.fired.size(); ++i) {
    const auto& f = log.fired[i];
    EXPECT_GE(f.fired_at, due[f.timer_id]) << f.timer_id << " fired early";
    lateness.push_back(f.fired_at - due[f.timer_id]);
    if (i > 0) {
      EXPECT_LE(due[log.fired[i - 1].timer_id], due[f.timer_id]) << "out of order";
    }
  }
  std::sort(lateness.begin(), lateness.end());
  std::printf("lateness p50 %lld us, max %lld us\n", static_cast<long long>(lateness[30]),
              static_cast<long long>(lateness.back()));
}

TEST(TimerServiceRealClockTest, ANewEarlierTimerRearmsTheScheduler) {
  nextier::testing::TempDir dir;
  RealClock clock;
  TimerRig rig(dir.str(), clock);
  rig.service->RegisterHandler("k", EffectOnTarget);
  ASSERT_OK(rig.runner->Start());
  Schedule(rig, "late", clock.Now() + 5 * kSecond);
  ASSERT_OK(rig.service->Start());
  const Micros soon = clock.Now() + 100'000;
  Schedule(rig, "soon", soon);
  ASSERT_TRUE(
      WaitUntil([&] { return rig.timers->State("soon").value() == TimerState::kFired; }, 3s));
  EXPECT_LT(clock.Now(), soon + 2 * kSecond);
  EXPECT_EQ(*rig.timers->State("late"), TimerState::kPending);
  rig.service->Stop();
  rig.service->Stop();  // twice is fine
}

TEST(TimerServiceRealClockTest, AfterARestartOverdueTimersFireAtOnceOldestFirst) {
  nextier::testing::TempDir dir;
  RealClock clock;
  std::vector<std::string> expected;
  {
    TimerRig rig(dir.str(), clock);  // never started: as if it had died
    const Micros now = clock.Now();
    for (int i = 0; i < 40; ++i) {
      const std::string id = "t" + std::to_string(i);
      // Scheduled in shuffled order, due 1..40 s ago.
      Schedule(rig, id, now - (1 + (i * 17) % 40) * kSecond);
    }
    for (int back = 40; back >= 1; --back) {
      for (int i = 0; i < 40; ++i) {
        if (1 + (i * 17) % 40 == back) expected.push_back("t" + std::to_string(i));
      }
    }
  }
  TimerRig rig(dir.str(), clock);
  rig.service->RegisterHandler("k", EffectOnTarget);
  const Micros restart = clock.Now();
  ASSERT_OK(rig.runner->Start());
  ASSERT_OK(rig.service->Start());
  ASSERT_TRUE(WaitUntil([&] { return rig.timers->Count().value() == 0; }, 10s));
  auto log = ReadTimerLog(*rig.log);
  EXPECT_EQ(FiredIds(rig), expected);
  EXPECT_LT(log.fired.back().fired_at - restart, 2 * kSecond) << "overdue timers waited";
}

}  // namespace
}  // namespace nextier::engine
