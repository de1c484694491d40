// Helpers shared by the event store tests.
#pragma once

#include <string>
#include <vector>

#include "nextier/eventstore/event_store.h"

namespace nextier::eventstore::testutil {

inline NewEvent Opaque(std::string_view kind, std::string_view data = {}) {
  NewEvent e;
  auto b = e.builder();
  auto o = b.getPayload().initOpaque();
  o.setKind(std::string(kind));
  o.setData(capnp::Data::Reader(reinterpret_cast<const capnp::byte*>(data.data()), data.size()));
  b.setActor("test");
  return e;
}

inline std::vector<NewEvent> Events(std::initializer_list<std::string_view> kinds) {
  std::vector<NewEvent> out;
  for (auto k : kinds) out.push_back(Opaque(k));
  return out;
}

struct Seen {
  uint64_t seq;
  std::string stream;
  uint64_t version;
  std::string kind;
};

inline std::vector<Seen> ReadAllEvents(EventStore& store, uint64_t from = 1) {
  std::vector<Seen> out;
  auto s = store.ReadAll(from, SIZE_MAX, [&](const EventView& ev) {
    auto e = ev.event();
    out.push_back({ev.seq(), e.getStreamId().cStr(), e.getStreamVersion(),
                   e.getPayload().getOpaque().getKind().cStr()});
    return true;
  });
  if (!s.ok()) throw std::runtime_error(s.ToString());
  return out;
}

}  // namespace nextier::eventstore::testutil
