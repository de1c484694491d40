#include "nextier/engine/send_window.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <thread>
#include <vector>

#include "testing/testing.h"

namespace nextier::engine {
namespace {

using ::testing::ElementsAre;

// Numbers libphonenumber 8.12 holds valid, one per place the tests need.
constexpr char kNewYork[] = "+12127363100";     // "New York, NY"
constexpr char kChicago[] = "+13122345678";     // "Chicago, IL"
constexpr char kDenver[] = "+13032345678";      // "Lakewood, CO"
constexpr char kPhoenix[] = "+16022345678";     // "Phoenix, AZ"
constexpr char kLosAngeles[] = "+13105551234";  // "California"
constexpr char kAlaska[] = "+19072345678";      // "Alaska"
constexpr char kHawaii[] = "+18082345678";      // "Kaneohe, HI"
constexpr char kMiami[] = "+13052345678";       // "Miami, FL"
constexpr char kToronto[] = "+14162345678";     // Canada

Micros At(const char* rfc3339) {
  auto t = ParseRfc3339(rfc3339);
  EXPECT_TRUE(t.ok()) << rfc3339;
  return t.ok() ? *t : 0;
}

workflows::QuietHours Hours(int start_hour, int start_minute, int end_hour, int end_minute) {
  workflows::QuietHours h;
  h.start = {start_hour, start_minute};
  h.end = {end_hour, end_minute};
  return h;
}

const workflows::QuietHours kDefaultHours;  // 08:00-21:00

// Expects `e164` to be open at `open_at` and closed one minute earlier, and closed at `closed_at`
// and open one minute earlier; opens_at answers the window's next start.
void ExpectBoundaries(const char* e164, const char* opens, const char* closes,
                      const char* next_open) {
  SCOPED_TRACE(e164);
  const Micros open_at = At(opens);
  const Micros minute = 60 * kMicrosPerSecond;

  SendWindow before = CheckSendWindow(open_at - minute, e164, "", kDefaultHours);
  EXPECT_TRUE(before.known);
  EXPECT_FALSE(before.open);
  EXPECT_EQ(before.opens_at, open_at);
  EXPECT_NE(before.reason, "");

  EXPECT_TRUE(CheckSendWindow(open_at, e164, "", kDefaultHours).open);

  const Micros closed_at = At(closes);
  EXPECT_TRUE(CheckSendWindow(closed_at - minute, e164, "", kDefaultHours).open);
  SendWindow after = CheckSendWindow(closed_at, e164, "", kDefaultHours);
  EXPECT_TRUE(after.known);
  EXPECT_FALSE(after.open);
  EXPECT_EQ(after.opens_at, At(next_open));
}

TEST(StateForPhoneTest, NamesTheStateOfTheAreaCode) {
  EXPECT_EQ(StateForPhone(kNewYork), "NY");
  EXPECT_EQ(StateForPhone("+16462345678"), "NY");  // "New York": the state's bare name
  EXPECT_EQ(StateForPhone("+17182345678"), "NY");  // "Brooklyn, NY"
  EXPECT_EQ(StateForPhone(kLosAngeles), "CA");
  EXPECT_EQ(StateForPhone(kAlaska), "AK");
  EXPECT_EQ(StateForPhone(kHawaii), "HI");
  EXPECT_EQ(StateForPhone("+15122345678"), "TX");
  EXPECT_EQ(StateForPhone("+19152345678"), "TX");
  EXPECT_EQ(StateForPhone(kMiami), "FL");
  EXPECT_EQ(StateForPhone(kChicago), "IL");
  EXPECT_EQ(StateForPhone("+12024561111"), "DC");  // "Washington D.C."
  EXPECT_EQ(StateForPhone("+12062345678"), "WA");  // "Washington State"
  EXPECT_EQ(StateForPhone("+17872345678"), "PR");  // its own region in libphonenumber
}

TEST(StateForPhoneTest, AreaCodeDecidesEvenWhereTheGeocoderStrays) {
  // The geocoder describes 201-631 as "New York, NY"; the area code is New Jersey's.
  EXPECT_EQ(StateForPhone("+12017363100"), "NJ");
  EXPECT_EQ(StateForPhone("+12016314321"), "NJ");
}

TEST(StateForPhoneTest, EmptyOutsideTheUsAndForInvalidNumbers) {
  EXPECT_EQ(StateForPhone(kToronto), "");
  EXPECT_EQ(StateForPhone("+16047361234"), "");   // Vancouver
  EXPECT_EQ(StateForPhone("+18002345678"), "");   // toll-free: "United States"
  EXPECT_EQ(StateForPhone("+442071234567"), "");  // London
  EXPECT_EQ(StateForPhone("+1212"), "");
  EXPECT_EQ(StateForPhone("+11234567890"), "");  // area code 123 does not exist
  EXPECT_EQ(StateForPhone("not a number"), "");
  EXPECT_EQ(StateForPhone(""), "");
}

TEST(ZonesForStateTest, SingleZoneStates) {
  EXPECT_THAT(ZonesForState("NY"), ElementsAre("America/New_York"));
  EXPECT_THAT(ZonesForState("ca"), ElementsAre("America/Los_Angeles"));
  EXPECT_THAT(ZonesForState("AZ"), ElementsAre("America/Phoenix"));
  EXPECT_THAT(ZonesForState("HI"), ElementsAre("Pacific/Honolulu"));
  EXPECT_THAT(ZonesForState("DC"), ElementsAre("America/New_York"));
  EXPECT_THAT(ZonesForState("PR"), ElementsAre("America/Puerto_Rico"));
}

TEST(ZonesForStateTest, SplitStatesListEveryZoneMostPopulousFirst) {
  EXPECT_THAT(ZonesForState("FL"), ElementsAre("America/New_York", "America/Chicago"));
  EXPECT_THAT(ZonesForState("TX"), ElementsAre("America/Chicago", "America/Denver"));
  EXPECT_THAT(ZonesForState("IN"), ElementsAre("America/Indiana/Indianapolis", "America/Chicago"));
  EXPECT_THAT(ZonesForState("OR"), ElementsAre("America/Los_Angeles", "America/Boise"));
  EXPECT_THAT(ZonesForState("ID"), ElementsAre("America/Boise", "America/Los_Angeles"));
  EXPECT_THAT(ZonesForState("AK"), ElementsAre("America/Anchorage", "America/Adak"));
  EXPECT_THAT(ZonesForState("KY"), ElementsAre("America/Kentucky/Louisville", "America/Chicago"));
  EXPECT_THAT(ZonesForState("TN"), ElementsAre("America/Chicago", "America/New_York"));
  EXPECT_THAT(ZonesForState("MI"), ElementsAre("America/Detroit", "America/Menominee"));
  for (const char* state : {"KS", "NE", "ND", "SD"}) {
    EXPECT_THAT(ZonesForState(state), ElementsAre("America/Chicago", "America/Denver")) << state;
  }
  EXPECT_THAT(ZonesForState("NV"), ElementsAre("America/Los_Angeles", "America/Denver"));
}

TEST(ZonesForStateTest, EmptyForUnknownStates) {
  EXPECT_TRUE(ZonesForState("").empty());
  EXPECT_TRUE(ZonesForState("XX").empty());
  EXPECT_TRUE(ZonesForState("ON").empty());
  EXPECT_TRUE(ZonesForState("NEW").empty());
}

TEST(ZonesForStateTest, EveryStatesZonesExistInTheSystemTzdata) {
  const char* states[] = {"AL", "AK", "AZ", "AR", "CA", "CO", "CT", "DE", "DC", "FL", "GA", "HI",
                          "ID", "IL", "IN", "IA", "KS", "KY", "LA", "ME", "MD", "MA", "MI", "MN",
                          "MS", "MO", "MT", "NE", "NV", "NH", "NJ", "NM", "NY", "NC", "ND", "OH",
                          "OK", "OR", "PA", "RI", "SC", "SD", "TN", "TX", "UT", "VT", "VA", "WA",
                          "WV", "WI", "WY", "PR", "VI", "GU", "MP", "AS"};
  for (const char* state : states) {
    const SendWindow w = CheckSendWindow(At("2026-06-15T12:00:00Z"), "", state, kDefaultHours);
    EXPECT_TRUE(w.known) << state << ": " << w.reason;
    EXPECT_EQ(w.zones, ZonesForState(state)) << state;
    EXPECT_FALSE(w.zones.empty()) << state;
  }
}

TEST(CheckSendWindowTest, EasternBoundaries) {
  ExpectBoundaries(kNewYork, "2026-01-15T08:00:00-05:00", "2026-01-15T21:00:00-05:00",
                   "2026-01-16T08:00:00-05:00");
}

TEST(CheckSendWindowTest, CentralBoundaries) {
  ExpectBoundaries(kChicago, "2026-01-15T08:00:00-06:00", "2026-01-15T21:00:00-06:00",
                   "2026-01-16T08:00:00-06:00");
}

TEST(CheckSendWindowTest, MountainBoundariesInSummer) {
  ExpectBoundaries(kDenver, "2026-07-15T08:00:00-06:00", "2026-07-15T21:00:00-06:00",
                   "2026-07-16T08:00:00-06:00");
}

TEST(CheckSendWindowTest, ArizonaKeepsStandardTimeInSummer) {
  // Phoenix is UTC-7 all year: in July 08:00 there is 15:00Z, an hour after Denver's.
  ExpectBoundaries(kPhoenix, "2026-07-15T08:00:00-07:00", "2026-07-15T21:00:00-07:00",
                   "2026-07-16T08:00:00-07:00");
}

TEST(CheckSendWindowTest, PacificBoundaries) {
  ExpectBoundaries(kLosAngeles, "2026-07-15T08:00:00-07:00", "2026-07-15T21:00:00-07:00",
                   "2026-07-16T08:00:00-07:00");
}

TEST(CheckSendWindowTest, HawaiiBoundaries) {
  ExpectBoundaries(kHawaii, "2026-07-15T08:00:00-10:00", "2026-07-15T21:00:00-10:00",
                   "2026-07-16T08:00:00-10:00");
}

TEST(CheckSendWindowTest, AlaskaWaitsForTheAleutiansToo) {
  // Alaska spans Anchorage and Adak (an hour behind): open 09:00-21:00 Anchorage time.
  ExpectBoundaries(kAlaska, "2026-01-15T09:00:00-09:00", "2026-01-15T21:00:00-09:00",
                   "2026-01-16T09:00:00-09:00");
  const SendWindow w = CheckSendWindow(At("2026-01-15T08:30:00-09:00"), kAlaska, "", kDefaultHours);
  EXPECT_THAT(w.zones, ElementsAre("America/Anchorage", "America/Adak"));
  EXPECT_NE(w.reason.find("America/Adak"), std::string::npos) << w.reason;
}

TEST(CheckSendWindowTest, SpringForwardDay) {
  // 2026-03-08: New York goes from EST to EDT at 02:00.
  ExpectBoundaries(kNewYork, "2026-03-08T08:00:00-04:00", "2026-03-08T21:00:00-04:00",
                   "2026-03-09T08:00:00-04:00");
  // Closed the evening before (EST): opens at 08:00 EDT, 23 hours' worth of instants later.
  const SendWindow w =
      CheckSendWindow(At("2026-03-07T21:30:00-05:00"), kNewYork, "", kDefaultHours);
  EXPECT_FALSE(w.open);
  EXPECT_EQ(w.opens_at, At("2026-03-08T12:00:00Z"));
}

TEST(CheckSendWindowTest, FallBackDay) {
  // 2026-11-01: New York goes from EDT back to EST at 02:00.
  const SendWindow w =
      CheckSendWindow(At("2026-10-31T22:00:00-04:00"), kNewYork, "", kDefaultHours);
  EXPECT_FALSE(w.open);
  EXPECT_EQ(w.opens_at, At("2026-11-01T13:00:00Z"));  // 08:00 EST
  ExpectBoundaries(kNewYork, "2026-11-01T08:00:00-05:00", "2026-11-01T21:00:00-05:00",
                   "2026-11-02T08:00:00-05:00");
}

TEST(CheckSendWindowTest, StartInsideTheSkippedHourOpensAtTheTransition) {
  // 02:30 does not exist on 2026-03-08 in New York: the clock jumps from 02:00 EST to 03:00 EDT.
  const SendWindow w =
      CheckSendWindow(At("2026-03-08T01:00:00-05:00"), kNewYork, "", Hours(2, 30, 21, 0));
  EXPECT_FALSE(w.open);
  EXPECT_EQ(w.opens_at, At("2026-03-08T07:00:00Z"));
  EXPECT_TRUE(CheckSendWindow(w.opens_at, kNewYork, "", Hours(2, 30, 21, 0)).open);
}

TEST(CheckSendWindowTest, CustomHoursAndMidnightCrossingWindow) {
  const workflows::QuietHours h = Hours(9, 30, 17, 45);
  EXPECT_FALSE(CheckSendWindow(At("2026-01-15T09:29:59-05:00"), kNewYork, "", h).open);
  EXPECT_TRUE(CheckSendWindow(At("2026-01-15T09:30:00-05:00"), kNewYork, "", h).open);
  EXPECT_TRUE(CheckSendWindow(At("2026-01-15T17:44:59-05:00"), kNewYork, "", h).open);
  EXPECT_FALSE(CheckSendWindow(At("2026-01-15T17:45:00-05:00"), kNewYork, "", h).open);

  const workflows::QuietHours night = Hours(22, 0, 2, 0);
  EXPECT_TRUE(CheckSendWindow(At("2026-01-15T23:00:00-05:00"), kNewYork, "", night).open);
  EXPECT_TRUE(CheckSendWindow(At("2026-01-16T01:59:00-05:00"), kNewYork, "", night).open);
  const SendWindow w = CheckSendWindow(At("2026-01-16T02:00:00-05:00"), kNewYork, "", night);
  EXPECT_FALSE(w.open);
  EXPECT_EQ(w.opens_at, At("2026-01-16T22:00:00-05:00"));
}

TEST(CheckSendWindowTest, MultiZoneStateMustBeOpenInEveryZone) {
  // Florida spans Eastern and Central: 08:30 in Miami is 07:30 in the panhandle.
  SendWindow w = CheckSendWindow(At("2026-01-15T08:30:00-05:00"), kMiami, "", kDefaultHours);
  EXPECT_TRUE(w.known);
  EXPECT_FALSE(w.open);
  EXPECT_THAT(w.zones, ElementsAre("America/New_York", "America/Chicago"));
  EXPECT_EQ(w.opens_at, At("2026-01-15T09:00:00-05:00"));
  EXPECT_NE(w.reason.find("America/Chicago"), std::string::npos) << w.reason;

  EXPECT_TRUE(CheckSendWindow(At("2026-01-15T20:59:00-05:00"), kMiami, "", kDefaultHours).open);
  // 21:00 in Miami is still 20:00 in Pensacola, but Miami is closed.
  w = CheckSendWindow(At("2026-01-15T21:00:00-05:00"), kMiami, "", kDefaultHours);
  EXPECT_FALSE(w.open);
  EXPECT_EQ(w.opens_at, At("2026-01-16T09:00:00-05:00"));
}

TEST(CheckSendWindowTest, AddressStateIsASecondOpinion) {
  // A New York number whose owner lives in California: both must be in hours.
  SendWindow w = CheckSendWindow(At("2026-01-15T10:00:00-05:00"), kNewYork, "CA", kDefaultHours);
  EXPECT_THAT(w.zones, ElementsAre("America/New_York", "America/Los_Angeles"));
  EXPECT_FALSE(w.open);
  EXPECT_EQ(w.opens_at, At("2026-01-15T08:00:00-08:00"));
  EXPECT_TRUE(CheckSendWindow(At("2026-01-15T12:00:00-05:00"), kNewYork, "ca", kDefaultHours).open);

  // The same state twice checks its zone once.
  w = CheckSendWindow(At("2026-01-15T12:00:00-05:00"), kNewYork, "NY", kDefaultHours);
  EXPECT_THAT(w.zones, ElementsAre("America/New_York"));

  // A number with no US state leaves the address alone to decide.
  w = CheckSendWindow(At("2026-01-15T12:00:00-05:00"), kToronto, "TX", kDefaultHours);
  EXPECT_TRUE(w.known);
  EXPECT_TRUE(w.open);
  EXPECT_THAT(w.zones, ElementsAre("America/Chicago", "America/Denver"));
}

TEST(CheckSendWindowTest, UnknownZoneNeverSends) {
  for (const char* e164 : {kToronto, "+18002345678", "+1212", ""}) {
    const SendWindow w = CheckSendWindow(At("2026-01-15T12:00:00-05:00"), e164, "", kDefaultHours);
    EXPECT_FALSE(w.known) << e164;
    EXPECT_FALSE(w.open) << e164;
    EXPECT_TRUE(w.zones.empty()) << e164;
    EXPECT_NE(w.reason.find("no time zone"), std::string::npos) << w.reason;
  }
  EXPECT_FALSE(
      CheckSendWindow(At("2026-01-15T12:00:00-05:00"), kToronto, "ZZ", kDefaultHours).known);
}

TEST(CheckSendWindowTest, EmptyWindowNeverSends) {
  const SendWindow w =
      CheckSendWindow(At("2026-01-15T12:00:00-05:00"), kNewYork, "", Hours(9, 0, 9, 0));
  EXPECT_FALSE(w.known);
  EXPECT_FALSE(w.open);
}

TEST(CheckSendWindowTest, ZonesThatNeverAgreeNeverSend) {
  // Guam is 15 hours ahead of New York: a three-hour window never overlaps.
  const SendWindow w =
      CheckSendWindow(At("2026-01-15T12:00:00-05:00"), kNewYork, "GU", Hours(9, 0, 12, 0));
  EXPECT_FALSE(w.known);
  EXPECT_FALSE(w.open);
}

TEST(CarrierDayTest, TurnsAtLosAngelesMidnight) {
  EXPECT_EQ(CarrierDayKey(At("2026-11-28T07:59:59Z")), "2026-11-27");  // 23:59:59 PST
  EXPECT_EQ(CarrierDayKey(At("2026-11-28T08:00:00Z")), "2026-11-28");
  EXPECT_EQ(CarrierDayKey(At("2026-07-04T06:59:59Z")), "2026-07-03");  // 23:59:59 PDT
  EXPECT_EQ(CarrierDayKey(At("2026-07-04T07:00:00Z")), "2026-07-04");
  EXPECT_EQ(NextCarrierDayStart(At("2026-11-28T07:59:59Z")), At("2026-11-28T08:00:00Z"));
  EXPECT_EQ(NextCarrierDayStart(At("2026-11-28T08:00:00Z")), At("2026-11-29T08:00:00Z"));
}

TEST(CarrierDayTest, DaysAcrossDstChanges) {
  // 2026-03-08 has 23 hours in Los Angeles, 2026-11-01 has 25.
  EXPECT_EQ(CarrierDayKey(At("2026-03-08T08:00:00Z")), "2026-03-08");
  EXPECT_EQ(NextCarrierDayStart(At("2026-03-08T08:00:00Z")), At("2026-03-09T07:00:00Z"));
  EXPECT_EQ(CarrierDayKey(At("2026-03-09T06:59:59Z")), "2026-03-08");
  EXPECT_EQ(CarrierDayKey(At("2026-03-09T07:00:00Z")), "2026-03-09");

  EXPECT_EQ(CarrierDayKey(At("2026-11-01T07:00:00Z")), "2026-11-01");
  EXPECT_EQ(NextCarrierDayStart(At("2026-11-01T07:00:00Z")), At("2026-11-02T08:00:00Z"));
  EXPECT_EQ(CarrierDayKey(At("2026-11-02T07:59:59Z")), "2026-11-01");
  EXPECT_EQ(CarrierDayKey(At("2026-11-02T08:00:00Z")), "2026-11-02");
}

TEST(AreaCodesForStateTest, ListsTheStatesCodes) {
  const std::vector<std::string> ny = AreaCodesForState("NY");
  for (const char* code : {"212", "646", "718", "917", "516", "315"}) {
    EXPECT_NE(std::find(ny.begin(), ny.end(), code), ny.end()) << code;
  }
  EXPECT_EQ(std::find(ny.begin(), ny.end(), "201"), ny.end());  // New Jersey
  const std::vector<std::string> ca = AreaCodesForState("ca");
  for (const char* code : {"310", "213", "415", "909"}) {
    EXPECT_NE(std::find(ca.begin(), ca.end(), code), ca.end()) << code;
  }
  EXPECT_EQ(AreaCodesForState("DC"), (std::vector<std::string>{"202", "771"}));  // 771: overlay
  EXPECT_TRUE(AreaCodesForState("XX").empty());
  EXPECT_TRUE(AreaCodesForState("ON").empty());  // Canada has no US state
}

TEST(AreaCodesForStateTest, EveryCodeMapsBackToItsState) {
  for (const char* state : {"NY", "CA", "TX", "FL", "AK", "HI", "NJ"}) {
    const std::vector<std::string> codes = AreaCodesForState(state);
    EXPECT_FALSE(codes.empty()) << state;
    for (const std::string& code : codes) {
      // Some exchanges are unassigned; one of a few must be a valid number of the state.
      std::string found;
      for (const char* rest : {"2345678", "7363100", "4567890", "8675309"}) {
        found = StateForPhone("+1" + code + rest);
        if (!found.empty()) break;
      }
      EXPECT_EQ(found, state) << code;
    }
  }
}

TEST(SendWindowThreadsTest, ConcurrentFirstCallsAgree) {
  // The geocoder, the area-code table and the tz database are all first touched here by several
  // threads at once (in this process, tests before this one may have warmed some of them).
  std::vector<std::vector<std::string>> codes(4);
  std::vector<std::string> states(4);
  bool open[4] = {};  // not vector<bool>: its elements share bytes
  std::vector<std::thread> threads;
  for (size_t i = 0; i < 4; ++i) {
    threads.emplace_back([&codes, &states, &open, i] {
      codes[i] = AreaCodesForState("TX");
      states[i] = StateForPhone(kMiami);
      open[i] = CheckSendWindow(At("2026-01-15T12:00:00-05:00"), kMiami, "", kDefaultHours).open;
    });
  }
  for (std::thread& t : threads) t.join();
  for (size_t i = 0; i < 4; ++i) {
    EXPECT_EQ(codes[i], codes[0]);
    EXPECT_EQ(states[i], "FL");
    EXPECT_TRUE(open[i]);
  }
  EXPECT_FALSE(codes[0].empty());
}

}  // namespace
}  // namespace nextier::engine
