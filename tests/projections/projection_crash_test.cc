// A real process follows the log with a counting projection while it appends; we SIGKILL it at
// random moments. After every kill the projection holds exactly the events up to its
// checkpoint (none applied twice, none skipped), and catching up makes it equal to the log.
//
// The child is this test binary re-executed with --gtest_filter=ProjectionCrashChild.Run and
// NEXTIER_PROJECTION_CHILD_DIR set, so no extra executable is needed.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <random>
#include <string>
#include <thread>

#include "counting_projection.h"
#include "nextier/eventstore/event_store.h"
#include "nextier/projections/projection.h"
#include "testing/testing.h"

namespace nextier::projections {
namespace {

using namespace std::chrono_literals;
using testutil::CountingProjection;

constexpr char kChildDirEnv[] = "NEXTIER_PROJECTION_CHILD_DIR";
constexpr char kChildRoundEnv[] = "NEXTIER_PROJECTION_CHILD_ROUND";

eventstore::LmdbOptions LogOptions(const std::string& dir) {
  eventstore::LmdbOptions o;
  o.path = dir + "/log";
  return o;
}

ReadModelOptions StoreOptions(const std::string& dir) {
  ReadModelOptions o;
  o.path = dir + "/projections";
  o.boot_id = "the boot the children run in";  // lazy sync whatever /proc offers
  return o;
}

// The child: appends without pause while its runner follows, until killed.
TEST(ProjectionCrashChild, Run) {
  const char* dir = std::getenv(kChildDirEnv);
  if (dir == nullptr) GTEST_SKIP() << "only runs as the crash test's child";
  const int round = std::atoi(std::getenv(kChildRoundEnv));
  const pid_t parent = getppid();
  std::thread watchdog([parent] {
    for (int i = 0; i < 600 && getppid() == parent; ++i) std::this_thread::sleep_for(100ms);
    _exit(3);  // orphaned or overdue: never outlive the test
  });
  watchdog.detach();

  auto log = eventstore::OpenLmdbEventStore(LogOptions(dir)).value();
  auto store = ReadModelStore::Open(StoreOptions(dir)).value();
  auto counting = CountingProjection::Open(*store);
  RunnerOptions ro;
  ro.max_batch_events = 1 + round % 40;  // many small commits: many chances to die mid-way
  ProjectionRunner runner(*log, *store, ro);
  ASSERT_OK(runner.Add(*counting));
  ASSERT_OK(runner.Start());
  std::printf("READY\n");
  std::fflush(stdout);
  for (int i = 0;; ++i) {
    std::vector<eventstore::NewEvent> events;
    for (int k = 0; k <= i % 3; ++k) events.push_back(testutil::Opaque("e"));
    auto r = log->Append("s-" + std::to_string(i % 11), eventstore::ExpectedVersion::Any(),
                         std::move(events));
    ASSERT_OK(r);
    ASSERT_OK(runner.status());
  }
}

using nextier::testing::ReadUntil;

TEST(ProjectionCrashTest, KilledRunnerNeverAppliesAnEventTwiceOrSkipsOne) {
  nextier::testing::TempDir dir;
  std::mt19937 rng(20261128);
  constexpr int kRounds = 12;
  uint64_t max_checkpoint = 0;
  for (int round = 0; round < kRounds; ++round) {
    int fds[2];
    ASSERT_EQ(pipe(fds), 0);
    // Set in this (single-threaded) parent, inherited by the child; only async-signal-safe
    // calls run between fork and exec.
    setenv(kChildDirEnv, dir.str().c_str(), 1);
    setenv(kChildRoundEnv, std::to_string(round).c_str(), 1);
    const pid_t pid = fork();
    if (pid == 0) {
      dup2(fds[1], 1);
      close(fds[0]);
      close(fds[1]);
      execl("/proc/self/exe", "projection_crash_child", "--gtest_filter=ProjectionCrashChild.Run",
            nullptr);
      _exit(127);
    }
    close(fds[1]);
    unsetenv(kChildDirEnv);
    unsetenv(kChildRoundEnv);
    std::string out = ReadUntil(fds[0], "READY");
    ASSERT_NE(out.find("READY"), std::string::npos) << "child did not start: " << out;
    std::this_thread::sleep_for(std::chrono::milliseconds(20 + rng() % 300));
    kill(pid, SIGKILL);
    int status = 0;
    waitpid(pid, &status, 0);
    close(fds[0]);
    ASSERT_TRUE(WIFSIGNALED(status))
        << "the child stopped on its own (status " << status << "): " << out;

    auto log = eventstore::OpenLmdbEventStore(LogOptions(dir.str())).value();
    // Unsynced and leaving the children's marker alone, so the last child's stays for the end.
    ReadModelOptions checker = StoreOptions(dir.str());
    checker.sync = false;
    auto store = ReadModelStore::Open(checker).value();
    auto counting = CountingProjection::Open(*store);
    ProjectionRunner runner(*log, *store);
    ASSERT_OK(runner.Add(*counting));
    const uint64_t cp = *runner.checkpoint("counting");
    ASSERT_LE(cp, log->Head());
    ASSERT_GE(cp, max_checkpoint) << "the checkpoint went backwards";
    max_checkpoint = cp;
    // Exactly events 1..cp are applied, each once.
    auto got = counting->Read(*store);
    auto want = testutil::ExpectedCounts(*log, cp);
    ASSERT_EQ(got.seen, want.seen) << "round " << round;
    ASSERT_EQ(got.streams, want.streams) << "round " << round;
    // Every other round the next child starts behind and must catch up itself.
    if (round % 2 == 1) {
      ASSERT_OK(runner.CatchUp());
      got = counting->Read(*store);
      want = testutil::ExpectedCounts(*log, log->Head());
      ASSERT_EQ(got.seen, want.seen);
      ASSERT_EQ(got.streams, want.streams);
    }
    std::printf("round %d: head %llu, checkpoint at the kill %llu\n", round,
                static_cast<unsigned long long>(log->Head()), static_cast<unsigned long long>(cp));
  }
  EXPECT_GT(max_checkpoint, 100u) << "the child barely ran; the test proves little";

  // The last child was killed with its read models unsynced (they sync when closed). Were the
  // machine to restart now, the next open must not trust them: it deletes them, and catching
  // up rebuilds the projection from the log alone.
  auto log = eventstore::OpenLmdbEventStore(LogOptions(dir.str())).value();
  ReadModelOptions after_restart = StoreOptions(dir.str());
  after_restart.boot_id = "a boot after the machine restarted";
  auto store = ReadModelStore::Open(after_restart).value();
  EXPECT_TRUE(store->reset_after_power_loss());
  auto counting = CountingProjection::Open(*store);
  ProjectionRunner runner(*log, *store);
  ASSERT_OK(runner.Add(*counting));
  EXPECT_EQ(*runner.checkpoint("counting"), 0u);
  ASSERT_OK(runner.CatchUp());
  const auto got = counting->Read(*store);
  const auto want = testutil::ExpectedCounts(*log, log->Head());
  EXPECT_EQ(got.seen, want.seen);
  EXPECT_EQ(got.streams, want.streams);
}

}  // namespace
}  // namespace nextier::projections
