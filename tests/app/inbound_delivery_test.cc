// A webhook delivery is processed once whether it repeats its message id or its delivery id,
// including deliveries stored before the delivery id became an idempotency key (older versions
// kept it as a stream "delivery-<id>" holding the outcome).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "in_process_engine.h"
#include "testing/testing.h"

namespace nextier::app {
namespace {

namespace es = eventstore;

class InboundDeliveryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto opened = Engine::Open(testing::InProcessOptions(dir_.str()));
    ASSERT_OK(opened);
    engine_ = std::move(opened).value();
    ASSERT_OK(engine_->OpenReadModels());
    ASSERT_OK(engine_->Start());
  }
  Engine& e() { return *engine_; }

  static engine::InboundReply Reply(const std::string& message_id, const std::string& delivery_id,
                                    const std::string& body) {
    engine::InboundReply r = testing::OrphanReply(message_id, body);
    r.delivery_id = delivery_id;
    return r;
  }

  nextier::testing::TempDir dir_;
  std::unique_ptr<Engine> engine_;
};

TEST_F(InboundDeliveryTest, ARepeatOfEitherIdIsAnsweredFromTheFirstAndStoresNothing) {
  auto first = e().inbound->Receive(Reply("m-1", "d-1", "Who is this?"));
  ASSERT_OK(first);
  EXPECT_FALSE(first->duplicate);
  EXPECT_EQ(first->classification, "QUESTION");
  const uint64_t head = e().store->Head();

  // The same delivery under another message id, with another text: the first answer.
  auto same_delivery = e().inbound->Receive(Reply("m-2", "d-1", "STOP"));
  ASSERT_OK(same_delivery);
  EXPECT_TRUE(same_delivery->duplicate);
  EXPECT_EQ(same_delivery->classification, "QUESTION");
  // The same message under another delivery id.
  auto same_message = e().inbound->Receive(Reply("m-1", "d-2", "STOP"));
  ASSERT_OK(same_message);
  EXPECT_TRUE(same_message->duplicate);
  EXPECT_EQ(same_message->classification, "QUESTION");
  EXPECT_EQ(e().store->Head(), head) << "a repeat stores nothing";

  // Neither repeat claimed its new id: m-2 with a new delivery is a reply of its own.
  auto fresh = e().inbound->Receive(Reply("m-2", "d-3", "STOP"));
  ASSERT_OK(fresh);
  EXPECT_FALSE(fresh->duplicate);
  EXPECT_EQ(fresh->classification, "OPT_OUT");
}

TEST_F(InboundDeliveryTest, ADeliveryStoredByAnOlderVersionIsStillAnsweredOnce) {
  // What versions before the delivery key stored beside a reply.
  es::NewEvent legacy;
  auto o = legacy.builder().getPayload().initOpaque();
  o.setKind("inbound-delivery");
  const std::string summary = nlohmann::json{
      {"messageId", "m-old"},
      {"leadId", nullptr},
      {"classification", "NEGATIVE"},
      {"goldLabel", false}}.dump();
  o.setData(
      capnp::Data::Reader(reinterpret_cast<const capnp::byte*>(summary.data()), summary.size()));
  ASSERT_OK(e().store->Append(
      "delivery-d-old", es::ExpectedVersion::NoStream(),
      [&] {
        std::vector<es::NewEvent> v;
        v.push_back(std::move(legacy));
        return v;
      }(),
      "inbound:m-old"));
  const uint64_t head = e().store->Head();

  auto again = e().inbound->Receive(Reply("m-new", "d-old", "Who is this?"));
  ASSERT_OK(again);
  EXPECT_TRUE(again->duplicate);
  EXPECT_EQ(again->classification, "NEGATIVE");
  EXPECT_FALSE(again->lead_id.has_value());
  EXPECT_EQ(e().store->Head(), head);
}

}  // namespace
}  // namespace nextier::app
