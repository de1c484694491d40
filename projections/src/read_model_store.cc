#include "nextier/projections/read_model_store.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <system_error>
#include <utility>

#include "lmdb_util.h"
#include "nextier/common/disk_space.h"

namespace nextier::projections {

using lmdb::Check;
using lmdb::Val;
using lmdb::View;

namespace {

MDB_txn* AsTxn(void* p) { return static_cast<MDB_txn*>(p); }
MDB_env* AsEnv(void* p) { return static_cast<MDB_env*>(p); }

// LMDB's compiled-in key limit (mdb_env_get_maxkeysize) for the default build.
constexpr size_t kMaxKeySize = 511;

Status CheckKey(std::string_view key) {
  if (key.empty() || key.size() > kMaxKeySize) {
    return Status::InvalidArgument("read models: a key must be 1 to " +
                                       std::to_string(kMaxKeySize) + " bytes, got " +
                                       std::to_string(key.size()),
                                   "key");
  }
  return Status::Ok();
}

// The running boot's id, or "" when the kernel does not say (then commits sync one by one).
std::string RunningBootId() {
  std::ifstream in("/proc/sys/kernel/random/boot_id");
  std::string id;
  std::getline(in, id);
  return id;
}

// The whole file, or nullopt when it does not exist or cannot be read.
std::optional<std::string> ReadWhole(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

Status Errno(const std::string& what) {
  return Status::Unavailable("read models: " + what + ": " + std::strerror(errno));
}

Status SyncDir(const std::string& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return Errno("cannot open " + dir);
  const int rc = ::fsync(fd);
  ::close(fd);
  return rc == 0 ? Status::Ok() : Errno("cannot sync " + dir);
}

// Writes `text` to dir/name through a synced temporary file renamed over it, then syncs dir:
// once this returns the file is on disk whatever happens next.
Status WriteDurably(const std::string& dir, const std::string& name, const std::string& text) {
  const std::string tmp = dir + "/" + name + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return Errno("cannot create " + tmp);
  const bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) &&
                  ::fsync(fd) == 0;
  ::close(fd);
  if (!ok) return Errno("cannot write " + tmp);
  if (::rename(tmp.c_str(), (dir + "/" + name).c_str()) != 0) return Errno("cannot rename " + tmp);
  return SyncDir(dir);
}

constexpr const char* kMarker = "unsynced";

}  // namespace

// --- Txn ---------------------------------------------------------------------------------

Txn::Txn(Txn&& other) noexcept
    : store_(other.store_),
      txn_(std::exchange(other.txn_, nullptr)),
      read_only_(other.read_only_) {}

Txn& Txn::operator=(Txn&& other) noexcept {
  if (this != &other) {
    Abort();
    store_ = other.store_;
    txn_ = std::exchange(other.txn_, nullptr);
    read_only_ = other.read_only_;
  }
  return *this;
}

Txn::~Txn() { Abort(); }

void Txn::Abort() {
  if (txn_ != nullptr) {
    mdb_txn_abort(AsTxn(txn_));
    txn_ = nullptr;
  }
}

Status Txn::Commit() {
  if (txn_ == nullptr) return Status::Internal("read models: commit of a finished transaction");
  MDB_txn* t = AsTxn(std::exchange(txn_, nullptr));
  if (read_only_) {
    mdb_txn_abort(t);
    return Status::Ok();
  }
  // A short write on a full disk comes back as EIO: say "full" (disk_space.h).
  return FullDiskOr(Check(mdb_txn_commit(t), "mdb_txn_commit"), store_->path());
}

Status Txn::CheckTable(Table table) const {
  if (txn_ == nullptr) return Status::Internal("read models: use of a finished transaction");
  if (!table.valid()) return Status::InvalidArgument("read models: invalid table handle", "table");
  return Status::Ok();
}

Status Txn::CheckWritable(Table table) const {
  NEXTIER_RETURN_IF_ERROR(CheckTable(table));
  if (read_only_) {
    return Status::InvalidArgument("read models: write in a read transaction on table " +
                                   std::string(store_->table_name(table)));
  }
  return Status::Ok();
}

// NotFound is the common answer in folds, so its message is short enough to need no allocation.
Status Txn::Get(Table table, std::string_view key, std::string_view* value) const {
  NEXTIER_RETURN_IF_ERROR(CheckTable(table));
  if (key.empty() || key.size() > kMaxKeySize) return Status::NotFound("no such key");
  MDB_val k = Val(key), v;
  int rc = mdb_get(AsTxn(txn_), table.id_, &k, &v);
  if (rc == MDB_NOTFOUND) return Status::NotFound("no such key");
  if (rc != MDB_SUCCESS) return Check(rc, "mdb_get");
  *value = View(v);
  return Status::Ok();
}

Status Txn::Scan(Table table, std::string_view from, std::string_view to,
                 const ScanVisitor& visit) const {
  NEXTIER_RETURN_IF_ERROR(CheckTable(table));
  MDB_cursor* c = nullptr;
  NEXTIER_RETURN_IF_ERROR(Check(mdb_cursor_open(AsTxn(txn_), table.id_, &c), "mdb_cursor_open"));
  MDB_val k, v;
  int rc;
  if (from.empty()) {
    rc = mdb_cursor_get(c, &k, &v, MDB_FIRST);
  } else {
    k = Val(from);
    rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
  }
  while (rc == MDB_SUCCESS) {
    std::string_view key = View(k);
    if (!to.empty() && key >= to) break;
    if (!visit(key, View(v))) break;
    rc = mdb_cursor_get(c, &k, &v, MDB_NEXT);
  }
  mdb_cursor_close(c);
  if (rc != MDB_SUCCESS && rc != MDB_NOTFOUND) return Check(rc, "mdb_cursor_get");
  return Status::Ok();
}

Status Txn::ScanPrefix(Table table, std::string_view prefix, const ScanVisitor& visit) const {
  return Scan(table, prefix, {}, [&](std::string_view k, std::string_view v) {
    if (k.substr(0, prefix.size()) != prefix) return false;
    return visit(k, v);
  });
}

Result<uint64_t> Txn::Count(Table table) const {
  NEXTIER_RETURN_IF_ERROR(CheckTable(table));
  MDB_stat st;
  NEXTIER_RETURN_IF_ERROR(Check(mdb_stat(AsTxn(txn_), table.id_, &st), "mdb_stat"));
  return static_cast<uint64_t>(st.ms_entries);
}

Status Txn::Put(Table table, std::string_view key, std::string_view value) {
  NEXTIER_RETURN_IF_ERROR(CheckWritable(table));
  NEXTIER_RETURN_IF_ERROR(CheckKey(key));
  MDB_val k = Val(key), v = Val(value);
  return Check(mdb_put(AsTxn(txn_), table.id_, &k, &v, 0), "mdb_put");
}

Status Txn::InsertSorted(Table table, const std::vector<Item>& items, std::vector<bool>* inserted) {
  if (inserted != nullptr) inserted->assign(items.size(), false);
  NEXTIER_RETURN_IF_ERROR(CheckWritable(table));
  for (const auto& item : items) NEXTIER_RETURN_IF_ERROR(CheckKey(item.first));
  MDB_cursor* c = nullptr;
  NEXTIER_RETURN_IF_ERROR(Check(mdb_cursor_open(AsTxn(txn_), table.id_, &c), "mdb_cursor_open"));
  Status s;
  for (size_t i = 0; i < items.size(); ++i) {
    MDB_val k = Val(items[i].first), v = Val(items[i].second);
    const int rc = mdb_cursor_put(c, &k, &v, MDB_NOOVERWRITE);
    if (rc == MDB_KEYEXIST) continue;
    s = Check(rc, "mdb_cursor_put");
    if (!s.ok()) break;
    if (inserted != nullptr) (*inserted)[i] = true;
  }
  mdb_cursor_close(c);
  return s;
}

Status Txn::Delete(Table table, std::string_view key, bool* existed) {
  NEXTIER_RETURN_IF_ERROR(CheckWritable(table));
  if (existed != nullptr) *existed = false;
  if (key.empty() || key.size() > kMaxKeySize) return Status::Ok();
  MDB_val k = Val(key);
  int rc = mdb_del(AsTxn(txn_), table.id_, &k, nullptr);
  if (rc == MDB_NOTFOUND) return Status::Ok();
  NEXTIER_RETURN_IF_ERROR(Check(rc, "mdb_del"));
  if (existed != nullptr) *existed = true;
  return Status::Ok();
}

Status Txn::Clear(Table table) {
  NEXTIER_RETURN_IF_ERROR(CheckWritable(table));
  return Check(mdb_drop(AsTxn(txn_), table.id_, 0), "mdb_drop");
}

// --- ReadModelStore ----------------------------------------------------------------------

Result<std::unique_ptr<ReadModelStore>> ReadModelStore::Open(const ReadModelOptions& options) {
  std::unique_ptr<ReadModelStore> store(new ReadModelStore(options));
  NEXTIER_RETURN_IF_ERROR(store->OpenEnv());
  return store;
}

Status ReadModelStore::OpenEnv() {
  if (options_.path.empty()) return Status::InvalidArgument("read models: no path", "path");
  std::error_code ec;
  std::filesystem::create_directories(options_.path, ec);
  if (ec) {
    return Status::Unavailable("read models: cannot create " + options_.path + ": " + ec.message());
  }
  if (options_.sync && !options_.sync_each_commit) NEXTIER_RETURN_IF_ERROR(GuardUnsynced());
  MDB_env* env = nullptr;
  NEXTIER_RETURN_IF_ERROR(Check(mdb_env_create(&env), "mdb_env_create"));
  env_ = env;
  NEXTIER_RETURN_IF_ERROR(
      Check(mdb_env_set_maxdbs(env, options_.max_tables), "mdb_env_set_maxdbs"));
  NEXTIER_RETURN_IF_ERROR(Check(mdb_env_set_maxreaders(env, 1024), "mdb_env_set_maxreaders"));
  NEXTIER_RETURN_IF_ERROR(
      Check(mdb_env_set_mapsize(env, options_.map_size), "mdb_env_set_mapsize"));
  // MDB_NOTLS: read transactions are not tied to a thread, so a Txn can move and a thread that
  // holds a write transaction may still read.
  const bool each_commit = options_.sync && !lazy_sync();
  unsigned flags = MDB_NOTLS | (each_commit ? MDB_NOMETASYNC : MDB_NOSYNC);
  Status s = Check(mdb_env_open(env, options_.path.c_str(), flags, 0644),
                   "mdb_env_open(" + options_.path + ")");
  if (!s.ok()) return Status::Unavailable(s.message());
  // Reader slots of processes that died (kill -9) would otherwise pin old pages forever.
  int dead = 0;
  NEXTIER_RETURN_IF_ERROR(Check(mdb_reader_check(env, &dead), "mdb_reader_check"));
  return Status::Ok();
}

Status ReadModelStore::GuardUnsynced() {
  const std::string boot = options_.boot_id.empty() ? RunningBootId() : options_.boot_id;
  if (boot.empty()) return Status::Ok();  // no boot id: sync each commit instead
  const std::string& dir = options_.path;
  const std::string lock_path = dir + "/sync.lock";
  const std::string marker_path = dir + "/" + kMarker;
  const int fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  // Alone with the store (no other process has it open): judge what the last one left. With
  // others it is open in this boot, so its file is whole in the page cache. Where flock does
  // not work (or the lock file cannot be made), the store syncs each commit instead, but a
  // file another boot left unsynced is still not trusted.
  const bool alone = fd >= 0 && ::flock(fd, LOCK_EX | LOCK_NB) == 0;
  const bool lockable = alone || (fd >= 0 && errno == EWOULDBLOCK);
  auto fail = [fd](Status s) {
    if (fd >= 0) ::close(fd);
    return s;
  };
  if (alone || !lockable) {
    const auto marker = ReadWhole(marker_path);
    if (marker.has_value() && *marker != boot) {
      // Unsynced writes of another boot: the disk may hold any mix of old and new pages.
      std::error_code ec;
      for (const char* f : {"data.mdb", "lock.mdb"}) {
        std::filesystem::remove(std::filesystem::path(dir) / f, ec);
        if (ec) {
          return fail(Status::Unavailable("read models: cannot delete " + dir + "/" + f +
                                          " (left unsynced by another boot): " + ec.message()));
        }
      }
      reset_after_power_loss_ = true;
    }
    if (!lockable) {
      // Syncing each commit from here on; the marker of a file just deleted has no more use.
      if (reset_after_power_loss_ && ::unlink(marker_path.c_str()) == 0) (void)SyncDir(dir);
      return fail(Status::Ok());
    }
    if (!marker.has_value() || *marker != boot) {
      if (Status s = WriteDurably(dir, kMarker, boot); !s.ok()) return fail(s);
    }
  }
  if (::flock(fd, LOCK_SH) != 0) return fail(Errno("cannot lock " + lock_path));
  // Another process may have closed (and removed the marker) while this one waited.
  if (ReadWhole(marker_path) != boot) {
    if (Status s = WriteDurably(dir, kMarker, boot); !s.ok()) return fail(s);
  }
  lock_fd_ = fd;
  return Status::Ok();
}

void ReadModelStore::CloseLazy() {
  // The marker goes only once everything is on disk, and only by the last process to close.
  const bool synced = env_ != nullptr && mdb_env_sync(AsEnv(env_), 1) == MDB_SUCCESS;
  if (synced && ::flock(lock_fd_, LOCK_EX | LOCK_NB) == 0 &&
      ::unlink((options_.path + "/" + kMarker).c_str()) == 0) {
    (void)SyncDir(options_.path);
  }
  ::close(lock_fd_);
  lock_fd_ = -1;
}

ReadModelStore::~ReadModelStore() {
  if (lock_fd_ >= 0) CloseLazy();
  if (env_ != nullptr) mdb_env_close(AsEnv(env_));
}

Result<Table> ReadModelStore::OpenTable(std::string_view name) {
  if (name.empty() || name.find('\0') != std::string_view::npos) {
    return Status::InvalidArgument("read models: a table name must be non-empty, without NUL",
                                   "table");
  }
  std::lock_guard lock(tables_mu_);
  if (auto it = tables_.find(name); it != tables_.end()) return Table(it->second);
  MDB_txn* txn = nullptr;
  NEXTIER_RETURN_IF_ERROR(
      Check(mdb_txn_begin(AsEnv(env_), nullptr, 0, &txn), "mdb_txn_begin(open table)"));
  MDB_dbi dbi = 0;
  const std::string n(name);
  int rc = mdb_dbi_open(txn, n.c_str(), MDB_CREATE, &dbi);
  if (rc != MDB_SUCCESS) {
    mdb_txn_abort(txn);
    return Check(rc, "mdb_dbi_open(" + n + ")");
  }
  NEXTIER_RETURN_IF_ERROR(Check(mdb_txn_commit(txn), "mdb_txn_commit(open table " + n + ")"));
  tables_.emplace(n, dbi);
  names_.emplace(dbi, n);
  return Table(dbi);
}

std::string_view ReadModelStore::table_name(Table table) const {
  std::lock_guard lock(tables_mu_);
  auto it = names_.find(table.id_);
  return it == names_.end() ? std::string_view() : std::string_view(it->second);
}

Result<Txn> ReadModelStore::Begin(bool read_only) const {
  MDB_txn* txn = nullptr;
  NEXTIER_RETURN_IF_ERROR(
      Check(mdb_txn_begin(AsEnv(env_), nullptr, read_only ? MDB_RDONLY : 0, &txn),
            read_only ? "mdb_txn_begin(read)" : "mdb_txn_begin(write)"));
  return Txn(this, txn, read_only);
}

Result<Txn> ReadModelStore::BeginRead() const { return Begin(true); }
Result<Txn> ReadModelStore::BeginWrite() { return Begin(false); }

}  // namespace nextier::projections
