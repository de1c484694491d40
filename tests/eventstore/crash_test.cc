// A real process appends; we SIGKILL it at random moments, 20 rounds. After each reopen every
// acknowledged event is there, whole, at its acknowledged position; the chain verifies; every
// acknowledged unit's idempotency key still answers.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <tuple>

#include "nextier/eventstore/event_store.h"
#include "testing/testing.h"

namespace nextier::eventstore {
namespace {

struct Child {
  pid_t pid = -1;
  int out = -1;
};

Child Spawn(const std::string& dir, int round) {
  int fds[2];
  if (pipe(fds) != 0) throw std::runtime_error("pipe");
  pid_t pid = fork();
  if (pid == 0) {
    dup2(fds[1], 1);
    close(fds[0]);
    close(fds[1]);
    std::string r = std::to_string(round);
    // Few idempotency keys wait before merging, so kills land mid-sweep too.
    execl(CRASH_CHILD_PATH, CRASH_CHILD_PATH, dir.c_str(), r.c_str(), "64", nullptr);
    _exit(127);
  }
  close(fds[1]);
  return Child{pid, fds[0]};
}

using nextier::testing::ReadUntil;

TEST(CrashTest, AcknowledgedAppendsSurviveSigkillEveryRound) {
  nextier::testing::TempDir dir;
  std::mt19937 rng(20261128);
  // (round, thread, i) -> (events, first_seq)
  std::map<std::tuple<int, int, int>, std::pair<int, uint64_t>> acked;
  uint64_t max_head = 0;
  constexpr int kRounds = 20;
  for (int round = 0; round < kRounds; ++round) {
    Child child = Spawn(dir.str(), round);
    std::string buf = ReadUntil(child.out, "READY\n");
    ASSERT_NE(buf.find("READY"), std::string::npos) << "child did not start: " << buf;
    std::this_thread::sleep_for(std::chrono::milliseconds(rng() % 200));
    kill(child.pid, SIGKILL);
    int status = 0;
    waitpid(child.pid, &status, 0);
    ASSERT_TRUE(WIFSIGNALED(status)) << "child exited on its own, status " << status;
    buf = ReadUntil(child.out, "", buf);  // acks written before death are still in the pipe
    close(child.out);

    std::istringstream lines(buf);
    std::string line;
    int round_acks = 0;
    while (std::getline(lines, line)) {
      if (line.rfind("ACK ", 0) != 0 || lines.eof()) continue;  // only whole lines count
      std::istringstream f(line.substr(4));
      int r, t, i, events;
      uint64_t first;
      f >> r >> t >> i >> events >> first;
      acked[{r, t, i}] = {events, first};
      ++round_acks;
    }

    LmdbOptions o;
    o.path = dir.str();
    auto store = OpenLmdbEventStore(o);
    ASSERT_OK(store);
    auto report = (*store)->Verify();
    ASSERT_OK(report);
    ASSERT_TRUE(report->ok) << "round " << round << ": " << report->problem;
    EXPECT_GE((*store)->Head(), max_head) << "the log went backwards";
    max_head = (*store)->Head();

    // Every unit is whole: count the events of each (round, thread, i).
    std::map<std::tuple<int, int, int>, std::pair<int, uint64_t>> found;
    ASSERT_OK((*store)->ReadAll(1, SIZE_MAX, [&](const EventView& ev) {
      std::string kind = ev.event().getPayload().getOpaque().getKind().cStr();
      int r, t, i, k;
      char c;
      std::istringstream f(kind);
      f >> r >> c >> t >> c >> i >> c >> k;
      auto& slot = found[{r, t, i}];
      if (k == 0) slot.second = ev.seq();
      ++slot.first;
      return true;
    }));
    for (auto& [id, v] : found) {
      const int expected = 1 + std::get<2>(id) % 3;
      ASSERT_EQ(v.first, expected) << "a unit was half written in round " << std::get<0>(id);
    }
    for (auto& [id, v] : acked) {
      auto it = found.find(id);
      ASSERT_NE(it, found.end()) << "acknowledged append lost: round " << std::get<0>(id)
                                 << " thread " << std::get<1>(id) << " i " << std::get<2>(id);
      EXPECT_EQ(it->second.second, v.second) << "acknowledged at another position";
    }
    // Every acknowledged unit's key still answers with its original position, writing nothing.
    for (auto& [id, v] : acked) {
      const auto& [r, t, i] = id;
      std::vector<NewEvent> again;
      again.push_back(NewEvent{});
      again.back().builder().getPayload().initOpaque().setKind("again");
      auto dup = (*store)->Append(
          "crash-again", ExpectedVersion::Any(), std::move(again),
          "r" + std::to_string(r) + "-" + std::to_string(t) + "-" + std::to_string(i));
      ASSERT_OK(dup);
      ASSERT_TRUE(dup->duplicate) << "key of round " << r << " thread " << t << " i " << i
                                  << " forgotten after the kill of round " << round;
      ASSERT_EQ(dup->first_seq, v.second);
    }
    ASSERT_EQ((*store)->Head(), max_head) << "a repeated key wrote something";
    std::printf("round %d: %d acks, head %llu\n", round, round_acks,
                static_cast<unsigned long long>(max_head));
  }
  EXPECT_GT(acked.size(), 100u) << "the child barely ran; the test proves little";
}

}  // namespace
}  // namespace nextier::eventstore
