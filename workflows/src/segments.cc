#include "nextier/workflows/segments.h"

#include <vector>

#include "text.h"

namespace nextier::workflows {
namespace {

// Non-ASCII characters of the GSM 03.38 default alphabet.
constexpr char32_t kGsmBasicNonAscii[] = {
    0x00A3, 0x00A5, 0x00E8, 0x00E9, 0x00F9, 0x00EC, 0x00F2, 0x00C7, 0x00D8, 0x00F8,
    0x00C5, 0x00E5, 0x0394, 0x03A6, 0x0393, 0x039B, 0x03A9, 0x03A0, 0x03A8, 0x03A3,
    0x0398, 0x039E, 0x00C6, 0x00E6, 0x00DF, 0x00C9, 0x00A4, 0x00A1, 0x00C4, 0x00D6,
    0x00D1, 0x00DC, 0x00A7, 0x00BF, 0x00E4, 0x00F6, 0x00F1, 0x00FC, 0x00E0,
};

// Septets a character takes in GSM-7: 1 (default alphabet), 2 (extension table, sent as
// ESC + char) or 0 when GSM-7 cannot carry it.
int GsmSeptets(char32_t c) {
  if (c < 0x80) {
    switch (c) {
      case '\n':
      case '\r':
        return 1;
      case '\f':
      case '^':
      case '{':
      case '}':
      case '\\':
      case '[':
      case ']':
      case '~':
      case '|':
        return 2;
      case '`':
        return 0;
      default:
        return c >= 0x20 && c < 0x7F ? 1 : 0;
    }
  }
  if (c == 0x20AC) return 2;  // €
  for (const char32_t g : kGsmBasicNonAscii) {
    if (g == c) return 1;
  }
  return 0;
}

// Segments needed for characters of the given unit costs, never splitting one character.
int Pack(const std::vector<int>& costs, int total, int single, int per_part) {
  if (total == 0) return 0;
  if (total <= single) return 1;
  int parts = 1;
  int used = 0;
  for (const int cost : costs) {
    if (used + cost > per_part) {
      ++parts;
      used = 0;
    }
    used += cost;
  }
  return parts;
}

}  // namespace

std::string_view SmsEncodingName(SmsEncoding encoding) {
  return encoding == SmsEncoding::kGsm7 ? "GSM-7" : "UCS-2";
}

SegmentInfo CountSegments(std::string_view utf8) {
  std::vector<char32_t> chars;
  chars.reserve(utf8.size());
  bool valid = true;
  for (std::size_t i = 0; i < utf8.size();)
    chars.push_back(internal::NextCodePoint(utf8, i, valid));

  std::vector<int> costs;
  costs.reserve(chars.size());
  bool gsm = true;
  for (const char32_t c : chars) {
    const int septets = GsmSeptets(c);
    if (septets == 0) {
      gsm = false;
      break;
    }
    costs.push_back(septets);
  }
  if (!gsm) {
    costs.clear();
    for (const char32_t c : chars) costs.push_back(c > 0xFFFF ? 2 : 1);
  }
  int total = 0;
  for (const int cost : costs) total += cost;

  SegmentInfo info;
  info.encoding = gsm ? SmsEncoding::kGsm7 : SmsEncoding::kUcs2;
  info.characters = total;
  info.segments = gsm ? Pack(costs, total, 160, 153) : Pack(costs, total, 70, 67);
  return info;
}

}  // namespace nextier::workflows
