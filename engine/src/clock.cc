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
  // Fixed widths, digits only: YYYY-MM-DDTHH:MM:SS (sscanf would take signs, spaces and
  // single digits).
  const std::string str(text);
  auto num = [&](size_t at, size_t width, int* out) {
    if (at + width > str.size()) return false;
    int v = 0;
    for (size_t i = at; i < at + width; ++i) {
      if (str[i] < '0' || str[i] > '9') return false;
      v = v * 10 + (str[i] - '0');
    }
    *out = v;
    return true;
  };
  int y, mo, d, h, mi, s;
  if (!num(0, 4, &y) || !num(5, 2, &mo) || !num(8, 2, &d) || !num(11, 2, &h) || !num(14, 2, &mi) ||
      !num(17, 2, &s) || str[4] != '-' || str[7] != '-' ||
      (str[10] != 'T' && str[10] != 't' && str[10] != ' ') || str[13] != ':' || str[16] != ':') {
    return bad();
  }
  const bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (mo < 1 || mo > 12 || d < 1 || d > kDays[mo - 1] + (mo == 2 && leap ? 1 : 0) || h > 23 ||
      mi > 59 || s > 60) {
    return bad();
  }
  size_t pos = 19;
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
    if (!num(pos + 1, 2, &oh) || !num(pos + 4, 2, &om) || oh > 23 || om > 59) return bad();
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
