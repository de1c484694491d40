#include "nextier/adapters/api_dashboard.h"

#include <algorithm>
#include <map>
#include <memory>
#include <mutex>
#include <optional>

#include "nextier/adapters/logging.h"
#include "nextier/eventstore/events.capnp.h"

namespace nextier::adapters {

namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

double Fraction(uint64_t n, uint64_t of) {
  return of == 0 ? 0.0 : static_cast<double>(n) / static_cast<double>(of);
}

std::string Text(capnp::Text::Reader t) { return std::string(t.cStr(), t.size()); }

// What the overview shows of a campaign that its stream alone decides (all but its counts and
// today's figures). Folding a campaign (CampaignService::Get) copies every lead id of its blocks,
// 2,000 a block, so an overview that folded each campaign per request cost O(leads drawn into
// campaigns): ~0.3 ms for one block (tests/bench/overview_bench). A view is kept per campaign
// and rebuilt only when the campaign's stream has grown, so a request costs one stream-head
// lookup per campaign. Exact: the log is append-only, so an unchanged stream version means an
// unchanged fold.
struct CampaignView {
  uint64_t version = 0;  // of the fold this view was made from
  std::string id, name, status, from_number, workflow_id, workflow_version;
  json blocks;  // API.md's "blocks"
  uint64_t batches = 0, batches_sent = 0;
};

std::shared_ptr<const CampaignView> MakeView(const engine::Campaign& c) {
  auto v = std::make_shared<CampaignView>();
  v->version = c.version;
  v->id = c.id;
  v->name = c.name;
  v->status = std::string(engine::CampaignStatusName(c.status));
  v->from_number = c.from_number;
  v->workflow_id = c.workflow_id;
  v->workflow_version = c.workflow_version;
  v->blocks = json::array();
  for (const auto& b : c.blocks) {
    json jbatches = json::array();
    for (const auto& batch : b.batches) {
      ++v->batches;
      json jb = {{"number", batch.number},
                 {"size", batch.size},
                 {"status", batch.dispatched ? "sent" : "pending"}};
      if (batch.dispatched) {
        ++v->batches_sent;
        jb["sentAt"] = engine::FormatRfc3339(batch.sent_at);
        jb["texted"] = batch.sent;
        jb["deferred"] = batch.deferred;
        jb["failed"] = batch.failed;
      }
      jbatches.push_back(std::move(jb));
    }
    v->blocks.push_back(
        {{"number", b.number}, {"size", b.lead_ids.size()}, {"batches", std::move(jbatches)}});
  }
  return v;
}

// The views of every campaign, shared by the copies of one DashboardSources. Thread-safe.
class CampaignViews {
 public:
  CampaignViews(eventstore::EventStore& log, engine::CampaignService& campaigns,
                const projections::CampaignsProjection& counts)
      : log_(log), campaigns_(campaigns), counts_(counts) {}

  // Every campaign in creation order, as of its stream's head now.
  Result<std::vector<std::shared_ptr<const CampaignView>>> All() {
    std::vector<std::shared_ptr<const CampaignView>> out;
    std::string cursor;
    for (;;) {
      bool more = false;
      auto ids = counts_.List(1000, cursor, &more);
      if (!ids.ok()) return ids.status();
      for (const auto& id : *ids) {
        auto view = Get(id);
        if (!view.ok()) return view.status();
        out.push_back(std::move(*view));
      }
      if (!more || ids->empty()) break;
      cursor = ids->back();
    }
    return out;
  }

 private:
  Result<std::shared_ptr<const CampaignView>> Get(const std::string& id) {
    auto head = log_.StreamVersion(engine::CampaignStreamId(id));
    if (!head.ok()) return head.status();
    {
      std::lock_guard lock(mu_);
      auto it = views_.find(id);
      if (it != views_.end() && it->second->version == *head) return it->second;
    }
    auto c = campaigns_.Get(id);  // outside the lock: folding takes a while
    if (!c.ok()) return c.status();
    auto view = MakeView(*c);
    std::lock_guard lock(mu_);
    auto& slot = views_[id];
    if (!slot || slot->version < view->version) slot = view;
    return view;
  }

  eventstore::EventStore& log_;
  engine::CampaignService& campaigns_;
  const projections::CampaignsProjection& counts_;
  std::mutex mu_;
  std::map<std::string, std::shared_ptr<const CampaignView>> views_;
};

int CapOf(engine::WorkflowRegistry& workflows, const CampaignView& c) {
  auto wf = workflows.Get(c.workflow_id, c.workflow_version);
  return wf.ok() && wf->workflow ? wf->workflow->limits.daily_sms_cap : 0;
}

}  // namespace

// ---- the overview ------------------------------------------------------------------------

json OverviewJson(const projections::DashboardCounts& c, json campaigns,
                  const DashboardToday& today, const std::string& as_of) {
  json by_class = json::object();
  for (const auto& [cls, n] : c.replies_by_class) by_class[cls] = n;
  return json{{"funnel",
               {{"raw", c.raw},
                {"enriched", c.enriched},
                {"queued", c.queued},
                {"sent", c.sent},
                {"delivered", c.delivered},
                {"responded", c.responded},
                {"gold", c.gold},
                {"called", c.called},
                {"booked", c.booked},
                {"optedOut", c.opted_out},
                {"rejected", c.rejected}}},
              {"rates",
               {{"response", Fraction(c.responded, c.sent)},
                {"gold", Fraction(c.gold, c.sent)},
                {"booking", Fraction(c.booked, c.sent)},
                {"netPositive", Fraction(c.positive_leads, c.sent)}}},
              {"replies",
               {{"total", c.replies}, {"byClass", by_class}, {"positiveLeads", c.positive_leads}}},
              {"campaigns", campaigns.is_array() ? std::move(campaigns) : json::array()},
              {"today",
               {{"smsSent", today.sms_sent},
                {"smsCap", today.sms_cap},
                {"skipTraced", today.skip_traced},
                {"skipTraceLimit", today.skip_trace_limit}}},
              {"asOf", as_of}};
}

Result<json> BuildOverview(const DashboardSources& sources) {
  auto counts = sources.counts
                    ? sources.counts()
                    : Result<projections::DashboardCounts>(projections::DashboardCounts{});
  if (!counts.ok()) return counts.status();
  auto campaigns = sources.campaigns ? sources.campaigns() : Result<json>(json::array());
  if (!campaigns.ok()) return campaigns.status();
  auto today = sources.today ? sources.today() : Result<DashboardToday>(DashboardToday{});
  if (!today.ok()) return today.status();
  return OverviewJson(*counts, std::move(*campaigns), *today,
                      sources.as_of ? sources.as_of() : std::string());
}

DashboardSources MakeDashboardSources(const projections::DashboardProjection& dashboard,
                                      engine::CampaignService& campaigns,
                                      const projections::CampaignsProjection& campaign_counts,
                                      engine::WorkflowRegistry& workflows,
                                      engine::SkipTraceService& skip_trace,
                                      const engine::Clock& clock, eventstore::EventStore& log) {
  DashboardSources s;
  auto views = std::make_shared<CampaignViews>(log, campaigns, campaign_counts);
  s.counts = [&dashboard] { return dashboard.Read(); };
  s.as_of = [&clock] { return engine::FormatRfc3339(clock.Now()); };
  s.campaigns = [views, &campaigns, &campaign_counts, &workflows, &clock]() -> Result<json> {
    auto all = views->All();
    if (!all.ok()) return all.status();
    const engine::Micros now = clock.Now();
    std::map<std::string, uint64_t> sent_today;  // by from-number, read once
    json out = json::array();
    for (const auto& c : *all) {
      auto n = campaign_counts.Counts(c->id);
      if (!n.ok()) return n.status();
      auto it = sent_today.find(c->from_number);
      if (it == sent_today.end()) {
        auto t = campaigns.CountSmsToday(c->from_number, now);
        if (!t.ok()) return t.status();
        it = sent_today.emplace(c->from_number, *t).first;
      }
      out.push_back({{"id", c->id},
                     {"name", c->name},
                     {"status", c->status},
                     {"fromNumber", c->from_number},
                     {"workflow", {{"id", c->workflow_id}, {"version", c->workflow_version}}},
                     {"counts",
                      {{"queued", n->queued},
                       {"sent", n->sent},
                       {"delivered", n->delivered},
                       {"failed", n->failed},
                       {"responded", n->responded},
                       {"gold", n->gold},
                       {"optedOut", n->opted_out}}},
                     {"today", {{"sent", it->second}, {"cap", CapOf(workflows, *c)}}},
                     {"blocks", c->blocks},
                     {"progress", {{"batches", c->batches}, {"batchesSent", c->batches_sent}}}});
    }
    return out;
  };
  s.today = [views, &campaigns, &workflows, &skip_trace, &clock]() -> Result<DashboardToday> {
    auto all = views->All();
    if (!all.ok()) return all.status();
    const engine::Micros now = clock.Now();
    std::map<std::string, int> cap_by_number;
    for (const auto& c : *all) {
      int& cap = cap_by_number[c->from_number];
      cap = std::max(cap, CapOf(workflows, *c));
    }
    DashboardToday t;
    for (const auto& [number, cap] : cap_by_number) {
      auto n = campaigns.CountSmsToday(number, now);
      if (!n.ok()) return n.status();
      t.sms_sent += *n;
      t.sms_cap += static_cast<uint64_t>(std::max(cap, 0));
    }
    if (cap_by_number.empty()) {
      for (const auto& info : workflows.List()) {
        if (info.workflow) {
          t.sms_cap = std::max<uint64_t>(
              t.sms_cap, static_cast<uint64_t>(std::max(info.workflow->limits.daily_sms_cap, 0)));
        }
      }
    }
    auto used = skip_trace.DailyUsed();
    if (!used.ok()) return used.status();
    t.skip_traced = *used;
    t.skip_trace_limit = static_cast<uint64_t>(std::max(skip_trace.daily_limit(), 0));
    return t;
  };
  return s;
}

// ---- the feed ----------------------------------------------------------------------------

DashboardFeed::DashboardFeed(DashboardSources sources, eventstore::EventStore& log,
                             projections::ProjectionRunner& runner, DashboardFeedOptions options)
    : sources_(std::move(sources)), options_(options), log_(log), runner_(runner) {
  listener_ = runner_.AddListener([this](uint64_t) {
    {
      std::lock_guard lock(mu_);
      stale_ = true;
    }
    cv_.notify_one();
  });
  subscription_ = log_.Subscribe(log_.Head(), [this](const eventstore::EventView& e) {
    OnEvent(e);
    return true;
  });
  thread_ = std::thread([this] { Run(); });
}

DashboardFeed::~DashboardFeed() { Stop(); }

void DashboardFeed::Stop() {
  {
    std::lock_guard lock(mu_);
    if (stop_) return;
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  runner_.RemoveListener(listener_);
  subscription_.reset();  // joins the subscription's thread
  std::lock_guard lock(mu_);
  clients_.clear();
}

void DashboardFeed::Add(std::shared_ptr<WebSocketPeer> peer) {
  if (!peer) return;
  // Closed clients are pruned on the thread's next pass (no on-close callback: it could outlive
  // the feed).
  std::lock_guard lock(mu_);
  if (stop_) {
    peer->Close();
    return;
  }
  Client c;
  c.peer = peer;
  if (!cached_.empty()) {  // the first message at once, from the I/O thread: just a queue push
    peer->Send(cached_);
    c.greeted = true;
    c.sent_version = version_;
    c.last = Clock::now();
  }
  clients_.push_back(std::move(c));
  cv_.notify_one();
}

size_t DashboardFeed::clients() {
  std::lock_guard lock(mu_);
  std::erase_if(clients_, [](const Client& c) {
    auto p = c.peer.lock();
    return !p || !p->open();
  });
  return clients_.size();
}

uint64_t DashboardFeed::overviews_built() const {
  std::lock_guard lock(mu_);
  return built_;
}

void DashboardFeed::OnEvent(const eventstore::EventView& e) {
  const auto ev = e.event();
  const auto payload = ev.getPayload();
  if (payload.which() != eventstore::schema::Event::Payload::Which::REPLY_RECEIVED) return;
  const auto r = payload.getReplyReceived();
  const std::string lead = Text(r.getLeadId());
  const std::string msg = json{{"type", "response"},
                               {"data",
                                {{"leadId", lead.empty() ? json(nullptr) : json(lead)},
                                 {"classification", Text(r.getClassification())},
                                 {"goldLabel", r.getGoldLabel()},
                                 {"messageId", Text(r.getProviderMessageId())},
                                 {"at", engine::FormatRfc3339(ev.getRecordedAt())}}}}
                              .dump();
  std::lock_guard lock(mu_);
  for (const auto& c : clients_) {
    if (!c.greeted) continue;  // the overview comes first
    if (auto p = c.peer.lock()) p->Send(msg);
  }
}

void DashboardFeed::Run() {
  const auto interval = options_.min_interval;
  std::unique_lock lock(mu_);
  while (!stop_) {
    auto now = Clock::now();
    std::erase_if(clients_, [](const Client& c) {
      auto p = c.peer.lock();
      return !p || !p->open();
    });
    // Someone is waiting for an overview: a new client, or one whose interval has passed.
    bool waiting_new = false;
    bool someone_due = false;
    for (const auto& c : clients_) {
      if (!c.greeted) waiting_new = true;
      if (c.greeted && now - c.last >= interval) someone_due = true;
    }
    const bool may_build = cached_.empty() || now - last_build_ >= interval;
    if (stale_ && may_build && (waiting_new || someone_due)) {
      stale_ = false;  // a change from now on marks it again
      last_build_ = now;
      lock.unlock();
      auto overview = BuildOverview(sources_);
      lock.lock();
      ++built_;
      if (!overview.ok()) {
        stale_ = true;  // retried after the interval
        LogError("dashboard: overview: " + overview.status().ToString());
      } else {
        json content = *overview;
        content.erase("asOf");
        std::string dumped = content.dump();
        if (cached_.empty() || dumped != cached_content_) {
          cached_content_ = std::move(dumped);
          cached_ = json{{"type", "overview"}, {"data", *overview}}.dump();
          ++version_;
        }
      }
      if (stop_) break;
      now = Clock::now();
    }
    // Send: the first overview to new clients, the newest to those due that lack it.
    if (!cached_.empty()) {
      for (auto& c : clients_) {
        if (c.greeted && (c.sent_version == version_ || now - c.last < interval)) continue;
        auto p = c.peer.lock();
        if (!p) continue;
        p->Send(cached_);
        c.greeted = true;
        c.sent_version = version_;
        c.last = now;
      }
    }
    // Sleep until the next thing can happen.
    std::optional<Clock::time_point> wake;
    auto earliest = [&](Clock::time_point t) {
      if (!wake || t < *wake) wake = t;
    };
    for (const auto& c : clients_) {
      if (!c.greeted) {
        earliest(cached_.empty() ? now : last_build_ + interval);  // a failed first build
      } else if (c.sent_version != version_) {
        earliest(c.last + interval);
      } else if (stale_) {
        earliest(std::max(c.last + interval, last_build_ + interval));
      }
    }
    if (wake) {
      cv_.wait_until(lock, std::max(*wake, now + std::chrono::milliseconds(1)));
    } else {
      cv_.wait(lock);
    }
  }
}

// ---- routes ------------------------------------------------------------------------------

WebSocketOptions DefaultDashboardSocketOptions() {
  WebSocketOptions o;
  o.max_queued_messages = 8192;
  o.max_queued_bytes = size_t{8} << 20;
  return o;
}

void RegisterDashboardRoutes(Server& server, const DashboardSources& sources, DashboardFeed& feed,
                             WorkPool& pool, WebSocketOptions ws_options) {
  const RouteOptions readers{{Role::kOps, Role::kAgent}, false, 0};
  server.AddRoute("GET", "/api/dashboard/overview", readers,
                  [sources, &pool](HttpRequest&, Responder respond) {
                    pool.Post([sources, respond] {
                      auto overview = BuildOverview(sources);
                      if (!overview.ok())
                        return respond(HttpResponse::FromStatus(overview.status()));
                      respond(HttpResponse::Json(200, overview->dump()));
                    });
                  });
  server.AddWebSocketRoute(
      "/ws/dashboard", readers,
      [&feed](std::shared_ptr<WebSocketPeer> peer) { feed.Add(std::move(peer)); }, ws_options);
}

}  // namespace nextier::adapters
