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
  std::string keys_file;
  std::string sim_clock;
  std::string provider = "sandbox";
  std::string log_level = "info";
};

// Returns the process exit status: 0 after a graceful stop, 1 on a failure to start, 2 on bad
// usage.
int RunServe(const ServeOptions& options);

}  // namespace nextier::app
