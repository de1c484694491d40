// When a text may go out: quiet hours in the recipient's local time, and the carrier's day.
//
// The recipient's time zones come from the number: libphonenumber's offline geocoder names the
// area code's place ("New York, NY", "California"), which is mapped to a US state, and a small
// table maps each state to the IANA zones it spans (Howard Hinnant's date/tz applies their
// rules, DST included). When a state spans zones (Florida, Texas, Indiana, Oregon, ...), the
// window must hold in every one of them. The lead's address state is a second opinion: its
// zones are added to the phone's. Unknown (no state from either) means never send.
//
// The carrier's day (the daily SMS cap) runs midnight to midnight in America/Los_Angeles.
//
// Thread-safety: every function may be called from any thread.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "nextier/engine/clock.h"
#include "nextier/workflows/workflow.h"

namespace nextier::engine {

// The two-letter US state (or "DC", "PR", ...) of an E.164 number's area code, from the
// geocoder; "" when the number is not a valid NANP number or its place is unknown.
std::string StateForPhone(std::string_view e164);

// The IANA zones a US state (two letters, any case) spans, most populous first; empty for an
// unknown state.
std::vector<std::string> ZonesForState(std::string_view state);

// Area codes (three digits, "212") whose geocoded state is `state`; empty when none.
std::vector<std::string> AreaCodesForState(std::string_view state);

struct SendWindow {
  bool open = false;  // a text may go out at `now`
  // false: never send. No zone could be found, or the window is empty (start == end), or the
  // recipient's zones are never all inside it at once (zones far apart, a short window).
  bool known = false;
  Micros opens_at = 0;  // when closed and known: the earliest time >= now it is open everywhere
  std::vector<std::string> zones;  // the zones that were checked
  std::string reason;              // when closed: why, for the log and the events
};

// Whether `now` falls inside `hours` (start inclusive, end exclusive) in every zone of the
// recipient (see the file comment), and if not, when it next does. A window whose end is
// before its start runs over midnight (22:00-02:00).
SendWindow CheckSendWindow(Micros now, std::string_view e164, std::string_view address_state,
                           const workflows::QuietHours& hours);

// The carrier's day of `t`: "2026-11-28" in America/Los_Angeles.
std::string CarrierDayKey(Micros t);
// The first instant of the carrier day after the one holding `t` (the next LA midnight), UTC.
Micros NextCarrierDayStart(Micros t);

}  // namespace nextier::engine
