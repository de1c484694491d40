// Durable timers under kill -9: a real process schedules, cancels and fires timers with the
// real clock while we SIGKILL it at random moments, round after round. In the end every
// scheduled timer fired exactly once (or was cancelled before it fired), with its effects in
// the same unit, never early; a handler's follow-up was scheduled exactly once; and after each
// restart the timers that had fallen due while the process was dead fired at once, oldest
// first.
//
// The child is this test binary re-executed with --gtest_filter=TimerCrashChild.Run and
// NEXTIER_TIMER_CHILD_DIR set, so no extra executable is needed.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <map>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "testing/testing.h"
#include "timer_test_util.h"

namespace nextier::engine {
namespace {

using eventstore::ExpectedVersion;
using eventstore::NewEvent;
using eventstore::StreamAppend;
using testutil::AppendOne;
using testutil::One;
using testutil::Opaque;
using testutil::TimerRig;
using namespace std::chrono_literals;

constexpr char kChildDirEnv[] = "NEXTIER_TIMER_CHILD_DIR";
constexpr char kChildRoundEnv[] = "NEXTIER_TIMER_CHILD_ROUND";
constexpr int kRounds = 24;
constexpr int kTimersPerRound = 150;

uint32_t Fnv(std::string_view s) {
  uint32_t h = 2166136261u;
  for (char c : s) h = (h ^ static_cast<uint8_t>(c)) * 16777619u;
  return h;
}

// Timers of kind "t" whose id hashes to 0 mod 4 schedule a follow-up "<id>.f" of kind "f".
bool HasFollowUp(std::string_view id) { return Fnv(id) % 4 == 0; }

void InstallHandlers(TimerService& service) {
  service.RegisterHandler("t", [](const FiredTimer& t) {
    std::vector<NewEvent> events;
    events.push_back(Opaque("effect", t.timer_id));
    if (HasFollowUp(t.timer_id)) {
      events.push_back(MakeTimerScheduled(
          t.timer_id + ".f", t.fired_at + (Fnv(t.timer_id) % 100) * 1000, "f", t.target));
    }
    std::vector<StreamAppend> out;
    out.push_back(StreamAppend{t.target, ExpectedVersion::Any(), std::move(events)});
    return Result<std::vector<StreamAppend>>(std::move(out));
  });
  service.RegisterHandler("f", [](const FiredTimer& t) {
    std::vector<StreamAppend> out;
    out.push_back(
        StreamAppend{t.target, ExpectedVersion::Any(), One(Opaque("effect", t.timer_id))});
    return Result<std::vector<StreamAppend>>(std::move(out));
  });
}

// The child: fires timers while scheduling new ones (due within 400 ms) and cancelling some,
// until killed.
TEST(TimerCrashChild, Run) {
  const char* dir = std::getenv(kChildDirEnv);
  if (dir == nullptr) GTEST_SKIP() << "only runs as the crash test's child";
  const int round = std::atoi(std::getenv(kChildRoundEnv));
  const pid_t parent = getppid();
  std::thread watchdog([parent] {
    for (int i = 0; i < 600 && getppid() == parent; ++i) std::this_thread::sleep_for(100ms);
    _exit(3);  // orphaned or overdue: never outlive the test
  });
  watchdog.detach();

  RealClock clock;
  TimerRig rig(dir, clock, /*sync=*/true);
  InstallHandlers(*rig.service);
  ASSERT_OK(rig.runner->Start());
  ASSERT_OK(rig.service->Start());
  std::printf("READY\n");
  std::fflush(stdout);

  std::mt19937 rng(static_cast<unsigned>(round) * 7919u);
  std::vector<std::pair<std::string, std::string>> to_cancel;  // (id, target)
  for (int i = 0; i < kTimersPerRound; ++i) {
    const std::string id = "r" + std::to_string(round) + "-" + std::to_string(i);
    const std::string target = "lead-" + std::to_string(i % 13);
    std::vector<NewEvent> events;
    events.push_back(Opaque("state"));
    events.push_back(
        MakeTimerScheduled(id, clock.Now() + static_cast<Micros>(rng() % 400) * 1000, "t", target));
    if (i % 6 == 0) {
      events.push_back(MakeTimerScheduled(
          id + "-c", clock.Now() + static_cast<Micros>(150 + rng() % 300) * 1000, "t", target));
      to_cancel.emplace_back(id + "-c", target);
    }
    ASSERT_OK(AppendOne(*rig.log, target, std::move(events), "sched:" + id));
    if (i % 6 == 3 && !to_cancel.empty()) {
      auto [cid, ctarget] = to_cancel.front();
      to_cancel.erase(to_cancel.begin());
      ASSERT_OK(AppendOne(*rig.log, ctarget, One(MakeTimerCancelled(cid, "changed its mind"))));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(rng() % 10));
  }
  while (true) std::this_thread::sleep_for(1s);
}

using nextier::testing::ReadUntil;

TEST(TimerCrashTest, KillNineRestartLoopLosesAndDuplicatesNoTimer) {
  nextier::testing::TempDir dir;
  RealClock clock;
  std::mt19937 rng(20261128);
  std::vector<Micros> starts;  // when each process (the children, then the final one) started
  for (int round = 0; round < kRounds; ++round) {
    int fds[2];
    ASSERT_EQ(pipe(fds), 0);
    // Set in this (single-threaded) parent, inherited by the child; only async-signal-safe
    // calls run between fork and exec.
    setenv(kChildDirEnv, dir.str().c_str(), 1);
    setenv(kChildRoundEnv, std::to_string(round).c_str(), 1);
    starts.push_back(clock.Now());
    const pid_t pid = fork();
    if (pid == 0) {
      dup2(fds[1], 1);
      close(fds[0]);
      close(fds[1]);
      execl("/proc/self/exe", "timer_crash_child", "--gtest_filter=TimerCrashChild.Run", nullptr);
      _exit(127);
    }
    close(fds[1]);
    unsetenv(kChildDirEnv);
    unsetenv(kChildRoundEnv);
    std::string out = ReadUntil(fds[0], "READY");
    if (out.find("READY") == std::string::npos) {
      kill(pid, SIGKILL);
      waitpid(pid, nullptr, 0);
      FAIL() << "round " << round << ": the child did not start: " << out;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50 + rng() % 650));
    kill(pid, SIGKILL);
    int status = 0;
    waitpid(pid, &status, 0);
    close(fds[0]);
    ASSERT_TRUE(WIFSIGNALED(status)) << "round " << round << ": the child stopped on its own";
  }

  // The last restart: this process fires whatever is left.
  starts.push_back(clock.Now());
  TimerRig rig(dir.str(), clock, /*sync=*/true);
  InstallHandlers(*rig.service);
  ASSERT_OK(rig.runner->Start());
  ASSERT_OK(rig.service->Start());
  const auto deadline = std::chrono::steady_clock::now() + 60s;
  while (rig.timers->Count().value() > 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(20ms);
  }
  ASSERT_EQ(rig.timers->Count().value(), 0u) << rig.service->last_error().ToString();
  rig.service->Stop();
  rig.runner->Stop();

  auto log = testutil::ReadTimerLog(*rig.log);
  std::map<std::string, const testutil::TimerLog::Fired*> fired_by_id;
  for (const auto& f : log.fired) fired_by_id[f.timer_id] = &f;
  size_t fired = 0, cancelled = 0, follow_ups = 0;
  for (const auto& [id, scheduled] : log.scheduled) {
    ASSERT_EQ(scheduled.size(), 1u) << id << " was scheduled " << scheduled.size() << " times";
    const auto c = log.cancelled.find(id);
    const auto f = fired_by_id.find(id);
    const int fires = log.fire_count.count(id) ? log.fire_count.at(id) : 0;
    if (c != log.cancelled.end() &&
        (f == fired_by_id.end() || c->second.front() < f->second->seq)) {
      ASSERT_EQ(fires, 0) << id << " fired after it was cancelled";
      EXPECT_FALSE(log.opaque["effect"].count(id)) << id << ": effects of a cancelled timer";
      ++cancelled;
      continue;
    }
    ASSERT_EQ(fires, 1) << id << " fired " << fires << " times";
    ++fired;
    const auto& fr = *f->second;
    EXPECT_GE(fr.fired_at, scheduled.front().due_at) << id << " fired early";
    EXPECT_EQ(fr.stream, scheduled.front().target);
    const auto& effects = log.opaque["effect"][id];
    ASSERT_EQ(effects.size(), 1u) << id << " has " << effects.size() << " effects";
    EXPECT_EQ(effects.front(), fr.seq + 1) << id << ": effect not in the TimerFired unit";
    if (scheduled.front().kind == "t" && HasFollowUp(id)) {
      ASSERT_EQ(log.scheduled.count(id + ".f"), 1u) << id << ": follow-up lost";
      ++follow_ups;
    }
  }
  for (const auto& [id, n] : log.fire_count) {
    ASSERT_TRUE(log.scheduled.count(id)) << id << " fired but was never scheduled";
  }

  // After each restart, what was overdue fired at once, oldest first.
  size_t overdue = 0;
  Micros worst = 0;
  for (size_t r = 1; r < starts.size(); ++r) {
    const Micros begin = starts[r];
    const Micros end = r + 1 < starts.size() ? starts[r + 1] : INT64_MAX;
    Micros last_due = INT64_MIN;
    Micros first = -1, round_worst = 0;
    size_t round_overdue = 0;
    for (const auto& f : log.fired) {
      if (f.fired_at < begin || f.fired_at >= end) continue;
      const Micros due = log.scheduled[f.timer_id].front().due_at;
      if (due >= begin) continue;
      ++overdue;
      ++round_overdue;
      if (first < 0) first = f.fired_at - begin;
      round_worst = f.fired_at - begin;
      worst = std::max(worst, f.fired_at - begin);
      EXPECT_LE(last_due, due) << "after restart " << r << " " << f.timer_id
                               << " fired before an older overdue timer";
      last_due = due;
      EXPECT_LT(f.fired_at - begin, 5 * kMicrosPerSecond)
          << f.timer_id << " waited long after restart " << r;
    }
    std::printf("restart %zu: %zu overdue fired from %.0f ms to %.0f ms after the start\n", r,
                round_overdue, first / 1000.0, round_worst / 1000.0);
  }
  std::printf(
      "%zu timers scheduled: %zu fired once, %zu cancelled, %zu follow-ups; %zu were overdue at "
      "a restart and fired at most %.0f ms after it started\n",
      log.scheduled.size(), fired, cancelled, follow_ups, overdue, worst / 1000.0);
  EXPECT_GT(fired, static_cast<size_t>(kRounds) * 10) << "the children barely ran";
  EXPECT_GT(overdue, 0u) << "no restart found overdue timers; the test proves little";
  EXPECT_GT(cancelled, 0u);
}

}  // namespace
}  // namespace nextier::engine
