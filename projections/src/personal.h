// Opening a sealed Personal message at query time. Private to the projections library.
#pragma once

#include <string_view>

#include "nextier/eventstore/event_store.h"
#include "nextier/eventstore/personal.h"

namespace nextier::projections::personal {

// Opens `sealed` under `subject` and hands the Personal to `fn`; false when it cannot be read
// (forgotten key, corrupt bytes).
template <typename Fn>
bool Open(eventstore::KeyRing& keys, std::string_view subject, std::string_view sealed, Fn&& fn) {
  if (sealed.empty() || subject.empty()) return false;
  auto plain = keys.Open(subject, sealed);
  if (!plain.ok()) return false;
  return eventstore::ReadPersonal(*plain, fn).ok();
}

}  // namespace nextier::projections::personal
