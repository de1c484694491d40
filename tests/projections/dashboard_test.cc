// The dashboard counters folded from hand-made events: the cumulative funnel (each lead once per
// stage, later stages implying earlier ones), replies by classification, the positive leads, and
// a rebuild giving the same counters.
#include "nextier/projections/dashboard.h"

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

class DashboardTest : public ::testing::Test {
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
    dashboard_ = DashboardProjection::Open(*store_).value();
    runner_ = std::make_unique<ProjectionRunner>(*log_, *store_);
    ASSERT_OK(runner_->Add(*dashboard_));
  }

  void Append(const std::string& stream, const std::function<void(es::schema::Event::Builder)>& f) {
    es::NewEvent e;
    f(e.builder());
    std::vector<es::NewEvent> v;
    v.push_back(std::move(e));
    ASSERT_OK(log_->Append(stream, es::ExpectedVersion::Any(), std::move(v)));
  }
  void Import(const std::string& id) {
    Append("lead-" + id,
           [&](es::schema::Event::Builder b) { b.getPayload().initLeadImported().setLeadId(id); });
  }
  void Enrich(const std::string& id) {
    Append("lead-" + id, [](es::schema::Event::Builder b) { b.getPayload().initLeadEnriched(); });
  }
  void Queue(const std::string& id) {
    Append("lead-" + id, [](es::schema::Event::Builder b) {
      b.getPayload().initLeadQueued().setCampaignId("c1");
    });
  }
  void Sent(const std::string& id, const std::string& kind = "opener") {
    Append("lead-" + id,
           [&](es::schema::Event::Builder b) { b.getPayload().initSmsSent().setKind(kind); });
  }
  void Delivered(const std::string& id) {
    Append("lead-" + id, [](es::schema::Event::Builder b) { b.getPayload().initSmsDelivered(); });
  }
  void Reply(const std::string& id, const std::string& cls) {
    const std::string stream = id.empty() ? "inbound-orphans" : "lead-" + id;
    Append(stream, [&](es::schema::Event::Builder b) {
      auto r = b.getPayload().initReplyReceived();
      r.setClassification(cls);
      r.setLeadId(id);
    });
  }
  void Responded(const std::string& id, const std::string& cls) {
    Append("lead-" + id, [&](es::schema::Event::Builder b) {
      b.getPayload().initLeadResponded().setClassification(cls);
    });
  }
  void Gold(const std::string& id) {
    Append("lead-" + id,
           [](es::schema::Event::Builder b) { b.getPayload().initLeadGoldLabeled(); });
  }
  void Called(const std::string& id) {
    Append("lead-" + id, [](es::schema::Event::Builder b) {
      b.getPayload().initCallCompleted().setDisposition("booked");
    });
  }
  void Booked(const std::string& id) {
    Append("lead-" + id, [](es::schema::Event::Builder b) { b.getPayload().initMeetingBooked(); });
  }
  void OptOut(const std::string& id) {
    Append("lead-" + id, [](es::schema::Event::Builder b) { b.getPayload().initLeadOptedOut(); });
  }
  void Reject(const std::string& id) {
    Append("lead-" + id, [](es::schema::Event::Builder b) {
      b.getPayload().initLeadRejected().setCode("entity");
    });
  }

  DashboardCounts Read() {
    EXPECT_OK(runner_->CatchUp());
    auto r = dashboard_->Read();
    EXPECT_OK(r);
    return r.ok() ? *r : DashboardCounts{};
  }

  nextier::testing::TempDir dir_;
  std::unique_ptr<es::EventStore> log_;
  std::unique_ptr<ReadModelStore> store_;
  std::unique_ptr<DashboardProjection> dashboard_;
  std::unique_ptr<ProjectionRunner> runner_;
};

void ExpectFunnel(const DashboardCounts& c, std::vector<uint64_t> want) {
  const std::vector<uint64_t> got = {c.raw,       c.enriched,  c.queued,  c.sent,
                                     c.delivered, c.responded, c.gold,    c.called,
                                     c.booked,    c.opted_out, c.rejected};
  EXPECT_EQ(got, want) << "raw enriched queued sent delivered responded gold called booked "
                          "optedOut rejected";
}

TEST_F(DashboardTest, EmptyLogReadsZero) {
  const auto c = Read();
  ExpectFunnel(c, {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0});
  EXPECT_EQ(c.replies, 0u);
  EXPECT_EQ(c.seq, 0u);
}

TEST_F(DashboardTest, FunnelIsCumulativeAndCountsEachLeadOncePerStage) {
  for (const char* id : {"a", "b", "c", "d", "e"}) Import(id);
  Reject("e");
  for (const char* id : {"a", "b", "c", "d"}) Enrich(id);
  for (const char* id : {"a", "b", "c"}) Queue(id);
  // a: the whole journey, with repeats that must not count twice.
  Sent("a");
  Sent("a", "followup");
  Sent("a", "followup");
  Delivered("a");
  Delivered("a");
  Reply("a", "EMAIL");
  Responded("a", "EMAIL");
  Reply("a", "POSITIVE");
  Gold("a");
  Called("a");
  Called("a");
  Booked("a");
  // b: texted, delivered, opted out by reply.
  Sent("b");
  Delivered("b");
  Reply("b", "OPT_OUT");
  OptOut("b");
  // c: texted, follow-ups only after the opener do not count as sent again.
  Sent("c");
  Sent("c", "followup");
  const auto x = Read();
  //           raw en  q  sent del resp gold call book opt rej
  ExpectFunnel(x, {5, 4, 3, 3, 2, 2, 1, 1, 1, 1, 1});
  EXPECT_EQ(x.replies, 3u);
  EXPECT_EQ(x.positive_leads, 1u);  // a, once, for two positive replies
  EXPECT_EQ(x.replies_by_class.at("EMAIL"), 1u);
  EXPECT_EQ(x.replies_by_class.at("POSITIVE"), 1u);
  EXPECT_EQ(x.replies_by_class.at("OPT_OUT"), 1u);
  EXPECT_EQ(x.seq, log_->Head() - 1);  // the last follow-up changed no counter
}

TEST_F(DashboardTest, LaterStagesImplyTheChainBeforeThem) {
  // A lead booked straight after import (a manual booking) counts as texted and responded; it
  // is not counted as gold or called, which are not implied by a booking.
  Import("a");
  Booked("a");
  // A reply without a delivery receipt proves the delivery.
  Import("b");
  Enrich("b");
  Queue("b");
  Sent("b");
  Reply("b", "NEGATIVE");
  // Reaching the implied stages later does not count them again.
  Enrich("a");
  Sent("a");
  Delivered("b");
  const auto c = Read();
  ExpectFunnel(c, {2, 2, 2, 2, 2, 2, 0, 0, 1, 0, 0});
  EXPECT_EQ(c.positive_leads, 0u);
}

TEST_F(DashboardTest, OrphanRepliesCountAsRepliesButNoLead) {
  Reply("", "POSITIVE");
  Reply("", "OTHER");
  const auto c = Read();
  ExpectFunnel(c, {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0});
  EXPECT_EQ(c.replies, 2u);
  EXPECT_EQ(c.positive_leads, 0u);
  EXPECT_EQ(c.replies_by_class.at("POSITIVE"), 1u);
}

TEST_F(DashboardTest, RebuildGivesTheSameCounters) {
  for (int i = 0; i < 50; ++i) {
    const std::string id = "l" + std::to_string(i);
    Import(id);
    if (i % 2 == 0) Enrich(id);
    if (i % 3 == 0) Queue(id);
    if (i % 4 == 0) Sent(id);
    if (i % 5 == 0) Reply(id, i % 10 == 0 ? "POSITIVE" : "QUESTION");
  }
  const auto before = Read();
  ASSERT_OK(runner_->Rebuild());
  const auto after = Read();
  ExpectFunnel(after, {before.raw, before.enriched, before.queued, before.sent, before.delivered,
                       before.responded, before.gold, before.called, before.booked,
                       before.opted_out, before.rejected});
  EXPECT_EQ(after.replies_by_class, before.replies_by_class);
  EXPECT_EQ(after.positive_leads, before.positive_leads);
  EXPECT_EQ(before.raw, 50u);
}

}  // namespace
}  // namespace nextier::projections
