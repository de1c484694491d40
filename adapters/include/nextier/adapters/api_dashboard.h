// The dashboard of API.md ("Dashboard"): GET /api/dashboard/overview and WS /ws/dashboard.
//
// OVERVIEW = {"funnel": {raw, enriched, queued, sent, delivered, responded, gold, called, booked,
// optedOut, rejected}, "rates": {response, gold, booking, netPositive}, "replies":
// {"total", "byClass": {CLASS: n}, "positiveLeads"}, "campaigns": [CAMPAIGN summary…],
// "today": {smsSent, smsCap, skipTraced, skipTraceLimit}, "asOf": RFC 3339}.
//   funnel  projections::DashboardProjection's cumulative counters (see dashboard.h).
//   rates   fractions of the leads texted (funnel.sent), 0 when none was: response =
//           responded / sent, gold = gold / sent, booking = booked / sent, netPositive =
//           (distinct leads with a POSITIVE or EMAIL reply) / sent.
//   campaigns  per campaign, in creation order: {"id", "name", "status", "fromNumber",
//           "workflow": {"id", "version"}, "counts": {queued, sent, delivered, failed,
//           responded, gold, optedOut}, "today": {"sent", "cap"}, "blocks": [{"number", "size",
//           "batches": [{"number", "size", "status": "sent|pending", "sentAt"?, "texted"?,
//           "deferred"?, "failed"?}]}], "progress": {"batches", "batchesSent"}}.
//   today   smsSent = the sum over the campaigns' distinct from-numbers of the SMS counted
//           against that number's cap on today's carrier day; smsCap = the sum over the same
//           numbers of the workflow's daily_sms_cap (the largest when campaigns sharing a number
//           differ; with no campaign, the largest cap of the loaded workflows); skipTraced /
//           skipTraceLimit = SkipTraceService::DailyUsed / daily_limit.
//
// The parts owned elsewhere come in as DashboardSources (plain functions), so this file needs
// nothing but their results; MakeDashboardSources is the standard wiring.
//
// The WebSocket feed (DashboardFeed): every client first gets {"type": "overview", "data":
// OVERVIEW}; then, while anything changes (the ProjectionRunner committed), a new overview at
// most once a second per client (only when it differs from the last one sent, asOf aside); and
// {"type": "response", "data": {"leadId" (null for an unknown number), "classification",
// "goldLabel", "messageId", "at"}} for each ReplyReceived appended after the feed started
// (followed with EventStore::Subscribe). Sending never waits for a client: each has a bounded
// queue in the server and is dropped when it overflows.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "nextier/adapters/http_server.h"
#include "nextier/adapters/work_pool.h"
#include "nextier/common/status.h"
#include "nextier/engine/campaigns.h"
#include "nextier/engine/clock.h"
#include "nextier/engine/skip_trace.h"
#include "nextier/engine/workflow_registry.h"
#include "nextier/eventstore/event_store.h"
#include "nextier/projections/dashboard.h"
#include "nextier/projections/projection.h"
#include "nextier/projections/sending.h"

namespace nextier::adapters {

struct DashboardToday {
  uint64_t sms_sent = 0;
  uint64_t sms_cap = 0;
  uint64_t skip_traced = 0;
  uint64_t skip_trace_limit = 0;
};

// Each function may block on reads; they are called from workers and the feed's thread, never
// from an I/O thread, possibly concurrently.
struct DashboardSources {
  std::function<Result<projections::DashboardCounts>()> counts;
  std::function<Result<nlohmann::json>()> campaigns;  // a JSON array of CAMPAIGN summaries
  std::function<Result<DashboardToday>()> today;
  std::function<std::string()> as_of;  // RFC 3339 UTC
};

// The standard wiring. Everything passed in must outlive the returned functions. What the
// campaigns' streams decide is kept between calls (shared by the copies of the result) and
// folded again only when a campaign's stream version in `log` has moved.
DashboardSources MakeDashboardSources(const projections::DashboardProjection& dashboard,
                                      engine::CampaignService& campaigns,
                                      const projections::CampaignsProjection& campaign_counts,
                                      engine::WorkflowRegistry& workflows,
                                      engine::SkipTraceService& skip_trace,
                                      const engine::Clock& clock, eventstore::EventStore& log);

// OVERVIEW from its parts (pure).
nlohmann::json OverviewJson(const projections::DashboardCounts& counts, nlohmann::json campaigns,
                            const DashboardToday& today, const std::string& as_of);
// OVERVIEW from the sources; the first failing source's status.
Result<nlohmann::json> BuildOverview(const DashboardSources& sources);

struct DashboardFeedOptions {
  // The least time between two overviews to one client.
  std::chrono::milliseconds min_interval{1000};
};

// Keeps the WebSocket clients of /ws/dashboard current (see above). Owns one thread (building
// and sending overviews) and one log subscription (the response messages).
//
// Thread-safety: Add and Stop may be called from any thread. Lifetime: `sources`' targets, `log`
// and `runner` must outlive the feed; Stop (or destroy) the feed before the Server is destroyed.
class DashboardFeed {
 public:
  DashboardFeed(DashboardSources sources, eventstore::EventStore& log,
                projections::ProjectionRunner& runner, DashboardFeedOptions options = {});
  ~DashboardFeed();  // Stop()
  DashboardFeed(const DashboardFeed&) = delete;
  DashboardFeed& operator=(const DashboardFeed&) = delete;

  // A new client: it gets the overview first (at once when one is cached), then the updates.
  // Cheap: safe to call from an I/O thread (Server's on_open).
  void Add(std::shared_ptr<WebSocketPeer> peer);
  // Ends the thread, the subscription and the runner listener; safe to call twice.
  void Stop();

  // Clients still open (prunes the closed ones).
  size_t clients();
  // Overviews built so far (for tests and metrics).
  uint64_t overviews_built() const;

 private:
  struct Client {
    std::weak_ptr<WebSocketPeer> peer;
    bool greeted = false;
    uint64_t sent_version = 0;
    std::chrono::steady_clock::time_point last{};
  };
  void Run();
  void OnEvent(const eventstore::EventView& event);

  const DashboardSources sources_;
  const DashboardFeedOptions options_;
  eventstore::EventStore& log_;
  projections::ProjectionRunner& runner_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Client> clients_;
  bool stop_ = false;
  bool stale_ = true;           // something changed since the cached overview was built
  std::string cached_;          // the last overview message ("" before the first)
  std::string cached_content_;  // its data without asOf, to skip unchanged overviews
  uint64_t version_ = 0;        // bumped when cached_ changes
  std::chrono::steady_clock::time_point last_build_{};
  uint64_t built_ = 0;

  uint64_t listener_ = 0;
  std::unique_ptr<eventstore::Subscription> subscription_;
  std::thread thread_;
};

// GET /api/dashboard/overview (roles ops, agent; built on `pool`) and WS /ws/dashboard (roles
// ops, agent; the key as ?key= or Authorization). `sources` is copied; `feed` and `pool` must
// outlive the server's handlers (declare them after the server, stop the server first).
// `ws_options` bound each client's queue: generous by default, as overviews grow with the
// campaigns' batches and replies can come in bursts.
WebSocketOptions DefaultDashboardSocketOptions();
void RegisterDashboardRoutes(Server& server, const DashboardSources& sources, DashboardFeed& feed,
                             WorkPool& pool,
                             WebSocketOptions ws_options = DefaultDashboardSocketOptions());

}  // namespace nextier::adapters
