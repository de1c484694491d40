// `nextier rebuild`: drops and replays every projection from the log (API.md, "Command line").
#pragma once

#include <string>

namespace nextier::app {

struct RebuildOptions {
  std::string data_dir = "./data";
};

// 0 when every read model was rebuilt; 1 with a one-line reason on stderr when not (no store in
// the folder, the store held by a running `nextier serve`, a projection failing).
int RunRebuild(const RebuildOptions& options);

}  // namespace nextier::app
