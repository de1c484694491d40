// A file whose import was cut off (the process killed mid-file: its stream has FileUploaded and
// FileProgressed but no end) is marked failed, "interrupted", with the counts its stored batches
// hold, when the engine next starts; a finished file is left as it was.
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "in_process_engine.h"
#include "nextier/eventstore/events.capnp.h"
#include "testing/testing.h"

namespace nextier::app {
namespace {

using namespace std::chrono_literals;
namespace es = nextier::eventstore;

es::NewEvent FileEvent(int64_t at) {
  es::NewEvent e;
  e.builder().setRecordedAt(at);
  e.builder().setActor("import");
  return e;
}

void SetCounts(es::schema::FileCounts::Builder c, uint64_t rows, uint64_t imported) {
  c.setRows(rows);
  c.setImported(imported);
  c.setDuplicates(rows - imported);
}

// The file stream as the importer leaves it: uploaded, then one progress per stored batch;
// `finished` adds FileFinished.
void StoreFile(es::EventStore& store, const std::string& id, int64_t at, bool finished) {
  std::vector<es::NewEvent> events;
  events.push_back(FileEvent(at));
  auto u = events.back().builder().getPayload().initFileUploaded();
  u.setFileId(id);
  u.setName(id + ".csv");
  u.setSource("usbizdata");
  events.push_back(FileEvent(at));
  SetCounts(events.back().builder().getPayload().initFileProgressed().initCounts(), 500, 480);
  if (finished) {
    events.push_back(FileEvent(at));
    SetCounts(events.back().builder().getPayload().initFileFinished().initCounts(), 900, 870);
  }
  ASSERT_OK(store.Append("file-" + id, es::ExpectedVersion::NoStream(), std::move(events)));
}

TEST(InterruptedImportTest, AFileCutOffMidImportIsMarkedFailedAtTheNextStart) {
  nextier::testing::TempDir dir;
  const engine::Micros start = testing::StartTime();
  auto opened = Engine::Open(testing::InProcessOptions(dir.str()));
  ASSERT_OK(opened);
  Engine& e = **opened;
  StoreFile(*e.store, "cut", start, false);
  StoreFile(*e.store, "whole", start, true);
  ASSERT_OK(e.OpenReadModels());
  ASSERT_OK(e.Start());

  projections::FileRecord cut;
  for (int i = 0; i < 1000; ++i) {
    auto f = e.files->Get("cut");
    ASSERT_OK(f);
    cut = *f;
    if (cut.status != "importing") break;
    std::this_thread::sleep_for(10ms);
  }
  EXPECT_EQ(cut.status, "failed");
  EXPECT_NE(cut.failure.find("interrupted"), std::string::npos) << cut.failure;
  EXPECT_EQ(cut.rows, 500u);  // what its stored batches hold
  EXPECT_EQ(cut.imported, 480u);
  EXPECT_EQ(cut.finished_at, start);  // business time: the simulated clock

  auto whole = e.files->Get("whole");
  ASSERT_OK(whole);
  EXPECT_EQ(whole->status, "done");
  EXPECT_EQ(whole->rows, 900u);
  EXPECT_TRUE(whole->failure.empty());

  // The file stream now ends with FileFailed.
  auto version = e.store->StreamVersion("file-cut");
  ASSERT_OK(version);
  EXPECT_EQ(*version, 3u);
}

}  // namespace
}  // namespace nextier::app
