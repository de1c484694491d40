#include "nextier/adapters/logging.h"

#include <gtest/gtest.h>

namespace nextier::adapters {
namespace {

TEST(MaskPiiTest, MasksPhoneNumbersKeepingTheLastThreeDigits) {
  EXPECT_EQ(MaskPii("reply from +15164079249 received"), "reply from +********249 received");
  EXPECT_EQ(MaskPii("call (516) 407-9249 now"), "call (***) ***-*249 now");
  EXPECT_EQ(MaskPii("516.407.9249"), "***.***.*249");
}

TEST(MaskPiiTest, LeavesShortNumbersTimesAndIdsAlone) {
  EXPECT_EQ(MaskPii("batch 3 of 8, 250 leads at 14:05"), "batch 3 of 8, 250 leads at 14:05");
  EXPECT_EQ(MaskPii("lead NXT-000123 row 42"), "lead NXT-000123 row 42");
}

TEST(MaskPiiTest, MasksEmailAddresses) {
  EXPECT_EQ(MaskPii("gold: john.doe@gmail.com!"), "gold: j***@g***.com!");
  EXPECT_EQ(MaskPii("a@b.co and x_y@corp.example.org"), "a***@b***.co and x***@c***.org");
  EXPECT_EQ(MaskPii("not an address: @handle, me@localhost"),
            "not an address: @handle, me@localhost");
}

TEST(MaskPiiTest, MasksBothInOneMessage) {
  const std::string masked = MaskPii("lead +15551234567 gave sara@stone.com");
  EXPECT_EQ(masked.find("5551234567"), std::string::npos);
  EXPECT_EQ(masked.find("sara@stone.com"), std::string::npos);
}

}  // namespace
}  // namespace nextier::adapters
