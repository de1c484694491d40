#include "forget.h"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>

#include "engine_wiring.h"
#include "nextier/adapters/api_audit.h"
#include "nextier/engine/forget.h"
#include "nextier/engine/lead_commands.h"

namespace nextier::app {

int RunForget(const ForgetOptions& o) {
  namespace fs = std::filesystem;
  if (o.lead_id.empty()) {
    std::fprintf(stderr, "forget: a lead id is required\n");
    return 2;
  }
  const fs::path store_dir = fs::path(o.data_dir) / "eventstore";
  std::error_code ec;
  if (!fs::is_directory(store_dir, ec)) {
    std::fprintf(stderr, "forget: no event store in %s\n", o.data_dir.c_str());
    return 1;
  }
  EngineOptions options;
  options.data_dir = o.data_dir;
  // Business time never runs backwards: a folder a simulated clock wrote into gets its
  // LeadForgotten at the later of now and the newest recorded time (engine_wiring.h).
  options.sim_start = std::chrono::duration_cast<std::chrono::microseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  auto opened = Engine::Open(std::move(options));
  if (!opened.ok()) {
    if (opened.status().code() == StatusCode::kUnavailable) {
      std::fprintf(stderr,
                   "forget: the data folder %s is in use by another process (a running `nextier "
                   "serve`? stop it, or POST /api/leads/{id}/forget to it) (%s)\n",
                   o.data_dir.c_str(), opened.status().message().c_str());
    } else {
      std::fprintf(stderr, "forget: %s\n", opened.status().message().c_str());
    }
    return 1;
  }
  Engine& engine = **opened;
  auto lead_id = adapters::ResolveLeadId(*engine.store, o.lead_id);
  if (!lead_id.ok()) {
    std::fprintf(stderr, "forget: %s\n", lead_id.status().message().c_str());
    return lead_id.status().code() == StatusCode::kInvalidArgument ? 2 : 1;
  }
  engine::LeadCommandHandler handler(*engine.store, *engine.clock);
  engine::ForgetService service(*engine.store, handler);
  const char* user = std::getenv("USER");
  const std::string actor = std::string("cli:") + (user != nullptr && *user ? user : "unknown");
  auto out = service.Forget(*lead_id, actor, "request");
  if (!out.ok()) {
    std::fprintf(stderr, "forget: %s\n", out.status().ToString().c_str());
    return 1;
  }
  std::printf("%s lead %s at %s (%zu key%s destroyed)\n",
              out->already ? "already forgotten:" : "forgotten:", out->lead_id.c_str(),
              engine::FormatRfc3339(out->at).c_str(), out->subjects.size(),
              out->subjects.size() == 1 ? "" : "s");
  std::fflush(stdout);
  // The read models follow now rather than at the next start. The forgetting is durable
  // already: a failure here is only a warning (the next start catches up).
  Status s = engine.OpenReadModels();
  if (s.ok()) s = engine.runner->CatchUp();
  if (!s.ok()) {
    std::fprintf(stderr,
                 "forget: warning: the read models were not brought up to date (%s); "
                 "the next start does it\n",
                 s.ToString().c_str());
  }
  return 0;
}

}  // namespace nextier::app
