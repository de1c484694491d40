// Private LMDB helpers for the read-model store: every return code passes through one function
// that names the operation, and big-endian integer codecs for ordered keys.
#pragma once

#include <lmdb.h>

#include <cstdint>
#include <string_view>

#include "nextier/common/status.h"

namespace nextier::projections::lmdb {

// Maps an LMDB (or errno) return code to a Status; `op` names what was attempted.
Status Check(int rc, std::string_view op);

inline MDB_val Val(std::string_view s) { return MDB_val{s.size(), const_cast<char*>(s.data())}; }
inline std::string_view View(const MDB_val& v) {
  return std::string_view(static_cast<const char*>(v.mv_data), v.mv_size);
}

}  // namespace nextier::projections::lmdb
