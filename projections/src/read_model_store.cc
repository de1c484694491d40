#include "nextier/projections/read_model_store.h"

#include <filesystem>
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
  unsigned flags = MDB_NOTLS | (options_.sync ? MDB_NOMETASYNC : MDB_NOSYNC);
  Status s = Check(mdb_env_open(env, options_.path.c_str(), flags, 0644),
                   "mdb_env_open(" + options_.path + ")");
  if (!s.ok()) return Status::Unavailable(s.message());
  // Reader slots of processes that died (kill -9) would otherwise pin old pages forever.
  int dead = 0;
  NEXTIER_RETURN_IF_ERROR(Check(mdb_reader_check(env, &dead), "mdb_reader_check"));
  return Status::Ok();
}

ReadModelStore::~ReadModelStore() {
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
