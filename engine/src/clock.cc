#include "nextier/engine/clock.h"

#include <cctype>
#include <chrono>
#include <cstdio>
#include <ctime>

namespace nextier::engine {

Micros RealClock::Now() const {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

void SimulatedClock::AdvanceTo(Micros t) {
  Micros current = now_.load(std::memory_order_acquire);
  while (t > current && !now_.compare_exchange_weak(current, t, std::memory_order_acq_rel)) {
  }
}

std::string FormatRfc3339(Micros t) {
  const int64_t secs =
      t >= 0 ? t / kMicrosPerSecond : (t - kMicrosPerSecond + 1) / kMicrosPerSecond;
  const int64_t frac = t - secs * kMicrosPerSecond;
  std::time_t tt = static_cast<std::time_t>(secs);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[40];
  size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  std::string out(buf, n);
  if (frac != 0) {
    char f[16];
    std::snprintf(f, sizeof f, ".%06lld", static_cast<long long>(frac));
    out += f;
    while (out.back() == '0') out.pop_back();
  }
  out += 'Z';
  return out;
}

Result<Micros> ParseRfc3339(std::string_view text) {
  auto bad = [&] {
    return Status::InvalidArgument("'" + std::string(text) +
                                   "' is not an RFC 3339 time like 2026-11-28T14:00:00Z");
  };
  int y, mo, d, h, mi, s;
  char sep;
  int consumed = 0;
  std::string str(text);
  if (std::sscanf(str.c_str(), "%4d-%2d-%2d%c%2d:%2d:%2d%n", &y, &mo, &d, &sep, &h, &mi, &s,
                  &consumed) != 7 ||
      (sep != 'T' && sep != 't' && sep != ' ')) {
    return bad();
  }
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60) return bad();
  size_t pos = static_cast<size_t>(consumed);
  int64_t frac = 0;
  if (pos < str.size() && str[pos] == '.') {
    ++pos;
    int digits = 0;
    while (pos < str.size() && std::isdigit(static_cast<unsigned char>(str[pos]))) {
      if (digits < 6) frac = frac * 10 + (str[pos] - '0');
      ++digits;
      ++pos;
    }
    if (digits == 0) return bad();
    for (int i = digits; i < 6; ++i) frac *= 10;
  }
  int64_t offset = 0;
  if (pos < str.size() && (str[pos] == 'Z' || str[pos] == 'z')) {
    ++pos;
  } else if (pos + 6 == str.size() && (str[pos] == '+' || str[pos] == '-') && str[pos + 3] == ':') {
    int oh, om;
    if (std::sscanf(str.c_str() + pos + 1, "%2d:%2d", &oh, &om) != 2 || oh > 23 || om > 59) {
      return bad();
    }
    offset = (oh * 3600 + om * 60) * (str[pos] == '-' ? -1 : 1);
    pos += 6;
  } else {
    return bad();
  }
  if (pos != str.size()) return bad();
  // Days from civil (Howard Hinnant's algorithm).
  const int yy = mo <= 2 ? y - 1 : y;
  const int era = (yy >= 0 ? yy : yy - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(yy - era * 400);
  const unsigned doy = (153 * (mo + (mo > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  const int64_t days = static_cast<int64_t>(era) * 146097 + static_cast<int64_t>(doe) - 719468;
  const int64_t secs = days * 86400 + h * 3600 + mi * 60 + s - offset;
  return secs * kMicrosPerSecond + frac;
}

}  // namespace nextier::engine
