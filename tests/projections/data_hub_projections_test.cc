// The data hub's read models folded from hand-made events: the dedupe index (first writer
// wins, LeadEnriched's phone), the FILE model (a FileFailed without FileUploaded included) and
// the LEAD model's simple states.
#include <capnp/message.h>
#include <capnp/serialize.h>
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "nextier/eventstore/event_store.h"
#include "nextier/projections/files.h"
#include "nextier/projections/lead_index.h"
#include "nextier/projections/leads.h"
#include "nextier/projections/projection.h"
#include "testing/testing.h"

namespace nextier::projections {
namespace {

namespace es = eventstore;

capnp::Data::Reader Bytes(const std::string& s) {
  return capnp::Data::Reader(reinterpret_cast<const kj::byte*>(s.data()), s.size());
}

class DataHubProjectionsTest : public ::testing::Test {
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
    index_ = LeadIndexProjection::Open(*store_).value();
    files_ = FilesProjection::Open(*store_).value();
    leads_ = LeadsProjection::Open(*store_, log_->keys()).value();
    runner_ = std::make_unique<ProjectionRunner>(*log_, *store_);
    ASSERT_OK(runner_->Add(*index_));
    ASSERT_OK(runner_->Add(*files_));
    ASSERT_OK(runner_->Add(*leads_));
  }

  // Appends `e`, then (unless `catch_up` is false) applies it, alone, to the read models.
  void Append(const std::string& stream, es::NewEvent e, bool catch_up = true) {
    std::vector<es::NewEvent> v;
    v.push_back(std::move(e));
    ASSERT_OK(log_->Append(stream, es::ExpectedVersion::Any(), std::move(v)));
    if (catch_up) ASSERT_OK(runner_->CatchUp());
  }

  void Forget(const std::string& id, bool catch_up = true) {
    es::NewEvent e;
    e.builder().getPayload().initLeadForgotten().setReason("request");
    Append("lead-" + id, std::move(e), catch_up);
  }

  void Import(const std::string& id, const std::string& phone_hash, const std::string& first,
              bool catch_up = true) {
    capnp::MallocMessageBuilder m;
    auto p = m.initRoot<es::schema::Personal>();
    p.setFirstName(first);
    p.initPhones(1).set(0, "+12125550100");
    auto words = capnp::messageToFlatArray(m);
    auto bytes = words.asBytes();
    auto sealed = log_->keys().Seal(
        "lead-" + id, std::string(reinterpret_cast<const char*>(bytes.begin()), bytes.size()));
    ASSERT_OK(sealed);
    es::NewEvent e;
    auto b = e.builder();
    b.setKeySubject("lead-" + id);
    b.setRecordedAt(1000);
    auto li = b.getPayload().initLeadImported();
    li.setLeadId(id);
    li.setFileId("f1");
    li.setPersonal(Bytes(*sealed));
    li.initPhoneHashes(1).set(0, Bytes(phone_hash));
    li.setEmailHash(Bytes("e-" + id));
    Append("lead-" + id, std::move(e), catch_up);
  }

  nextier::testing::TempDir dir_;
  std::unique_ptr<es::EventStore> log_;
  std::unique_ptr<ReadModelStore> store_;
  std::unique_ptr<LeadIndexProjection> index_;
  std::unique_ptr<FilesProjection> files_;
  std::unique_ptr<LeadsProjection> leads_;
  std::unique_ptr<ProjectionRunner> runner_;
};

TEST_F(DataHubProjectionsTest, LeadIndexKeepsTheFirstLeadForAHash) {
  Import("a", "hash-1", "Ann");
  Import("b", "hash-1", "Bob");
  EXPECT_EQ(**index_->Find(LeadKeyKind::kPhone, "hash-1"), "a");
  EXPECT_EQ(**index_->Find(LeadKeyKind::kEmail, "e-b"), "b");
  EXPECT_FALSE(index_->Find(LeadKeyKind::kEmail, "hash-1")->has_value());  // kinds are apart

  es::NewEvent e;
  e.builder().getPayload().initLeadEnriched().setPhoneHash(Bytes("hash-2"));
  Append("lead-b", std::move(e));
  EXPECT_EQ(**index_->Find(LeadKeyKind::kPhone, "hash-2"), "b");
}

// The index writes a batch's keys sorted, when the batch ends: the outcome must still be that of
// the events one by one, in order.
TEST_F(DataHubProjectionsTest, LeadIndexInOneBatchIsTheIndexOfTheEventsInOrder) {
  Import("z", "hash-1", "Zed", false);
  Import("a", "hash-1", "Ann", false);  // sorts before "z", but came second
  Import("c", "hash-3", "Cy", false);
  Forget("c", false);  // releases hash-3 and e-c, written in this same batch
  Import("d", "hash-3", "Dee", false);
  ASSERT_OK(runner_->CatchUp());
  EXPECT_EQ(*runner_->checkpoint("lead_index"), log_->Head());
  EXPECT_EQ(**index_->Find(LeadKeyKind::kPhone, "hash-1"), "z");
  EXPECT_EQ(**index_->Find(LeadKeyKind::kEmail, "e-a"), "a");
  EXPECT_EQ(**index_->Find(LeadKeyKind::kPhone, "hash-3"), "d");
  EXPECT_FALSE(index_->Find(LeadKeyKind::kEmail, "e-c")->has_value());

  // The reverse entries were written too: forgetting drops exactly what each lead claimed.
  Forget("a", false);
  Forget("d", false);
  ASSERT_OK(runner_->CatchUp());
  EXPECT_EQ(**index_->Find(LeadKeyKind::kPhone, "hash-1"), "z");
  EXPECT_FALSE(index_->Find(LeadKeyKind::kEmail, "e-a")->has_value());
  EXPECT_FALSE(index_->Find(LeadKeyKind::kPhone, "hash-3")->has_value());
  EXPECT_FALSE(index_->Find(LeadKeyKind::kEmail, "e-d")->has_value());
  EXPECT_EQ(**index_->Find(LeadKeyKind::kEmail, "e-z"), "z");
}

TEST_F(DataHubProjectionsTest, LeadStatesFoldSimplyAndPersonalFieldsOpen) {
  Import("a", "h1", "Ann");
  Import("b", "h2", "Bob");
  EXPECT_EQ(leads_->Get("a")->first_name, "Ann");
  es::NewEvent rejected;
  rejected.builder().getPayload().initLeadRejected().setCode("entity");
  Append("lead-a", std::move(rejected));
  es::NewEvent queued;
  auto q = queued.builder().getPayload().initLeadQueued();
  q.setCampaignId("c1");
  q.setBlockNumber(1);
  q.setBatchNumber(2);
  Append("lead-b", std::move(queued));
  EXPECT_EQ(leads_->Get("a")->state, "rejected");
  auto b = leads_->Get("b");
  EXPECT_EQ(b->state, "queued");
  EXPECT_EQ(b->campaign_id, "c1");
  EXPECT_EQ(b->batch, 2u);
  EXPECT_EQ(leads_->List({"rejected", ""}, 10, "")->items.size(), 1u);
  EXPECT_EQ(leads_->List({"raw", ""}, 10, "")->items.size(), 0u);
  EXPECT_EQ(leads_->List({"", "c1"}, 10, "")->items.size(), 1u);
  EXPECT_EQ(leads_->List({"raw", "c1"}, 10, "")->items.size(), 0u);
  EXPECT_EQ(leads_->Get("zzz").status().code(), StatusCode::kNotFound);
}

TEST_F(DataHubProjectionsTest, FileFailedAloneStillMakesAFile) {
  es::NewEvent e;
  e.builder().setRecordedAt(5);
  auto f = e.builder().getPayload().initFileFailed();
  f.setReason("not a CSV");
  Append("file-x1", std::move(e));
  auto file = files_->Get("x1");
  ASSERT_OK(file);
  EXPECT_EQ(file->status, "failed");
  EXPECT_EQ(file->failure, "not a CSV");
  EXPECT_EQ(file->finished_at, 5);
  EXPECT_EQ(files_->List(10, "")->items.size(), 1u);
  EXPECT_FALSE(files_->List(10, "nothex").ok());
}

TEST_F(DataHubProjectionsTest, RebuildGivesTheSameReadModels) {
  Import("a", "h1", "Ann");
  es::NewEvent up;
  auto u = up.builder().getPayload().initFileUploaded();
  u.setFileId("f1");
  u.setName("x.csv");
  Append("file-f1", std::move(up));
  ASSERT_OK(runner_->Rebuild());
  EXPECT_EQ(files_->Get("f1")->name, "x.csv");
  EXPECT_EQ(leads_->Get("a")->first_name, "Ann");
  EXPECT_EQ(**index_->Find(LeadKeyKind::kPhone, "h1"), "a");
}

}  // namespace
}  // namespace nextier::projections
