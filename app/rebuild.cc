// `nextier rebuild`: opens the store (taking its writer lock, so no `serve` can write while the
// read models are replayed) and the read models with every projection serve keeps
// (engine_wiring.h), then ProjectionRunner::Rebuild. Starts no service: no timer fires, nothing
// is sent.
#include "rebuild.h"

#include <chrono>
#include <cstdio>
#include <filesystem>

#include "engine_wiring.h"

namespace nextier::app {

int RunRebuild(const RebuildOptions& o) {
  namespace fs = std::filesystem;
  const fs::path store_dir = fs::path(o.data_dir) / "eventstore";
  std::error_code ec;
  if (!fs::is_directory(store_dir, ec)) {
    std::fprintf(stderr, "rebuild: no event store in %s (nothing to rebuild from)\n",
                 o.data_dir.c_str());
    return 1;
  }
  EngineOptions options;
  options.data_dir = o.data_dir;
  auto opened = Engine::Open(std::move(options));
  if (!opened.ok()) {
    if (opened.status().code() == StatusCode::kUnavailable) {
      std::fprintf(stderr,
                   "rebuild: the data folder %s is in use by another process (a running `nextier "
                   "serve`?): stop it first (%s)\n",
                   o.data_dir.c_str(), opened.status().message().c_str());
    } else {
      std::fprintf(stderr, "rebuild: %s\n", opened.status().message().c_str());
    }
    return 1;
  }
  Engine& engine = **opened;
  if (Status s = engine.OpenReadModels(); !s.ok()) {
    std::fprintf(stderr, "rebuild: %s\n", s.message().c_str());
    return 1;
  }
  const uint64_t head = engine.store->Head();
  std::printf("rebuilding %zu projections from %llu events in %s\n", engine.projections().size(),
              static_cast<unsigned long long>(head), store_dir.c_str());
  std::fflush(stdout);
  const auto start = std::chrono::steady_clock::now();
  if (Status s = engine.runner->Rebuild(); !s.ok()) {
    std::fprintf(stderr, "rebuild: %s\n", s.ToString().c_str());
    return 1;
  }
  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  // Each projection is folded over the whole log: its checkpoint is how many events it was fed.
  for (projections::Projection* p : engine.projections()) {
    auto at = engine.runner->checkpoint(p->name());
    std::printf("  %-14s %llu events replayed\n", std::string(p->name()).c_str(),
                static_cast<unsigned long long>(at.ok() ? *at : 0));
  }
  std::printf("rebuilt %zu projections up to seq %llu in %.2f s (%.0f events/s)\n",
              engine.projections().size(),
              static_cast<unsigned long long>(engine.runner->position()), secs,
              secs > 0 ? static_cast<double>(head) / secs : 0.0);
  std::fflush(stdout);
  return 0;
}

}  // namespace nextier::app
