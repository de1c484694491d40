// Text helpers shared by the workflows library (private).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace nextier::workflows::internal {

// Decodes the code point at `i` and advances `i` past it. An invalid or truncated sequence
// yields U+FFFD, advances one byte and clears `valid`.
char32_t NextCodePoint(std::string_view s, std::size_t& i, bool& valid);

bool IsValidUtf8(std::string_view s);
std::size_t CountCodePoints(std::string_view s);

// ASCII lowercase; other bytes unchanged.
std::string AsciiLower(std::string_view s);

// How matching.h reads a name or title, as a list of words (see matching.h).
inline bool IsWordByte(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c >= 0x80;
}
inline bool IsDroppedByte(unsigned char c) { return c == '.' || c == '\''; }
inline char LowerByte(unsigned char c) {
  return static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
}
std::vector<std::string> PhraseWords(std::string_view s);

}  // namespace nextier::workflows::internal
