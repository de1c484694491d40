// Shared test support: a temporary directory fixture and Status assertions.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "nextier/common/status.h"

#define ASSERT_OK(expr)                                         \
  do {                                                          \
    const auto& nextier_s_ = (expr);                            \
    ASSERT_TRUE(::nextier::testing::StatusOf(nextier_s_).ok())  \
        << ::nextier::testing::StatusOf(nextier_s_).ToString(); \
  } while (0)
#define EXPECT_OK(expr)                                         \
  do {                                                          \
    const auto& nextier_s_ = (expr);                            \
    EXPECT_TRUE(::nextier::testing::StatusOf(nextier_s_).ok())  \
        << ::nextier::testing::StatusOf(nextier_s_).ToString(); \
  } while (0)

namespace nextier::testing {

inline const Status& StatusOf(const Status& s) { return s; }
template <typename T>
const Status& StatusOf(const Result<T>& r) {
  return r.status();
}

// Reads from `fd` (appending to `buf`) until `needle` has been seen or the pipe closes; an
// empty `needle` reads to the end. Returns everything read. For talking to child processes.
std::string ReadUntil(int fd, const std::string& needle, std::string buf = {});

// A fresh directory under the system temp folder, removed with its contents on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::string str() const { return path_.string(); }

 private:
  std::filesystem::path path_;
};

}  // namespace nextier::testing
