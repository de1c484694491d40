// Every workflow version used is kept in the log; the latest per id is served.
#include "nextier/engine/workflow_registry.h"

#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "testing/testing.h"

namespace nextier::engine {
namespace {

namespace es = nextier::eventstore;
namespace fs = std::filesystem;

class WorkflowRegistryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    fs::create_directories(dir_.path() / "wf");
    for (const char* f : {"real-estate-agents.json", "business-owners.json"}) {
      fs::copy_file(fs::path(NEXTIER_SOURCE_DIR) / "workflows" / f, dir_.path() / "wf" / f);
    }
    OpenStore();
  }
  void OpenStore() {
    registry_.reset();
    store_.reset();
    es::LmdbOptions o;
    o.path = (dir_.path() / "store").string();
    auto s = es::OpenLmdbEventStore(o);
    ASSERT_OK(s);
    store_ = std::move(s).value();
    registry_ = std::make_unique<WorkflowRegistry>(*store_, clock_);
  }
  nlohmann::json Doc(const char* file) {
    std::ifstream in(dir_.path() / "wf" / file);
    return nlohmann::json::parse(in);
  }
  uint64_t Recorded() {
    uint64_t n = 0;
    EXPECT_OK(store_->ReadAll(1, SIZE_MAX, [&](const es::EventView& ev) {
      n += ev.event().getPayload().which() == es::schema::Event::Payload::WORKFLOW_VERSION_RECORDED;
      return true;
    }));
    return n;
  }

  nextier::testing::TempDir dir_;
  SimulatedClock clock_{Micros{1'795'874'400} * kMicrosPerSecond};
  std::unique_ptr<es::EventStore> store_;
  std::unique_ptr<WorkflowRegistry> registry_;
};

TEST_F(WorkflowRegistryTest, ShippedWorkflowsAreRecordedOnceAcrossRestarts) {
  ASSERT_OK(registry_->LoadLogAndDirectory(dir_.path() / "wf"));
  EXPECT_EQ(Recorded(), 2u);
  auto list = registry_->List();
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0].workflow->id, "business-owners");
  EXPECT_EQ(list[1].workflow->id, "real-estate-agents");
  EXPECT_EQ(list[1].recorded_at, clock_.Now());
  OpenStore();
  ASSERT_OK(registry_->LoadLogAndDirectory(dir_.path() / "wf"));
  EXPECT_EQ(Recorded(), 2u) << "an unchanged file must not be recorded again";
  EXPECT_EQ(registry_->List().size(), 2u);
}

TEST_F(WorkflowRegistryTest, AnEditedFileBecomesANewVersionAndTheOldOneStaysReadable) {
  ASSERT_OK(registry_->LoadLogAndDirectory(dir_.path() / "wf"));
  const std::string v1 = (*registry_->Get("real-estate-agents")).workflow->version;
  auto doc = Doc("real-estate-agents.json");
  doc["limits"]["batchDelaySeconds"] = 7;
  {
    std::ofstream out(dir_.path() / "wf" / "real-estate-agents.json");
    out << doc.dump(2);
  }
  OpenStore();
  ASSERT_OK(registry_->LoadLogAndDirectory(dir_.path() / "wf"));
  auto latest = registry_->Get("real-estate-agents");
  ASSERT_OK(latest);
  EXPECT_NE(latest->workflow->version, v1);
  EXPECT_EQ(latest->workflow->limits.batch_delay_seconds, 7);
  EXPECT_EQ(latest->stream_version, 2u);
  auto old = registry_->Get("real-estate-agents", v1);
  ASSERT_OK(old);
  EXPECT_EQ(old->workflow->limits.batch_delay_seconds, 5);
  EXPECT_EQ(registry_->Get("real-estate-agents", "nope").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(registry_->Get("nobody").status().code(), StatusCode::kNotFound);
}

TEST_F(WorkflowRegistryTest, SubmitValidatesRecordsAndIsIdempotentForTheLatestContent) {
  ASSERT_OK(registry_->LoadLogAndDirectory(dir_.path() / "wf"));
  auto doc = Doc("business-owners.json");
  doc["limits"]["batchSize"] = 0;
  doc["templates"]["opener"] = "Hi {frstName}";
  auto bad = registry_->Submit("business-owners", doc, "ops:alice");
  EXPECT_EQ(bad.status.code(), StatusCode::kInvalidArgument);
  ASSERT_GE(bad.errors.size(), 2u);
  EXPECT_EQ(Recorded(), 2u);

  auto good_doc = Doc("business-owners.json");
  good_doc["pitch"] = "Know what your business could sell for, today";
  auto good = registry_->Submit("business-owners", good_doc, "ops:alice");
  ASSERT_OK(good.status);
  EXPECT_TRUE(good.created);
  auto again = registry_->Submit("business-owners", good_doc, "ops:alice");
  ASSERT_OK(again.status);
  EXPECT_FALSE(again.created);
  EXPECT_EQ(again.info.workflow->version, good.info.workflow->version);
  EXPECT_EQ(Recorded(), 3u);

  auto mismatch = registry_->Submit("real-estate-agents", good_doc, "ops:alice");
  EXPECT_EQ(mismatch.status.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(mismatch.status.field(), "id");
}

TEST_F(WorkflowRegistryTest, RevertingToAnOlderContentMakesItTheLatestAgain) {
  ASSERT_OK(registry_->LoadLogAndDirectory(dir_.path() / "wf"));
  const auto original = Doc("real-estate-agents.json");
  auto edited = original;
  edited["name"] = "Agents, edited";
  ASSERT_OK(registry_->Submit("real-estate-agents", edited, "ops:alice").status);
  auto back = registry_->Submit("real-estate-agents", original, "ops:alice");
  ASSERT_OK(back.status);
  EXPECT_TRUE(back.created);
  EXPECT_EQ((*registry_->Get("real-estate-agents")).workflow->name, original["name"]);
}

TEST_F(WorkflowRegistryTest, AnUnchangedFileDoesNotUndoAVersionSubmittedThroughTheApi) {
  ASSERT_OK(registry_->LoadLogAndDirectory(dir_.path() / "wf"));
  auto doc = Doc("real-estate-agents.json");
  doc["name"] = "Agents, edited by ops";
  auto submitted = registry_->Submit("real-estate-agents", doc, "ops:alice");
  ASSERT_OK(submitted.status);
  OpenStore();
  ASSERT_OK(registry_->LoadLogAndDirectory(dir_.path() / "wf"));
  EXPECT_EQ((*registry_->Get("real-estate-agents")).workflow->version,
            submitted.info.workflow->version);
}

}  // namespace
}  // namespace nextier::engine
