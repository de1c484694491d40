#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "counting_projection.h"
#include "nextier/eventstore/event_store.h"
#include "nextier/projections/pending_timers.h"
#include "nextier/projections/projection.h"
#include "nextier/projections/read_model_store.h"
#include "testing/testing.h"

namespace nextier::projections {
namespace {

using eventstore::EventStore;
using eventstore::ExpectedVersion;
using eventstore::NewEvent;
using eventstore::StreamAppend;
using testutil::CountingProjection;
using testutil::ExpectedCounts;
using testutil::Opaque;
using namespace std::chrono_literals;

struct Rig {
  explicit Rig(const std::string& path) : dir(path) {
    eventstore::LmdbOptions lo;
    lo.path = dir + "/log";
    lo.sync = false;
    log = eventstore::OpenLmdbEventStore(lo).value();
    Reopen();
  }
  // Drops and reopens the read models (the log stays).
  void Reopen(RunnerOptions options = {}) {
    runner.reset();
    counting.reset();
    store.reset();
    ReadModelOptions ro;
    ro.path = dir + "/projections";
    ro.sync = false;
    store = ReadModelStore::Open(ro).value();
    counting = CountingProjection::Open(*store);
    runner = std::make_unique<ProjectionRunner>(*log, *store, options);
    EXPECT_OK(runner->Add(*counting));
  }
  // Appends `units` units of 1-3 events over a few streams.
  void Append(int units, int salt = 0) {
    for (int i = 0; i < units; ++i) {
      std::vector<NewEvent> events;
      for (int k = 0; k <= (i + salt) % 3; ++k) events.push_back(Opaque("e"));
      auto r = log->Append("s-" + std::to_string((i + salt) % 5), ExpectedVersion::Any(),
                           std::move(events));
      ASSERT_OK(r);
    }
  }
  // Appends `units` units and applies them, then appends `more` units that stay unapplied;
  // returns the head before those.
  uint64_t AppliedThenMore(int units, int more, int salt) {
    Append(units);
    EXPECT_OK(runner->CatchUp());
    const uint64_t applied = log->Head();
    Append(more, salt);
    return applied;
  }
  void ExpectMatchesLog(uint64_t up_to) {
    auto got = counting->Read(*store);
    auto want = ExpectedCounts(*log, up_to);
    EXPECT_EQ(got.streams, want.streams);
    EXPECT_EQ(got.seen, want.seen);
  }

  std::string dir;
  std::unique_ptr<EventStore> log;
  std::unique_ptr<ReadModelStore> store;
  std::unique_ptr<CountingProjection> counting;
  std::unique_ptr<ProjectionRunner> runner;
};

TEST(ProjectionRunnerTest, CatchUpAppliesEveryEventOnceAndCheckpointsIt) {
  nextier::testing::TempDir dir;
  Rig rig(dir.str());
  rig.Append(200);
  const uint64_t head = rig.log->Head();
  EXPECT_EQ(rig.runner->lag(), head);
  ASSERT_OK(rig.runner->CatchUp());
  EXPECT_EQ(rig.runner->position(), head);
  EXPECT_EQ(*rig.runner->checkpoint("counting"), head);
  EXPECT_EQ(rig.runner->lag(), 0u);
  rig.ExpectMatchesLog(head);
  EXPECT_EQ(rig.runner->checkpoint("nope").status().code(), StatusCode::kNotFound);
}

TEST(ProjectionRunnerTest, SmallBatchesGiveTheSameResult) {
  nextier::testing::TempDir dir;
  Rig rig(dir.str());
  rig.Append(100);
  RunnerOptions o;
  o.max_batch_events = 7;
  rig.Reopen(o);
  ASSERT_OK(rig.runner->CatchUp());
  rig.ExpectMatchesLog(rig.log->Head());
}

TEST(ProjectionRunnerTest, FollowsTheLogLiveAfterStart) {
  nextier::testing::TempDir dir;
  Rig rig(dir.str());
  rig.Append(50);
  ASSERT_OK(rig.runner->Start());
  ASSERT_OK(rig.runner->WaitFor(rig.log->Head(), 10s));
  for (int round = 0; round < 5; ++round) {
    rig.Append(20, round);
    ASSERT_OK(rig.runner->WaitFor(rig.log->Head(), 10s));
    EXPECT_GE(rig.runner->position(), rig.log->Head());
  }
  rig.runner->Stop();
  rig.ExpectMatchesLog(rig.log->Head());
}

// Under load the runner rests between batches (busy_pause); a reader waiting meanwhile applies
// at once itself, and Stop does not wait for the rest to end.
TEST(ProjectionRunnerTest, ARestingRunnerNeitherDelaysWaitForNorStop) {
  nextier::testing::TempDir dir;
  Rig rig(dir.str());
  RunnerOptions o;
  o.busy_batch_events = 1;  // every batch counts as busy
  o.busy_pause = 5s;
  rig.Reopen(o);
  ASSERT_OK(rig.runner->Start());
  rig.Append(40);
  ASSERT_OK(rig.runner->WaitFor(rig.log->Head(), 10s));
  for (int round = 0; round < 3; ++round) {
    rig.Append(25, round);  // the runner is resting now, after the batch it applied
    const auto start = std::chrono::steady_clock::now();
    ASSERT_OK(rig.runner->WaitFor(rig.log->Head(), 10s));
    EXPECT_LT(std::chrono::steady_clock::now() - start, 2s) << "round " << round;
  }
  rig.ExpectMatchesLog(rig.log->Head());
  const auto stop = std::chrono::steady_clock::now();
  rig.runner->Stop();
  EXPECT_LT(std::chrono::steady_clock::now() - stop, 2s);
}

TEST(ProjectionRunnerTest, WaitForHelpsWithoutAThreadAndTimesOutPastTheHead) {
  nextier::testing::TempDir dir;
  Rig rig(dir.str());
  rig.Append(30);
  ASSERT_OK(rig.runner->WaitFor(rig.log->Head(), 10s));  // applied on this thread
  rig.ExpectMatchesLog(rig.log->Head());
  const auto start = std::chrono::steady_clock::now();
  Status s = rig.runner->WaitFor(rig.log->Head() + 1, 150ms);
  EXPECT_EQ(s.code(), StatusCode::kUnavailable) << s.ToString();
  EXPECT_GE(std::chrono::steady_clock::now() - start, 150ms);
}

TEST(ProjectionRunnerTest, WaitForReturnsWhenAnotherThreadAppends) {
  nextier::testing::TempDir dir;
  Rig rig(dir.str());
  ASSERT_OK(rig.runner->Start());
  std::thread writer([&] {
    std::this_thread::sleep_for(50ms);
    rig.Append(3);
  });
  ASSERT_OK(rig.runner->WaitFor(3, 10s));
  writer.join();
}

TEST(ProjectionRunnerTest, ResumesFromTheCheckpointAfterReopen) {
  nextier::testing::TempDir dir;
  Rig rig(dir.str());
  const uint64_t first = rig.AppliedThenMore(40, 40, 1);
  rig.Reopen();
  EXPECT_EQ(*rig.runner->checkpoint("counting"), first);
  EXPECT_EQ(rig.runner->lag(), rig.log->Head() - first);
  ASSERT_OK(rig.runner->CatchUp());
  rig.ExpectMatchesLog(rig.log->Head());  // CountingProjection fails on a second apply
}

TEST(ProjectionRunnerTest, AFailedApplyAbortsTheWholeBatchAndStopsTheRunner) {
  nextier::testing::TempDir dir;
  Rig rig(dir.str());
  const uint64_t good = rig.AppliedThenMore(30, 30, 2);
  rig.counting->fail_at = good + 5;
  Status s = rig.runner->CatchUp();
  EXPECT_EQ(s.code(), StatusCode::kInternal);
  EXPECT_NE(s.message().find("projection counting at event " + std::to_string(good + 5)),
            std::string::npos)
      << s.ToString();
  // Events good+1 .. good+4 were applied in the aborted transaction: none of them is visible.
  EXPECT_EQ(*rig.runner->checkpoint("counting"), good);
  rig.ExpectMatchesLog(good);
  EXPECT_EQ(rig.runner->WaitFor(rig.log->Head(), 1s).code(), StatusCode::kInternal);
  EXPECT_EQ(rig.runner->status().code(), StatusCode::kInternal);

  rig.Reopen();  // the fault is gone
  ASSERT_OK(rig.runner->CatchUp());
  rig.ExpectMatchesLog(rig.log->Head());
}

TEST(ProjectionRunnerTest, AFailedFlushAbortsTheWholeBatchAndStopsTheRunner) {
  nextier::testing::TempDir dir;
  Rig rig(dir.str());
  const uint64_t good = rig.AppliedThenMore(30, 30, 2);
  rig.counting->fail_flush = true;
  Status s = rig.runner->CatchUp();
  EXPECT_EQ(s.code(), StatusCode::kInternal);
  EXPECT_NE(s.message().find("projection counting at event " + std::to_string(rig.log->Head()) +
                             ": injected flush failure"),
            std::string::npos)
      << s.ToString();
  // Every event of the batch was applied, then the flush failed: nothing of it is visible.
  EXPECT_EQ(*rig.runner->checkpoint("counting"), good);
  rig.ExpectMatchesLog(good);

  rig.Reopen();  // the fault is gone
  ASSERT_OK(rig.runner->CatchUp());
  rig.ExpectMatchesLog(rig.log->Head());
}

TEST(ProjectionRunnerTest, AFullDiskIsWaitedOutAndTheRunnerGoesOnWhenRoomReturns) {
  nextier::testing::TempDir dir;
  Rig rig(dir.str());
  const uint64_t good = rig.AppliedThenMore(30, 30, 2);
  rig.counting->fail_code = StatusCode::kResourceExhausted;
  rig.counting->fail_at = good + 5;
  ASSERT_OK(rig.runner->Start());
  // Waiters hear of the full disk at once, and the runner does not stop on it.
  const auto start = std::chrono::steady_clock::now();
  Status s = rig.runner->WaitFor(rig.log->Head(), 5s);
  EXPECT_EQ(s.code(), StatusCode::kResourceExhausted) << s.ToString();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
  std::this_thread::sleep_for(200ms);  // a few retries by the runner's thread
  EXPECT_OK(rig.runner->status());
  EXPECT_EQ(*rig.runner->checkpoint("counting"), good);
  rig.counting->fail_at = 0;  // room returns
  ASSERT_OK(rig.runner->WaitFor(rig.log->Head(), 10s));
  rig.ExpectMatchesLog(rig.log->Head());  // each event applied once
  rig.Append(5, 3);
  ASSERT_OK(rig.runner->WaitFor(rig.log->Head(), 10s));
  rig.runner->Stop();
  rig.ExpectMatchesLog(rig.log->Head());
}

TEST(ProjectionRunnerTest, ProjectionsAtDifferentCheckpointsEachApplyOnce) {
  nextier::testing::TempDir dir;
  Rig rig(dir.str());
  rig.Append(30);
  ASSERT_OK(rig.runner->CatchUp());
  rig.Append(10, 1);
  auto late = CountingProjection::Open(*rig.store, "late");
  ASSERT_OK(rig.runner->Add(*late));
  EXPECT_EQ(rig.runner->position(), 0u);
  EXPECT_EQ(rig.runner->Add(*late).code(), StatusCode::kInvalidArgument);
  ASSERT_OK(rig.runner->CatchUp());
  const uint64_t head = rig.log->Head();
  rig.ExpectMatchesLog(head);
  auto got = late->Read(*rig.store);
  auto want = ExpectedCounts(*rig.log, head);
  EXPECT_EQ(got.streams, want.streams);
  EXPECT_EQ(got.seen, want.seen);
}

TEST(ProjectionRunnerTest, ListenersHearEveryCommitUntilRemoved) {
  nextier::testing::TempDir dir;
  Rig rig(dir.str());
  std::atomic<uint64_t> heard{0};
  const uint64_t id = rig.runner->AddListener([&](uint64_t pos) { heard = pos; });
  rig.Append(10);
  ASSERT_OK(rig.runner->CatchUp());
  EXPECT_EQ(heard.load(), rig.log->Head());
  rig.runner->RemoveListener(id);
  rig.Append(10);
  ASSERT_OK(rig.runner->CatchUp());
  EXPECT_LT(heard.load(), rig.log->Head());
}

TEST(ProjectionRunnerTest, RebuildGivesIdenticalTables) {
  nextier::testing::TempDir dir;
  Rig rig(dir.str());
  auto timers = PendingTimers::Open(*rig.store);
  ASSERT_OK(timers);
  ASSERT_OK(rig.runner->Add(**timers));
  // A mixed run: plain events, timers scheduled, rescheduled, fired and cancelled.
  std::mt19937 rng(7);
  for (int i = 0; i < 400; ++i) {
    std::vector<NewEvent> events;
    events.push_back(Opaque("state"));
    NewEvent t;
    const std::string id = "t" + std::to_string(rng() % 150);
    switch (rng() % 4) {
      case 0:
      case 1: {
        auto s = t.builder().getPayload().initTimerScheduled();
        s.setTimerId(id);
        s.setDueAt(static_cast<int64_t>(rng() % 100000));
        s.setKind("k");
        s.setTarget("lead-" + std::to_string(i % 9));
        s.setArgs("{\"i\":" + std::to_string(i) + "}");
        break;
      }
      case 2:
        t.builder().getPayload().initTimerFired().setTimerId(id);
        break;
      default:
        t.builder().getPayload().initTimerCancelled().setTimerId(id);
    }
    events.push_back(std::move(t));
    ASSERT_OK(rig.log->Append("lead-" + std::to_string(i % 9), ExpectedVersion::Any(),
                              std::move(events)));
    if (i % 50 == 0) ASSERT_OK(rig.runner->CatchUp());  // live checkpoints at odd places
  }
  ASSERT_OK(rig.runner->CatchUp());
  const std::vector<std::string> tables = {"counting.streams", "counting.seen", "counting.meta",
                                           "timers.by_due",    "timers.by_id",  "timers.done",
                                           "_checkpoints"};
  auto live = testutil::Dump(*rig.store, tables);
  EXPECT_GT((*timers)->Count().value(), 0u);
  ASSERT_OK(rig.runner->Rebuild());
  EXPECT_EQ(rig.runner->position(), rig.log->Head());
  EXPECT_EQ(testutil::Dump(*rig.store, tables), live);

  // And from nothing at all: a fresh read-model directory.
  ReadModelOptions ro;
  ro.path = dir.str() + "/fresh";
  ro.sync = false;
  auto fresh = ReadModelStore::Open(ro).value();
  auto counting = CountingProjection::Open(*fresh);
  auto fresh_timers = PendingTimers::Open(*fresh).value();
  ProjectionRunner runner(*rig.log, *fresh);
  ASSERT_OK(runner.Add(*counting));
  ASSERT_OK(runner.Add(*fresh_timers));
  ASSERT_OK(runner.CatchUp());
  EXPECT_EQ(testutil::Dump(*fresh, tables), live);
}

TEST(ProjectionRunnerTest, AChangedVersionRebuildsThatProjection) {
  nextier::testing::TempDir dir;
  Rig rig(dir.str());
  rig.Append(20);
  ASSERT_OK(rig.runner->CatchUp());
  const uint64_t head = rig.log->Head();
  rig.runner.reset();
  auto v2 = CountingProjection::Open(*rig.store, "counting", 2);
  ProjectionRunner runner(*rig.log, *rig.store);
  ASSERT_OK(runner.Add(*v2));
  EXPECT_EQ(*runner.checkpoint("counting"), 0u) << "a new version starts over";
  EXPECT_TRUE(v2->Read(*rig.store).seen.empty()) << "and its tables were emptied";
  ASSERT_OK(runner.CatchUp());
  EXPECT_EQ(v2->Read(*rig.store).seen.size(), head);
}

TEST(ProjectionRunnerTest, RebuildWhileFollowingLiveConverges) {
  nextier::testing::TempDir dir;
  Rig rig(dir.str());
  ASSERT_OK(rig.runner->Start());
  std::atomic<bool> stop{false};
  std::thread writer([&] {
    for (int i = 0; !stop; ++i) rig.Append(1, i);
  });
  std::this_thread::sleep_for(100ms);
  ASSERT_OK(rig.runner->Rebuild());
  std::this_thread::sleep_for(50ms);
  stop = true;
  writer.join();
  ASSERT_OK(rig.runner->WaitFor(rig.log->Head(), 10s));
  rig.runner->Stop();
  rig.ExpectMatchesLog(rig.log->Head());
}

}  // namespace
}  // namespace nextier::projections
