// Private LMDB helpers: one function maps every return code to a Status naming the operation,
// and write transactions are RAII guards that abort unless committed.
#pragma once

#include <lmdb.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "nextier/common/status.h"

namespace nextier::eventstore::lmdb {

// Maps an LMDB (or errno) return code to a Status; `op` names what was attempted.
Status Check(int rc, std::string_view op);

inline MDB_val Val(std::string_view s) { return MDB_val{s.size(), const_cast<char*>(s.data())}; }
inline MDB_val Val(const void* p, size_t n) { return MDB_val{n, const_cast<void*>(p)}; }
inline std::string_view View(const MDB_val& v) {
  return std::string_view(static_cast<const char*>(v.mv_data), v.mv_size);
}

inline void PutBe64(uint64_t v, uint8_t* out) {
  for (int i = 7; i >= 0; --i) {
    out[i] = static_cast<uint8_t>(v);
    v >>= 8;
  }
}
inline uint64_t GetBe64(const void* p) {
  const auto* b = static_cast<const uint8_t*>(p);
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | b[i];
  return v;
}

// A transaction that aborts on destruction unless committed.
class Txn {
 public:
  Txn() = default;
  ~Txn() { Abort(); }
  Txn(const Txn&) = delete;
  Txn& operator=(const Txn&) = delete;

  Status Begin(MDB_env* env, bool read_only) {
    Abort();
    return Check(mdb_txn_begin(env, nullptr, read_only ? MDB_RDONLY : 0, &txn_),
                 read_only ? "mdb_txn_begin(read)" : "mdb_txn_begin(write)");
  }
  Status Commit() { return Check(CommitRc(), "mdb_txn_commit"); }
  // Commits and returns LMDB's code (the transaction is gone either way).
  int CommitRc() {
    MDB_txn* t = txn_;
    txn_ = nullptr;
    return mdb_txn_commit(t);
  }
  void Abort() {
    if (txn_ != nullptr) {
      mdb_txn_abort(txn_);
      txn_ = nullptr;
    }
  }
  MDB_txn* get() const { return txn_; }

 private:
  MDB_txn* txn_ = nullptr;
};

// A cursor closed on destruction.
class Cursor {
 public:
  Cursor() = default;
  ~Cursor() {
    if (cursor_ != nullptr) mdb_cursor_close(cursor_);
  }
  Cursor(const Cursor&) = delete;
  Cursor& operator=(const Cursor&) = delete;
  Status Open(MDB_txn* txn, MDB_dbi dbi) {
    return Check(mdb_cursor_open(txn, dbi, &cursor_), "mdb_cursor_open");
  }
  MDB_cursor* get() const { return cursor_; }

 private:
  MDB_cursor* cursor_ = nullptr;
};

}  // namespace nextier::eventstore::lmdb
