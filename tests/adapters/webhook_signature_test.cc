// The SignalHouse webhook signature: HMAC-SHA256 of "timestamp.body" in lower-case hex, checked
// against answers computed elsewhere (Python's hmac), since the other tests sign with the same
// function they check.
#include <gtest/gtest.h>

#include <string>
#include <thread>

#include "nextier/adapters/api_webhooks.h"

namespace nextier::adapters {
namespace {

const std::string kStamp = "1764460800000";
const std::string kBody = R"({"event":"MESSAGE_RECEIVED"})";

TEST(WebhookSignatureTest, MatchesKnownAnswers) {
  EXPECT_EQ(WebhookSignature("whsec_test", kStamp, kBody),
            "5b7c33dcf1d1dbaa392e238906304035b1bacfdbd98eb731cbc067f024a36a40");
  EXPECT_EQ(WebhookSignature("another secret", kStamp, kBody),
            "81e70cb30c6370496ee030c7c708e84c4a220ad2b103e3261bdbf89bbf1e5321");
  EXPECT_EQ(WebhookSignature("whsec_test", "1", ""),
            "eb99cf7166ccb885ed83f41eccdd0c6f555a89a301d4ab8475e40f58c3b19443");
}

TEST(WebhookSignatureTest, AlternatingSecretsAndThreadsGiveTheSameAnswers) {
  // Each thread keeps a keyed context: a change of secret, and back, must re-key it.
  auto run = [](std::string* first, std::string* second, std::string* third) {
    *first = WebhookSignature("whsec_test", kStamp, kBody);
    *second = WebhookSignature("another secret", kStamp, kBody);
    *third = WebhookSignature("whsec_test", kStamp, kBody);
  };
  std::string a1, a2, a3, b1, b2, b3;
  std::thread t([&] { run(&b1, &b2, &b3); });
  run(&a1, &a2, &a3);
  t.join();
  for (const std::string* s : {&a1, &a3, &b1, &b3}) {
    EXPECT_EQ(*s, "5b7c33dcf1d1dbaa392e238906304035b1bacfdbd98eb731cbc067f024a36a40");
  }
  for (const std::string* s : {&a2, &b2}) {
    EXPECT_EQ(*s, "81e70cb30c6370496ee030c7c708e84c4a220ad2b103e3261bdbf89bbf1e5321");
  }
}

TEST(WebhookSignatureTest, AnyChangeOfTimestampOrBodyChangesIt) {
  const std::string base = WebhookSignature("whsec_test", kStamp, kBody);
  EXPECT_NE(WebhookSignature("whsec_test", "1764460800001", kBody), base);
  EXPECT_NE(WebhookSignature("whsec_test", kStamp, kBody + " "), base);
  // The dot separates: moving a character across it is another text.
  EXPECT_NE(WebhookSignature("whsec_test", "12", "3"), WebhookSignature("whsec_test", "1", "23"));
}

}  // namespace
}  // namespace nextier::adapters
