// A projection for tests: counts events per stream and remembers every seq it applied, failing
// loudly when an event arrives twice or out of order, or at an injected seq. The seqs are kept
// in memory during a batch and written by Flush, so a runner that forgot to Flush before its
// commit, or to Discard a batch it did not commit, fails the tests too.
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "nextier/eventstore/event_store.h"
#include "nextier/projections/projection.h"
#include "nextier/projections/read_model_store.h"

namespace nextier::projections::testutil {

class CountingProjection final : public Projection {
 public:
  static std::unique_ptr<CountingProjection> Open(ReadModelStore& store,
                                                  std::string name = "counting",
                                                  uint32_t version = 1) {
    std::unique_ptr<CountingProjection> p(new CountingProjection(std::move(name), version));
    p->streams_ = *store.OpenTable(p->name_ + ".streams");
    p->seen_ = *store.OpenTable(p->name_ + ".seen");
    p->meta_ = *store.OpenTable(p->name_ + ".meta");
    return p;
  }

  std::string_view name() const override { return name_; }
  uint32_t version() const override { return version_; }
  std::vector<Table> tables() const override { return {streams_, seen_, meta_}; }

  Status Apply(Txn& txn, const eventstore::EventView& ev) override {
    if (ev.seq() == fail_at.load()) return Status(fail_code.load(), "injected failure");
    const std::string seq = Be64(ev.seq());
    std::string_view v;
    if (txn.Get(seen_, seq, &v).ok()) {
      return Status::Internal("event " + std::to_string(ev.seq()) + " applied twice");
    }
    if (txn.Get(meta_, "last", &v).ok() && GetBe64(v.data()) >= ev.seq()) {
      return Status::Internal("event " + std::to_string(ev.seq()) + " out of order");
    }
    for (const std::string& p : pending_seen_) {
      if (p == seq) return Status::Internal("event " + std::to_string(ev.seq()) + " applied twice");
    }
    pending_seen_.push_back(seq);
    NEXTIER_RETURN_IF_ERROR(txn.Put(meta_, "last", seq));
    const std::string stream = ev.event().getStreamId().cStr();
    uint64_t n = 0;
    if (txn.Get(streams_, stream, &v).ok()) n = GetBe64(v.data());
    return txn.Put(streams_, stream, Be64(n + 1));
  }

  Status Flush(Txn& txn) override {
    if (fail_flush.load()) return Status::Internal("injected flush failure");
    for (const std::string& seq : pending_seen_) NEXTIER_RETURN_IF_ERROR(txn.Put(seen_, seq, ""));
    pending_seen_.clear();
    return Status::Ok();
  }
  void Discard() override { pending_seen_.clear(); }

  // The per-stream counts and the applied seqs as stored.
  struct Snapshot {
    std::map<std::string, uint64_t> streams;
    std::vector<uint64_t> seen;
  };
  Snapshot Read(ReadModelStore& store) const {
    Snapshot s;
    auto txn = store.BeginRead();
    (void)txn->Scan(streams_, {}, {}, [&](std::string_view k, std::string_view v) {
      s.streams[std::string(k)] = GetBe64(v.data());
      return true;
    });
    (void)txn->Scan(seen_, {}, {}, [&](std::string_view k, std::string_view) {
      s.seen.push_back(GetBe64(k.data()));
      return true;
    });
    return s;
  }

  // Applying the event at fail_at fails with fail_code (0: never); the runner's thread reads
  // them while tests change them.
  std::atomic<uint64_t> fail_at{0};
  std::atomic<StatusCode> fail_code{StatusCode::kInternal};
  // Flush fails (Internal) while set.
  std::atomic<bool> fail_flush{false};

 private:
  CountingProjection(std::string name, uint32_t version)
      : name_(std::move(name)), version_(version) {}
  std::string name_;
  uint32_t version_;
  Table streams_, seen_, meta_;
  std::vector<std::string> pending_seen_;  // this batch's seqs, written by Flush
};

// What CountingProjection should hold after applying events 1..up_to of `log`.
inline CountingProjection::Snapshot ExpectedCounts(eventstore::EventStore& log, uint64_t up_to) {
  CountingProjection::Snapshot s;
  if (up_to == 0) return s;
  auto st = log.ReadAll(1, up_to, [&](const eventstore::EventView& ev) {
    ++s.streams[ev.event().getStreamId().cStr()];
    s.seen.push_back(ev.seq());
    return true;
  });
  if (!st.ok()) throw std::runtime_error(st.ToString());
  return s;
}

inline eventstore::NewEvent Opaque(std::string_view kind) {
  eventstore::NewEvent e;
  auto b = e.builder();
  b.getPayload().initOpaque().setKind(std::string(kind));
  b.setActor("test");
  return e;
}

// Every row of every table named, as (table, key) -> value.
inline std::map<std::pair<std::string, std::string>, std::string> Dump(
    ReadModelStore& store, const std::vector<std::string>& tables) {
  std::map<std::pair<std::string, std::string>, std::string> out;
  std::vector<Table> handles;
  for (const auto& name : tables) handles.push_back(*store.OpenTable(name));
  auto txn = store.BeginRead();
  for (size_t i = 0; i < tables.size(); ++i) {
    const std::string& name = tables[i];
    (void)txn->Scan(handles[i], {}, {}, [&](std::string_view k, std::string_view v) {
      out[{name, std::string(k)}] = std::string(v);
      return true;
    });
  }
  return out;
}

}  // namespace nextier::projections::testutil
