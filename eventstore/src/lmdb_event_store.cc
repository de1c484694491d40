// The LMDB implementation of EventStore. Record layout and hashing: eventstore/FORMAT.md.
//
// One writer thread owns every write transaction. Appends from any thread queue up; the writer
// takes everything queued (up to max_batch_events), applies each unit in one transaction,
// commits once (one fsync for all of them), then completes every waiting append. While one
// commit syncs, the next batch gathers: that is the group commit.
#include <capnp/message.h>
#include <capnp/schema.h>
#include <capnp/serialize.h>
#include <fcntl.h>
#include <kj/exception.h>
#include <lmdb.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <bit>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <filesystem>
#include <future>
#include <map>
#include <mutex>
#include <shared_mutex>
#include <thread>
#include <unordered_map>
#include <unordered_set>

#include "crypto.h"
#include "lmdb_util.h"
#include "nextier/common/disk_space.h"
#include "nextier/eventstore/event_store.h"

static_assert(std::endian::native == std::endian::little,
              "records are Cap'n Proto flat arrays written in native order: little-endian only");

namespace nextier::eventstore {
namespace {

using lmdb::Check;
using lmdb::GetBe64;
using lmdb::PutBe64;
using lmdb::Val;
using lmdb::View;

constexpr size_t kHashSize = 32;
constexpr uint64_t kFormatVersion = 1;
constexpr std::string_view kMetaHeadSeq = "head_seq";
constexpr std::string_view kMetaHeadHash = "head_hash";
constexpr std::string_view kMetaFormat = "format";
constexpr std::string_view kMetaTenant = "tenant";
constexpr std::string_view kIndexSecretName = "\x01index-secret";
constexpr const char* kRecentTable = "idempotency_recent";
constexpr size_t kMaxStreamIdSize = 400;  // LMDB's default key limit is 511 bytes
constexpr size_t kMaxIdempotencyKeySize = 480;
constexpr size_t kReadChunk = 65536;               // events per read transaction in long reads
constexpr std::chrono::microseconds kLinger{200};  // the most a group commit waits to fill

// --- serialisation -------------------------------------------------------------------------

// The flat-array encoding of a message (segment table, then the segments), as
// capnp::messageToFlatArray writes it: its size, then the bytes written straight into `out`
// (the record's reserved space in the log), with no intermediate copy.
size_t FlatSize(kj::ArrayPtr<const kj::ArrayPtr<const capnp::word>> segments) {
  size_t words = (segments.size() + 2) / 2;
  for (auto& s : segments) words += s.size();
  return words * sizeof(capnp::word);
}

void WriteFlat(kj::ArrayPtr<const kj::ArrayPtr<const capnp::word>> segments, char* out) {
  const size_t n = segments.size();
  auto put32 = [&out](uint32_t v) {
    std::memcpy(out, &v, sizeof v);  // little-endian, as capnp is on every host we build for
    out += sizeof v;
  };
  put32(static_cast<uint32_t>(n - 1));
  for (auto& s : segments) put32(static_cast<uint32_t>(s.size()));
  if (n % 2 == 0) put32(0);  // the table is padded to whole words
  for (auto& s : segments) {
    std::memcpy(out, s.begin(), s.size() * sizeof(capnp::word));
    out += s.size() * sizeof(capnp::word);
  }
}

capnp::ReaderOptions ReadOptions() {
  capnp::ReaderOptions o;
  o.traversalLimitInWords = uint64_t{1} << 30;
  return o;
}

// Decodes a stored record (hash || body) and calls `fn(EventView)`. `scratch` gives an aligned
// copy when LMDB's pointer is not 8-byte aligned. Corruption when the bytes do not decode.
template <typename Fn>
Status DecodeRecord(uint64_t seq, std::string_view record, std::vector<uint64_t>& scratch,
                    Fn&& fn) {
  if (record.size() < kHashSize + 8 || (record.size() - kHashSize) % 8 != 0) {
    return Status::Corruption("event " + std::to_string(seq) + ": record has an impossible size " +
                              std::to_string(record.size()));
  }
  const char* body = record.data() + kHashSize;
  const size_t body_size = record.size() - kHashSize;
  const capnp::word* words;
  if (reinterpret_cast<uintptr_t>(body) % 8 == 0) {
    words = reinterpret_cast<const capnp::word*>(body);
  } else {
    scratch.resize(body_size / 8);
    std::memcpy(scratch.data(), body, body_size);
    words = reinterpret_cast<const capnp::word*>(scratch.data());
  }
  try {
    capnp::FlatArrayMessageReader reader(kj::arrayPtr(words, body_size / 8), ReadOptions());
    EventView view(seq, reinterpret_cast<const uint8_t*>(record.data()),
                   reader.getRoot<schema::Event>(), std::string_view(body, body_size));
    return fn(view);
  } catch (const kj::Exception& e) {
    return Status::Corruption("event " + std::to_string(seq) +
                              " does not decode: " + e.getDescription().cStr());
  }
}

std::string StreamIndexKey(std::string_view stream, uint64_t version) {
  std::string key(stream);
  key.push_back('\0');
  key.resize(key.size() + 8);
  PutBe64(version, reinterpret_cast<uint8_t*>(key.data() + key.size() - 8));
  return key;
}

// The stream's last version, read from the stream index (0 when the stream does not exist):
// seek past the stream's highest possible key and step back one entry.
// With `cursor` on the streams index. A cursor kept across calls and puts (an import batch's
// thousand new streams sit side by side in the index) finds the next key on the leaf page it is
// on, without descending the tree again.
Status LastVersion(MDB_cursor* cursor, std::string_view stream, uint64_t* version, int* rc_out) {
  std::string probe = StreamIndexKey(stream, UINT64_MAX);
  MDB_val k = Val(probe), v;
  int rc = mdb_cursor_get(cursor, &k, &v, MDB_SET_RANGE);
  if (rc == MDB_SUCCESS) {
    rc = mdb_cursor_get(cursor, &k, &v, MDB_PREV);
  } else if (rc == MDB_NOTFOUND) {
    rc = mdb_cursor_get(cursor, &k, &v, MDB_LAST);
  }
  *version = 0;
  if (rc == MDB_NOTFOUND) return Status::Ok();
  if (rc != MDB_SUCCESS) {
    *rc_out = rc;
    return Check(rc, "mdb_cursor_get(streams)");
  }
  std::string_view key = View(k);
  if (key.size() == stream.size() + 9 && key.compare(0, stream.size(), stream) == 0 &&
      key[stream.size()] == '\0') {
    *version = GetBe64(key.data() + key.size() - 8);
  }
  return Status::Ok();
}

Status LastVersion(MDB_txn* txn, MDB_dbi streams, std::string_view stream, uint64_t* version,
                   int* rc_out) {
  lmdb::Cursor c;
  NEXTIER_RETURN_IF_ERROR(c.Open(txn, streams));
  return LastVersion(c.get(), stream, version, rc_out);
}

std::string EncodeResult(const AppendResult& r) {
  std::string out(20, '\0');
  auto* p = reinterpret_cast<uint8_t*>(out.data());
  PutBe64(r.first_seq, p);
  PutBe64(r.last_seq, p + 8);
  uint32_t n = static_cast<uint32_t>(r.streams.size());
  std::memcpy(p + 16, &n, 4);
  for (const auto& s : r.streams) {
    uint8_t buf[20];
    PutBe64(s.first_version, buf);
    PutBe64(s.last_version, buf + 8);
    uint32_t len = static_cast<uint32_t>(s.stream.size());
    std::memcpy(buf + 16, &len, 4);
    out.append(reinterpret_cast<char*>(buf), 20);
    out += s.stream;
  }
  return out;
}

std::optional<AppendResult> DecodeResult(std::string_view in) {
  if (in.size() < 20) return std::nullopt;
  AppendResult r;
  r.first_seq = GetBe64(in.data());
  r.last_seq = GetBe64(in.data() + 8);
  uint32_t n;
  std::memcpy(&n, in.data() + 16, 4);
  size_t pos = 20;
  for (uint32_t i = 0; i < n; ++i) {
    if (in.size() < pos + 20) return std::nullopt;
    StreamResult s;
    s.first_version = GetBe64(in.data() + pos);
    s.last_version = GetBe64(in.data() + pos + 8);
    uint32_t len;
    std::memcpy(&len, in.data() + pos + 16, 4);
    pos += 20;
    if (in.size() < pos + len) return std::nullopt;
    s.stream.assign(in.data() + pos, len);
    pos += len;
    r.streams.push_back(std::move(s));
  }
  r.duplicate = true;
  return r;
}

// A record of `idempotency_recent`: result_len[4 LE] ‖ result ‖ then, for each key,
// key_len[2 LE] ‖ key.
std::string EncodeRecent(std::string_view result, const std::string& key,
                         const std::vector<std::string>& more_keys) {
  std::string out(4, '\0');
  const auto n = static_cast<uint32_t>(result.size());
  std::memcpy(out.data(), &n, 4);
  out += result;
  auto add = [&out](const std::string& k) {
    const auto len = static_cast<uint16_t>(k.size());
    out.append(reinterpret_cast<const char*>(&len), 2);
    out += k;
  };
  add(key);
  for (const auto& k : more_keys) add(k);
  return out;
}

bool DecodeRecent(std::string_view in, std::string_view* result,
                  std::vector<std::string_view>* keys) {
  keys->clear();
  uint32_t n;
  if (in.size() < 4) return false;
  std::memcpy(&n, in.data(), 4);
  if (in.size() - 4 < n) return false;
  *result = in.substr(4, n);
  size_t pos = 4 + size_t{n};
  while (pos < in.size()) {
    uint16_t len;
    if (in.size() - pos < 2) return false;
    std::memcpy(&len, in.data() + pos, 2);
    pos += 2;
    if (len == 0 || in.size() - pos < len) return false;
    keys->push_back(in.substr(pos, len));
    pos += len;
  }
  return !keys->empty();
}

// Looked up by string_view without making a string.
struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

// --- the key ring ------------------------------------------------------------------------

class LmdbKeyRing final : public KeyRing {
 public:
  LmdbKeyRing(MDB_env* env, MDB_dbi dbi, std::shared_mutex* resize_mu, crypto::Key index_secret)
      : env_(env), dbi_(dbi), resize_mu_(resize_mu), index_secret_(index_secret) {}

  Result<std::string> Seal(std::string_view subject, std::string_view plaintext) override {
    auto key = GetOrCreate(subject);
    if (!key.ok()) return key.status();
    return crypto::SealAesGcm(*key, subject, plaintext);
  }

  Result<std::string> SealNew(std::string_view subject, std::string_view plaintext) override {
    if (subject.empty()) return Status::InvalidArgument("a key subject is required", "keySubject");
    crypto::Key key;
    {
      std::lock_guard lock(mu_);
      auto it = pending_.find(subject);
      if (it != pending_.end()) {
        key = it->second;
      } else {
        NEXTIER_RETURN_IF_ERROR(crypto::RandomBytes(key.data(), key.size()));
        pending_.emplace(std::string(subject), key);
      }
    }
    return crypto::SealAesGcm(key, subject, plaintext);
  }

  Result<std::string> SealNew(std::string_view subject, std::string_view plaintext,
                              std::string* key_out) override {
    if (subject.empty()) return Status::InvalidArgument("a key subject is required", "keySubject");
    crypto::Key key;
    NEXTIER_RETURN_IF_ERROR(crypto::RandomBytes(key.data(), key.size()));
    key_out->assign(reinterpret_cast<const char*>(key.data()), key.size());
    return crypto::SealAesGcm(key, subject, plaintext);
  }

  Result<std::string> Open(std::string_view subject, std::string_view sealed) override {
    auto key = Lookup(subject);
    if (!key.ok()) return key.status();
    return crypto::OpenAesGcm(*key, subject, sealed);
  }

  Status Forget(std::string_view subject) override;  // defined after the store (needs writer)

  bool IsForgotten(std::string_view subject) override {
    auto key = Lookup(subject);
    return !key.ok() && key.status().code() == StatusCode::kNotFound &&
           key.status().message().find("forgotten") != std::string::npos;
  }

  std::string BlindIndex(std::string_view purpose, std::string_view value) const override {
    std::string data(purpose);
    data.push_back('\0');
    data.append(value);
    uint8_t out[32];
    crypto::HmacSha256(index_secret_, data, out);
    return std::string(reinterpret_cast<char*>(out), 32);
  }

  // Writer side: stores the key an event carried (NewEvent::fresh_key) in the transaction.
  // AppendAsync checked that it is 32 bytes.
  // With `cursor` on the keys table (Table()): kept across a unit's puts, it inserts an import
  // batch's side-by-side subjects without descending the tree for each.
  Status PersistFresh(MDB_cursor* cursor, std::string_view subject, std::string_view key,
                      int* rc_out) {
    MDB_val k = Val(subject);
    MDB_val v = Val(key.data(), key.size());
    int rc = mdb_cursor_put(cursor, &k, &v, MDB_NOOVERWRITE);
    if (rc == MDB_KEYEXIST) {
      // A retried batch writes it again; anything else is a second key for one subject.
      if (std::string_view(static_cast<const char*>(v.mv_data), v.mv_size) != key) {
        return Status::Internal("key for " + std::string(subject) +
                                " was created twice with different bytes");
      }
      rc = MDB_SUCCESS;
    }
    if (rc != MDB_SUCCESS) {
      *rc_out = rc;
      return Check(rc, "mdb_put(keys)");
    }
    return Status::Ok();
  }

  MDB_dbi Table() const { return dbi_; }

  // Writer side: makes sure `subject`'s key is in the transaction if it was made here and not
  // yet persisted. Records it in `persisted` so MarkPersisted can run after the commit.
  Status PersistIfPending(MDB_txn* txn, std::string_view subject,
                          std::vector<std::string>* persisted, int* rc_out) {
    crypto::Key key;
    {
      std::lock_guard lock(mu_);
      auto it = pending_.find(subject);
      if (it == pending_.end()) return Status::Ok();
      key = it->second;
    }
    MDB_val k = Val(subject);
    MDB_val v = Val(key.data(), key.size());
    int rc = mdb_put(txn, dbi_, &k, &v, MDB_NOOVERWRITE);
    if (rc == MDB_KEYEXIST) {
      if (v.mv_size != key.size() || std::memcmp(v.mv_data, key.data(), key.size()) != 0) {
        return Status::Internal("key for " + std::string(subject) +
                                " was created twice with different bytes");
      }
      rc = MDB_SUCCESS;
    }
    if (rc != MDB_SUCCESS) {
      *rc_out = rc;
      return Check(rc, "mdb_put(keys)");
    }
    persisted->emplace_back(subject);
    return Status::Ok();
  }

  void MarkPersisted(const std::vector<std::string>& subjects) {
    std::lock_guard lock(mu_);
    for (const auto& s : subjects) pending_.erase(s);
  }

  // Writer side of Forget: a tombstone (empty value) replaces the key.
  Status WriteTombstone(MDB_txn* txn, std::string_view subject, int* rc_out) {
    MDB_val k = Val(subject);
    MDB_val v = Val("", 0);
    int rc = mdb_put(txn, dbi_, &k, &v, 0);
    if (rc != MDB_SUCCESS) *rc_out = rc;
    return Check(rc, "mdb_put(keys tombstone)");
  }

  void MarkForgotten(std::string_view subject) {
    std::lock_guard lock(mu_);
    pending_.erase(std::string(subject));
    forgotten_.insert(std::string(subject));
  }

  void SetForgetFn(std::function<Status(std::string)> fn) { forget_fn_ = std::move(fn); }

 private:
  Result<crypto::Key> Lookup(std::string_view subject) {
    {
      std::lock_guard lock(mu_);
      if (forgotten_.find(subject) != forgotten_.end()) {
        return Status::NotFound("personal data of " + std::string(subject) + " was forgotten");
      }
      auto it = pending_.find(subject);
      if (it != pending_.end()) return it->second;
    }
    std::shared_lock resize(*resize_mu_);
    lmdb::Txn txn;
    NEXTIER_RETURN_IF_ERROR(txn.Begin(env_, true));
    MDB_val k = Val(subject), v;
    int rc = mdb_get(txn.get(), dbi_, &k, &v);
    if (rc == MDB_NOTFOUND) return Status::NotFound("no key for " + std::string(subject));
    NEXTIER_RETURN_IF_ERROR(Check(rc, "mdb_get(keys)"));
    if (v.mv_size == 0) {
      return Status::NotFound("personal data of " + std::string(subject) + " was forgotten");
    }
    if (v.mv_size != 32)
      return Status::Corruption("key of " + std::string(subject) + " is not 32 bytes");
    crypto::Key key;
    std::memcpy(key.data(), v.mv_data, 32);
    return key;
  }

  Result<crypto::Key> GetOrCreate(std::string_view subject) {
    if (subject.empty()) return Status::InvalidArgument("a key subject is required", "keySubject");
    auto existing = Lookup(subject);
    if (existing.ok() || existing.status().message().find("forgotten") != std::string::npos ||
        existing.status().code() != StatusCode::kNotFound) {
      return existing;
    }
    std::lock_guard lock(mu_);
    auto it = pending_.find(subject);
    if (it != pending_.end()) return it->second;  // another thread made it meanwhile
    crypto::Key key;
    NEXTIER_RETURN_IF_ERROR(crypto::RandomBytes(key.data(), key.size()));
    pending_.emplace(std::string(subject), key);
    return key;
  }

  MDB_env* env_;
  MDB_dbi dbi_;
  std::shared_mutex* resize_mu_;
  const crypto::Key index_secret_;
  std::mutex mu_;
  std::unordered_map<std::string, crypto::Key, StringHash, std::equal_to<>>
      pending_;  // not yet stored
  std::unordered_set<std::string, StringHash, std::equal_to<>> forgotten_;
  std::function<Status(std::string)> forget_fn_;

  friend class LmdbEventStore;
};

// --- the store ---------------------------------------------------------------------------

struct PendingOp {
  std::vector<StreamAppend> unit;
  std::string key;
  std::vector<std::string> more_keys;  // further idempotency keys for the same unit
  std::string forget_subject;          // a Forget instead of an append when non-empty
  std::function<void(Result<AppendResult>)> done;
  size_t events = 0;
};

class LmdbSubscription;

class LmdbEventStore final : public EventStore {
 public:
  explicit LmdbEventStore(const LmdbOptions& options) : options_(options) {}
  ~LmdbEventStore() override;

  Status Open();

  Result<AppendResult> AppendUnit(std::vector<StreamAppend> unit,
                                  std::string idempotency_key) override {
    std::promise<Result<AppendResult>> promise;
    auto future = promise.get_future();
    AppendAsync(std::move(unit), std::move(idempotency_key),
                [&promise](Result<AppendResult> r) { promise.set_value(std::move(r)); });
    return future.get();
  }

  void AppendAsync(std::vector<StreamAppend> unit, std::string idempotency_key,
                   std::function<void(Result<AppendResult>)> done) override {
    Enqueue(std::move(unit), std::move(idempotency_key), {}, std::move(done));
  }
  void AppendAsyncUnderKeys(std::vector<StreamAppend> unit,
                            std::vector<std::string> idempotency_keys,
                            std::function<void(Result<AppendResult>)> done) override;

  Status ReadStream(std::string_view stream, uint64_t from_version, size_t max,
                    const EventVisitor& visit) override;
  Status ReadAll(uint64_t from_seq, size_t max, const EventVisitor& visit) override;
  Result<uint64_t> StreamVersion(std::string_view stream) override;
  Result<bool> AnyStreamWithPrefix(std::string_view prefix) override;
  uint64_t Head() const override { return head_.load(std::memory_order_acquire); }
  uint64_t WaitForHead(uint64_t after, std::chrono::milliseconds timeout) override {
    std::unique_lock lock(head_mu_);
    head_cv_.wait_for(lock, timeout, [&] { return Head() > after || closing_.load(); });
    return Head();
  }
  std::unique_ptr<Subscription> Subscribe(uint64_t after_seq, EventVisitor on_event) override;
  Result<VerifyReport> Verify() override;
  Status Backup(const std::string& dir) override;
  KeyRing& keys() override { return *keys_; }
  StoreStats Stats() const override;
  const std::string& tenant() const override { return options_.tenant; }

  Status Forget(std::string subject);
  void WakeWaiters() { head_cv_.notify_all(); }
  bool closing() const { return closing_.load(); }

  // Copies up to `max` raw records after `after_seq` (for subscriptions, so callbacks never run
  // inside a read transaction).
  Status CopyRecords(uint64_t after_seq, size_t max,
                     std::vector<std::pair<uint64_t, std::string>>* out);

 private:
  void WriterLoop();
  // Applies one batch in one transaction; fills `results`. A non-ok return means the whole
  // transaction failed (and `rc` holds the LMDB code when there was one).
  Status WriteBatch(std::deque<PendingOp>& batch, std::vector<Result<AppendResult>>& results,
                    int* rc);
  // Checks a unit and queues it for the writer; `more_keys` are further idempotency keys.
  void Enqueue(std::vector<StreamAppend> unit, std::string idempotency_key,
               std::vector<std::string> more_keys, std::function<void(Result<AppendResult>)> done);
  // The idempotency record of `key` into `v`: MDB_SUCCESS, MDB_NOTFOUND (also for no key) or
  // the error.
  int FindKey(MDB_txn* txn, const std::string& key, MDB_val* v) {
    if (key.empty()) return MDB_NOTFOUND;
    MDB_val k = Val(key);
    return mdb_get(txn, idem_dbi_, &k, v);
  }
  // The encoded result of `key` among the keys not yet merged (this batch's first), or null.
  const std::string* FindRecent(const std::string& key) const {
    if (auto it = batch_recent_.find(key); it != batch_recent_.end()) return &it->second.result;
    if (auto it = recent_.find(key); it != recent_.end()) return &it->second.result;
    return nullptr;
  }
  bool DeferKeys() const { return options_.idempotency_merge_keys > 0 && has_recent_table_; }
  // Loads the unmerged keys of `idempotency_recent` into `recent_` (writable open).
  Status LoadRecent(MDB_txn* txn);
  // When more than idempotency_merge_keys keys wait, moves the excess into `idempotency`: the
  // next keys in key order after the last merged, wrapping around, and deletes the records at
  // the head of `idempotency_recent` left with no unmerged key. Fills `merging_`/`trimming_`;
  // the memory follows in CommitRecent once the transaction committed.
  Status PlanMerge(MDB_txn* txn, int* rc);
  void CommitRecent();
  Status ApplyUnit(MDB_txn* txn, PendingOp& op, uint64_t* seq, Hash* prev,
                   std::vector<std::string>* persisted_keys, Result<AppendResult>* result, int* rc);
  Status Grow();
  Status CheckOpenConsistency(MDB_txn* txn);

  const LmdbOptions options_;
  int lock_fd_ = -1;  // holds flock(LOCK_EX) while open for writing
  MDB_env* env_ = nullptr;
  MDB_dbi events_dbi_ = 0, streams_dbi_ = 0, idem_dbi_ = 0, meta_dbi_ = 0, keys_dbi_ = 0;
  MDB_dbi recent_dbi_ = 0;
  bool has_recent_table_ = false;  // false only for a read-only open of an older store
  std::unique_ptr<LmdbKeyRing> keys_;

  // Writer thread only (and Open). The idempotency keys recorded in `idempotency_recent` and
  // not yet merged into `idempotency`, in key order, each with its encoded result and record
  // number; the keys the batch being written adds, kept apart until it commits.
  struct RecentKey {
    std::string result;
    uint64_t record = 0;
  };
  using RecentMap = std::map<std::string, RecentKey, std::less<>>;
  RecentMap recent_;
  RecentMap batch_recent_;
  std::vector<uint32_t> batch_record_keys_;  // keys of each record the batch appends
  // Unmerged keys of each record of `idempotency_recent`, from record number `record_head_`.
  std::deque<uint32_t> record_left_;
  uint64_t record_head_ = 1;
  uint64_t recent_next_ = 1, batch_recent_next_ = 1;  // the next record number
  std::string sweep_after_;  // merging resumes after this key (empty: from the first)
  std::vector<RecentMap::iterator> merging_;  // planned by the batch being written
  size_t trimming_ = 0;                       // head records it deletes

  // Held shared by every transaction, exclusively to change the map size.
  mutable std::shared_mutex resize_mu_;
  std::atomic<uint64_t> map_size_{0};

  // Committed state; written only by the writer thread.
  std::atomic<uint64_t> head_{0};
  Hash head_hash_{};

  std::mutex queue_mu_;
  std::condition_variable queue_cv_;
  std::deque<PendingOp> queue_;
  std::atomic<bool> closing_{false};
  std::thread writer_;

  std::mutex head_mu_;
  std::condition_variable head_cv_;

  std::atomic<uint64_t> stat_appends_{0}, stat_events_{0}, stat_commits_{0};
};

// --- open / close ------------------------------------------------------------------------

Status LmdbEventStore::Open() {
  std::error_code ec;
  if (!options_.read_only) {
    std::filesystem::create_directories(options_.path, ec);
    if (ec) {
      return Status::Unavailable("cannot create store directory " + options_.path + ": " +
                                 ec.message());
    }
  } else if (!std::filesystem::exists(std::filesystem::path(options_.path) / "data.mdb")) {
    return Status::NotFound("no event store at " + options_.path + " (data.mdb is missing)");
  }
  if (!options_.read_only) {
    // One writing process per store: the writer keeps the head and its hash in memory, so a
    // second writer would fork the chain. Readers (verify, history) need no lock.
    const std::string lock_path = options_.path + "/writer.lock";
    lock_fd_ = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (lock_fd_ < 0) return Check(errno, "open(" + lock_path + ")");
    if (::flock(lock_fd_, LOCK_EX | LOCK_NB) != 0) {
      return Status::Unavailable("another process is writing to the event store at " +
                                 options_.path + "; stop it first (reads need no lock)");
    }
  }
  NEXTIER_RETURN_IF_ERROR(Check(mdb_env_create(&env_), "mdb_env_create"));
  NEXTIER_RETURN_IF_ERROR(Check(mdb_env_set_maxdbs(env_, 8), "mdb_env_set_maxdbs"));
  NEXTIER_RETURN_IF_ERROR(Check(mdb_env_set_maxreaders(env_, 1024), "mdb_env_set_maxreaders"));
  NEXTIER_RETURN_IF_ERROR(
      Check(mdb_env_set_mapsize(env_, options_.initial_map_size), "mdb_env_set_mapsize"));
  unsigned flags = MDB_NOTLS;
  if (options_.read_only) flags |= MDB_RDONLY;
  if (!options_.sync) flags |= MDB_NOSYNC;
  Status s = Check(mdb_env_open(env_, options_.path.c_str(), flags, 0644),
                   "mdb_env_open(" + options_.path + ")");
  if (!s.ok()) return s;
  MDB_envinfo info;
  mdb_env_info(env_, &info);
  map_size_ = info.me_mapsize;

  lmdb::Txn txn;
  NEXTIER_RETURN_IF_ERROR(txn.Begin(env_, options_.read_only));
  const unsigned create = options_.read_only ? 0 : MDB_CREATE;
  int rc = 0;
  struct {
    const char* name;
    MDB_dbi* dbi;
  } dbs[] = {{"events", &events_dbi_},
             {"streams", &streams_dbi_},
             {"idempotency", &idem_dbi_},
             {"meta", &meta_dbi_},
             {"keys", &keys_dbi_}};
  for (auto& d : dbs) {
    NEXTIER_RETURN_IF_ERROR(Check(mdb_dbi_open(txn.get(), d.name, create, d.dbi),
                                  std::string("mdb_dbi_open(") + d.name + ")"));
  }
  // Added 2026-11-30: a store written before has no such table until it is opened for writing.
  rc = mdb_dbi_open(txn.get(), kRecentTable, create, &recent_dbi_);
  if (rc == MDB_SUCCESS) {
    has_recent_table_ = true;
  } else if (!(rc == MDB_NOTFOUND && options_.read_only)) {
    return Check(rc, std::string("mdb_dbi_open(") + kRecentTable + ")");
  }

  // Meta: format, tenant, head; the index secret lives in the keys database.
  MDB_val k = Val(kMetaFormat), v;
  rc = mdb_get(txn.get(), meta_dbi_, &k, &v);
  crypto::Key secret{};
  if (rc == MDB_NOTFOUND) {
    if (options_.read_only) return Status::Corruption("store has no format record");
    uint8_t fmt[8];
    PutBe64(kFormatVersion, fmt);
    MDB_val fv = Val(fmt, 8);
    NEXTIER_RETURN_IF_ERROR(Check(mdb_put(txn.get(), meta_dbi_, &k, &fv, 0), "mdb_put(meta)"));
    MDB_val tk = Val(kMetaTenant), tv = Val(options_.tenant);
    NEXTIER_RETURN_IF_ERROR(Check(mdb_put(txn.get(), meta_dbi_, &tk, &tv, 0), "mdb_put(meta)"));
    NEXTIER_RETURN_IF_ERROR(crypto::RandomBytes(secret.data(), secret.size()));
    MDB_val sk = Val(kIndexSecretName), sv = Val(secret.data(), secret.size());
    NEXTIER_RETURN_IF_ERROR(Check(mdb_put(txn.get(), keys_dbi_, &sk, &sv, 0), "mdb_put(keys)"));
  } else {
    NEXTIER_RETURN_IF_ERROR(Check(rc, "mdb_get(meta format)"));
    if (v.mv_size != 8 || GetBe64(v.mv_data) != kFormatVersion) {
      return Status::Corruption("store format is not version " + std::to_string(kFormatVersion));
    }
    MDB_val sk = Val(kIndexSecretName), sv;
    NEXTIER_RETURN_IF_ERROR(
        Check(mdb_get(txn.get(), keys_dbi_, &sk, &sv), "mdb_get(index secret)"));
    if (sv.mv_size != 32) return Status::Corruption("index secret is not 32 bytes");
    std::memcpy(secret.data(), sv.mv_data, 32);
    MDB_val hk = Val(kMetaHeadSeq), hv;
    rc = mdb_get(txn.get(), meta_dbi_, &hk, &hv);
    if (rc == MDB_SUCCESS) {
      head_ = GetBe64(hv.mv_data);
      MDB_val hhk = Val(kMetaHeadHash), hhv;
      NEXTIER_RETURN_IF_ERROR(
          Check(mdb_get(txn.get(), meta_dbi_, &hhk, &hhv), "mdb_get(head hash)"));
      if (hhv.mv_size != kHashSize) return Status::Corruption("head hash is not 32 bytes");
      std::memcpy(head_hash_.data(), hhv.mv_data, kHashSize);
    } else if (rc != MDB_NOTFOUND) {
      return Check(rc, "mdb_get(meta head)");
    }
  }
  if (!options_.read_only) {
    NEXTIER_RETURN_IF_ERROR(CheckOpenConsistency(txn.get()));
    NEXTIER_RETURN_IF_ERROR(LoadRecent(txn.get()));
  }
  // Commit even when read-only: aborting would close the database handles opened here.
  NEXTIER_RETURN_IF_ERROR(txn.Commit());

  keys_ = std::make_unique<LmdbKeyRing>(env_, keys_dbi_, &resize_mu_, secret);
  keys_->SetForgetFn([this](std::string subject) { return Forget(std::move(subject)); });
  if (!options_.read_only) writer_ = std::thread([this] { WriterLoop(); });
  return Status::Ok();
}

// A cheap check before writing: the head record must match the last stored event, or appends
// would extend a damaged chain. `nextier verify` does the full check.
Status LmdbEventStore::CheckOpenConsistency(MDB_txn* txn) {
  lmdb::Cursor c;
  NEXTIER_RETURN_IF_ERROR(c.Open(txn, events_dbi_));
  MDB_val k, v;
  int rc = mdb_cursor_get(c.get(), &k, &v, MDB_LAST);
  const uint64_t last = rc == MDB_SUCCESS ? GetBe64(k.mv_data) : 0;
  if (rc != MDB_SUCCESS && rc != MDB_NOTFOUND) return Check(rc, "mdb_cursor_get(events last)");
  if (last != head_) {
    return Status::Corruption("the last stored event is " + std::to_string(last) +
                              " but the head record says " + std::to_string(head_.load()) +
                              "; run `nextier verify`");
  }
  if (last != 0 &&
      (v.mv_size < kHashSize || std::memcmp(v.mv_data, head_hash_.data(), kHashSize) != 0)) {
    return Status::Corruption("the hash of the last event " + std::to_string(last) +
                              " does not match the head record; run `nextier verify`");
  }
  return Status::Ok();
}

LmdbEventStore::~LmdbEventStore() {
  {
    std::lock_guard lock(queue_mu_);
    closing_ = true;
  }
  queue_cv_.notify_all();
  head_cv_.notify_all();
  if (writer_.joinable()) writer_.join();
  if (env_ != nullptr) mdb_env_close(env_);
  if (lock_fd_ >= 0) ::close(lock_fd_);  // releases the writer lock
}

Status LmdbEventStore::LoadRecent(MDB_txn* txn) {
  lmdb::Cursor c;
  NEXTIER_RETURN_IF_ERROR(c.Open(txn, recent_dbi_));
  MDB_val k, v;
  int rc = mdb_cursor_get(c.get(), &k, &v, MDB_FIRST);
  std::string_view result;
  std::vector<std::string_view> keys;
  while (rc == MDB_SUCCESS) {
    if (k.mv_size != 8 || !DecodeRecent(View(v), &result, &keys) ||
        !DecodeResult(result).has_value()) {
      return Status::Corruption(std::string("a record of ") + kRecentTable +
                                " is unreadable; run `nextier verify`");
    }
    const uint64_t record = GetBe64(k.mv_data);
    if (record_left_.empty()) record_head_ = record;
    while (record_head_ + record_left_.size() < record) record_left_.push_back(0);
    uint32_t left = 0;
    for (auto key : keys) {
      // Merged keys stay in their record until every key of it is merged.
      MDB_val ik = Val(key), iv;
      const int found = mdb_get(txn, idem_dbi_, &ik, &iv);
      if (found == MDB_SUCCESS) continue;
      if (found != MDB_NOTFOUND) return Check(found, "mdb_get(idempotency)");
      if (recent_.try_emplace(std::string(key), RecentKey{std::string(result), record}).second) {
        ++left;
      }
    }
    record_left_.push_back(left);
    recent_next_ = record + 1;
    rc = mdb_cursor_get(c.get(), &k, &v, MDB_NEXT);
  }
  if (rc != MDB_NOTFOUND) return Check(rc, std::string("mdb_cursor_get(") + kRecentTable + ")");
  if (record_left_.empty()) record_head_ = recent_next_;
  return Status::Ok();
}

// --- writing -----------------------------------------------------------------------------

void LmdbEventStore::AppendAsyncUnderKeys(std::vector<StreamAppend> unit,
                                          std::vector<std::string> idempotency_keys,
                                          std::function<void(Result<AppendResult>)> done) {
  std::vector<std::string> keys;
  keys.reserve(idempotency_keys.size());
  for (auto& k : idempotency_keys) {
    if (!k.empty() && std::find(keys.begin(), keys.end(), k) == keys.end()) {
      keys.push_back(std::move(k));
    }
  }
  std::string first;
  if (!keys.empty()) {
    first = std::move(keys.front());
    keys.erase(keys.begin());
  }
  Enqueue(std::move(unit), std::move(first), std::move(keys), std::move(done));
}

void LmdbEventStore::Enqueue(std::vector<StreamAppend> unit, std::string idempotency_key,
                             std::vector<std::string> more_keys,
                             std::function<void(Result<AppendResult>)> done) {
  if (options_.read_only) {
    done(Status::Unavailable("the store is open read-only"));
    return;
  }
  if (unit.empty()) {
    done(Status::InvalidArgument("an append needs at least one stream", "stream"));
    return;
  }
  auto too_long = [](const std::string& k) { return k.size() > kMaxIdempotencyKeySize; };
  if (too_long(idempotency_key) || std::any_of(more_keys.begin(), more_keys.end(), too_long)) {
    done(Status::InvalidArgument(
        "idempotency key is longer than " + std::to_string(kMaxIdempotencyKeySize) + " bytes",
        "idempotencyKey"));
    return;
  }
  size_t events = 0;
  for (auto& sa : unit) {
    if (sa.stream.empty() || sa.stream.size() > kMaxStreamIdSize ||
        sa.stream.find('\0') != std::string::npos) {
      done(Status::InvalidArgument(
          "stream id must be 1 to " + std::to_string(kMaxStreamIdSize) + " bytes without NUL",
          "stream"));
      return;
    }
    if (sa.events.empty()) {
      done(Status::InvalidArgument("append to " + sa.stream + " has no events", "events"));
      return;
    }
    // Stamp what the producer can, so the writer only sets seq, version and prevHash.
    for (auto& e : sa.events) {
      auto b = e.builder();
      if (!e.fresh_key().empty() &&
          (e.fresh_key().size() != crypto::Key().size() || b.getKeySubject().size() == 0)) {
        done(Status::InvalidArgument(
            "an event carrying a fresh key needs a keySubject and a 32-byte key", "freshKey"));
        return;
      }
      b.setStreamId(sa.stream);
      b.setTenant(options_.tenant);
      b.setType(std::string(PayloadTypeName(b.getPayload().which())));
    }
    events += sa.events.size();
  }
  PendingOp op;
  op.unit = std::move(unit);
  op.key = std::move(idempotency_key);
  op.more_keys = std::move(more_keys);
  op.done = std::move(done);
  op.events = events;
  {
    std::lock_guard lock(queue_mu_);
    if (closing_) {
      op.done(Status::Unavailable("the store is closing"));
      return;
    }
    queue_.push_back(std::move(op));
  }
  queue_cv_.notify_one();
}

Status LmdbEventStore::Forget(std::string subject) {
  if (options_.read_only) return Status::Unavailable("the store is open read-only");
  std::promise<Result<AppendResult>> promise;
  auto future = promise.get_future();
  PendingOp op;
  op.forget_subject = std::move(subject);
  op.done = [&promise](Result<AppendResult> r) { promise.set_value(std::move(r)); };
  {
    std::lock_guard lock(queue_mu_);
    if (closing_) return Status::Unavailable("the store is closing");
    queue_.push_back(std::move(op));
  }
  queue_cv_.notify_one();
  return future.get().status();
}

Status LmdbKeyRing::Forget(std::string_view subject) {
  if (subject.empty() || subject.front() == '\x01') {
    return Status::InvalidArgument("not a key subject", "subject");
  }
  return forget_fn_(std::string(subject));
}

void LmdbEventStore::WriterLoop() {
  std::deque<PendingOp> batch;
  std::vector<Result<AppendResult>> results;
  size_t last_batch = 0;
  while (true) {
    {
      std::unique_lock lock(queue_mu_);
      queue_cv_.wait(lock, [&] { return !queue_.empty() || closing_; });
      if (queue_.empty() && closing_) return;
      // Adaptive linger: when the last commit carried several appends (many producers) and
      // fewer are queued now, the others are usually microseconds away; waiting a moment for
      // them fills the next commit. A lone producer (last batch of one) never waits.
      if (last_batch > 1 && queue_.size() < last_batch) {
        queue_cv_.wait_for(lock, kLinger, [&] { return queue_.size() >= last_batch || closing_; });
      }
      size_t events = 0;
      while (!queue_.empty() &&
             (batch.empty() || events + queue_.front().events <= options_.max_batch_events)) {
        events += queue_.front().events;
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
    }
    Status s;
    while (true) {
      int rc = 0;
      results.clear();
      s = WriteBatch(batch, results, &rc);
      if (s.ok() || rc != MDB_MAP_FULL) break;
      Status g = Grow();
      if (!g.ok()) {
        s = g;
        break;
      }
    }
    last_batch = batch.size();
    for (size_t i = 0; i < batch.size(); ++i) {
      if (s.ok()) {
        batch[i].done(std::move(results[i]));
      } else {
        batch[i].done(s);
      }
    }
    batch.clear();
  }
}

Status LmdbEventStore::Grow() {
  std::unique_lock lock(resize_mu_);
  const uint64_t current = map_size_;
  if (current >= options_.max_map_size) {
    return Status::ResourceExhausted("the event store is full: it reached its maximum size of " +
                                     std::to_string(options_.max_map_size) + " bytes");
  }
  const uint64_t next = std::min<uint64_t>(current * 2, options_.max_map_size);
  Status s = Check(mdb_env_set_mapsize(env_, next), "mdb_env_set_mapsize");
  if (!s.ok()) return s;
  MDB_envinfo info;
  mdb_env_info(env_, &info);
  map_size_ = info.me_mapsize;
  return Status::Ok();
}

Status LmdbEventStore::WriteBatch(std::deque<PendingOp>& batch,
                                  std::vector<Result<AppendResult>>& results, int* rc) {
  std::shared_lock resize(resize_mu_);
  lmdb::Txn txn;
  Status s = txn.Begin(env_, false);
  if (!s.ok()) return s;
  uint64_t seq = head_.load();
  Hash prev = head_hash_;
  std::vector<std::string> persisted_keys;
  std::vector<std::string> forgotten;
  size_t written_units = 0, written_events = 0;
  batch_recent_.clear();
  batch_record_keys_.clear();
  batch_recent_next_ = recent_next_;
  merging_.clear();
  trimming_ = 0;
  for (auto& op : batch) {
    if (!op.forget_subject.empty()) {
      s = keys_->WriteTombstone(txn.get(), op.forget_subject, rc);
      if (!s.ok()) return s;
      forgotten.push_back(op.forget_subject);
      results.emplace_back(AppendResult{});
      continue;
    }
    Result<AppendResult> r = Status::Internal("unset");
    const uint64_t before = seq;
    s = ApplyUnit(txn.get(), op, &seq, &prev, &persisted_keys, &r, rc);
    if (!s.ok()) return s;
    if (r.ok() && !r->duplicate) {
      ++written_units;
      written_events += seq - before;
    }
    results.push_back(std::move(r));
  }
  if (DeferKeys()) NEXTIER_RETURN_IF_ERROR(PlanMerge(txn.get(), rc));
  if (seq != head_.load()) {
    uint8_t buf[8];
    PutBe64(seq, buf);
    MDB_val k = Val(kMetaHeadSeq), v = Val(buf, 8);
    int r1 = mdb_put(txn.get(), meta_dbi_, &k, &v, 0);
    if (r1 != MDB_SUCCESS) {
      *rc = r1;
      return Check(r1, "mdb_put(meta head)");
    }
    MDB_val hk = Val(kMetaHeadHash), hv = Val(prev.data(), prev.size());
    r1 = mdb_put(txn.get(), meta_dbi_, &hk, &hv, 0);
    if (r1 != MDB_SUCCESS) {
      *rc = r1;
      return Check(r1, "mdb_put(meta head hash)");
    }
  }
  const int crc = txn.CommitRc();
  if (crc != MDB_SUCCESS) {
    *rc = crc;
    // A short write on a full disk comes back as EIO: say "full" (disk_space.h).
    return FullDiskOr(Check(crc, "mdb_txn_commit"), options_.path);
  }
  keys_->MarkPersisted(persisted_keys);
  for (const auto& f : forgotten) keys_->MarkForgotten(f);
  CommitRecent();
  head_hash_ = prev;
  {
    std::lock_guard lock(head_mu_);
    head_.store(seq, std::memory_order_release);
  }
  head_cv_.notify_all();
  stat_commits_.fetch_add(1, std::memory_order_relaxed);
  stat_appends_.fetch_add(written_units, std::memory_order_relaxed);
  stat_events_.fetch_add(written_events, std::memory_order_relaxed);
  return Status::Ok();
}

// GCC 12 at -O3 reports the Result<AppendResult> assigned a Status below as "may be used
// uninitialized": std::variant's move assignment, inlined, also for the alternative that is not
// there. A false positive; silenced for this function only.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
Status LmdbEventStore::ApplyUnit(MDB_txn* txn, PendingOp& op, uint64_t* seq, Hash* prev,
                                 std::vector<std::string>* persisted_keys,
                                 Result<AppendResult>* result, int* rc) {
  auto fail = [rc](int code, std::string_view what) {
    *rc = code;
    return Check(code, what);
  };
  // A repeated idempotency key answers with the original result.
  for (size_t i = 0; i <= op.more_keys.size(); ++i) {
    const std::string& key = i == 0 ? op.key : op.more_keys[i - 1];
    if (const std::string* recent = key.empty() ? nullptr : FindRecent(key)) {
      auto original = DecodeResult(*recent);
      if (!original) return Status::Corruption("idempotency record for key is unreadable");
      *result = std::move(*original);
      return Status::Ok();
    }
    MDB_val v;
    const int r = FindKey(txn, key, &v);
    if (r == MDB_SUCCESS) {
      auto original = DecodeResult(View(v));
      if (!original) return Status::Corruption("idempotency record for key is unreadable");
      *result = std::move(*original);
      return Status::Ok();
    }
    if (r != MDB_NOTFOUND) return fail(r, "mdb_get(idempotency)");
  }
  // Check every expected version before writing anything. A stream may appear more than once
  // in a unit; each part is checked against the version the parts before it leave. Every
  // distinct stream gets one slot (a unit may carry thousands, e.g. an import batch).
  struct Slot {
    std::string_view stream;
    uint64_t start = 0;    // version before this unit
    uint64_t running = 0;  // version after the parts seen so far
    size_t result = 0;     // index in res.streams
  };
  thread_local std::vector<Slot> slots;
  thread_local std::unordered_map<std::string_view, size_t> slot_index;  // large units only
  thread_local std::vector<size_t> part_slot;                            // per part of the unit
  constexpr size_t kLinearSlots = 8;  // small units (most appends) are scanned, not hashed
  const bool large = op.unit.size() > kLinearSlots;
  slots.clear();
  part_slot.clear();
  lmdb::Cursor index;  // the streams index: version checks, then the new entries
  NEXTIER_RETURN_IF_ERROR(index.Open(txn, streams_dbi_));
  lmdb::Cursor keys_cursor;  // the keys table, opened for the unit's first new key
  if (large) {
    slot_index.clear();
    slot_index.reserve(op.unit.size());
  }
  for (auto& sa : op.unit) {
    const std::string_view name(sa.stream);
    size_t at = slots.size();
    if (large) {
      at = slot_index.try_emplace(name, slots.size()).first->second;
    } else {
      for (size_t i = 0; i < slots.size(); ++i) {
        if (slots[i].stream == name) at = i;
      }
    }
    if (at == slots.size()) {
      Slot fresh;
      fresh.stream = name;
      Status ls = LastVersion(index.get(), sa.stream, &fresh.start, rc);
      if (!ls.ok()) return ls;
      fresh.running = fresh.start;
      slots.push_back(fresh);
    }
    Slot& slot = slots[at];
    part_slot.push_back(at);
    const uint64_t current = slot.running;
    const auto& ex = sa.expected;
    bool match = ex.kind() == ExpectedVersion::Kind::kAny ||
                 (ex.kind() == ExpectedVersion::Kind::kNoStream && current == 0) ||
                 (ex.kind() == ExpectedVersion::Kind::kExact && current == ex.version());
    if (!match) {
      *result = Status::Conflict("stream " + sa.stream + ": expected version " + ex.ToString() +
                                 ", actual " + std::to_string(current));
      return Status::Ok();
    }
    slot.running = current + sa.events.size();
  }
  // Write.
  AppendResult res;
  res.first_seq = *seq + 1;
  res.streams.reserve(slots.size());
  for (auto& slot : slots) {
    slot.running = slot.start;
    slot.result = SIZE_MAX;
  }
  for (size_t part = 0; part < op.unit.size(); ++part) {
    auto& sa = op.unit[part];
    Slot& slot = slots[part_slot[part]];
    uint64_t version = slot.running;
    const uint64_t first_version = version + 1;
    // The index key is the stream id, a NUL, then the version: built once, versions patched in.
    std::string ik = StreamIndexKey(sa.stream, 0);
    auto* ik_version = reinterpret_cast<uint8_t*>(ik.data() + ik.size() - 8);
    for (auto& e : sa.events) {
      ++*seq;
      ++version;
      auto b = e.builder();
      b.setSeq(*seq);
      b.setStreamVersion(version);
      auto ph = b.getPrevHash();
      std::memcpy(ph.begin(), prev->data(), kHashSize);
      if (b.hasKeySubject() && b.getKeySubject().size() > 0) {
        std::string_view subject(b.getKeySubject().cStr(), b.getKeySubject().size());
        Status ks;
        if (e.fresh_key().empty()) {
          ks = keys_->PersistIfPending(txn, subject, persisted_keys, rc);
        } else {
          if (keys_cursor.get() == nullptr) {
            NEXTIER_RETURN_IF_ERROR(keys_cursor.Open(txn, keys_->Table()));
          }
          ks = keys_->PersistFresh(keys_cursor.get(), subject, e.fresh_key(), rc);
        }
        if (!ks.ok()) return ks;
      }
      // The record is the body's hash, then the body, written in place.
      const auto segments = e.message().getSegmentsForOutput();
      const size_t body_size = FlatSize(segments);
      uint8_t key[8];
      PutBe64(*seq, key);
      MDB_val k = Val(key, 8);
      MDB_val v{kHashSize + body_size, nullptr};
      int r = mdb_put(txn, events_dbi_, &k, &v, MDB_RESERVE | MDB_APPEND);
      if (r != MDB_SUCCESS) return fail(r, "mdb_put(events)");
      char* body = static_cast<char*>(v.mv_data) + kHashSize;
      WriteFlat(segments, body);
      Hash hash;
      crypto::Sha256(body, body_size, hash.data());
      std::memcpy(v.mv_data, hash.data(), kHashSize);

      PutBe64(version, ik_version);
      MDB_val ikv = Val(ik), iv = Val(key, 8);
      r = mdb_cursor_put(index.get(), &ikv, &iv, MDB_NOOVERWRITE);
      if (r != MDB_SUCCESS) return fail(r, "mdb_cursor_put(streams)");
      *prev = hash;
    }
    slot.running = version;
    // A stream appearing twice in one unit has one result, spanning both parts.
    if (slot.result == SIZE_MAX) {
      slot.result = res.streams.size();
      res.streams.push_back(StreamResult{sa.stream, first_version, version});
    } else {
      res.streams[slot.result].last_version = version;
    }
  }
  res.last_seq = *seq;
  if (!op.key.empty() && DeferKeys()) {
    // One record at the end of the recent table; moved into `idempotency` later, by the sweep.
    std::string enc = EncodeResult(res);
    const std::string record = EncodeRecent(enc, op.key, op.more_keys);
    uint8_t rk[8];
    PutBe64(batch_recent_next_, rk);
    MDB_val k = Val(rk, 8), v = Val(record);
    int r = mdb_put(txn, recent_dbi_, &k, &v, MDB_APPEND);
    if (r != MDB_SUCCESS) return fail(r, "mdb_put(idempotency_recent)");
    uint32_t added = 0;
    for (size_t i = 0; i <= op.more_keys.size(); ++i) {
      const std::string& key = i == 0 ? op.key : op.more_keys[i - 1];
      added += batch_recent_.try_emplace(key, RecentKey{enc, batch_recent_next_}).second ? 1 : 0;
    }
    batch_record_keys_.push_back(added);
    ++batch_recent_next_;
  } else if (!op.key.empty()) {
    const std::string enc = EncodeResult(res);
    for (size_t i = 0; i <= op.more_keys.size(); ++i) {
      const std::string& key = i == 0 ? op.key : op.more_keys[i - 1];
      MDB_val k = Val(key), v = Val(enc);
      int r = mdb_put(txn, idem_dbi_, &k, &v, MDB_NOOVERWRITE);
      if (r != MDB_SUCCESS) return fail(r, "mdb_put(idempotency)");
    }
  }
  *result = std::move(res);
  return Status::Ok();
}

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

Status LmdbEventStore::PlanMerge(MDB_txn* txn, int* rc) {
  const size_t limit = options_.idempotency_merge_keys;
  const size_t waiting = recent_.size() + batch_recent_.size();
  if (waiting <= limit || recent_.empty()) return Status::Ok();
  // Steady state: as many keys leave per commit as arrive. The sweep moves through the key
  // space in order, so a commit copies only the leaves of its slice, each once for all the
  // keys landing on it, and a key waits at most one sweep.
  const size_t n = std::min(recent_.size(), waiting - limit);
  merging_.reserve(n);
  lmdb::Cursor c;
  NEXTIER_RETURN_IF_ERROR(c.Open(txn, idem_dbi_));
  auto it = recent_.upper_bound(sweep_after_);
  std::unordered_map<uint64_t, uint32_t> merged_of;  // record -> keys merged now
  for (size_t i = 0; i < n; ++i) {
    if (it == recent_.end()) it = recent_.begin();
    MDB_val k = Val(it->first), v = Val(it->second.result);
    const int r = mdb_cursor_put(c.get(), &k, &v, MDB_NOOVERWRITE);
    if (r != MDB_SUCCESS && r != MDB_KEYEXIST) {
      *rc = r;
      return Check(r, "mdb_cursor_put(idempotency)");
    }
    ++merged_of[it->second.record];
    merging_.push_back(it++);
  }
  // Delete the head records this leaves with nothing unmerged, oldest first.
  while (trimming_ < record_left_.size()) {
    const uint64_t record = record_head_ + trimming_;
    auto m = merged_of.find(record);
    if (record_left_[trimming_] != (m == merged_of.end() ? 0 : m->second)) break;
    uint8_t kb[8];
    PutBe64(record, kb);
    MDB_val k = Val(kb, 8);
    const int r = mdb_del(txn, recent_dbi_, &k, nullptr);
    if (r != MDB_SUCCESS && r != MDB_NOTFOUND) {
      *rc = r;
      return Check(r, std::string("mdb_del(") + kRecentTable + ")");
    }
    ++trimming_;
  }
  return Status::Ok();
}

void LmdbEventStore::CommitRecent() {
  if (!merging_.empty()) sweep_after_ = merging_.back()->first;
  for (auto it : merging_) {
    --record_left_[it->second.record - record_head_];
    recent_.erase(it);
  }
  merging_.clear();
  for (; trimming_ > 0; --trimming_) {
    record_left_.pop_front();
    ++record_head_;
  }
  if (record_left_.empty()) record_head_ = recent_next_;
  for (uint32_t keys : batch_record_keys_) record_left_.push_back(keys);
  batch_record_keys_.clear();
  recent_.merge(batch_recent_);
  batch_recent_.clear();
  recent_next_ = batch_recent_next_;
}

// --- reading -----------------------------------------------------------------------------

Status LmdbEventStore::ReadAll(uint64_t from_seq, size_t max, const EventVisitor& visit) {
  if (from_seq == 0) from_seq = 1;
  std::vector<uint64_t> scratch;
  size_t done = 0;
  uint64_t next = from_seq;
  bool stop = false;
  while (!stop && done < max) {
    std::shared_lock resize(resize_mu_);
    lmdb::Txn txn;
    NEXTIER_RETURN_IF_ERROR(txn.Begin(env_, true));
    lmdb::Cursor c;
    NEXTIER_RETURN_IF_ERROR(c.Open(txn.get(), events_dbi_));
    uint8_t kb[8];
    PutBe64(next, kb);
    MDB_val k = Val(kb, 8), v;
    int rc = mdb_cursor_get(c.get(), &k, &v, MDB_SET_RANGE);
    size_t in_txn = 0;
    // Pipelined: step the cursor and prefetch the next record before decoding this one, so the
    // memory latency of the next page overlaps the work on the current event. Values stay valid
    // for the life of the read transaction.
    while (rc == MDB_SUCCESS && done < max && in_txn < kReadChunk) {
      const uint64_t seq = GetBe64(k.mv_data);
      const MDB_val current = v;
      rc = mdb_cursor_get(c.get(), &k, &v, MDB_NEXT);
      if (rc == MDB_SUCCESS) {
        const char* p = static_cast<const char*>(v.mv_data);
        __builtin_prefetch(p);
        __builtin_prefetch(p + 64);
        __builtin_prefetch(p + 128);
      }
      Status s = DecodeRecord(seq, View(current), scratch, [&](const EventView& ev) {
        if (!visit(ev)) stop = true;
        return Status::Ok();
      });
      if (!s.ok()) return s;
      ++done;
      ++in_txn;
      next = seq + 1;
      if (stop) break;
    }
    if (rc == MDB_NOTFOUND) break;
    if (rc != MDB_SUCCESS) return Check(rc, "mdb_cursor_get(events)");
  }
  return Status::Ok();
}

Status LmdbEventStore::ReadStream(std::string_view stream, uint64_t from_version, size_t max,
                                  const EventVisitor& visit) {
  if (from_version == 0) from_version = 1;
  std::shared_lock resize(resize_mu_);
  lmdb::Txn txn;
  NEXTIER_RETURN_IF_ERROR(txn.Begin(env_, true));
  lmdb::Cursor c;
  NEXTIER_RETURN_IF_ERROR(c.Open(txn.get(), streams_dbi_));
  std::string start = StreamIndexKey(stream, from_version);
  MDB_val k = Val(start), v;
  int rc = mdb_cursor_get(c.get(), &k, &v, MDB_SET_RANGE);
  std::vector<uint64_t> scratch;
  size_t done = 0;
  while (rc == MDB_SUCCESS && done < max) {
    std::string_view key = View(k);
    if (key.size() != stream.size() + 9 || key.compare(0, stream.size(), stream) != 0 ||
        key[stream.size()] != '\0') {
      break;
    }
    MDB_val ek{8, v.mv_data}, ev;
    int r = mdb_get(txn.get(), events_dbi_, &ek, &ev);
    const uint64_t seq = GetBe64(v.mv_data);
    if (r == MDB_NOTFOUND) {
      return Status::Corruption("stream " + std::string(stream) + " lists event " +
                                std::to_string(seq) + " which is missing");
    }
    NEXTIER_RETURN_IF_ERROR(Check(r, "mdb_get(events)"));
    bool stop = false;
    Status s = DecodeRecord(seq, View(ev), scratch, [&](const EventView& view) {
      if (!visit(view)) stop = true;
      return Status::Ok();
    });
    if (!s.ok()) return s;
    ++done;
    if (stop) break;
    rc = mdb_cursor_get(c.get(), &k, &v, MDB_NEXT);
  }
  if (rc != MDB_SUCCESS && rc != MDB_NOTFOUND) return Check(rc, "mdb_cursor_get(streams)");
  return Status::Ok();
}

Result<uint64_t> LmdbEventStore::StreamVersion(std::string_view stream) {
  std::shared_lock resize(resize_mu_);
  lmdb::Txn txn;
  NEXTIER_RETURN_IF_ERROR(txn.Begin(env_, true));
  uint64_t version = 0;
  int rc = 0;
  NEXTIER_RETURN_IF_ERROR(LastVersion(txn.get(), streams_dbi_, stream, &version, &rc));
  return version;
}

Result<bool> LmdbEventStore::AnyStreamWithPrefix(std::string_view prefix) {
  std::shared_lock resize(resize_mu_);
  lmdb::Txn txn;
  NEXTIER_RETURN_IF_ERROR(txn.Begin(env_, true));
  lmdb::Cursor c;
  NEXTIER_RETURN_IF_ERROR(c.Open(txn.get(), streams_dbi_));
  MDB_val k = Val(prefix), v;
  // The first key >= prefix (LMDB takes no empty key: then the first key).
  const int rc = mdb_cursor_get(c.get(), &k, &v, prefix.empty() ? MDB_FIRST : MDB_SET_RANGE);
  if (rc == MDB_NOTFOUND) return false;
  NEXTIER_RETURN_IF_ERROR(Check(rc, "mdb_cursor_get(streams)"));
  return View(k).substr(0, prefix.size()) == prefix;
}

Status LmdbEventStore::CopyRecords(uint64_t after_seq, size_t max,
                                   std::vector<std::pair<uint64_t, std::string>>* out) {
  std::shared_lock resize(resize_mu_);
  lmdb::Txn txn;
  NEXTIER_RETURN_IF_ERROR(txn.Begin(env_, true));
  lmdb::Cursor c;
  NEXTIER_RETURN_IF_ERROR(c.Open(txn.get(), events_dbi_));
  uint8_t kb[8];
  PutBe64(after_seq + 1, kb);
  MDB_val k = Val(kb, 8), v;
  int rc = mdb_cursor_get(c.get(), &k, &v, MDB_SET_RANGE);
  size_t bytes = 0;
  while (rc == MDB_SUCCESS && out->size() < max && bytes < (size_t{4} << 20)) {
    out->emplace_back(GetBe64(k.mv_data), std::string(View(v)));
    bytes += v.mv_size;
    rc = mdb_cursor_get(c.get(), &k, &v, MDB_NEXT);
  }
  if (rc != MDB_SUCCESS && rc != MDB_NOTFOUND) return Check(rc, "mdb_cursor_get(events)");
  return Status::Ok();
}

// --- subscriptions -----------------------------------------------------------------------

class LmdbSubscription final : public Subscription {
 public:
  LmdbSubscription(LmdbEventStore* store, uint64_t after, EventVisitor on_event)
      : store_(store), position_(after), on_event_(std::move(on_event)) {
    thread_ = std::thread([this] { Run(); });
  }
  ~LmdbSubscription() override {
    stop_ = true;
    store_->WakeWaiters();
    thread_.join();
  }
  uint64_t position() const override { return position_.load(); }
  Status status() const override {
    std::lock_guard lock(mu_);
    return status_;
  }

 private:
  void Run() {
    std::vector<std::pair<uint64_t, std::string>> records;
    std::vector<uint64_t> scratch;
    while (!stop_ && !store_->closing()) {
      const uint64_t pos = position_.load();
      if (store_->Head() <= pos) {
        store_->WaitForHead(pos, std::chrono::milliseconds(200));
        continue;
      }
      records.clear();
      Status s = store_->CopyRecords(pos, 4096, &records);
      if (s.ok()) {
        for (auto& [seq, record] : records) {
          if (stop_) break;
          bool keep_going = true;
          s = DecodeRecord(seq, record, scratch, [&](const EventView& ev) {
            keep_going = on_event_(ev);
            return Status::Ok();
          });
          if (!s.ok()) break;
          position_ = seq;
          if (!keep_going) {
            stop_ = true;
            break;
          }
        }
      }
      if (!s.ok()) {
        std::lock_guard lock(mu_);
        status_ = s;
        return;
      }
    }
  }

  LmdbEventStore* store_;
  std::atomic<uint64_t> position_;
  EventVisitor on_event_;
  std::atomic<bool> stop_{false};
  mutable std::mutex mu_;
  Status status_;
  std::thread thread_;
};

std::unique_ptr<Subscription> LmdbEventStore::Subscribe(uint64_t after_seq, EventVisitor on_event) {
  return std::make_unique<LmdbSubscription>(this, after_seq, std::move(on_event));
}

// --- verification and backup ---------------------------------------------------------------

Result<VerifyReport> LmdbEventStore::Verify() {
  VerifyReport report;
  auto bad = [&report](uint64_t seq, std::string problem) {
    if (report.ok) {
      report.ok = false;
      report.first_bad = seq;
      report.problem = std::move(problem);
    }
  };
  std::shared_lock resize(resize_mu_);
  lmdb::Txn txn;
  NEXTIER_RETURN_IF_ERROR(txn.Begin(env_, true));

  // 1. The log: dense sequence, hash chain, and each event's stream index entry.
  lmdb::Cursor c;
  NEXTIER_RETURN_IF_ERROR(c.Open(txn.get(), events_dbi_));
  MDB_val k, v;
  int rc = mdb_cursor_get(c.get(), &k, &v, MDB_FIRST);
  uint64_t expected_seq = 1;
  Hash prev{};
  std::vector<uint64_t> scratch;
  while (rc == MDB_SUCCESS && report.ok) {
    const uint64_t key_seq = k.mv_size == 8 ? GetBe64(k.mv_data) : 0;
    std::string_view record = View(v);
    if (key_seq != expected_seq) {
      bad(expected_seq, key_seq > expected_seq
                            ? "event " + std::to_string(expected_seq) + " is missing (next is " +
                                  std::to_string(key_seq) + ")"
                            : "event key out of order");
      break;
    }
    if (record.size() < kHashSize + 8) {
      bad(key_seq, "record is too short");
      break;
    }
    Hash computed;
    crypto::Sha256(record.data() + kHashSize, record.size() - kHashSize, computed.data());
    if (std::memcmp(computed.data(), record.data(), kHashSize) != 0) {
      bad(key_seq, "hash mismatch: the event's bytes were altered");
      break;
    }
    Status s = DecodeRecord(key_seq, record, scratch, [&](const EventView& ev) {
      auto e = ev.event();
      if (e.getSeq() != key_seq) {
        bad(key_seq, "event says it is " + std::to_string(e.getSeq()) + ": events were reordered");
        return Status::Ok();
      }
      auto ph = e.getPrevHash();
      if (ph.size() != kHashSize || std::memcmp(ph.begin(), prev.data(), kHashSize) != 0) {
        bad(key_seq, "previous hash does not match: an event before it was removed or replaced");
        return Status::Ok();
      }
      std::string ik = StreamIndexKey(e.getStreamId().cStr(), e.getStreamVersion());
      MDB_val ikv = Val(ik), iv;
      int r = mdb_get(txn.get(), streams_dbi_, &ikv, &iv);
      if (r != MDB_SUCCESS || iv.mv_size != 8 || GetBe64(iv.mv_data) != key_seq) {
        bad(key_seq, "stream index has no entry " + std::string(e.getStreamId().cStr()) + "@" +
                         std::to_string(e.getStreamVersion()) + " for this event");
      }
      return Status::Ok();
    });
    if (!s.ok()) {
      bad(key_seq, s.message());
      break;
    }
    std::memcpy(prev.data(), record.data(), kHashSize);
    ++report.events;
    ++expected_seq;
    rc = mdb_cursor_get(c.get(), &k, &v, MDB_NEXT);
  }
  if (rc != MDB_SUCCESS && rc != MDB_NOTFOUND && report.ok) {
    return Check(rc, "mdb_cursor_get(events)");
  }
  // 2. The head record.
  if (report.ok) {
    MDB_val hk = Val(kMetaHeadSeq), hv;
    int r = mdb_get(txn.get(), meta_dbi_, &hk, &hv);
    const uint64_t head = r == MDB_SUCCESS ? GetBe64(hv.mv_data) : 0;
    if (head != report.events) {
      bad(std::min(head, report.events) + 1,
          "head record says " + std::to_string(head) + " events but the log holds " +
              std::to_string(report.events) + " (events at the end were removed or added)");
    } else if (head > 0) {
      MDB_val hhk = Val(kMetaHeadHash), hhv;
      r = mdb_get(txn.get(), meta_dbi_, &hhk, &hhv);
      if (r != MDB_SUCCESS || hhv.mv_size != kHashSize ||
          std::memcmp(hhv.mv_data, prev.data(), kHashSize) != 0) {
        bad(head, "head hash does not match the last event");
      }
    }
  }
  // 3. The stream index: exactly one entry per event (each event checked its own above, so equal
  // counts make it a one-to-one map), and every stream's versions dense from 1.
  if (report.ok) {
    MDB_stat st;
    mdb_stat(txn.get(), streams_dbi_, &st);
    if (st.ms_entries != report.events) {
      bad(report.events, "stream index holds " + std::to_string(st.ms_entries) + " entries for " +
                             std::to_string(report.events) + " events");
    }
  }
  if (report.ok) {
    lmdb::Cursor sc;
    NEXTIER_RETURN_IF_ERROR(sc.Open(txn.get(), streams_dbi_));
    std::string current;
    uint64_t expected_version = 0;
    rc = mdb_cursor_get(sc.get(), &k, &v, MDB_FIRST);
    while (rc == MDB_SUCCESS && report.ok) {
      std::string_view key = View(k);
      if (key.size() < 9) {
        bad(0, "malformed stream index key");
        break;
      }
      std::string_view stream = key.substr(0, key.size() - 9);
      const uint64_t version = GetBe64(key.data() + key.size() - 8);
      const uint64_t seq = GetBe64(v.mv_data);
      if (stream != current) {
        ++report.streams;
        current = std::string(stream);
        expected_version = 0;
      }
      if (version != expected_version + 1) {
        bad(seq, "stream " + current + " skips from version " + std::to_string(expected_version) +
                     " to " + std::to_string(version));
      }
      expected_version = version;
      rc = mdb_cursor_get(sc.get(), &k, &v, MDB_NEXT);
    }
  }
  // 4. Idempotency records point inside the log.
  if (report.ok) {
    lmdb::Cursor ic;
    NEXTIER_RETURN_IF_ERROR(ic.Open(txn.get(), idem_dbi_));
    rc = mdb_cursor_get(ic.get(), &k, &v, MDB_FIRST);
    while (rc == MDB_SUCCESS && report.ok) {
      auto r = DecodeResult(View(v));
      if (!r || r->last_seq > report.events || r->first_seq == 0 || r->first_seq > r->last_seq) {
        bad(r ? r->first_seq : 0, "an idempotency record points outside the log");
      }
      rc = mdb_cursor_get(ic.get(), &k, &v, MDB_NEXT);
    }
  }
  // ... and so do the recent ones, not yet merged.
  if (report.ok && has_recent_table_) {
    lmdb::Cursor rcur;
    NEXTIER_RETURN_IF_ERROR(rcur.Open(txn.get(), recent_dbi_));
    rc = mdb_cursor_get(rcur.get(), &k, &v, MDB_FIRST);
    std::string_view enc;
    std::vector<std::string_view> keys;
    while (rc == MDB_SUCCESS && report.ok) {
      std::optional<AppendResult> r;
      if (DecodeRecent(View(v), &enc, &keys)) r = DecodeResult(enc);
      if (!r || r->last_seq > report.events || r->first_seq == 0 || r->first_seq > r->last_seq) {
        bad(r ? r->first_seq : 0, "a recent idempotency record points outside the log");
      }
      rc = mdb_cursor_get(rcur.get(), &k, &v, MDB_NEXT);
    }
  }
  report.head_hash = prev;
  return report;
}

Status LmdbEventStore::Backup(const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return Status::Unavailable("cannot create backup directory " + dir + ": " + ec.message());
  if (std::filesystem::exists(std::filesystem::path(dir) / "data.mdb")) {
    return Status::Conflict("backup directory " + dir + " already holds a store");
  }
  std::shared_lock resize(resize_mu_);
  return Check(mdb_env_copy2(env_, dir.c_str(), MDB_CP_COMPACT), "mdb_env_copy2(" + dir + ")");
}

StoreStats LmdbEventStore::Stats() const {
  StoreStats s;
  s.head = Head();
  s.appends = stat_appends_.load();
  s.events = stat_events_.load();
  s.commits = stat_commits_.load();
  MDB_envinfo info;
  mdb_env_info(env_, &info);
  MDB_stat st;
  mdb_env_stat(env_, &st);
  s.map_size = info.me_mapsize;
  s.used_bytes = (info.me_last_pgno + 1) * st.ms_psize;
  return s;
}

}  // namespace

// --- public helpers ------------------------------------------------------------------------

std::string ExpectedVersion::ToString() const {
  switch (kind_) {
    case Kind::kAny:
      return "any";
    case Kind::kNoStream:
      return "no stream";
    case Kind::kExact:
      return std::to_string(version_);
  }
  return "?";
}

NewEvent::NewEvent() : NewEvent(128) {}
NewEvent::NewEvent(unsigned first_segment_words)
    : message_(std::make_unique<capnp::MallocMessageBuilder>(first_segment_words)) {
  auto root = message_->initRoot<schema::Event>();
  root.initPrevHash(kHashSize);  // the writer fills it in place
}
NewEvent::~NewEvent() = default;
NewEvent::NewEvent(NewEvent&&) noexcept = default;
NewEvent& NewEvent::operator=(NewEvent&&) noexcept = default;
schema::Event::Builder NewEvent::builder() { return message_->getRoot<schema::Event>(); }

Result<AppendResult> EventStore::Append(std::string stream, ExpectedVersion expected,
                                        std::vector<NewEvent> events, std::string idempotency_key) {
  std::vector<StreamAppend> unit;
  unit.push_back(StreamAppend{std::move(stream), expected, std::move(events)});
  return AppendUnit(std::move(unit), std::move(idempotency_key));
}

Result<AppendResult> EventStore::AppendUnitUnderKeys(std::vector<StreamAppend> unit,
                                                     std::vector<std::string> idempotency_keys) {
  std::promise<Result<AppendResult>> promise;
  auto future = promise.get_future();
  AppendAsyncUnderKeys(std::move(unit), std::move(idempotency_keys),
                       [&promise](Result<AppendResult> r) { promise.set_value(std::move(r)); });
  return future.get();
}

Hash EventView::hash() const {
  Hash h;
  std::memcpy(h.data(), hash_, h.size());
  return h;
}

std::string EventView::HashHex() const { return HexEncode(hash_, kHashSize); }

std::string HexEncode(const uint8_t* data, size_t size) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out(size * 2, '\0');
  for (size_t i = 0; i < size; ++i) {
    out[2 * i] = kDigits[data[i] >> 4];
    out[2 * i + 1] = kDigits[data[i] & 15];
  }
  return out;
}

std::string_view PayloadTypeName(schema::Event::Payload::Which which) {
  static const auto* names = [] {
    auto* table = new std::vector<std::string>();
    auto schema = capnp::Schema::from<schema::Event::Payload>();
    for (auto field : schema.getUnionFields()) {
      auto proto = field.getProto();
      std::string name = proto.getName();
      if (!name.empty())
        name[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(name[0])));
      size_t d = proto.getDiscriminantValue();
      if (table->size() <= d) table->resize(d + 1);
      (*table)[d] = std::move(name);
    }
    return table;
  }();
  const size_t d = static_cast<size_t>(which);
  if (d >= names->size()) return "Unknown";
  return (*names)[d];
}

Result<std::unique_ptr<EventStore>> OpenLmdbEventStore(const LmdbOptions& options) {
  if (options.path.empty()) return Status::InvalidArgument("a store path is required", "path");
  auto store = std::make_unique<LmdbEventStore>(options);
  Status s = store->Open();
  if (!s.ok()) return s;
  return std::unique_ptr<EventStore>(std::move(store));
}

}  // namespace nextier::eventstore
