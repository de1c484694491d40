// `nextier demo`: the whole journey on generated sample data, in-process, with the sandbox
// providers and a simulated clock (API.md, "Command line").
#pragma once

#include <string>

namespace nextier::app {

struct DemoOptions {
  std::string data_dir;  // "" = a fresh folder under the system's temp directory (kept)
  int rows = 400;        // CSV rows generated, duplicates and entity owners included
  std::string workflows_dir;
};

// Prints each stage and the final funnel ("funnel: raw=N enriched=N ... rejected=N"). 0 when the
// journey ran; 1 with a one-line reason when a stage failed; 2 on bad usage.
int RunDemo(const DemoOptions& options);

}  // namespace nextier::app
