// `nextier serve`: wires the store, the clock, the workflows, the keys and the HTTP server,
// then runs until SIGTERM/SIGINT (graceful: stop accepting, finish in-flight requests, flush).
#include "serve.h"

#include <openssl/rand.h>
#include <sys/stat.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <nlohmann/json.hpp>
#include <tuple>

#include "engine_wiring.h"
#include "nextier/adapters/api_audit.h"
#include "nextier/adapters/api_calls_meetings.h"
#include "nextier/adapters/api_campaigns.h"
#include "nextier/adapters/api_dashboard.h"
#include "nextier/adapters/api_data_hub.h"
#include "nextier/adapters/api_forget.h"
#include "nextier/adapters/api_routes.h"
#include "nextier/adapters/api_sandbox.h"
#include "nextier/adapters/api_skip_trace.h"
#include "nextier/adapters/api_webhooks.h"
#include "nextier/adapters/data_hub.h"
#include "nextier/adapters/http_providers.h"
#include "nextier/adapters/http_server.h"
#include "nextier/adapters/logging.h"
#include "nextier/adapters/metrics.h"
#include "nextier/adapters/sandbox_skip_trace.h"
#include "nextier/adapters/sandbox_sms.h"
#include "nextier/adapters/static_files.h"
#include "nextier/adapters/work_pool.h"
#include "nextier/engine/call_queue.h"
#include "nextier/engine/campaigns.h"
#include "nextier/engine/clock.h"
#include "nextier/engine/inbound.h"
#include "nextier/engine/lead_commands.h"
#include "nextier/engine/meetings.h"
#include "nextier/engine/outbox.h"
#include "nextier/engine/send_window.h"
#include "nextier/engine/skip_trace.h"
#include "nextier/engine/sms_queue.h"
#include "nextier/engine/timers.h"
#include "nextier/engine/workflow_registry.h"
#include "nextier/eventstore/event_store.h"
#include "nextier/projections/calls_meetings.h"
#include "nextier/projections/dashboard.h"
#include "nextier/projections/files.h"
#include "nextier/projections/lead_index.h"
#include "nextier/projections/lead_pools.h"
#include "nextier/projections/leads.h"
#include "nextier/projections/pending_timers.h"
#include "nextier/projections/projection.h"
#include "nextier/projections/read_model_store.h"
#include "nextier/projections/responses.h"
#include "nextier/projections/sending.h"

namespace nextier::app {
namespace {

namespace fs = std::filesystem;
using adapters::HttpRequest;
using adapters::HttpResponse;
using adapters::Responder;
using adapters::Role;

// How long shutdown waits for webhook replies still being committed (see WaitIdle below).
constexpr std::chrono::milliseconds kReplyDrain{30'000};

std::string RandomKey() {
  unsigned char raw[18];
  if (RAND_bytes(raw, sizeof raw) != 1) return {};
  return eventstore::HexEncode(raw, sizeof raw);
}

// Keys from --keys / NEXTIER_API_KEYS; with neither, the embedded default keeps one key per
// role in DATA/api-keys.json (mode 0600), made on first start.
Result<std::vector<adapters::ApiKey>> ResolveKeys(const ServeOptions& o, bool* generated,
                                                  std::string* keys_file) {
  const char* env = std::getenv("NEXTIER_API_KEYS");
  if (!o.keys_file.empty() || (env != nullptr && *env != '\0')) {
    return adapters::LoadApiKeys(o.keys_file, env != nullptr ? env : "");
  }
  *keys_file = (fs::path(o.data_dir) / "api-keys.json").string();
  if (!fs::exists(*keys_file)) {
    nlohmann::json list = nlohmann::json::array();
    for (const char* role : {"ops", "agent", "auditor", "admin"}) {
      std::string key = RandomKey();
      if (key.empty()) return Status::Internal("the system random source is unavailable");
      list.push_back({{"key", key}, {"role", role}, {"name", std::string(role) + "-default"}});
    }
    const std::string tmp = *keys_file + ".tmp";
    {
      std::ofstream out(tmp);
      if (!out) return Status::Unavailable("cannot write " + tmp);
      out << list.dump(2) << "\n";
    }
    chmod(tmp.c_str(), 0600);
    std::error_code ec;
    fs::rename(tmp, *keys_file, ec);
    if (ec) return Status::Unavailable("cannot write " + *keys_file + ": " + ec.message());
    *generated = true;
  }
  return adapters::LoadApiKeys(*keys_file, "");
}

// A secret kept in `file` (mode 0600), made on first use.
Result<std::string> ReadOrMakeSecret(const std::string& file, bool* generated) {
  *generated = false;
  if (fs::exists(file)) {
    std::ifstream in(file);
    std::string secret;
    std::getline(in, secret);
    if (secret.empty()) return Status::InvalidArgument(file + " is empty");
    return secret;
  }
  std::string secret = RandomKey() + RandomKey();
  if (secret.empty()) return Status::Internal("the system random source is unavailable");
  const std::string tmp = file + ".tmp";
  {
    std::ofstream out(tmp);
    if (!out) return Status::Unavailable("cannot write " + tmp);
    out << secret << "\n";
  }
  chmod(tmp.c_str(), 0600);
  std::error_code ec;
  fs::rename(tmp, file, ec);
  if (ec) return Status::Unavailable("cannot write " + file + ": " + ec.message());
  *generated = true;
  return secret;
}

}  // namespace

int RunServe(const ServeOptions& o) {
  adapters::InitLogging(o.log_level);
  // Arguments first: bad usage is exit 2.
  if (o.provider != "sandbox" && o.provider != "signalhouse") {
    std::fprintf(stderr, "serve: --provider must be sandbox or signalhouse, not '%s'\n",
                 o.provider.c_str());
    return 2;
  }
  std::optional<engine::Micros> sim_start;
  if (!o.sim_clock.empty()) {
    auto t = engine::ParseRfc3339(o.sim_clock);
    if (!t.ok()) {
      std::fprintf(stderr, "serve: --sim-clock: %s\n", t.status().message().c_str());
      return 2;
    }
    sim_start = *t;
  }
  // The outside services: the real clients need their keys from the environment.
  std::unique_ptr<engine::SmsProvider> sms;
  std::unique_ptr<engine::SkipTraceProvider> skip_provider;
  std::string status_callback_url;
  if (o.provider == "signalhouse") {
    auto sh = adapters::SignalHouseConfigFromEnv();
    auto sh_client = sh.ok() ? adapters::SignalHouseClient::Create(*sh)
                             : Result<std::unique_ptr<adapters::SignalHouseClient>>(sh.status());
    auto re = adapters::RealEstateApiConfigFromEnv();
    auto re_client = re.ok()
                         ? adapters::RealEstateApiSkipTrace::Create(*re)
                         : Result<std::unique_ptr<adapters::RealEstateApiSkipTrace>>(re.status());
    for (const Status* s : {&sh_client.status(), &re_client.status()}) {
      if (!s->ok()) {
        std::fprintf(stderr, "serve: --provider signalhouse: %s\n", s->message().c_str());
        return 2;
      }
    }
    status_callback_url = sh->status_callback_url;
    sms = std::move(*sh_client);
    skip_provider = std::move(*re_client);
  }
  // Optional, with any provider: an AI second opinion on replies (http_providers.h).
  std::shared_ptr<engine::ExternalClassifier> classifier;
  if (auto config = adapters::AiClassifierConfigFromEnv(); !config.ok()) {
    std::fprintf(stderr, "serve: the AI classifier: %s\n", config.status().message().c_str());
    return 2;
  } else if (config->has_value()) {
    auto client = adapters::OpenAiClassifier::Create(**config);
    if (!client.ok()) {
      std::fprintf(stderr, "serve: the AI classifier: %s\n", client.status().message().c_str());
      return 2;
    }
    classifier = std::move(*client);
  }

  // The store, the read models with every projection, the timers, the services and the outbox
  // (engine_wiring.h); the keys and the webhook secret are resolved between its steps, as ever.
  EngineOptions engine_options;
  engine_options.data_dir = o.data_dir;
  engine_options.workflows_dir = o.workflows_dir;
  engine_options.sim_start = sim_start;
  engine_options.max_store_bytes = o.max_store_mb << 20;
  engine_options.sms = std::move(sms);
  engine_options.skip_trace_provider = std::move(skip_provider);
  engine_options.status_callback_url = status_callback_url;
  engine_options.classifier = classifier;
  auto opened = Engine::Open(std::move(engine_options));
  if (!opened.ok()) {
    std::fprintf(stderr, "serve: %s\n", opened.status().message().c_str());
    return 1;
  }
  Engine& engine = **opened;
  auto& store = *engine.store;
  auto& registry = *engine.registry;
  engine::SimulatedClock* sim = engine.sim;

  bool generated = false;
  std::string keys_file;
  auto keys = ResolveKeys(o, &generated, &keys_file);
  if (!keys.ok()) {
    std::fprintf(stderr, "serve: API keys: %s\n", keys.status().message().c_str());
    return 1;
  }

  // The webhook secret: NEXTIER_WEBHOOK_SECRET, or one made on first start and kept in
  // DATA/webhook-secret (mode 0600) for the embedded default.
  std::string webhook_secret;
  bool secret_generated = false;
  if (const char* env = std::getenv("NEXTIER_WEBHOOK_SECRET"); env != nullptr && *env != '\0') {
    webhook_secret = env;
  } else {
    auto secret =
        ReadOrMakeSecret((fs::path(o.data_dir) / "webhook-secret").string(), &secret_generated);
    if (!secret.ok()) {
      std::fprintf(stderr, "serve: webhook secret: %s\n", secret.status().message().c_str());
      return 1;
    }
    webhook_secret = *secret;
  }

  Status started = engine.OpenReadModels();
  if (started.ok()) started = engine.Start();
  if (!started.ok()) {
    std::fprintf(stderr, "serve: %s\n", started.message().c_str());
    return 1;
  }
  auto& runner = *engine.runner;
  auto& timer_service = *engine.timer_service;
  auto& outbox = *engine.outbox;

  adapters::Metrics metrics;
  metrics.AddGauge("nextier_projection_lag_events", "events the read models trail the log by",
                   [&runner] { return static_cast<double>(runner.lag()); });
  metrics.AddGauge("nextier_events_appended_total", "events appended since start",
                   [&store] { return static_cast<double>(store.Stats().events); });
  metrics.AddGauge("nextier_log_head", "global position of the last durable event",
                   [&store] { return static_cast<double>(store.Head()); });
  metrics.AddGauge("nextier_store_map_bytes", "size of the event store's memory map",
                   [&store] { return static_cast<double>(store.Stats().map_size); });
  // What became of the SMS sends since start; "waiting" are retries of a failing provider.
  using OS = engine::OutboxStats;
  for (const auto& [name, help, field] :
       std::initializer_list<std::tuple<const char*, const char*, uint64_t OS::*>>{
           {"nextier_outbox_sent_total", "SMS the provider accepted", &OS::sent},
           {"nextier_outbox_failed_total", "SMS sends recorded as failed", &OS::failed},
           {"nextier_outbox_given_up_total", "SMS not sent: the provider failed too long",
            &OS::given_up},
           {"nextier_outbox_unknown_total", "SMS sends whose outcome cannot be told", &OS::unknown},
           {"nextier_outbox_reconciled_total", "SMS outcomes learned by look-up", &OS::reconciled},
           {"nextier_outbox_retries_total", "failed provider calls tried again", &OS::retries},
           {"nextier_outbox_waiting", "SMS sends waiting for a retry", &OS::waiting}}) {
    metrics.AddGauge(name, help, [&outbox, field = field] {
      return static_cast<double>(outbox.stats().*field);
    });
  }

  adapters::ServerOptions server_options;
  server_options.bind = o.bind;
  server_options.port = o.port;
  adapters::Server server(server_options, *keys, &metrics);
  // After the server, so it is destroyed (drained) first: its jobs answer through the server.
  adapters::WorkPool pool(4);
  // Webhooks get their own pool. Replies no longer wait in it (they are prepared on the I/O
  // threads and answered from the group commit's completion, so a commit carries every reply in
  // flight); it runs delivery receipts, which block until durable, and replies' repeats and
  // retries, so a burst of webhooks never queues the API's other work behind it.
  adapters::WorkPool webhook_pool(64);
  // The live dashboard: counters from the read model, pushed over WebSocket (after the server,
  // so it is destroyed first).
  adapters::DashboardSources dashboard_sources =
      adapters::MakeDashboardSources(*engine.dashboard, *engine.campaigns, *engine.campaign_counts,
                                     registry, *engine.skip_trace, *engine.clock, store);
  adapters::DashboardFeed dashboard_feed(dashboard_sources, store, runner);

  server.AddRoute("GET", "/healthz", {{}, true, 0}, [&store](HttpRequest&, Responder respond) {
    respond(HttpResponse::Json(200, nlohmann::json{{"ok", true}, {"head", store.Head()}}.dump()));
  });
  server.AddRoute("GET", "/metrics", {{}, true, 0}, [&metrics](HttpRequest&, Responder respond) {
    HttpResponse r;
    r.content_type = "text/plain; version=0.0.4";
    r.body = metrics.Render();
    respond(std::move(r));
  });
  adapters::RegisterWorkflowRoutes(server, registry, pool);
  adapters::RegisterDataHubRoutes(server, *engine.data_hub, *engine.files, runner, store, pool);
  adapters::RegisterLeadRoutes(server, *engine.leads);
  adapters::RegisterForgetRoutes(server, *engine.forget, store, runner, pool);
  adapters::RegisterSkipTraceRoutes(server, *engine.skip_trace, pool);
  adapters::RegisterCampaignRoutes(server, *engine.campaigns, *engine.campaign_counts, registry,
                                   *engine.clock, pool);
  if (engine.sandbox_sms != nullptr) adapters::RegisterSandboxRoutes(server, *engine.sandbox_sms);
  if (engine.sandbox_sms != nullptr) {
    adapters::RegisterSandboxOutageRoutes(server, *engine.sandbox_sms, engine.sandbox_skip_trace,
                                          *engine.clock);
  }
  adapters::WebhookOptions webhook_options;
  webhook_options.secret = webhook_secret;
  adapters::RegisterWebhookRoutes(server, *engine.inbound, webhook_options, webhook_pool);
  adapters::RegisterResponseRoutes(server, *engine.responses);
  adapters::RegisterAuditRoutes(server, store, pool);
  adapters::RegisterCallQueueRoutes(server, *engine.calls, *engine.call_queue, *engine.leads, pool);
  adapters::RegisterMeetingRoutes(server, *engine.meeting_service, *engine.meetings, pool);
  adapters::RegisterDashboardRoutes(server, dashboard_sources, dashboard_feed, pool);
  // The web UI (plain files, read once; see static_files.h).
  if (Status s = adapters::RegisterStaticFiles(server, o.web_dir); !s.ok()) {
    std::fprintf(stderr, "serve: --web: %s\n", s.message().c_str());
    return 2;
  }
  if (sim != nullptr) {
    constexpr int64_t kMaxAdvanceSeconds = int64_t{10} * 366 * 86400;  // about ten years
    // Moves the simulated clock, firing every timer that falls due on the way, in order; answers
    // once their effects are stored (on a worker: firing waits for durable appends).
    server.AddRoute(
        "POST", "/api/test/clock/advance", {{Role::kAdmin}, false, 4096},
        [sim, &timer_service, &outbox, &pool](HttpRequest& req, Responder respond) {
          nlohmann::json body = nlohmann::json::parse(req.body, nullptr, false);
          if (!body.is_object() || !body.contains("seconds") || !body["seconds"].is_number() ||
              !(body["seconds"].get<double>() >= 0) ||
              body["seconds"].get<double>() > kMaxAdvanceSeconds) {
            // The bound keeps the cast to micros defined (1e300 would overflow it) and the
            // clock, which never goes back, from being thrown centuries ahead by a typo.
            return respond(HttpResponse::Error(
                400, "invalid_argument",
                "seconds must be a number from 0 to " + std::to_string(kMaxAdvanceSeconds),
                "seconds"));
          }
          const auto micros =
              static_cast<engine::Micros>(body["seconds"].get<double>() * engine::kMicrosPerSecond);
          pool.Post([sim, &timer_service, &outbox, micros, respond] {
            const uint64_t before = timer_service.stats().fired;
            if (Status s = timer_service.AdvanceTo(sim->Now() + micros); !s.ok()) {
              return respond(HttpResponse::FromStatus(s));
            }
            // The sends those timers intended are part of their effects: wait for the outbox.
            if (Status s = outbox.Drain(); !s.ok()) return respond(HttpResponse::FromStatus(s));
            respond(HttpResponse::Json(
                200, nlohmann::json{{"now", engine::FormatRfc3339(sim->Now())},
                                    {"timersFired", timer_service.stats().fired - before}}
                         .dump()));
          });
        });
  }

  if (Status s = server.Start(); !s.ok()) {
    std::fprintf(stderr, "serve: %s\n", s.ToString().c_str());
    return 1;
  }
  std::printf(
      "nextier serving on http://%s:%u (data %s, provider %s, clock %s)\n", o.bind.c_str(),
      server.port(), o.data_dir.c_str(), o.provider.c_str(),
      sim != nullptr ? ("simulated from " + engine::FormatRfc3339(sim->Now())).c_str() : "real");
  std::printf("web UI: http://%s:%u/\n", o.bind.c_str(), server.port());
  if (!keys_file.empty()) {
    std::printf("sign in with these API keys (%s%s):\n", keys_file.c_str(),
                generated ? ", made now" : "");
    for (const auto& k : *keys) {
      std::printf("  %-8s %s\n", std::string(adapters::RoleName(k.role)).c_str(), k.key.c_str());
    }
  }
  if (std::getenv("NEXTIER_WEBHOOK_SECRET") == nullptr) {
    // The path only: whoever configures SignalHouse reads the secret from the file.
    std::printf("webhook secret in %s/webhook-secret%s\n", o.data_dir.c_str(),
                secret_generated ? " (made now)" : "");
  }
  std::fflush(stdout);
  adapters::LogInfo("serving on " + o.bind + ":" + std::to_string(server.port()) + ", log head " +
                    std::to_string(store.Head()));
  const int sig = server.WaitForSignal();
  // Replies still being committed answer through the webhook pool and the server: wait for them
  // while both exist (after a drain that timed out, some may be). If the store never answers,
  // exit without unwinding rather than let a late completion reach a destroyed pool: nothing
  // unacknowledged is lost (SignalHouse redelivers) and LMDB needs no clean close.
  if (!engine.inbound->WaitIdle(kReplyDrain)) {
    adapters::LogError("signal " + std::to_string(sig) +
                       ": webhook replies still uncommitted after " +
                       std::to_string(kReplyDrain.count()) + " ms; exiting without closing");
    std::fflush(stdout);
    std::_Exit(1);
  }
  adapters::LogInfo("signal " + std::to_string(sig) + ": stopped; closing the store");
  std::printf("nextier: signal %d, stopped accepting; in-flight requests finished\n", sig);
  std::fflush(stdout);
  return 0;
}

}  // namespace nextier::app
