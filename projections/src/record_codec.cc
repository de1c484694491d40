#include "record_codec.h"

namespace nextier::projections::codec {

std::string HexCursor(std::string_view key) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(key.size() * 2);
  for (unsigned char c : key) {
    out.push_back(kHex[c >> 4]);
    out.push_back(kHex[c & 15]);
  }
  return out;
}

bool ParseHexCursor(std::string_view cursor, std::string* key) {
  if (cursor.empty() || cursor.size() % 2 != 0 || cursor.size() > 1022) return false;
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  };
  key->clear();
  for (size_t i = 0; i < cursor.size(); i += 2) {
    const int hi = nibble(cursor[i]);
    const int lo = nibble(cursor[i + 1]);
    if (hi < 0 || lo < 0) return false;
    key->push_back(static_cast<char>(hi << 4 | lo));
  }
  return true;
}

}  // namespace nextier::projections::codec
