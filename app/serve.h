// `nextier serve` options and entry point (API.md, "Command line").
#pragma once

#include <cstdint>
#include <string>

namespace nextier::app {

struct ServeOptions {
  std::string data_dir = "./data";
  uint16_t port = 8080;
  std::string bind = "127.0.0.1";
  std::string workflows_dir;
  std::string web_dir;  // the web UI's files (index.html, ...)
  std::string keys_file;
  std::string sim_clock;
  std::string provider = "sandbox";
  std::string log_level = "info";
  // > 0: the event store may hold at most this many MiB (then requests that store answer 503
  // storage_full); 0: no cap but the disk.
  uint64_t max_store_mb = 0;
};

// Returns the process exit status: 0 after a graceful stop, 1 on a failure to start, 2 on bad
// usage.
int RunServe(const ServeOptions& options);

}  // namespace nextier::app
