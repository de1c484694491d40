// `nextier import FILE`: imports a CSV through the data hub pipeline (API.md, "Command line").
#pragma once

#include <string>

namespace nextier::app {

struct ImportCliOptions {
  std::string file;
  std::string data_dir = "./data";
  std::string source;  // "" detects
  std::string workflow = "real-estate-agents";
  std::string workflows_dir;
};

// 0 when the file was imported, 1 when it failed (not a CSV, the store is busy or broken),
// 2 on bad usage.
int RunImport(const ImportCliOptions& options);

}  // namespace nextier::app
