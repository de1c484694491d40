#include "nextier/engine/clock.h"

#include <gtest/gtest.h>

#include "testing/testing.h"

namespace nextier::engine {
namespace {

TEST(ClockTest, SimulatedClockMovesOnlyForward) {
  SimulatedClock clock(1000);
  EXPECT_EQ(clock.Now(), 1000);
  clock.AdvanceTo(5000);
  EXPECT_EQ(clock.Now(), 5000);
  clock.AdvanceTo(10);
  EXPECT_EQ(clock.Now(), 5000);
  EXPECT_TRUE(clock.simulated());
}

TEST(ClockTest, RealClockIsNearTheSystemTime) {
  RealClock clock;
  EXPECT_GT(clock.Now(), Micros{1'700'000'000} * kMicrosPerSecond);
  EXPECT_FALSE(clock.simulated());
}

TEST(ClockTest, FormatsAndParsesRfc3339InUtc) {
  auto t = ParseRfc3339("2026-11-28T14:00:00Z");
  ASSERT_OK(t);
  EXPECT_EQ(*t, Micros{1'795'874'400} * kMicrosPerSecond);
  EXPECT_EQ(FormatRfc3339(*t), "2026-11-28T14:00:00Z");
  auto offset = ParseRfc3339("2026-11-28T09:00:00-05:00");
  ASSERT_OK(offset);
  EXPECT_EQ(*offset, *t);
  auto frac = ParseRfc3339("2026-11-28T14:00:00.25Z");
  ASSERT_OK(frac);
  EXPECT_EQ(*frac - *t, 250'000);
  EXPECT_EQ(FormatRfc3339(*frac), "2026-11-28T14:00:00.25Z");
  EXPECT_EQ(FormatRfc3339(0), "1970-01-01T00:00:00Z");
  EXPECT_EQ(*ParseRfc3339("2024-02-29T23:59:59Z"), Micros{1'709'251'199} * kMicrosPerSecond);
}

TEST(ClockTest, RejectsMalformedTimesWithTheInput) {
  for (const char* bad :
       {"", "2026-11-28", "2026-13-01T00:00:00Z", "2026-11-28T14:00:00", "2026-11-28T14:00:00+0500",
        "yesterday", "2026-11-28T25:00:00Z", "2026-11-28T14:00:00Zjunk",
        // No day the calendar lacks, fixed widths, digits only.
        "2026-02-29T00:00:00Z", "2100-02-29T00:00:00Z", "2026-04-31T00:00:00Z",
        "2026-2-03T00:00:00Z", "+026-11-28T14:00:00Z", " 2026-11-28T14:00:00Z",
        "2026-11-28T-1:00:00Z", "2026-11-28T14:00:00+05:-1", "2026-11-28T14:00:00+ 5:00"}) {
    auto r = ParseRfc3339(bad);
    EXPECT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  }
}

}  // namespace
}  // namespace nextier::engine
