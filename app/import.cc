// `nextier import`: a progress bar on a terminal (plain progress lines otherwise), then the
// summary. It opens the store for writing, so it refuses while `nextier serve` holds the data
// folder.
#include "import.h"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>

#include "nextier/adapters/data_hub.h"
#include "nextier/engine/clock.h"
#include "nextier/engine/workflow_registry.h"
#include "nextier/eventstore/event_store.h"
#include "nextier/projections/files.h"
#include "nextier/projections/lead_index.h"
#include "nextier/projections/leads.h"
#include "nextier/projections/projection.h"
#include "nextier/projections/read_model_store.h"

namespace nextier::app {

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

class Progress {
 public:
  Progress(uint64_t total_bytes, bool tty) : total_(total_bytes), tty_(tty), start_(Clock::now()) {}

  void Update(uint64_t bytes, const adapters::ImportCounts& c) {
    const auto now = Clock::now();
    if (now - last_ < std::chrono::milliseconds(tty_ ? 100 : 2000)) return;
    last_ = now;
    Print(bytes, c, false);
  }
  void Done(uint64_t bytes, const adapters::ImportCounts& c) { Print(bytes, c, true); }

 private:
  void Print(uint64_t bytes, const adapters::ImportCounts& c, bool done) {
    const double secs = std::chrono::duration<double>(Clock::now() - start_).count() + 1e-9;
    const double pct = total_ == 0 ? 100.0 : 100.0 * static_cast<double>(bytes) / total_;
    const double rate = static_cast<double>(c.rows) / secs;
    if (tty_) {
      constexpr int kWidth = 30;
      const int filled = static_cast<int>(pct / 100.0 * kWidth);
      std::string bar(static_cast<size_t>(std::min(filled, kWidth)), '#');
      bar.resize(kWidth, '.');
      std::printf("\r[%s] %5.1f%%  %llu rows  %.0f rows/s", bar.c_str(), pct,
                  static_cast<unsigned long long>(c.rows), rate);
      if (done) std::printf("\n");
    } else {
      std::printf("progress: %.1f%% of %llu bytes, %llu rows, %.0f rows/s\n", pct,
                  static_cast<unsigned long long>(total_), static_cast<unsigned long long>(c.rows),
                  rate);
    }
    std::fflush(stdout);
  }

  uint64_t total_;
  bool tty_;
  Clock::time_point start_;
  Clock::time_point last_ = Clock::now();
};

}  // namespace

int RunImport(const ImportCliOptions& o) {
  adapters::ImportOptions options;
  if (!o.source.empty()) {
    options.source = adapters::ParseLeadSource(o.source);
    if (!options.source) {
      std::fprintf(stderr, "import: --source must be usbizdata, apollo, property or generic\n");
      return 2;
    }
  }
  std::error_code ec;
  const auto size = fs::file_size(o.file, ec);
  if (ec || !fs::is_regular_file(o.file)) {
    std::fprintf(stderr, "import: cannot read %s: %s\n", o.file.c_str(),
                 ec ? ec.message().c_str() : "not a regular file");
    return 1;
  }
  fs::create_directories(o.data_dir, ec);
  eventstore::LmdbOptions store_options;
  store_options.path = (fs::path(o.data_dir) / "eventstore").string();
  auto opened = eventstore::OpenLmdbEventStore(store_options);
  if (!opened.ok()) {
    if (opened.status().code() == StatusCode::kUnavailable) {
      std::fprintf(stderr,
                   "import: the data folder %s is in use by another process (a running `nextier "
                   "serve`?): %s; stop it or upload through POST /api/data-hub/upload\n",
                   o.data_dir.c_str(), opened.status().message().c_str());
    } else {
      std::fprintf(stderr, "import: %s\n", opened.status().ToString().c_str());
    }
    return 1;
  }
  auto& store = **opened;
  engine::RealClock clock;
  engine::WorkflowRegistry registry(store, clock);
  if (Status s = registry.LoadLogAndDirectory(o.workflows_dir); !s.ok()) {
    std::fprintf(stderr, "import: workflows in %s: %s\n", o.workflows_dir.c_str(),
                 s.ToString().c_str());
    return 1;
  }
  projections::ReadModelOptions models_options;
  models_options.path = (fs::path(o.data_dir) / "projections").string();
  auto models = projections::ReadModelStore::Open(models_options);
  if (!models.ok()) {
    std::fprintf(stderr, "import: read models: %s\n", models.status().ToString().c_str());
    return 1;
  }
  auto index = projections::LeadIndexProjection::Open(**models);
  auto files = projections::FilesProjection::Open(**models);
  auto leads = projections::LeadsProjection::Open(**models, store.keys());
  if (!index.ok() || !files.ok() || !leads.ok()) {
    std::fprintf(stderr, "import: read models: cannot open their tables\n");
    return 1;
  }
  projections::ProjectionRunner runner(store, **models);
  for (projections::Projection* p : {static_cast<projections::Projection*>(index->get()),
                                     static_cast<projections::Projection*>(files->get()),
                                     static_cast<projections::Projection*>(leads->get())}) {
    if (Status s = runner.Add(*p); !s.ok()) {
      std::fprintf(stderr, "import: projection: %s\n", s.ToString().c_str());
      return 1;
    }
  }
  adapters::DataHub hub(store, clock, registry, runner, **index);

  options.name = fs::path(o.file).filename().string();
  options.workflow_id = o.workflow;
  options.size_bytes = size;
  options.actor = "cli:import";
  Progress progress(size, isatty(STDOUT_FILENO) == 1);
  auto result = hub.ImportFile(
      o.file, options,
      [&](uint64_t bytes, const adapters::ImportCounts& c) { progress.Update(bytes, c); });
  if (!result.ok()) {
    std::fprintf(stderr, "import: %s\n", result.status().ToString().c_str());
    return result.status().code() == StatusCode::kInvalidArgument ? 2 : 1;
  }
  progress.Done(result->bytes, result->counts);
  // Bring the read models up to date so `serve` starts with them current. The rows are stored
  // already; a failure here only leaves the catching up to the next start.
  std::printf("read models: applying %llu new events...\n",
              static_cast<unsigned long long>(runner.lag()));
  std::fflush(stdout);
  const auto catch_up_start = Clock::now();
  if (Status s = runner.CatchUp(); !s.ok()) {
    std::fprintf(stderr,
                 "import: the rows are stored, but the read models did not catch up (%s); "
                 "`nextier serve` will finish that when it starts\n",
                 s.ToString().c_str());
  } else {
    std::printf("read models: up to date in %.1f s\n",
                std::chrono::duration<double>(Clock::now() - catch_up_start).count());
  }

  const auto& r = *result;
  std::printf("file %s (%s): %s\n", r.file_id.c_str(), r.name.c_str(), r.status.c_str());
  if (!r.source.empty()) std::printf("source: %s\n", r.source.c_str());
  std::printf("rows: %llu  imported: %llu  duplicates: %llu  rejected: %llu  entities: %llu\n",
              static_cast<unsigned long long>(r.counts.rows),
              static_cast<unsigned long long>(r.counts.imported),
              static_cast<unsigned long long>(r.counts.duplicates),
              static_cast<unsigned long long>(r.counts.rejected),
              static_cast<unsigned long long>(r.counts.entities));
  if (!r.mapping.empty()) {
    std::printf("mapping:\n");
    for (const auto& [header, field] : r.mapping) {
      std::printf("  %-24s -> %s\n", header.c_str(), field.c_str());
    }
  }
  if (!r.errors.empty()) {
    std::printf("first errors:\n");
    for (size_t i = 0; i < r.errors.size() && i < 10; ++i) {
      std::printf("  row %llu: %s\n", static_cast<unsigned long long>(r.errors[i].first),
                  r.errors[i].second.c_str());
    }
    if (r.counts.rejected > 10) {
      std::printf("  (%llu more)\n", static_cast<unsigned long long>(r.counts.rejected - 10));
    }
  }
  std::fflush(stdout);
  if (r.status != "done") {
    std::fprintf(stderr, "import: %s failed: %s\n", o.file.c_str(), r.failure.c_str());
    return 1;
  }
  return 0;
}

}  // namespace nextier::app
