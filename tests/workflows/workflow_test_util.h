// Helpers shared by the workflow tests: the seed files and JSON edits on them.
#pragma once

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

namespace nextier::workflows::testing {

inline std::string SeedPath(const std::string& name) {
  return std::string(NEXTIER_SOURCE_DIR) + "/workflows/" + name;
}

inline std::string ReadText(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

inline nlohmann::json SeedJson(const std::string& name) {
  return nlohmann::json::parse(ReadText(SeedPath(name)));
}

}  // namespace nextier::workflows::testing
