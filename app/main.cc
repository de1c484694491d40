// nextier: the one executable. A thin main: parses the command line and wires the components.
// Exit status: 0 success, 1 a failed check, 2 bad usage (API.md, "Command line").
#include <CLI/CLI.hpp>
#include <cstdio>
#include <filesystem>
#include <string>

#include "demo.h"
#include "forget.h"
#include "history.h"
#include "import.h"
#include "nextier/eventstore/event_store.h"
#include "nextier/workflows/loader.h"
#include "rebuild.h"
#include "serve.h"

namespace {

// The event store lives in <data>/eventstore; other parts of the engine keep their own folders
// beside it (the sandbox provider's store, for one).
std::string StorePath(const std::string& data_dir) {
  return (std::filesystem::path(data_dir) / "eventstore").string();
}

int RunVerify(const std::string& data_dir) {
  nextier::eventstore::LmdbOptions options;
  options.path = StorePath(data_dir);
  options.read_only = true;
  auto store = nextier::eventstore::OpenLmdbEventStore(options);
  if (!store.ok()) {
    std::fprintf(stderr, "verify: cannot open %s: %s\n", options.path.c_str(),
                 store.status().ToString().c_str());
    return 1;
  }
  auto report = (*store)->Verify();
  if (!report.ok()) {
    std::fprintf(stderr, "verify: %s\n", report.status().ToString().c_str());
    return 1;
  }
  if (!report->ok) {
    std::printf("FAILED at position %llu: %s\n", static_cast<unsigned long long>(report->first_bad),
                report->problem.c_str());
    std::fprintf(stderr, "verify: the log was altered; first bad position %llu\n",
                 static_cast<unsigned long long>(report->first_bad));
    return 1;
  }
  std::printf("ok: %llu events in %llu streams, chain and indexes intact, head %s\n",
              static_cast<unsigned long long>(report->events),
              static_cast<unsigned long long>(report->streams),
              nextier::eventstore::HexEncode(report->head_hash.data(), 32).c_str());
  return 0;
}

// Prints each problem as FILE: field.path: reason; exit 1 when there is any.
int RunWorkflowCheck(const std::vector<std::string>& files) {
  std::vector<std::filesystem::path> paths(files.begin(), files.end());
  const auto problems = nextier::workflows::CheckFiles(paths);
  for (const auto& line : problems) std::printf("%s\n", line.c_str());
  if (!problems.empty()) {
    std::fprintf(stderr, "workflow check: %zu problem%s\n", problems.size(),
                 problems.size() == 1 ? "" : "s");
    return 1;
  }
  std::printf("ok: %zu workflow file%s valid\n", files.size(), files.size() == 1 ? "" : "s");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"nextier: the event-sourced SMS lead engine"};
  app.require_subcommand(1);
  std::string data_dir = "./data";

  nextier::app::ServeOptions serve_options;
  serve_options.workflows_dir = NEXTIER_DEFAULT_WORKFLOWS_DIR;
  auto* serve = app.add_subcommand("serve", "run the engine and the HTTP server");
  serve->add_option("--data", serve_options.data_dir, "data folder")->capture_default_str();
  serve->add_option("--port", serve_options.port, "TCP port (0 picks a free one)")
      ->capture_default_str();
  serve->add_option("--bind", serve_options.bind, "address to listen on")->capture_default_str();
  serve->add_option("--workflows", serve_options.workflows_dir, "workflow definitions folder")
      ->capture_default_str();
  serve_options.web_dir = NEXTIER_DEFAULT_WEB_DIR;
  serve->add_option("--web", serve_options.web_dir, "the web UI's folder")->capture_default_str();
  serve->add_option("--keys", serve_options.keys_file, "API keys JSON file");
  serve->add_option("--sim-clock", serve_options.sim_clock,
                    "start a simulated clock at this RFC 3339 time");
  serve->add_option("--provider", serve_options.provider, "sandbox or signalhouse")
      ->capture_default_str();
  serve->add_option("--log-level", serve_options.log_level, "trace, debug, info, warn, error, off")
      ->capture_default_str();
  serve
      ->add_option("--max-store-mb", serve_options.max_store_mb,
                   "cap the event store at N MiB; when full, writes answer 503 (0: no cap)")
      ->capture_default_str();

  nextier::app::ImportCliOptions import_options;
  import_options.workflows_dir = NEXTIER_DEFAULT_WORKFLOWS_DIR;
  auto* import = app.add_subcommand("import", "import a CSV of leads, with a progress bar");
  import->add_option("FILE", import_options.file, "the CSV file")->required();
  import->add_option("--data", import_options.data_dir, "data folder")->capture_default_str();
  import->add_option("--source", import_options.source, "usbizdata, apollo, property or generic")
      ->check(CLI::IsMember({"usbizdata", "apollo", "property", "generic"}));
  import->add_option("--workflow", import_options.workflow, "workflow id")->capture_default_str();
  import->add_option("--workflows", import_options.workflows_dir, "workflow definitions folder")
      ->capture_default_str();

  nextier::app::HistoryOptions history_options;
  auto* history = app.add_subcommand("history", "a lead's whole event history as a timeline");
  history->add_option("LEAD_ID", history_options.lead_id, "the lead id or its LEAD ID (NXT-...)")
      ->required();
  history->add_option("--data", history_options.data_dir, "data folder")->capture_default_str();
  history->add_flag("--json", history_options.json, "print the JSON of the history endpoint");

  nextier::app::ForgetOptions forget_options;
  auto* forget = app.add_subcommand(
      "forget", "forget a lead: destroy its key, so its personal data reads as erased");
  forget->add_option("LEAD_ID", forget_options.lead_id, "the lead id or its LEAD ID (NXT-...)")
      ->required();
  forget->add_option("--data", forget_options.data_dir, "data folder")->capture_default_str();

  nextier::app::RebuildOptions rebuild_options;
  auto* rebuild = app.add_subcommand("rebuild", "drop and rebuild every projection from the log");
  rebuild->add_option("--data", rebuild_options.data_dir, "data folder")->capture_default_str();

  nextier::app::DemoOptions demo_options;
  demo_options.workflows_dir = NEXTIER_DEFAULT_WORKFLOWS_DIR;
  auto* demo = app.add_subcommand(
      "demo", "the whole journey on generated data, sandbox providers and a simulated clock");
  demo->add_option("--data", demo_options.data_dir, "data folder (default: a new temp folder)");
  demo->add_option("--rows", demo_options.rows, "CSV rows to generate")->capture_default_str();
  demo->add_option("--workflows", demo_options.workflows_dir, "workflow definitions folder")
      ->capture_default_str();

  auto* verify = app.add_subcommand("verify", "check the hash chain and every index of the log");
  verify->add_option("--data", data_dir, "data folder")->capture_default_str();

  auto* workflow = app.add_subcommand("workflow", "workflow definitions");
  workflow->require_subcommand(1);
  std::vector<std::string> workflow_files;
  auto* check = workflow->add_subcommand("check", "validate workflow definition files");
  check->add_option("FILE", workflow_files, "workflow JSON files")->required();

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "nextier: %s (see nextier --help)\n", e.what());
    return 2;
  }
  if (serve->parsed()) return nextier::app::RunServe(serve_options);
  if (import->parsed()) return nextier::app::RunImport(import_options);
  if (history->parsed()) return nextier::app::RunHistory(history_options);
  if (forget->parsed()) return nextier::app::RunForget(forget_options);
  if (rebuild->parsed()) return nextier::app::RunRebuild(rebuild_options);
  if (demo->parsed()) return nextier::app::RunDemo(demo_options);
  if (verify->parsed()) return RunVerify(data_dir);
  if (check->parsed()) return RunWorkflowCheck(workflow_files);
  return 2;
}
