#include "nextier/engine/send_window.h"

#include <date/date.h>
#include <date/tz.h>
#include <phonenumbers/geocoding/phonenumber_offline_geocoder.h>
#include <phonenumbers/phonenumber.pb.h>
#include <phonenumbers/phonenumberutil.h>
#include <unicode/locid.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <utility>

namespace nextier::engine {
namespace {

using ::i18n::phonenumbers::PhoneNumber;
using ::i18n::phonenumbers::PhoneNumberOfflineGeocoder;
using ::i18n::phonenumbers::PhoneNumberUtil;
using Us = std::chrono::microseconds;
using SysUs = date::sys_time<Us>;
using LocalUs = date::local_time<Us>;

// ---------------------------------------------------------------------------------------------
// States.

struct StateInfo {
  std::string_view code;
  std::string_view name;  // as the geocoder writes it
  // The IANA zones the state spans, most populous first (at most four).
  std::array<std::string_view, 4> zones;
};

// Zone choices, where a state is split: FL's panhandle west of the Apalachicola is Central;
// TX's El Paso and Hudspeth counties are Mountain; IN's northwest and southwest corners are
// Central; KY's western half is Central; TN's Middle and West divisions (Nashville, Memphis,
// the larger part) are Central; MI's four Upper Peninsula counties on Wisconsin are Central
// (America/Menominee); KS, NE, ND and SD have a Mountain west; OR's Malheur County is Mountain;
// ID's panhandle is Pacific; NV's West Wendover is Mountain; AK's Aleutians west of 169.5W are
// Hawaii-Aleutian (America/Adak; Juneau, Sitka, Nome... keep Anchorage's clock). AZ is Phoenix
// (no DST) as the state law has it; the Navajo Nation's DST is not modelled.
constexpr StateInfo kStates[] = {
    {"AL", "Alabama", {"America/Chicago"}},
    {"AK", "Alaska", {"America/Anchorage", "America/Adak"}},
    {"AZ", "Arizona", {"America/Phoenix"}},
    {"AR", "Arkansas", {"America/Chicago"}},
    {"CA", "California", {"America/Los_Angeles"}},
    {"CO", "Colorado", {"America/Denver"}},
    {"CT", "Connecticut", {"America/New_York"}},
    {"DE", "Delaware", {"America/New_York"}},
    {"DC", "Washington D.C.", {"America/New_York"}},
    {"FL", "Florida", {"America/New_York", "America/Chicago"}},
    {"GA", "Georgia", {"America/New_York"}},
    {"HI", "Hawaii", {"Pacific/Honolulu"}},
    {"ID", "Idaho", {"America/Boise", "America/Los_Angeles"}},
    {"IL", "Illinois", {"America/Chicago"}},
    {"IN", "Indiana", {"America/Indiana/Indianapolis", "America/Chicago"}},
    {"IA", "Iowa", {"America/Chicago"}},
    {"KS", "Kansas", {"America/Chicago", "America/Denver"}},
    {"KY", "Kentucky", {"America/Kentucky/Louisville", "America/Chicago"}},
    {"LA", "Louisiana", {"America/Chicago"}},
    {"ME", "Maine", {"America/New_York"}},
    {"MD", "Maryland", {"America/New_York"}},
    {"MA", "Massachusetts", {"America/New_York"}},
    {"MI", "Michigan", {"America/Detroit", "America/Menominee"}},
    {"MN", "Minnesota", {"America/Chicago"}},
    {"MS", "Mississippi", {"America/Chicago"}},
    {"MO", "Missouri", {"America/Chicago"}},
    {"MT", "Montana", {"America/Denver"}},
    {"NE", "Nebraska", {"America/Chicago", "America/Denver"}},
    {"NV", "Nevada", {"America/Los_Angeles", "America/Denver"}},
    {"NH", "New Hampshire", {"America/New_York"}},
    {"NJ", "New Jersey", {"America/New_York"}},
    {"NM", "New Mexico", {"America/Denver"}},
    {"NY", "New York", {"America/New_York"}},
    {"NC", "North Carolina", {"America/New_York"}},
    {"ND", "North Dakota", {"America/Chicago", "America/Denver"}},
    {"OH", "Ohio", {"America/New_York"}},
    {"OK", "Oklahoma", {"America/Chicago"}},
    {"OR", "Oregon", {"America/Los_Angeles", "America/Boise"}},
    {"PA", "Pennsylvania", {"America/New_York"}},
    {"RI", "Rhode Island", {"America/New_York"}},
    {"SC", "South Carolina", {"America/New_York"}},
    {"SD", "South Dakota", {"America/Chicago", "America/Denver"}},
    {"TN", "Tennessee", {"America/Chicago", "America/New_York"}},
    {"TX", "Texas", {"America/Chicago", "America/Denver"}},
    {"UT", "Utah", {"America/Denver"}},
    {"VT", "Vermont", {"America/New_York"}},
    {"VA", "Virginia", {"America/New_York"}},
    {"WA", "Washington State", {"America/Los_Angeles"}},
    {"WV", "West Virginia", {"America/New_York"}},
    {"WI", "Wisconsin", {"America/Chicago"}},
    {"WY", "Wyoming", {"America/Denver"}},
    // Territories: libphonenumber gives them their own region, so they never come from a name.
    {"PR", "Puerto Rico", {"America/Puerto_Rico"}},
    {"VI", "U.S. Virgin Islands", {"America/St_Thomas"}},
    {"GU", "Guam", {"Pacific/Guam"}},
    {"MP", "Northern Mariana Islands", {"Pacific/Saipan"}},
    {"AS", "American Samoa", {"Pacific/Pago_Pago"}},
};

// Places the geocoder names without a state ("Philadelphia" is area code 445's description).
constexpr std::pair<std::string_view, std::string_view> kBarePlaces[] = {
    {"Philadelphia", "PA"},
    {"Washington State", "WA"},
    {"Washington D.C.", "DC"},
};

char AsciiUpper(char c) { return c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c; }

const StateInfo* FindState(std::string_view code) {
  if (code.size() != 2) return nullptr;
  const char upper[2] = {AsciiUpper(code[0]), AsciiUpper(code[1])};
  for (const StateInfo& s : kStates) {
    if (s.code == std::string_view(upper, 2)) return &s;
  }
  return nullptr;
}

// "New York, NY" -> NY, "California" -> CA, "Washington D.C." -> DC; "" for anything else
// ("United States" for toll-free and other non-geographic codes).
std::string_view StateOfPlace(std::string_view place) {
  for (const auto& [name, code] : kBarePlaces) {
    if (place == name) return code;
  }
  const size_t comma = place.rfind(", ");
  if (comma != std::string_view::npos) {
    const StateInfo* s = FindState(place.substr(comma + 2));
    return s != nullptr ? s->code : std::string_view();
  }
  for (const StateInfo& s : kStates) {
    if (s.name == place) return s.code;
  }
  return {};
}

const PhoneNumberUtil& PhoneUtil() {
  static const PhoneNumberUtil* const util = PhoneNumberUtil::GetInstance();
  return *util;
}

// The geocoder loads its data once and guards its lazily filled map cache with its own mutex
// (absl::Mutex in 8.12), so one shared, never destroyed instance serves every thread.
const PhoneNumberOfflineGeocoder& Geocoder() {
  static const PhoneNumberOfflineGeocoder* const geocoder = new PhoneNumberOfflineGeocoder();
  return *geocoder;
}

const icu::Locale& English() {
  static const icu::Locale* const locale = new icu::Locale("en", "US");
  return *locale;
}

// The state of one valid number of region US from its geocoded place; "" when unknown.
std::string_view GeocodedState(const PhoneNumber& number) {
  return StateOfPlace(Geocoder().GetDescriptionForNumber(number, English()));
}

// The region-level answer for a valid +1 number: a territory's own code, a US state from the
// geocoder, or "" (Canada, the Caribbean, non-geographic US codes).
std::string_view StateOfValidNumber(const PhoneNumber& number) {
  std::string region;
  PhoneUtil().GetRegionCodeForNumber(number, &region);
  if (region == "US") return GeocodedState(number);
  for (std::string_view territory : {"PR", "VI", "GU", "MP", "AS"}) {
    if (region == territory) return FindState(territory)->code;
  }
  return {};
}

// Area codes never cross state lines, but the geocoder's prefix data has strays (one exchange
// of New Jersey's 201 is described as "New York, NY"). So an area code's state is decided once,
// by a majority of fixed sample numbers, which makes the answer the same for every number of the
// code and for every order of calls, and lets AreaCodesForState agree with StateForPhone.
constexpr uint32_t kSampleSubscribers[] = {2345678, 7363100, 4567890, 8675309, 5554321};

// Index into kStates plus 2; 1 = decided, no state; 0 = not decided yet. Racing threads can
// only store the same value.
std::atomic<uint8_t> g_area_state[1000];

// The state decided for area code `area` (200..999), or "" when its samples name none.
std::string_view AreaCodeState(int area) {
  const uint8_t known = g_area_state[area].load(std::memory_order_relaxed);
  if (known != 0) return known == 1 ? std::string_view() : kStates[known - 2].code;
  int votes[std::size(kStates)] = {};
  int best = -1;
  for (uint32_t subscriber : kSampleSubscribers) {
    PhoneNumber number;
    number.set_country_code(1);
    number.set_national_number(static_cast<uint64_t>(area) * 10'000'000 + subscriber);
    if (!PhoneUtil().IsValidNumber(number)) continue;
    const StateInfo* s = FindState(StateOfValidNumber(number));
    if (s == nullptr) continue;
    const int i = static_cast<int>(s - kStates);
    ++votes[i];
    if (best < 0 || votes[i] > votes[best]) best = i;
  }
  g_area_state[area].store(best < 0 ? 1 : static_cast<uint8_t>(best + 2),
                           std::memory_order_relaxed);
  return best < 0 ? std::string_view() : kStates[best].code;
}

// ---------------------------------------------------------------------------------------------
// Time zones.

const date::time_zone* ZoneOrNull(const std::string& name) {
  try {
    return date::locate_zone(name);
  } catch (const std::exception&) {
    return nullptr;  // not in this system's tzdata
  }
}

Us TimeOfDayUs(const workflows::TimeOfDay& t) {
  return std::chrono::minutes(t.MinutesSinceMidnight());
}

// Whether local time-of-day `tod` is inside [start, end); a window whose end is before its
// start runs over midnight, and one whose ends are equal is never open.
bool InWindow(Us tod, Us start, Us end) {
  if (start < end) return start <= tod && tod < end;
  if (end < start) return tod >= start || tod < end;
  return false;
}

Us LocalTimeOfDay(const date::time_zone* zone, SysUs t) {
  const LocalUs local = zone->to_local(t);
  return local - date::floor<date::days>(local);
}

std::string FormatTimeOfDay(Us tod) {
  const auto minutes = std::chrono::duration_cast<std::chrono::minutes>(tod).count();
  char buf[8];
  std::snprintf(buf, sizeof buf, "%02d:%02d", static_cast<int>(minutes / 60),
                static_cast<int>(minutes % 60));
  return buf;
}

// How far ahead CheckSendWindow looks for an opening: any window that is not empty opens within
// a day and a bit in every single zone, so a week only runs out when the zones never agree.
constexpr auto kHorizon = date::days(8);

const date::time_zone* CarrierZone() {
  static const date::time_zone* const zone = date::locate_zone("America/Los_Angeles");
  return zone;
}

}  // namespace

std::string StateForPhone(std::string_view e164) {
  const PhoneNumberUtil& util = PhoneUtil();
  PhoneNumber number;
  if (util.Parse(std::string(e164), "US", &number) != PhoneNumberUtil::NO_PARSING_ERROR ||
      number.country_code() != 1 || !util.IsValidNumber(number)) {
    return "";
  }
  const uint64_t national = number.national_number();
  if (national >= 2'000'000'000 && national <= 9'999'999'999) {
    const std::string_view by_code = AreaCodeState(static_cast<int>(national / 10'000'000));
    if (!by_code.empty()) return std::string(by_code);
  }
  // No sample of the area code was valid or placed: the number's own place decides.
  return std::string(StateOfValidNumber(number));
}

std::vector<std::string> ZonesForState(std::string_view state) {
  std::vector<std::string> zones;
  if (const StateInfo* s = FindState(state)) {
    for (std::string_view z : s->zones) {
      if (!z.empty()) zones.emplace_back(z);
    }
  }
  return zones;
}

std::vector<std::string> AreaCodesForState(std::string_view state) {
  // Every area code's state, computed once (a few thousand geocoder calls, tens of ms); static
  // initialisation makes concurrent first callers wait for one computation.
  static const std::array<std::string_view, 1000>* const by_code = [] {
    auto* table = new std::array<std::string_view, 1000>();
    for (int area = 200; area <= 999; ++area) (*table)[area] = AreaCodeState(area);
    return table;
  }();
  std::vector<std::string> codes;
  const StateInfo* s = FindState(state);
  if (s == nullptr) return codes;
  for (int area = 200; area <= 999; ++area) {
    if ((*by_code)[area] == s->code) codes.push_back(std::to_string(area));
  }
  return codes;
}

SendWindow CheckSendWindow(Micros now, std::string_view e164, std::string_view address_state,
                           const workflows::QuietHours& hours) {
  SendWindow w;
  const std::string phone_state = e164.empty() ? std::string() : StateForPhone(e164);
  for (const auto& zone : ZonesForState(phone_state)) w.zones.push_back(zone);
  for (auto& zone : ZonesForState(address_state)) {
    if (std::find(w.zones.begin(), w.zones.end(), zone) == w.zones.end()) {
      w.zones.push_back(std::move(zone));
    }
  }
  if (w.zones.empty()) {
    // The area code, not the number: this reason is stored in clear (SmsSendFailed.reason).
    w.reason = "no time zone for the phone's area code (" +
               std::string(e164.substr(0, std::min<size_t>(e164.size(), 5))) +
               ") or address state \"" + std::string(address_state) + "\"";
    return w;
  }
  std::vector<const date::time_zone*> zones;
  for (const auto& name : w.zones) {
    const date::time_zone* zone = ZoneOrNull(name);
    if (zone == nullptr) {
      w.reason = "time zone " + name + " is not in the system's tzdata";
      return w;
    }
    zones.push_back(zone);
  }
  const Us start = TimeOfDayUs(hours.start);
  const Us end = TimeOfDayUs(hours.end);
  const std::string window = hours.start.ToString() + "-" + hours.end.ToString();
  if (start == end) {
    w.reason = "the sending window " + window + " is empty";
    return w;
  }
  w.known = true;

  const auto open_everywhere = [&](SysUs t) {
    for (const date::time_zone* zone : zones) {
      if (!InWindow(LocalTimeOfDay(zone, t), start, end)) return false;
    }
    return true;
  };
  const SysUs t0{Us(now)};
  if (open_everywhere(t0)) {
    w.open = true;
    return w;
  }
  for (size_t i = 0; i < zones.size(); ++i) {
    if (!InWindow(LocalTimeOfDay(zones[i], t0), start, end)) {
      w.reason = "quiet hours in " + w.zones[i] + " (" +
                 FormatTimeOfDay(LocalTimeOfDay(zones[i], t0)) + " local; sending " + window + ")";
      break;
    }
  }

  // The earliest instant open in every zone is one at which some zone's window opens: local
  // `start` (the earliest and the latest reading of an hour repeated by a DST fall-back; an
  // hour skipped by spring-forward resolves to the transition), or a DST transition itself,
  // which can jump a clock into the window. So those instants are the only candidates.
  const SysUs limit = t0 + kHorizon;
  std::vector<SysUs> candidates;
  for (const date::time_zone* zone : zones) {
    const auto first_day = date::floor<date::days>(zone->to_local(t0));
    for (auto day = first_day; day <= first_day + kHorizon; day += date::days(1)) {
      const LocalUs opening = LocalUs(day) + start;
      candidates.push_back(zone->to_sys(opening, date::choose::earliest));
      candidates.push_back(zone->to_sys(opening, date::choose::latest));
    }
    for (date::sys_info info = zone->get_info(t0); info.end < limit;
         info = zone->get_info(info.end)) {
      candidates.push_back(SysUs(info.end));
    }
  }
  std::sort(candidates.begin(), candidates.end());
  for (const SysUs t : candidates) {
    if (t < t0 || t > limit) continue;
    if (open_everywhere(t)) {
      w.opens_at = t.time_since_epoch().count();
      return w;
    }
  }
  // The zones' windows never overlap (only possible for zones far apart): never send.
  w.known = false;
  w.reason = "the sending window " + window + " is never open in all of the recipient's zones";
  return w;
}

std::string CarrierDayKey(Micros t) {
  const LocalUs local = CarrierZone()->to_local(SysUs{Us(t)});
  const date::year_month_day ymd{date::floor<date::days>(local)};
  char buf[16];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02u", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()));
  return buf;
}

Micros NextCarrierDayStart(Micros t) {
  const date::time_zone* zone = CarrierZone();
  const LocalUs local = zone->to_local(SysUs{Us(t)});
  const date::local_days next = date::floor<date::days>(local) + date::days(1);
  // Los Angeles changes its clocks at 02:00, so midnight always exists exactly once.
  return zone->to_sys(LocalUs(next), date::choose::earliest).time_since_epoch().count();
}

}  // namespace nextier::engine
