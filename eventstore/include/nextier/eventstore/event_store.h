// The event store: an append-only log of Cap'n Proto events, one stream per entity, with
// optimistic concurrency, idempotent appends, group commit, a hash chain, subscriptions, hot
// backup and per-subject encryption keys for personal data.
//
// `EventStore` is an interface so that the log can later live in another engine (see
// DESIGN.md, "beyond one machine"); `OpenLmdbEventStore` gives the LMDB implementation.
// Nothing above this layer may reach into LMDB for the log.
//
// Thread-safety: every method may be called from any thread concurrently. Appends are
// serialised on the store's single writer thread; reads run on the caller's thread in their own
// read transaction (MVCC) and never wait for the writer.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "nextier/common/status.h"
#include "nextier/eventstore/events.capnp.h"
#include "nextier/eventstore/key_ring.h"

namespace capnp {
class MallocMessageBuilder;
}

namespace nextier::eventstore {

using Hash = std::array<uint8_t, 32>;

// What an append expects of its stream's current version.
class ExpectedVersion {
 public:
  enum class Kind { kAny, kNoStream, kExact };
  static ExpectedVersion Any() { return ExpectedVersion(Kind::kAny, 0); }
  static ExpectedVersion NoStream() { return ExpectedVersion(Kind::kNoStream, 0); }
  // The stream's last version must be `version` (0 means the stream must not exist).
  static ExpectedVersion Exactly(uint64_t version) {
    return version == 0 ? NoStream() : ExpectedVersion(Kind::kExact, version);
  }
  Kind kind() const { return kind_; }
  uint64_t version() const { return version_; }
  std::string ToString() const;

 private:
  ExpectedVersion(Kind kind, uint64_t version) : kind_(kind), version_(version) {}
  Kind kind_;
  uint64_t version_;
};

// One event being written. The caller fills the payload and metadata through `builder()`; the
// store sets seq, streamId, streamVersion, type, tenant and prevHash. Movable, not copyable.
class NewEvent {
 public:
  NewEvent();
  // With a first segment of `first_segment_words` (8 bytes each) for events known to be large,
  // so they are built in one piece.
  explicit NewEvent(unsigned first_segment_words);
  ~NewEvent();
  NewEvent(NewEvent&&) noexcept;
  NewEvent& operator=(NewEvent&&) noexcept;

  schema::Event::Builder builder();
  capnp::MallocMessageBuilder& message() { return *message_; }

  // The data key KeyRing::SealNew(subject, plaintext, &key) made for this event's keySubject, or
  // empty. The store writes it to its keys database in the transaction that appends the event.
  std::string& fresh_key() { return fresh_key_; }

 private:
  std::unique_ptr<capnp::MallocMessageBuilder> message_;
  std::string fresh_key_;
};

// The events of one stream inside an append unit.
struct StreamAppend {
  std::string stream;
  ExpectedVersion expected = ExpectedVersion::Any();
  std::vector<NewEvent> events;
};

struct StreamResult {
  std::string stream;
  uint64_t first_version = 0;
  uint64_t last_version = 0;
};

struct AppendResult {
  uint64_t first_seq = 0;
  uint64_t last_seq = 0;
  std::vector<StreamResult> streams;
  // True when the idempotency key had been seen: this is the original result and nothing new
  // was written.
  bool duplicate = false;
};

// A stored event as read from the log. Valid only during the visitor call that receives it:
// the reader may point straight into LMDB's memory map.
class EventView {
 public:
  EventView(uint64_t seq, const uint8_t* hash, schema::Event::Reader event, std::string_view body)
      : seq_(seq), hash_(hash), event_(event), body_(body) {}
  uint64_t seq() const { return seq_; }
  // The SHA-256 of body() (which includes the previous event's hash).
  Hash hash() const;
  std::string HashHex() const;
  schema::Event::Reader event() const { return event_; }
  // The stored Cap'n Proto bytes the hash covers.
  std::string_view body() const { return body_; }

 private:
  uint64_t seq_;
  const uint8_t* hash_;
  schema::Event::Reader event_;
  std::string_view body_;
};

// Return false to stop the read early.
using EventVisitor = std::function<bool(const EventView&)>;

// A live follower of the global log; stops (and joins its thread) when destroyed.
class Subscription {
 public:
  virtual ~Subscription() = default;
  // The last seq handed to the callback.
  virtual uint64_t position() const = 0;
  // A non-ok status if the subscription stopped because of an error.
  virtual Status status() const = 0;
};

struct VerifyReport {
  bool ok = true;
  uint64_t events = 0;
  uint64_t streams = 0;
  Hash head_hash{};
  // The first bad global position (0 when ok), and what is wrong there.
  uint64_t first_bad = 0;
  std::string problem;
};

struct StoreStats {
  uint64_t head = 0;
  uint64_t appends = 0;     // append units acknowledged since open
  uint64_t events = 0;      // events written since open
  uint64_t commits = 0;     // write transactions committed since open
  uint64_t map_size = 0;    // bytes
  uint64_t used_bytes = 0;  // pages in use * page size
};

class EventStore {
 public:
  virtual ~EventStore() = default;

  // Appends `events` to `stream` as one unit. Returns once the events are durable (fsync'd).
  // Conflict when the stream's version is not `expected` (the message names the stream, the
  // expected and the actual version); InvalidArgument for an empty stream id or no events;
  // ResourceExhausted when the disk or the store's maximum size is reached (nothing written).
  // A non-empty `idempotency_key` that was used before returns the original result with
  // `duplicate` set and writes nothing.
  Result<AppendResult> Append(std::string stream, ExpectedVersion expected,
                              std::vector<NewEvent> events, std::string idempotency_key = {});

  // Appends to several streams as one unit: all or none.
  virtual Result<AppendResult> AppendUnit(std::vector<StreamAppend> unit,
                                          std::string idempotency_key) = 0;

  // Like AppendUnit but returns at once; `done` runs on the writer thread after the commit
  // (keep it short: post the result to your own executor).
  virtual void AppendAsync(std::vector<StreamAppend> unit, std::string idempotency_key,
                           std::function<void(Result<AppendResult>)> done) = 0;

  // AppendAsync under several idempotency keys that name the same unit (a webhook's message id
  // and its delivery id): when any of them was used before, the first such key's original
  // result comes back with `duplicate` set and nothing is written; otherwise every key records
  // this unit's result. Empty and repeated keys are ignored.
  virtual void AppendAsyncUnderKeys(std::vector<StreamAppend> unit,
                                    std::vector<std::string> idempotency_keys,
                                    std::function<void(Result<AppendResult>)> done) = 0;
  // The same, returning once the unit is durable.
  Result<AppendResult> AppendUnitUnderKeys(std::vector<StreamAppend> unit,
                                           std::vector<std::string> idempotency_keys);

  // Visits the events of `stream` from `from_version` (1 = the start), at most `max`.
  virtual Status ReadStream(std::string_view stream, uint64_t from_version, size_t max,
                            const EventVisitor& visit) = 0;
  // Visits the global log from `from_seq` (1 = the start), at most `max`.
  virtual Status ReadAll(uint64_t from_seq, size_t max, const EventVisitor& visit) = 0;
  // The stream's last version, 0 when it does not exist.
  virtual Result<uint64_t> StreamVersion(std::string_view stream) = 0;
  // Whether any stream's id starts with `prefix` (one index seek).
  virtual Result<bool> AnyStreamWithPrefix(std::string_view prefix) = 0;
  // The seq of the last durable event (0 when empty).
  virtual uint64_t Head() const = 0;
  // Blocks until Head() > `after` or the timeout passes; returns Head().
  virtual uint64_t WaitForHead(uint64_t after, std::chrono::milliseconds timeout) = 0;

  // Follows the log from `after_seq` + 1: catch-up, then live. `on_event` runs on the
  // subscription's own thread; a slow subscriber only falls behind, it never slows appends.
  // Return false from `on_event` to stop.
  virtual std::unique_ptr<Subscription> Subscribe(uint64_t after_seq, EventVisitor on_event) = 0;

  // Checks the hash chain, the sequence, every index and the head record.
  virtual Result<VerifyReport> Verify() = 0;
  // Writes a consistent copy of the whole store (log, indexes, keys) into the empty or new
  // directory `dir` while appends go on.
  virtual Status Backup(const std::string& dir) = 0;

  // Keys for personal data, kept beside the log but never in it.
  virtual KeyRing& keys() = 0;
  virtual StoreStats Stats() const = 0;
  virtual const std::string& tenant() const = 0;
};

struct LmdbOptions {
  // The directory holding data.mdb and lock.mdb (created if missing).
  std::string path;
  std::string tenant = "default";
  // The memory map starts at this size and doubles when full, up to `max_map_size`.
  uint64_t initial_map_size = uint64_t{256} << 20;
  uint64_t max_map_size = uint64_t{1} << 40;
  // The most events one group commit takes.
  size_t max_batch_events = 16384;
  // A unit's idempotency keys are first written in arrival order to `idempotency_recent` (one
  // record appended at the end of that table: cheap to sync) and kept in memory; once more than
  // this many wait, each commit moves as many as it adds into the keyed `idempotency` table,
  // sweeping through the key space in order (FORMAT.md). Provider ids are random, so writing
  // each key straight into the keyed table copies a random leaf page per key per commit.
  // 0 writes them straight there (the format before 2026-11-30).
  size_t idempotency_merge_keys = 32768;
  // Off only for tests that do not care about durability; never in production.
  bool sync = true;
  bool read_only = false;
};

Result<std::unique_ptr<EventStore>> OpenLmdbEventStore(const LmdbOptions& options);

// The payload's type name for an event ("LeadImported"), from the schema.
std::string_view PayloadTypeName(schema::Event::Payload::Which which);

std::string HexEncode(const uint8_t* data, size_t size);

}  // namespace nextier::eventstore
