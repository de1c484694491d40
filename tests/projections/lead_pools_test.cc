// The lead pools folded from hand-made events: order (best score, then import order), the file
// filter, every way into and out of each pool, `accept` that skips without shortening the block,
// the unfinished skip-trace jobs, and a rebuild giving the same pools.
#include "nextier/projections/lead_pools.h"

#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "nextier/eventstore/event_store.h"
#include "nextier/projections/projection.h"
#include "testing/testing.h"

namespace nextier::projections {
namespace {

namespace es = eventstore;
using Pool = LeadPoolsProjection::Pool;
using Ids = std::vector<std::string>;

class LeadPoolsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    es::LmdbOptions lo;
    lo.path = dir_.str() + "/log";
    lo.sync = false;
    log_ = es::OpenLmdbEventStore(lo).value();
    ReadModelOptions ro;
    ro.path = dir_.str() + "/projections";
    ro.sync = false;
    store_ = ReadModelStore::Open(ro).value();
    pools_ = LeadPoolsProjection::Open(*store_).value();
    runner_ = std::make_unique<ProjectionRunner>(*log_, *store_);
    ASSERT_OK(runner_->Add(*pools_));
  }

  void Append(const std::string& stream, const std::function<void(es::schema::Event::Builder)>& f) {
    es::NewEvent e;
    f(e.builder());
    std::vector<es::NewEvent> v;
    v.push_back(std::move(e));
    ASSERT_OK(log_->Append(stream, es::ExpectedVersion::Any(), std::move(v)));
    ASSERT_OK(runner_->CatchUp());
  }

  void Import(const std::string& id, int score, const std::string& file = "f1") {
    Append("lead-" + id, [&](es::schema::Event::Builder b) {
      auto li = b.getPayload().initLeadImported();
      li.setLeadId(id);
      li.setFileId(file);
      li.setRoleScore(score);
    });
  }

  Ids List(Pool pool, const std::string& file = "", size_t limit = 100,
           const std::function<bool(std::string_view)>& accept = {}) {
    auto r = pools_->List(pool, file, limit, accept);
    EXPECT_OK(r);
    return r.ok() ? *r : Ids{};
  }

  nextier::testing::TempDir dir_;
  std::unique_ptr<es::EventStore> log_;
  std::unique_ptr<ReadModelStore> store_;
  std::unique_ptr<LeadPoolsProjection> pools_;
  std::unique_ptr<ProjectionRunner> runner_;
};

TEST_F(LeadPoolsTest, RawPoolIsBestScoreFirstThenImportOrder) {
  Import("a", 50);
  Import("b", 100);
  Import("c", 50);
  Import("d", 0);
  Import("e", 100);
  Import("f", 5000);  // clamped, still first
  Import("g", -7);
  EXPECT_EQ(List(Pool::kRaw), (Ids{"f", "b", "e", "a", "c", "d", "g"}));
  EXPECT_EQ(List(Pool::kRaw, "", 3), (Ids{"f", "b", "e"}));
  EXPECT_EQ(*pools_->Count(Pool::kRaw), 7u);
  EXPECT_EQ(*pools_->Count(Pool::kEnriched), 0u);
  EXPECT_TRUE(List(Pool::kEnriched).empty());
}

TEST_F(LeadPoolsTest, FileFilterKeepsTheOrder) {
  Import("a", 10, "f1");
  Import("b", 90, "f2");
  Import("c", 80, "f1");
  Import("d", 90, "f1");
  EXPECT_EQ(List(Pool::kRaw, "f1"), (Ids{"d", "c", "a"}));
  EXPECT_EQ(List(Pool::kRaw, "f2"), (Ids{"b"}));
  EXPECT_TRUE(List(Pool::kRaw, "f").empty());  // a prefix of a file id is not that file
  EXPECT_TRUE(List(Pool::kRaw, "nope").empty());
}

TEST_F(LeadPoolsTest, LeadsMoveBetweenPoolsWithTheirEvents) {
  for (const char* id : {"a", "b", "c", "d", "e", "f", "g"}) Import(id, 50);
  Append("lead-a", [](auto b) { b.getPayload().initLeadEnriched().setHumanId("NXT-000001"); });
  Append("lead-b", [](auto b) { b.getPayload().initLeadEnriched().setHumanId("NXT-000002"); });
  Append("lead-c", [](auto b) { b.getPayload().initLeadRejected().setCode("entity"); });
  Append("lead-d", [](auto b) { b.getPayload().initLeadNoHit().setJobId("j"); });
  Append("lead-e", [](auto b) { b.getPayload().initLeadOptedOut().setSource("api"); });
  Append("lead-f", [](auto b) { b.getPayload().initLeadForgotten().setReason("request"); });
  EXPECT_EQ(List(Pool::kRaw), (Ids{"g"}));
  EXPECT_EQ(List(Pool::kEnriched), (Ids{"a", "b"}));
  EXPECT_EQ(List(Pool::kEnriched, "f1"), (Ids{"a", "b"}));

  Append("lead-a", [](auto b) { b.getPayload().initLeadQueued().setCampaignId("c1"); });
  EXPECT_EQ(List(Pool::kEnriched), (Ids{"b"}));
  Append("lead-b", [](auto b) { b.getPayload().initLeadOptedOut().setSource("reply"); });
  EXPECT_TRUE(List(Pool::kEnriched).empty());
  EXPECT_TRUE(List(Pool::kEnriched, "f1").empty());
  // An opted-out lead never comes back, whatever arrives later.
  Append("lead-e", [](auto b) { b.getPayload().initLeadEnriched().setHumanId("NXT-000003"); });
  EXPECT_TRUE(List(Pool::kEnriched).empty());
  // A rejection takes a lead out of the enriched pool too.
  Append("lead-g", [](auto b) { b.getPayload().initLeadEnriched().setHumanId("NXT-000004"); });
  EXPECT_EQ(List(Pool::kEnriched), (Ids{"g"}));
  Append("lead-g", [](auto b) { b.getPayload().initLeadRejected().setCode("invalid"); });
  EXPECT_TRUE(List(Pool::kEnriched).empty());
  EXPECT_EQ(*pools_->Count(Pool::kRaw), 0u);
  EXPECT_FALSE(pools_->PoolOf("g")->has_value());
  EXPECT_FALSE(pools_->PoolOf("unknown")->has_value());
}

TEST_F(LeadPoolsTest, EventsBeforeImportAndOnOtherStreamsAreIgnored) {
  Append("lead-x", [](auto b) { b.getPayload().initLeadEnriched().setHumanId("NXT-000009"); });
  Append("campaign-x", [](auto b) { b.getPayload().initLeadQueued().setCampaignId("c"); });
  Import("x", 1);
  Import("x", 99);  // a second import changes nothing
  EXPECT_EQ(List(Pool::kRaw), (Ids{"x"}));
  EXPECT_EQ(**pools_->PoolOf("x"), Pool::kRaw);
  EXPECT_TRUE(List(Pool::kEnriched).empty());
}

TEST_F(LeadPoolsTest, AcceptSkipsWithoutShorteningTheBlock) {
  for (int i = 0; i < 10; ++i) Import("l" + std::to_string(i), 100 - i);
  auto odd_refused = [](std::string_view id) { return (id.back() - '0') % 2 == 0; };
  EXPECT_EQ(List(Pool::kRaw, "", 3, odd_refused), (Ids{"l0", "l2", "l4"}));
  EXPECT_EQ(List(Pool::kRaw, "f1", 3, odd_refused), (Ids{"l0", "l2", "l4"}));
  EXPECT_EQ(List(Pool::kRaw, "", 100, odd_refused).size(), 5u);
  EXPECT_TRUE(List(Pool::kRaw, "", 0).empty());
  size_t visited = 0;
  ASSERT_OK(pools_->Visit(Pool::kRaw, "", [&](std::string_view) { return ++visited < 4; }));
  EXPECT_EQ(visited, 4u);
}

TEST_F(LeadPoolsTest, KeepsSkipTraceJobsUntilTheyFinish) {
  Append("skiptrace-st-1",
         [](auto b) { b.getPayload().initSkipTraceJobStarted().setJobId("st-1"); });
  Append("skiptrace-st-2",
         [](auto b) { b.getPayload().initSkipTraceJobStarted().setJobId("st-2"); });
  Append("skiptrace-day-2026-11-28",
         [](auto b) { b.getPayload().initSkipTraceCounted().setJobId("st-1"); });
  EXPECT_EQ(*pools_->UnfinishedSkipTraceJobs(), (Ids{"st-1", "st-2"}));
  Append("skiptrace-st-1", [](auto b) {
    auto f = b.getPayload().initSkipTraceJobFinished();
    f.setJobId("st-1");
    f.setStatus("done");
  });
  EXPECT_EQ(*pools_->UnfinishedSkipTraceJobs(), (Ids{"st-2"}));
}

TEST_F(LeadPoolsTest, RebuildGivesTheSamePools) {
  Import("a", 10);
  Import("b", 20, "f2");
  Import("c", 30);
  Append("lead-c", [](auto b) { b.getPayload().initLeadEnriched().setHumanId("NXT-000001"); });
  Append("skiptrace-st-9",
         [](auto b) { b.getPayload().initSkipTraceJobStarted().setJobId("st-9"); });
  const Ids raw = List(Pool::kRaw), enriched = List(Pool::kEnriched);
  ASSERT_OK(runner_->Rebuild());
  EXPECT_EQ(List(Pool::kRaw), raw);
  EXPECT_EQ(List(Pool::kRaw), (Ids{"b", "a"}));
  EXPECT_EQ(List(Pool::kEnriched), enriched);
  EXPECT_EQ(List(Pool::kRaw, "f2"), (Ids{"b"}));
  EXPECT_EQ(*pools_->UnfinishedSkipTraceJobs(), (Ids{"st-9"}));
}

}  // namespace
}  // namespace nextier::projections
