#include "testing/testing.h"

#include <stdlib.h>
#include <unistd.h>

#include <system_error>

namespace nextier::testing {

std::string ReadUntil(int fd, const std::string& needle, std::string buf) {
  char chunk[4096];
  while (needle.empty() || buf.find(needle) == std::string::npos) {
    ssize_t n = read(fd, chunk, sizeof chunk);
    if (n <= 0) break;
    buf.append(chunk, static_cast<size_t>(n));
  }
  return buf;
}

TempDir::TempDir() {
  std::string tmpl = (std::filesystem::temp_directory_path() / "nextier-test-XXXXXX").string();
  if (mkdtemp(tmpl.data()) == nullptr)
    throw std::system_error(errno, std::generic_category(), "mkdtemp");
  path_ = tmpl;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

}  // namespace nextier::testing
