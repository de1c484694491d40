// InboundService::WaitIdle, which `nextier serve` calls on SIGTERM before it destroys the
// webhook pool and the HTTP server: a reply whose completion has not returned yet keeps it
// waiting; once every completion has run it returns at once.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <thread>

#include "in_process_engine.h"
#include "testing/testing.h"

namespace nextier::app {
namespace {

using namespace std::chrono_literals;

engine::InboundReply Reply(const std::string& id) {
  return testing::OrphanReply(id, "Who is this?");
}

TEST(InboundIdleTest, WaitIdleHoldsWhileACompletionIsStillRunning) {
  nextier::testing::TempDir dir;
  auto opened = Engine::Open(testing::InProcessOptions(dir.str()));
  ASSERT_OK(opened);
  Engine& e = **opened;
  ASSERT_OK(e.OpenReadModels());
  ASSERT_OK(e.Start());
  auto& inbound = *e.inbound;
  EXPECT_TRUE(inbound.WaitIdle(0ms));

  auto post = [](std::function<void()> work) { std::thread(std::move(work)).detach(); };
  std::promise<void> release;
  std::shared_future<void> gate = release.get_future().share();
  std::atomic<bool> entered{false};
  std::atomic<int> answered{0};
  inbound.ReceiveAsync(Reply("m-1"), post, [&, gate](Result<engine::InboundOutcome> r) {
    EXPECT_OK(r);
    entered = true;
    gate.wait();  // the completion is still running: the reply is not done
    ++answered;
  });
  for (int i = 0; i < 500 && !entered; ++i) std::this_thread::sleep_for(10ms);
  ASSERT_TRUE(entered.load());
  EXPECT_FALSE(inbound.WaitIdle(200ms));
  release.set_value();
  EXPECT_TRUE(inbound.WaitIdle(10s));
  EXPECT_EQ(answered.load(), 1);

  // A reply answered before its append (invalid: no sender) is counted out just the same.
  engine::InboundReply bad = Reply("m-2");
  bad.from.clear();
  inbound.ReceiveAsync(bad, post, [&](Result<engine::InboundOutcome> r) {
    EXPECT_FALSE(r.ok());
    ++answered;
  });
  EXPECT_TRUE(inbound.WaitIdle(10s));
  EXPECT_EQ(answered.load(), 2);
}

}  // namespace
}  // namespace nextier::app
