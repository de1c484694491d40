// Opening a sealed Personal message at query time. Private to the projections library.
#pragma once

#include <capnp/serialize.h>

#include <cstring>
#include <string_view>

#include "nextier/eventstore/event_store.h"

namespace nextier::projections::personal {

// Opens `sealed` under `subject` and hands the Personal to `fn`; false when it cannot be read
// (forgotten key, corrupt bytes).
template <typename Fn>
bool Open(eventstore::KeyRing& keys, std::string_view subject, std::string_view sealed, Fn&& fn) {
  if (sealed.empty() || subject.empty()) return false;
  auto plain = keys.Open(subject, sealed);
  if (!plain.ok() || plain->empty() || plain->size() % sizeof(capnp::word) != 0) return false;
  kj::Array<capnp::word> words = kj::heapArray<capnp::word>(plain->size() / sizeof(capnp::word));
  std::memcpy(words.begin(), plain->data(), plain->size());
  try {
    capnp::FlatArrayMessageReader reader(words);
    fn(reader.getRoot<eventstore::schema::Personal>());
  } catch (const kj::Exception&) {
    return false;
  }
  return true;
}

}  // namespace nextier::projections::personal
