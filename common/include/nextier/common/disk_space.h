// Telling a full disk from a failing one after a write failed.
//
// LMDB reports a short write (the file system ran out of room part-way through a commit) as EIO,
// not ENOSPC, so a full disk would read as a broken device (Unavailable). The stores call
// FullDiskOr on a failed commit: when the disk under their folder has (almost) no room left, the
// failure is ResourceExhausted with "full" in its message, which the API answers with 503
// storage_full; otherwise it is left as it was.
//
// Thread-safety: stateless.
#pragma once

#include <sys/statvfs.h>

#include <cstdint>
#include <string>

#include "nextier/common/status.h"

namespace nextier {

// True when the file system holding `path` has less than `room` bytes left for this user.
inline bool DiskAlmostFull(const std::string& path, uint64_t room = uint64_t{1} << 20) {
  struct statvfs st {};
  if (statvfs(path.c_str(), &st) != 0) return false;
  return static_cast<uint64_t>(st.f_bavail) * static_cast<uint64_t>(st.f_frsize) < room;
}

// `failed` (a failed write under the folder `path`) as ResourceExhausted "the disk under PATH is
// full: ..." when it is an I/O or space error and the disk has no room left; else `failed`.
inline Status FullDiskOr(const Status& failed, const std::string& path) {
  if (failed.code() != StatusCode::kUnavailable &&
      failed.code() != StatusCode::kResourceExhausted) {
    return failed;
  }
  if (!DiskAlmostFull(path)) return failed;
  return Status::ResourceExhausted("the disk under " + path + " is full: " + failed.message());
}

}  // namespace nextier
