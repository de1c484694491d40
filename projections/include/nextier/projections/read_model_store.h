// ReadModelStore: the home of the read models, an ordered key-value store of named tables in its
// own LMDB environment (for example <data>/projections), separate from the event log. Nothing
// here touches the log's LMDB: read models are rebuilt from the log through the EventStore
// interface only, so they could equally follow a remote log (DESIGN.md, "beyond one machine").
//
// Keys and values are byte strings; keys sort bytewise (memcmp order, shorter first on a tie),
// so callers build ordered keys from big-endian integers (see PutBe64 below). A key is 1 to 511
// bytes; a value is any size.
//
// Layout on disk: one LMDB named database per table; the table name is the database name. The
// runner keeps its checkpoints in the table "_checkpoints" (names starting with '_' are
// reserved for the framework).
//
// Thread-safety: the store may be used from any thread. Any number of read transactions run
// concurrently (MVCC: each sees one committed snapshot and never waits); write transactions are
// serialised (BeginWrite blocks while another is open, in any process). A Txn itself belongs to
// one thread at a time; a write Txn must be committed or aborted on the thread that began it.
// A thread holding a write Txn must not call OpenTable or BeginWrite (it would wait on itself).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "nextier/common/status.h"

namespace nextier::projections {

struct ReadModelOptions {
  // The directory holding data.mdb and lock.mdb (created if missing).
  std::string path;
  // The most address space the store may use. The file only grows as data is written, so this
  // is a ceiling, not an allocation; a write beyond it fails with ResourceExhausted.
  uint64_t map_size = uint64_t{64} << 30;
  // The most tables (LMDB named databases) the environment can hold.
  unsigned max_tables = 256;
  // True (the default): the store is never trusted after a power loss it was not synced for.
  // The read models are derived from the log, so losing commits only means replaying them; what
  // must never happen is reading a damaged file. How, depends on sync_each_commit:
  //  - false (the default, "lazy"): commits are not synced (MDB_NOSYNC), so a commit costs no
  //    disk wait and the kernel writes a page rewritten by many commits once. While the store is
  //    open a marker file, "unsynced" (synced itself before the first commit), names this boot
  //    (/proc/sys/kernel/random/boot_id); closing syncs the store and removes it. After a process
  //    crash the page cache still holds every commit, the marker names the running boot, and the
  //    next open keeps the file. After a power loss or a kernel crash the marker names another
  //    boot: the file may be damaged, so the next open deletes it and the runner, finding no
  //    checkpoints, rebuilds every projection from the log.
  //  - true, or when the boot id cannot be read or flock does not work on the folder (a file
  //    another boot left unsynced is still deleted): each commit syncs its data pages but not the
  //    meta page (MDB_NOMETASYNC), one fdatasync per commit; a power loss may undo the last
  //    commit, never damage the file (the checkpoint is undone with the rows).
  // False: nothing is synced and no marker kept (MDB_NOSYNC): a power loss may leave a damaged
  // file that is opened anyway; for tests and benchmarks.
  bool sync = true;
  bool sync_each_commit = false;
  // The running boot's id; empty: read /proc/sys/kernel/random/boot_id. Tests set it to play a
  // restart of the machine.
  std::string boot_id;
};

// A handle to a named table, from ReadModelStore::OpenTable; valid for the store's lifetime.
// Cheap to copy.
class Table {
 public:
  Table() = default;
  bool valid() const { return id_ != 0; }
  bool operator==(const Table& other) const { return id_ == other.id_; }

 private:
  friend class ReadModelStore;
  friend class Txn;
  explicit Table(uint32_t id) : id_(id) {}
  uint32_t id_ = 0;
};

// Visits (key, value) pairs; return false to stop. The views are valid only during the call.
using ScanVisitor = std::function<bool(std::string_view key, std::string_view value)>;

class ReadModelStore;

// A read or write transaction. Move-only; aborts on destruction unless committed. Views
// returned by Get are valid until the next write in this transaction or its end.
class Txn {
 public:
  Txn(Txn&& other) noexcept;
  Txn& operator=(Txn&& other) noexcept;
  Txn(const Txn&) = delete;
  Txn& operator=(const Txn&) = delete;
  ~Txn();

  bool read_only() const { return read_only_; }

  // Ok and `*value` set when `key` exists; NotFound when it does not.
  Status Get(Table table, std::string_view key, std::string_view* value) const;
  // Visits keys in [from, to) in ascending order; an empty `to` means "to the end".
  Status Scan(Table table, std::string_view from, std::string_view to,
              const ScanVisitor& visit) const;
  // Visits the keys that start with `prefix`, in ascending order.
  Status ScanPrefix(Table table, std::string_view prefix, const ScanVisitor& visit) const;
  // The number of keys in the table (O(1)).
  Result<uint64_t> Count(Table table) const;

  // Writes (InvalidArgument in a read transaction).
  // Inserts or replaces. InvalidArgument for an empty key or one longer than 511 bytes.
  Status Put(Table table, std::string_view key, std::string_view value);
  // Inserts `items` (key, value) in their order through one cursor, each only when its key is
  // absent (an existing value is left as it is); `inserted`, when given, gets one flag per item.
  // For keys in ascending order each lands on or next to the leaf of the one before, so most
  // skip the descent from the root: a batch of random keys sorted costs a fraction of the same
  // keys put one by one. Keys are checked as by Put; on failure the transaction must be aborted.
  using Item = std::pair<std::string_view, std::string_view>;
  Status InsertSorted(Table table, const std::vector<Item>& items,
                      std::vector<bool>* inserted = nullptr);
  // Removes `key`; ok whether or not it existed (`*existed` tells, when given).
  Status Delete(Table table, std::string_view key, bool* existed = nullptr);
  // Removes every key of the table (the table itself stays).
  Status Clear(Table table);

  // Makes the writes visible, and durable as ReadModelOptions::sync says; ends the transaction.
  // A read transaction just ends. On failure nothing was written.
  Status Commit();
  // Ends the transaction, discarding its writes. Safe to call twice.
  void Abort();

 private:
  friend class ReadModelStore;
  Txn(const ReadModelStore* store, void* txn, bool read_only)
      : store_(store), txn_(txn), read_only_(read_only) {}
  Status CheckWritable(Table table) const;
  Status CheckTable(Table table) const;

  const ReadModelStore* store_ = nullptr;
  void* txn_ = nullptr;  // MDB_txn*, kept opaque so LMDB stays out of this header
  bool read_only_ = true;
};

class ReadModelStore {
 public:
  // Opens (creating if needed) the store at options.path. Unavailable when the directory cannot
  // be created or opened.
  static Result<std::unique_ptr<ReadModelStore>> Open(const ReadModelOptions& options);
  ~ReadModelStore();
  ReadModelStore(const ReadModelStore&) = delete;
  ReadModelStore& operator=(const ReadModelStore&) = delete;

  // The handle of table `name`, creating the table if missing (its own short write
  // transaction). Idempotent and cheap after the first call. Open tables at setup, before the
  // transactions that use them begin: a transaction begun earlier cannot see a new table.
  // InvalidArgument for an empty name or one with a NUL; ResourceExhausted beyond max_tables.
  Result<Table> OpenTable(std::string_view name);

  Result<Txn> BeginRead() const;
  // Blocks while another write transaction is open.
  Result<Txn> BeginWrite();

  // The name `table` was opened with ("" for an invalid handle).
  std::string_view table_name(Table table) const;
  const std::string& path() const { return options_.path; }
  // True when this open found the file unsynced since a boot that is not the running one, and
  // deleted it (ReadModelOptions::sync): every table started empty.
  bool reset_after_power_loss() const { return reset_after_power_loss_; }
  // True when commits are left to the kernel and the store is synced when it closes.
  bool lazy_sync() const { return lock_fd_ >= 0; }

 private:
  explicit ReadModelStore(const ReadModelOptions& options) : options_(options) {}
  Status OpenEnv();
  // Lazy sync: takes the shared lock, deletes a file unsynced since another boot, writes the
  // marker. Leaves lock_fd_ at -1 (sync each commit) when the boot id cannot be read or the
  // lock file cannot be made or locked.
  Status GuardUnsynced();
  void CloseLazy();
  Result<Txn> Begin(bool read_only) const;

  const ReadModelOptions options_;
  void* env_ = nullptr;  // MDB_env*
  int lock_fd_ = -1;     // "sync.lock", held shared while open with lazy sync
  bool reset_after_power_loss_ = false;

  mutable std::mutex tables_mu_;
  std::map<std::string, uint32_t, std::less<>> tables_;
  std::map<uint32_t, std::string> names_;

  friend class Txn;
};

// Big-endian codecs for ordered keys.
inline void PutBe64(uint64_t v, char* out) {
  for (int i = 7; i >= 0; --i) {
    out[i] = static_cast<char>(v & 0xff);
    v >>= 8;
  }
}
inline uint64_t GetBe64(const char* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | static_cast<uint8_t>(p[i]);
  return v;
}
inline std::string Be64(uint64_t v) {
  std::string s(8, '\0');
  PutBe64(v, s.data());
  return s;
}
// Signed values keep their order when the sign bit is flipped before encoding.
inline uint64_t OrderedFromSigned(int64_t v) {
  return static_cast<uint64_t>(v) ^ (uint64_t{1} << 63);
}
inline int64_t SignedFromOrdered(uint64_t v) {
  return static_cast<int64_t>(v ^ (uint64_t{1} << 63));
}

}  // namespace nextier::projections
