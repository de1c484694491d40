// The optional outside classifier, wired as serve wires it (EngineOptions::classifier): its
// opinion is folded into each reply's classification, it is asked off the caller's thread (it
// may block for its timeout), and without an opinion the rules decide alone.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <mutex>
#include <thread>

#include "in_process_engine.h"
#include "nextier/engine/classifier.h"
#include "testing/testing.h"

namespace nextier::app {
namespace {

using namespace std::chrono_literals;
using workflows::ReplyClass;

// Disagrees with the rules on purpose: "positive" for a STOP, "negative" for anything vague,
// and no opinion for "slow model".
class FakeModel final : public engine::ExternalClassifier {
 public:
  std::string_view name() const override { return "fake"; }
  Result<ReplyClass> Classify(std::string_view body) override {
    {
      std::lock_guard lock(mu);
      threads.push_back(std::this_thread::get_id());
    }
    if (body == "slow model") return Status::Unavailable("classifier: no answer within 2000 ms");
    if (body == "STOP") return ReplyClass::kPositive;
    return ReplyClass::kNegative;
  }
  std::mutex mu;
  std::vector<std::thread::id> threads;
};

TEST(InboundClassifierTest, TheModelsOpinionIsFoldedInOffTheCallersThread) {
  nextier::testing::TempDir dir;
  auto model = std::make_shared<FakeModel>();
  EngineOptions options = testing::InProcessOptions(dir.str());
  options.classifier = model;
  auto opened = Engine::Open(std::move(options));
  ASSERT_OK(opened);
  Engine& e = **opened;
  ASSERT_OK(e.OpenReadModels());
  ASSERT_OK(e.Start());

  auto receive = [&](const std::string& id, const std::string& body) {
    std::promise<Result<engine::InboundOutcome>> got;
    e.inbound->ReceiveAsync(
        testing::OrphanReply(id, body),
        [](std::function<void()> work) { std::thread(std::move(work)).detach(); },
        [&](Result<engine::InboundOutcome> r) { got.set_value(std::move(r)); });
    auto f = got.get_future();
    EXPECT_EQ(f.wait_for(30s), std::future_status::ready);
    return f.get();
  };
  const std::string vague = "hmm, we will see";
  auto rules_alone = engine::ClassifyReply(*e.registry->Get("business-owners")->workflow, vague);
  ASSERT_NE(rules_alone.reply_class, ReplyClass::kNegative) << "the test needs a disagreement";

  auto negative = receive("m-1", vague);
  ASSERT_OK(negative);
  EXPECT_EQ(negative->classification, "NEGATIVE");  // the model's
  auto stop = receive("m-2", "STOP");
  ASSERT_OK(stop);
  EXPECT_EQ(stop->classification, "OPT_OUT");  // never lost to the model
  auto slow = receive("m-3", "slow model");
  ASSERT_OK(slow);
  EXPECT_EQ(slow->classification,
            workflows::ReplyClassName(
                engine::ClassifyReply(*e.registry->Get("business-owners")->workflow, "slow model")
                    .reply_class));

  std::lock_guard lock(model->mu);
  ASSERT_EQ(model->threads.size(), 3u);
  for (const auto& id : model->threads) EXPECT_NE(id, std::this_thread::get_id());
}

}  // namespace
}  // namespace nextier::app
