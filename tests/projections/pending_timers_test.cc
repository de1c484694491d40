#include "nextier/projections/pending_timers.h"

#include <gtest/gtest.h>

#include <limits>
#include <string>
#include <vector>

#include "nextier/eventstore/event_store.h"
#include "nextier/projections/projection.h"
#include "testing/testing.h"

namespace nextier::projections {
namespace {

using eventstore::ExpectedVersion;
using eventstore::NewEvent;

constexpr int64_t kForever = std::numeric_limits<int64_t>::max();

class PendingTimersTest : public ::testing::Test {
 protected:
  void SetUp() override {
    eventstore::LmdbOptions lo;
    lo.path = dir_.str() + "/log";
    lo.sync = false;
    log_ = eventstore::OpenLmdbEventStore(lo).value();
    ReadModelOptions ro;
    ro.path = dir_.str() + "/projections";
    ro.sync = false;
    store_ = ReadModelStore::Open(ro).value();
    timers_ = PendingTimers::Open(*store_).value();
    runner_ = std::make_unique<ProjectionRunner>(*log_, *store_);
    ASSERT_OK(runner_->Add(*timers_));
  }

  void Schedule(const std::string& id, int64_t due, const std::string& kind = "k",
                const std::string& target = "lead-1", const std::string& args = "{}") {
    NewEvent e;
    auto b = e.builder();
    b.setCorrelationId("corr-" + id);
    auto t = b.getPayload().initTimerScheduled();
    t.setTimerId(id);
    t.setDueAt(due);
    t.setKind(kind);
    t.setTarget(target);
    t.setArgs(args);
    Append(std::move(e));
  }
  void Fire(const std::string& id) {
    NewEvent e;
    e.builder().getPayload().initTimerFired().setTimerId(id);
    Append(std::move(e));
  }
  void Cancel(const std::string& id) {
    NewEvent e;
    e.builder().getPayload().initTimerCancelled().setTimerId(id);
    Append(std::move(e));
  }
  void Append(NewEvent e) {
    std::vector<NewEvent> events;
    events.push_back(std::move(e));
    ASSERT_OK(log_->Append("lead-1", ExpectedVersion::Any(), std::move(events)));
  }
  std::vector<std::string> Ids(int64_t at_or_before = kForever, size_t max = 1000) {
    EXPECT_OK(runner_->CatchUp());
    std::vector<std::string> ids;
    auto due = timers_->Earliest(at_or_before, max);
    EXPECT_OK(due);
    for (auto& t : *due) ids.push_back(t.timer_id);
    return ids;
  }
  uint64_t Count() {
    EXPECT_OK(runner_->CatchUp());
    return *timers_->Count();
  }

  nextier::testing::TempDir dir_;
  std::unique_ptr<eventstore::EventStore> log_;
  std::unique_ptr<ReadModelStore> store_;
  std::unique_ptr<PendingTimers> timers_;
  std::unique_ptr<ProjectionRunner> runner_;
};

using IdList = std::vector<std::string>;

TEST_F(PendingTimersTest, OrdersByDueTimeThenTimerId) {
  Schedule("c", 300);
  Schedule("b", 100);
  Schedule("a", 300);
  Schedule("neg", -50);  // before the epoch still sorts first
  Schedule("z", 200);
  EXPECT_EQ(Ids(), (IdList{"neg", "b", "z", "a", "c"}));
  EXPECT_EQ(Count(), 5u);
}

TEST_F(PendingTimersTest, EarliestStopsAtTheBoundAndTheLimit) {
  for (int i = 0; i < 10; ++i) Schedule("t" + std::to_string(i), 1000 + i * 10);
  EXPECT_EQ(Ids(1000), (IdList{"t0"}));
  EXPECT_EQ(Ids(1019), (IdList{"t0", "t1"}));
  EXPECT_EQ(Ids(1020), (IdList{"t0", "t1", "t2"}));
  EXPECT_EQ(Ids(kForever, 2), (IdList{"t0", "t1"}));
  EXPECT_TRUE(Ids(999).empty());
}

TEST_F(PendingTimersTest, KeepsWhatTheHandlerNeeds) {
  Schedule("t1", 42, "followup", "lead-7", R"({"step":2})");
  ASSERT_OK(runner_->CatchUp());
  auto t = timers_->Get("t1");
  ASSERT_OK(t);
  ASSERT_TRUE(t->has_value());
  EXPECT_EQ((*t)->due_at, 42);
  EXPECT_EQ((*t)->kind, "followup");
  EXPECT_EQ((*t)->target, "lead-7");
  EXPECT_EQ((*t)->args, R"({"step":2})");
  EXPECT_EQ((*t)->correlation_id, "corr-t1");
  EXPECT_EQ((*t)->scheduled_seq, 1u);
  EXPECT_FALSE(timers_->Get("nope")->has_value());
}

TEST_F(PendingTimersTest, FiredAndCancelledTimersLeave) {
  Schedule("a", 1);
  Schedule("b", 2);
  Schedule("c", 3);
  Fire("a");
  Cancel("c");
  EXPECT_EQ(Ids(), (IdList{"b"}));
  EXPECT_EQ(*timers_->State("a"), TimerState::kFired);
  EXPECT_EQ(*timers_->State("b"), TimerState::kPending);
  EXPECT_EQ(*timers_->State("c"), TimerState::kCancelled);
  EXPECT_EQ(*timers_->State("d"), TimerState::kUnknown);
  Cancel("b");
  EXPECT_EQ(Count(), 0u);
}

TEST_F(PendingTimersTest, SchedulingAPendingIdAgainReschedulesIt) {
  Schedule("a", 100);
  Schedule("b", 200);
  Schedule("a", 300, "k2");
  EXPECT_EQ(Ids(), (IdList{"b", "a"}));
  EXPECT_EQ(Count(), 2u);
  EXPECT_EQ((*timers_->Get("a"))->kind, "k2");
}

TEST_F(PendingTimersTest, AFinishedIdIsNeverPendingAgain) {
  Schedule("a", 100);
  Fire("a");
  Schedule("a", 200);  // would fire twice under the same idempotency key
  Cancel("never-scheduled");
  Schedule("never-scheduled", 5);
  EXPECT_TRUE(Ids().empty());
  Cancel("a");  // the first ending counts
  ASSERT_OK(runner_->CatchUp());
  EXPECT_EQ(*timers_->State("a"), TimerState::kFired);
}

TEST_F(PendingTimersTest, IgnoresEmptyAndOversizedIds) {
  Schedule("", 1);
  Schedule(std::string(kMaxTimerIdSize + 1, 'x'), 1);
  Schedule(std::string(kMaxTimerIdSize, 'y'), 1);
  EXPECT_EQ(Ids(), (IdList{std::string(kMaxTimerIdSize, 'y')}));
}

}  // namespace
}  // namespace nextier::projections
