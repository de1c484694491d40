#include "lmdb_util.h"

#include <cerrno>
#include <string>

namespace nextier::projections::lmdb {

Status Check(int rc, std::string_view op) {
  if (rc == MDB_SUCCESS) return Status::Ok();
  std::string msg = "read models: ";
  msg += op;
  msg += ": ";
  msg += mdb_strerror(rc);
  switch (rc) {
    case MDB_NOTFOUND:
    case ENOENT:
      return Status::NotFound(std::move(msg));
    case MDB_KEYEXIST:
      return Status::Conflict(std::move(msg));
    case MDB_BAD_VALSIZE:
    case MDB_BAD_DBI:
      return Status::InvalidArgument(std::move(msg));
    case MDB_MAP_FULL:
    case MDB_TXN_FULL:
    case MDB_READERS_FULL:
    case MDB_DBS_FULL:
    case ENOSPC:
    case EDQUOT:
      return Status::ResourceExhausted(std::move(msg));
    case MDB_CORRUPTED:
    case MDB_PAGE_NOTFOUND:
    case MDB_VERSION_MISMATCH:
    case MDB_INVALID:
      return Status::Corruption(std::move(msg));
    case MDB_PANIC:
    case EIO:
      return Status::Unavailable(std::move(msg));
    default:
      return Status::Internal(std::move(msg));
  }
}

}  // namespace nextier::projections::lmdb
