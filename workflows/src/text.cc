#include "text.h"

namespace nextier::workflows::internal {

char32_t NextCodePoint(std::string_view s, std::size_t& i, bool& valid) {
  const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char b0 = byte(i);
  if (b0 < 0x80) {
    ++i;
    return b0;
  }
  int extra = 0;
  char32_t cp = 0;
  char32_t min = 0;
  if ((b0 & 0xE0) == 0xC0) {
    extra = 1;
    cp = b0 & 0x1F;
    min = 0x80;
  } else if ((b0 & 0xF0) == 0xE0) {
    extra = 2;
    cp = b0 & 0x0F;
    min = 0x800;
  } else if ((b0 & 0xF8) == 0xF0) {
    extra = 3;
    cp = b0 & 0x07;
    min = 0x10000;
  } else {
    ++i;
    valid = false;
    return 0xFFFD;
  }
  if (i + extra >= s.size()) {  // truncated
    ++i;
    valid = false;
    return 0xFFFD;
  }
  for (int k = 1; k <= extra; ++k) {
    const unsigned char b = byte(i + k);
    if ((b & 0xC0) != 0x80) {
      ++i;
      valid = false;
      return 0xFFFD;
    }
    cp = (cp << 6) | (b & 0x3F);
  }
  // Overlong forms, surrogates and values beyond Unicode are not UTF-8.
  if (cp < min || (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF) {
    ++i;
    valid = false;
    return 0xFFFD;
  }
  i += extra + 1;
  return cp;
}

bool IsValidUtf8(std::string_view s) {
  bool valid = true;
  for (std::size_t i = 0; i < s.size() && valid;) NextCodePoint(s, i, valid);
  return valid;
}

std::size_t CountCodePoints(std::string_view s) {
  std::size_t n = 0;
  bool valid = true;
  for (std::size_t i = 0; i < s.size(); ++n) NextCodePoint(s, i, valid);
  return n;
}

std::string AsciiLower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = LowerByte(static_cast<unsigned char>(c));
  return out;
}

std::vector<std::string> PhraseWords(std::string_view s) {
  std::vector<std::string> words;
  std::string current;
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (IsDroppedByte(c)) continue;
    if (IsWordByte(c)) {
      current.push_back(LowerByte(c));
    } else if (!current.empty()) {
      words.push_back(std::move(current));
      current.clear();
    }
  }
  if (!current.empty()) words.push_back(std::move(current));
  return words;
}

}  // namespace nextier::workflows::internal
