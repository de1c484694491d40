// A small length-prefixed codec for read-model rows (private to the projections library).
// Format: fields written in a fixed order; strings as be32 length || bytes, integers as be64.
// The layout of each row is part of its projection's version().
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "nextier/eventstore/events.capnp.h"
#include "nextier/projections/read_model_store.h"

namespace nextier::projections::codec {

inline void PutU64(std::string& out, uint64_t v) {
  char b[8];
  PutBe64(v, b);
  out.append(b, 8);
}
inline void PutStr(std::string& out, std::string_view s) {
  const auto n = static_cast<uint32_t>(s.size());
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<char>(n >> shift));
  out.append(s);
}

// Reads fields back; any short read sets ok() false and yields zero values.
class Reader {
 public:
  explicit Reader(std::string_view in) : in_(in) {}
  uint64_t U64() {
    if (in_.size() < 8) return Bad(), 0;
    const uint64_t v = GetBe64(in_.data());
    in_.remove_prefix(8);
    return v;
  }
  std::string Str() {
    if (in_.size() < 4) return Bad(), std::string();
    uint32_t n = 0;
    for (int i = 0; i < 4; ++i) n = (n << 8) | static_cast<uint8_t>(in_[i]);
    in_.remove_prefix(4);
    if (in_.size() < n) return Bad(), std::string();
    std::string s(in_.substr(0, n));
    in_.remove_prefix(n);
    return s;
  }
  bool ok() const { return ok_; }
  bool done() const { return in_.empty(); }

 private:
  void Bad() {
    ok_ = false;
    in_ = {};
  }
  std::string_view in_;
  bool ok_ = true;
};

inline std::string_view ViewOf(capnp::Text::Reader t) {
  return std::string_view(t.cStr(), t.size());
}
inline std::string_view ViewOf(capnp::Data::Reader d) {
  return std::string_view(reinterpret_cast<const char*>(d.begin()), d.size());
}

// "lead-7" -> "7"; "" when `stream` does not start with `prefix`.
inline std::string_view IdFromStream(std::string_view stream, std::string_view prefix) {
  if (stream.substr(0, prefix.size()) != prefix) return {};
  return stream.substr(prefix.size());
}

// Opaque list cursors: hex of the last key returned.
std::string HexCursor(std::string_view key);
bool ParseHexCursor(std::string_view cursor, std::string* key);

}  // namespace nextier::projections::codec
