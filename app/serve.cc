// `nextier serve`: wires the store, the clock, the workflows, the keys and the HTTP server,
// then runs until SIGTERM/SIGINT (graceful: stop accepting, finish in-flight requests, flush).
#include "serve.h"

#include <openssl/rand.h>
#include <sys/stat.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "nextier/adapters/api_audit.h"
#include "nextier/adapters/api_calls_meetings.h"
#include "nextier/adapters/api_campaigns.h"
#include "nextier/adapters/api_data_hub.h"
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

// The simulated clock resumes at the later of START and the newest time already recorded.
engine::Micros NewestRecordedTime(eventstore::EventStore& store) {
  engine::Micros newest = 0;
  const uint64_t head = store.Head();
  if (head == 0) return 0;
  (void)store.ReadAll(head, 1, [&](const eventstore::EventView& ev) {
    newest = ev.event().getRecordedAt();
    return false;
  });
  return newest;
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
    auto re_client =
        re.ok() ? adapters::RealEstateApiSkipTrace::Create(*re)
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

  std::error_code ec;
  fs::create_directories(o.data_dir, ec);
  if (ec) {
    std::fprintf(stderr, "serve: cannot create data folder %s: %s\n", o.data_dir.c_str(),
                 ec.message().c_str());
    return 1;
  }
  eventstore::LmdbOptions store_options;
  store_options.path = (fs::path(o.data_dir) / "eventstore").string();
  auto opened = eventstore::OpenLmdbEventStore(store_options);
  if (!opened.ok()) {
    std::fprintf(stderr, "serve: %s\n", opened.status().ToString().c_str());
    return 1;
  }
  auto& store = **opened;

  std::unique_ptr<engine::Clock> clock;
  engine::SimulatedClock* sim = nullptr;
  if (sim_start) {
    auto s =
        std::make_unique<engine::SimulatedClock>(std::max(*sim_start, NewestRecordedTime(store)));
    sim = s.get();
    clock = std::move(s);
  } else {
    clock = std::make_unique<engine::RealClock>();
  }

  engine::WorkflowRegistry registry(store, *clock);
  if (Status s = registry.LoadLogAndDirectory(o.workflows_dir); !s.ok()) {
    std::fprintf(stderr, "serve: workflows in %s: %s\n", o.workflows_dir.c_str(),
                 s.ToString().c_str());
    return 1;
  }

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
    auto secret = ReadOrMakeSecret((fs::path(o.data_dir) / "webhook-secret").string(),
                                   &secret_generated);
    if (!secret.ok()) {
      std::fprintf(stderr, "serve: webhook secret: %s\n", secret.status().message().c_str());
      return 1;
    }
    webhook_secret = *secret;
  }

  // Read models: <data>/projections, kept current by the runner's own thread.
  projections::ReadModelOptions models_options;
  models_options.path = (fs::path(o.data_dir) / "projections").string();
  auto models = projections::ReadModelStore::Open(models_options);
  if (!models.ok()) {
    std::fprintf(stderr, "serve: read models: %s\n", models.status().ToString().c_str());
    return 1;
  }
  auto lead_index = projections::LeadIndexProjection::Open(**models);
  auto files = projections::FilesProjection::Open(**models);
  auto leads = projections::LeadsProjection::Open(**models, store.keys());
  auto pools = projections::LeadPoolsProjection::Open(**models);
  auto outbox_pending = projections::OutboxProjection::Open(**models);
  auto suppression = projections::SuppressionProjection::Open(**models);
  auto campaign_counts = projections::CampaignsProjection::Open(**models);
  auto conversations = projections::ConversationsProjection::Open(**models);
  auto responses = projections::ResponsesProjection::Open(**models, store.keys());
  auto call_queue = projections::CallQueueProjection::Open(**models);
  auto meetings = projections::MeetingsProjection::Open(**models);
  if (!call_queue.ok() || !meetings.ok() || !lead_index.ok() || !files.ok() || !leads.ok() || !pools.ok() || !outbox_pending.ok() ||
      !suppression.ok() || !campaign_counts.ok() || !conversations.ok() || !responses.ok()) {
    std::fprintf(stderr, "serve: read models: cannot open their tables\n");
    return 1;
  }
  projections::ProjectionRunner runner(store, **models);
  for (projections::Projection* p : {static_cast<projections::Projection*>(lead_index->get()),
                                     static_cast<projections::Projection*>(files->get()),
                                     static_cast<projections::Projection*>(leads->get()),
                                     static_cast<projections::Projection*>(pools->get()),
                                     static_cast<projections::Projection*>(outbox_pending->get()),
                                     static_cast<projections::Projection*>(suppression->get()),
                                     static_cast<projections::Projection*>(campaign_counts->get()),
                                     static_cast<projections::Projection*>(conversations->get()),
                                     static_cast<projections::Projection*>(responses->get()),
                                     static_cast<projections::Projection*>(call_queue->get()),
                                     static_cast<projections::Projection*>(meetings->get())}) {
    if (Status s = runner.Add(*p); !s.ok()) {
      std::fprintf(stderr, "serve: projection %s: %s\n", std::string(p->name()).c_str(),
                   s.ToString().c_str());
      return 1;
    }
  }
  // Durable timers: their read model, kept by the same runner.
  auto pending_timers = projections::PendingTimers::Open(**models);
  if (!pending_timers.ok()) {
    std::fprintf(stderr, "serve: timers: %s\n", pending_timers.status().ToString().c_str());
    return 1;
  }
  if (Status s = runner.Add(**pending_timers); !s.ok()) {
    std::fprintf(stderr, "serve: timers: %s\n", s.ToString().c_str());
    return 1;
  }
  if (Status s = runner.Start(); !s.ok()) {
    std::fprintf(stderr, "serve: projections: %s\n", s.ToString().c_str());
    return 1;
  }
  adapters::DataHub data_hub(store, *clock, registry, runner, **lead_index);
  // Fires due timers: on its own thread with the real clock (overdue ones at once, oldest
  // first); with --sim-clock only when POST /api/test/clock/advance moves the clock.
  engine::TimerService timer_service(store, runner, **pending_timers, *clock);

  // Providers: the sandbox keeps what it accepted in its own store beside the engine's.
  adapters::SandboxSms* sandbox_sms = nullptr;
  if (sms == nullptr) {
    auto sandbox = adapters::SandboxSms::Open((fs::path(o.data_dir) / "sandbox").string());
    if (!sandbox.ok()) {
      std::fprintf(stderr, "serve: sandbox provider: %s\n", sandbox.status().ToString().c_str());
      return 1;
    }
    sandbox_sms = sandbox->get();
    sms = std::move(*sandbox);
    skip_provider = std::make_unique<adapters::SandboxSkipTrace>();
  }

  // Limits come from the shipped workflows: the strictest one applies to the shared provider.
  int skip_trace_limit = 0;
  for (const auto& info : registry.List()) {
    const int l = info.workflow->limits.skip_trace_daily_limit;
    if (skip_trace_limit == 0 || l < skip_trace_limit) skip_trace_limit = l;
  }
  engine::SkipTraceOptions skip_options;
  if (skip_trace_limit > 0) skip_options.daily_limit = skip_trace_limit;
  skip_options.day_key = [](engine::Micros t) { return engine::CarrierDayKey(t); };
  engine::SkipTraceService skip_trace(store, *clock, runner, **pools, **leads, *skip_provider,
                                      skip_options);

  engine::CampaignService campaigns(store, *clock, registry, runner, **pools, **leads,
                                    **suppression);
  campaigns.RegisterTimerHandlers(timer_service);
  engine::SmsQueue sms_queue(store, registry, **leads, **suppression);
  sms_queue.RegisterTimerHandlers(timer_service);
  engine::InboundService inbound(store, *clock, registry, runner, **conversations, **leads);
  // One lead command handler for the whole process: it serialises commands per lead.
  engine::LeadCommandHandler lead_commands(store, *clock);
  engine::CallQueueService calls(store, *clock, lead_commands, runner, **leads);
  calls.RegisterTimerHandlers(timer_service);
  engine::MeetingService meeting_service(store, *clock, registry, lead_commands, runner,
                                         **meetings, **leads);
  meeting_service.RegisterTimerHandlers(timer_service);
  if (Status s = timer_service.Start(); !s.ok()) {
    std::fprintf(stderr, "serve: timers: %s\n", s.ToString().c_str());
    return 1;
  }
  engine::OutboxOptions outbox_options;
  outbox_options.status_callback_url = status_callback_url;
  engine::Outbox outbox(store, runner, **outbox_pending, *sms, *clock, outbox_options);
  if (Status s = outbox.Start(); !s.ok()) {
    std::fprintf(stderr, "serve: outbox: %s\n", s.ToString().c_str());
    return 1;
  }

  adapters::Metrics metrics;
  metrics.AddGauge("nextier_projection_lag_events", "events the read models trail the log by",
                   [&runner] { return static_cast<double>(runner.lag()); });
  metrics.AddGauge("nextier_events_appended_total", "events appended since start",
                   [&store] { return static_cast<double>(store.Stats().events); });
  metrics.AddGauge("nextier_log_head", "global position of the last durable event",
                   [&store] { return static_cast<double>(store.Head()); });
  metrics.AddGauge("nextier_store_map_bytes", "size of the event store's memory map",
                   [&store] { return static_cast<double>(store.Stats().map_size); });

  adapters::ServerOptions server_options;
  server_options.bind = o.bind;
  server_options.port = o.port;
  adapters::Server server(server_options, *keys, &metrics);
  // After the server, so it is destroyed (drained) first: its jobs answer through the server.
  adapters::WorkPool pool(4);

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
  adapters::RegisterDataHubRoutes(server, data_hub, **files, runner, store, pool);
  adapters::RegisterLeadRoutes(server, **leads);
  adapters::RegisterSkipTraceRoutes(server, skip_trace, pool);
  adapters::RegisterCampaignRoutes(server, campaigns, **campaign_counts, registry, *clock, pool);
  if (sandbox_sms != nullptr) adapters::RegisterSandboxRoutes(server, *sandbox_sms);
  adapters::WebhookOptions webhook_options;
  webhook_options.secret = webhook_secret;
  adapters::RegisterWebhookRoutes(server, inbound, webhook_options, pool);
  adapters::RegisterResponseRoutes(server, **responses);
  adapters::RegisterAuditRoutes(server, store, pool);
  adapters::RegisterCallQueueRoutes(server, calls, **call_queue, **leads, pool);
  adapters::RegisterMeetingRoutes(server, meeting_service, **meetings, pool);
  if (sim != nullptr) {
    // Moves the simulated clock, firing every timer that falls due on the way, in order; answers
    // once their effects are stored (on a worker: firing waits for durable appends).
    server.AddRoute(
        "POST", "/api/test/clock/advance", {{Role::kAdmin}, false, 4096},
        [sim, &timer_service, &outbox, &pool](HttpRequest& req, Responder respond) {
          nlohmann::json body = nlohmann::json::parse(req.body, nullptr, false);
          if (!body.is_object() || !body.contains("seconds") || !body["seconds"].is_number() ||
              body["seconds"].get<double>() < 0) {
            return respond(HttpResponse::Error(400, "invalid_argument",
                                               "seconds must be a number >= 0", "seconds"));
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
  adapters::LogInfo("signal " + std::to_string(sig) + ": stopped; closing the store");
  std::printf("nextier: signal %d, stopped accepting; in-flight requests finished\n", sig);
  std::fflush(stdout);
  return 0;
}

}  // namespace nextier::app
