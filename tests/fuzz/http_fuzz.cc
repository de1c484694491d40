// libFuzzer target: HTTP request handling as `nextier serve` does it — raw bytes over a loopback
// socket into the real Server (adapters/src/http_server.cc: Beast's parser, target and query
// decoding, routing with {params}, API-key roles, header and body limits, streamed bodies,
// WebSocket upgrades, pipelined keep-alive requests) with serve's API routes registered on the
// real engine (engine_fixture.h: LMDB store, read models, sandbox providers, a simulated clock,
// a few leads already texted), so every handler's own parsing of params, queries and JSON bodies
// is reached too.
//
// The routes are serve's (app/serve.cc), registered the same way, except: /healthz and /metrics
// are this file's copies of serve's few lines; the sandbox outage hooks and the simulated clock's
// POST /api/test/clock/advance are left out (test hooks: an outage makes 5xx answers legitimate).
// The server runs one I/O thread and small limits (2 KiB of headers, so 431 is reachable within
// -max_len). Keys: ops-key-0001, agent-key-0001, admin-key-0001, auditor-key-0001.
//
// Each input is one connection: the bytes are written, the write side is shut, the answer is
// read to the end, and the next input starts only once the server let go of the connection.
// Checks besides "no crash, no sanitizer report, no hang": every answer is a well-formed
// HTTP/1.1 response, and none is a 5xx (the store is healthy: a 500 means a handler threw or
// the server broke on the input).
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "engine_fixture.h"
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
#include "nextier/adapters/metrics.h"
#include "nextier/adapters/static_files.h"
#include "nextier/adapters/work_pool.h"

namespace {

namespace adapters = nextier::adapters;
using adapters::HttpRequest;
using adapters::HttpResponse;
using adapters::Responder;
using adapters::Role;

constexpr char kTarget[] = "http_fuzz";
// A fresh engine past this many events (engine_fixture.h): GET /api/audit/export of the whole
// log then takes under a second here, against some 1.2 s at 9,000 events.
constexpr uint64_t kRotateAtEvents = 5000;

// The engine, serve's routes on a server, what they share; replaced as a whole
// (engine_fixture.h). Destroyed in serve's order: the feed and the pools (whose jobs answer
// through the server) before the server, the engine last.
struct Harness {
  ~Harness() {
    server->Stop();
    dashboard_feed.reset();
    webhook_pool.reset();
    pool.reset();
    server.reset();
  }

  std::unique_ptr<nextier::fuzz::FuzzEngine> fe;
  adapters::Metrics metrics;
  std::unique_ptr<adapters::Server> server;
  std::unique_ptr<adapters::WorkPool> pool;
  std::unique_ptr<adapters::WorkPool> webhook_pool;
  std::unique_ptr<adapters::DashboardSources> dashboard_sources;
  std::unique_ptr<adapters::DashboardFeed> dashboard_feed;
};

std::unique_ptr<Harness> MakeHarness() {
  auto h = std::make_unique<Harness>();
  h->fe = nextier::fuzz::OpenEngine();
  auto& e = *h->fe->engine;
  auto& store = *e.store;
  auto& registry = *e.registry;
  auto& runner = *e.runner;
  h->metrics.AddGauge("nextier_log_head", "global position of the last durable event",
                      [&store] { return static_cast<double>(store.Head()); });
  adapters::ServerOptions o;
  o.bind = "127.0.0.1";
  o.port = 0;
  o.threads = 1;  // one I/O thread: the same input takes the same path
  o.max_connections = 16;
  o.max_header_bytes = 2048;
  o.read_timeout = std::chrono::milliseconds(3000);
  o.idle_timeout = std::chrono::milliseconds(3000);
  o.write_timeout = std::chrono::milliseconds(3000);
  o.shutdown_grace = std::chrono::milliseconds(100);
  std::vector<adapters::ApiKey> keys = {{"ops-key-0001", Role::kOps, "ops"},
                                        {"agent-key-0001", Role::kAgent, "agent"},
                                        {"admin-key-0001", Role::kAdmin, "admin"},
                                        {"auditor-key-0001", Role::kAuditor, "auditor"}};
  h->server = std::make_unique<adapters::Server>(o, keys, &h->metrics);
  adapters::Server& server = *h->server;
  h->pool = std::make_unique<adapters::WorkPool>(2);
  h->webhook_pool = std::make_unique<adapters::WorkPool>(2);
  h->dashboard_sources = std::make_unique<adapters::DashboardSources>(
      adapters::MakeDashboardSources(*e.dashboard, *e.campaigns, *e.campaign_counts, registry,
                                     *e.skip_trace, *e.clock, store));
  h->dashboard_feed =
      std::make_unique<adapters::DashboardFeed>(*h->dashboard_sources, store, runner);
  auto& pool = *h->pool;

  // As app/serve.cc registers them.
  server.AddRoute("GET", "/healthz", {{}, true, 0}, [&store](HttpRequest&, Responder respond) {
    respond(HttpResponse::Json(200, nlohmann::json{{"ok", true}, {"head", store.Head()}}.dump()));
  });
  server.AddRoute("GET", "/metrics", {{}, true, 0},
                  [metrics = &h->metrics](HttpRequest&, Responder respond) {
                    HttpResponse r;
                    r.content_type = "text/plain; version=0.0.4";
                    r.body = metrics->Render();
                    respond(std::move(r));
                  });
  adapters::RegisterWorkflowRoutes(server, registry, pool);
  adapters::RegisterDataHubRoutes(server, *e.data_hub, *e.files, runner, store, pool);
  adapters::RegisterLeadRoutes(server, *e.leads);
  adapters::RegisterForgetRoutes(server, *e.forget, store, runner, pool);
  adapters::RegisterSkipTraceRoutes(server, *e.skip_trace, pool);
  adapters::RegisterCampaignRoutes(server, *e.campaigns, *e.campaign_counts, registry, *e.clock,
                                   pool);
  adapters::RegisterSandboxRoutes(server, *e.sandbox_sms);
  adapters::WebhookOptions webhook;
  webhook.secret = "fuzz-webhook-secret";
  adapters::RegisterWebhookRoutes(server, *e.inbound, webhook, *h->webhook_pool);
  adapters::RegisterResponseRoutes(server, *e.responses);
  adapters::RegisterAuditRoutes(server, store, pool);
  adapters::RegisterCallQueueRoutes(server, *e.calls, *e.call_queue, *e.leads, pool);
  adapters::RegisterMeetingRoutes(server, *e.meeting_service, *e.meetings, pool);
  adapters::RegisterDashboardRoutes(server, *h->dashboard_sources, *h->dashboard_feed, pool);
  if (auto s = adapters::RegisterStaticFiles(server, std::string(NEXTIER_SOURCE_DIR) + "/web");
      !s.ok()) {
    nextier::fuzz::Fail(kTarget, "cannot read the web UI:", s.ToString());
  }
  if (auto s = server.Start(); !s.ok()) {
    nextier::fuzz::Fail(kTarget, "cannot start the server:", s.ToString());
  }
  return h;
}

// Never destroyed at exit (see engine_fixture.h); replaced once the log is long.
std::unique_ptr<Harness>* current = new std::unique_ptr<Harness>;

adapters::Server& TheServer() {
  if (*current == nullptr || (*current)->fe->engine->store->Head() > kRotateAtEvents) {
    current->reset();
    *current = MakeHarness();
  }
  return *(*current)->server;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  adapters::Server& server = TheServer();
  const std::string out = nextier::fuzz::Exchange(
      kTarget, server, std::string_view(reinterpret_cast<const char*>(data), size));
  nextier::fuzz::CheckResponses(kTarget, out);
  return 0;
}
