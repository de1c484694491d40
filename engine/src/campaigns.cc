// Campaigns: the fold, the commands, and the batch/send timer handlers (see campaigns.h).
#include "nextier/engine/campaigns.h"

#include <algorithm>
#include <mutex>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <unordered_set>

#include "nextier/engine/lead.h"
#include "nextier/engine/lead_commands.h"
#include "nextier/engine/send_window.h"
#include "nextier/engine/sms_queue.h"
#include "nextier/workflows/segments.h"
#include "nextier/workflows/templates.h"
#include "sms_rules.h"

namespace nextier::engine {

namespace es = nextier::eventstore;
using Which = es::schema::Event::Payload::Which;

namespace {

std::string_view View(capnp::Text::Reader t) { return std::string_view(t.cStr(), t.size()); }

bool IsE164(std::string_view s) {
  if (s.size() < 9 || s.size() > 16 || s[0] != '+' || s[1] == '0') return false;
  return std::all_of(s.begin() + 1, s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

std::string NewCampaignId() {
  static std::mutex mu;
  static std::mt19937_64 rng{std::random_device{}()};
  std::lock_guard lock(mu);
  char buf[24];
  std::snprintf(buf, sizeof buf, "cmp-%012llx",
                static_cast<unsigned long long>(rng() & 0xffffffffffffULL));
  return buf;
}

std::string BatchTimerId(std::string_view campaign, uint32_t block, uint32_t batch) {
  return "batch:" + std::string(campaign) + ":" + std::to_string(block) + ":" +
         std::to_string(batch);
}

// The outbox's idempotency key of a campaign's opener to a lead: deterministic, so the
// provider can answer a repeat with the first outcome.
std::string OpenerKey(std::string_view campaign, std::string_view lead) {
  return "sms:" + std::string(campaign) + ":" + std::string(lead) + ":opener";
}

void StampCampaignEvent(es::NewEvent& e, const Campaign& c, Micros now, std::string_view actor,
                        std::string_view correlation) {
  auto b = e.builder();
  b.setRecordedAt(now);
  b.setActor(std::string(actor));
  b.setWorkflowId(c.workflow_id);
  b.setWorkflowVersion(c.workflow_version);
  if (!correlation.empty()) b.setCorrelationId(std::string(correlation));
}

}  // namespace

std::string_view CampaignStatusName(CampaignStatus status) {
  switch (status) {
    case CampaignStatus::kDraft:
      return "draft";
    case CampaignStatus::kActive:
      return "active";
    case CampaignStatus::kPaused:
      return "paused";
    case CampaignStatus::kCompleted:
      return "completed";
  }
  return "draft";
}

bool CampaignBlock::done() const {
  return std::all_of(batches.begin(), batches.end(),
                     [](const CampaignBatch& b) { return b.dispatched; });
}

std::string CampaignStreamId(std::string_view campaign_id) {
  return "campaign-" + std::string(campaign_id);
}

std::string SmsCapStreamId(std::string_view from_number, std::string_view day) {
  return "smscap-" + std::string(from_number) + "-" + std::string(day);
}

Result<Campaign> LoadCampaign(es::EventStore& store, std::string_view campaign_id) {
  if (campaign_id.empty()) return Status::InvalidArgument("a campaign id is required", "id");
  Campaign c;
  c.id = campaign_id;
  bool created = false;
  Status s =
      store.ReadStream(CampaignStreamId(campaign_id), 1, SIZE_MAX, [&](const es::EventView& view) {
        const auto ev = view.event();
        const auto p = ev.getPayload();
        c.version = ev.getStreamVersion();
        c.updated_at = ev.getRecordedAt();
        switch (p.which()) {
          case Which::CAMPAIGN_CREATED: {
            const auto cc = p.getCampaignCreated();
            created = true;
            c.name = View(cc.getName());
            c.workflow_id = View(cc.getWorkflowId());
            c.workflow_version = View(cc.getWorkflowVersion());
            c.signalhouse_campaign_id = View(cc.getSignalhouseCampaignId());
            c.from_number = View(cc.getFromNumber());
            c.ai_worker = View(cc.getAiWorker());
            c.created_at = ev.getRecordedAt();
            break;
          }
          case Which::CAMPAIGN_STARTED:
          case Which::CAMPAIGN_RESUMED:
            c.status = CampaignStatus::kActive;
            break;
          case Which::CAMPAIGN_PAUSED:
            c.status = CampaignStatus::kPaused;
            break;
          case Which::CAMPAIGN_COMPLETED:
            c.status = CampaignStatus::kCompleted;
            break;
          case Which::CAMPAIGN_MIGRATED:
            c.workflow_version = View(p.getCampaignMigrated().getToVersion());
            break;
          case Which::BLOCK_DRAWN: {
            const auto bd = p.getBlockDrawn();
            CampaignBlock block;
            block.number = bd.getBlockNumber();
            block.batch_size = std::max<uint32_t>(1, bd.getBatchSize());
            for (auto id : bd.getLeadIds()) block.lead_ids.emplace_back(View(id));
            const size_t n = block.lead_ids.size();
            for (uint32_t i = 0; i < bd.getBatchCount(); ++i) {
              CampaignBatch b;
              b.number = i + 1;
              const size_t start = size_t{i} * block.batch_size;
              b.size = static_cast<uint32_t>(
                  start >= n ? 0 : std::min<size_t>(block.batch_size, n - start));
              block.batches.push_back(b);
            }
            c.blocks.push_back(std::move(block));
            break;
          }
          case Which::BATCH_DISPATCHED: {
            const auto bd = p.getBatchDispatched();
            for (auto& block : c.blocks) {
              if (block.number != bd.getBlockNumber()) continue;
              for (auto& b : block.batches) {
                if (b.number != bd.getBatchNumber()) continue;
                b.dispatched = true;
                b.sent_at = ev.getRecordedAt();
                b.sent = bd.getSent();
                b.deferred = bd.getDeferred();
                b.failed = bd.getSize() - std::min(bd.getSize(), bd.getSent() + bd.getDeferred());
              }
            }
            break;
          }
          case Which::TIMER_SCHEDULED: {
            const auto t = p.getTimerScheduled();
            if (View(t.getKind()) == "batch") c.batch_timer = View(t.getTimerId());
            break;
          }
          case Which::TIMER_FIRED:
            if (View(p.getTimerFired().getTimerId()) == c.batch_timer) c.batch_timer.clear();
            break;
          case Which::TIMER_CANCELLED:
            if (View(p.getTimerCancelled().getTimerId()) == c.batch_timer) c.batch_timer.clear();
            break;
          default:
            break;
        }
        return true;
      });
  NEXTIER_RETURN_IF_ERROR(s);
  if (!created) return Status::NotFound("no campaign " + std::string(campaign_id));
  return c;
}

// ---- the service -----------------------------------------------------------------------------

struct CampaignService::Impl {
  es::EventStore& store;
  const Clock& clock;
  WorkflowRegistry& workflows;
  projections::ProjectionRunner& runner;
  const projections::LeadPoolsProjection& pools;
  const projections::LeadsProjection& leads;
  const projections::SuppressionProjection& suppression;
  CampaignServiceOptions options;
  std::mutex command_mu;  // one campaign command at a time (they are rare)

  Impl(es::EventStore& s, const Clock& c, WorkflowRegistry& w, projections::ProjectionRunner& r,
       const projections::LeadPoolsProjection& p, const projections::LeadsProjection& l,
       const projections::SuppressionProjection& sup, CampaignServiceOptions o)
      : store(s),
        clock(c),
        workflows(w),
        runner(r),
        pools(p),
        leads(l),
        suppression(sup),
        options(std::move(o)) {}

  Status CatchUp() { return runner.WaitFor(store.Head(), std::chrono::seconds(30)); }

  // Why this lead's number may not get this opener, or "" when it may.
  Result<std::string> SuppressionReason(std::string_view lead_id, std::string_view phone_hash) {
    return internal::SuppressionReason(suppression, lead_id, phone_hash, /*opener=*/true);
  }

  // ---- commands ----

  Result<Campaign> Create(const CreateCampaign& r) {
    if (r.name.empty()) return Status::InvalidArgument("a campaign needs a name", "name");
    if (r.workflow.empty())
      return Status::InvalidArgument("a campaign needs a workflow", "workflow");
    auto wf = workflows.Get(r.workflow);
    if (!wf.ok()) {
      return Status::InvalidArgument("unknown workflow '" + r.workflow + "'", "workflow");
    }
    const auto& w = *wf->workflow;
    std::string from =
        r.from_number.empty() ? w.signalhouse.from_number.value_or("") : r.from_number;
    if (from.empty()) {
      return Status::InvalidArgument("a from-number is required (the workflow names none)",
                                     "fromNumber");
    }
    if (!IsE164(from)) {
      return Status::InvalidArgument("fromNumber '" + from + "' is not E.164 (+15164079249)",
                                     "fromNumber");
    }
    std::string sh_campaign = r.signalhouse_campaign_id.empty()
                                  ? w.signalhouse.campaign_id.value_or("")
                                  : r.signalhouse_campaign_id;
    std::string ai_worker = r.ai_worker.empty() ? w.signalhouse.ai_worker : r.ai_worker;
    Campaign c;
    c.id = NewCampaignId();
    c.workflow_id = w.id;
    c.workflow_version = w.version;
    es::NewEvent e;
    auto cc = e.builder().getPayload().initCampaignCreated();
    cc.setCampaignId(c.id);
    cc.setName(r.name);
    cc.setWorkflowId(w.id);
    cc.setWorkflowVersion(w.version);
    cc.setSignalhouseCampaignId(sh_campaign);
    cc.setFromNumber(from);
    cc.setAiWorker(ai_worker);
    StampCampaignEvent(e, c, clock.Now(), r.actor, c.id);
    std::vector<es::NewEvent> events;
    events.push_back(std::move(e));
    auto appended =
        store.Append(CampaignStreamId(c.id), es::ExpectedVersion::NoStream(), std::move(events));
    if (!appended.ok()) return appended.status();
    return LoadCampaign(store, c.id);
  }

  Result<Campaign> Start(std::string_view id, std::string_view actor) {
    std::lock_guard lock(command_mu);
    for (int attempt = 0;; ++attempt) {
      NEXTIER_RETURN_IF_ERROR(CatchUp());
      auto c = LoadCampaign(store, id);
      if (!c.ok()) return c.status();
      if (c->status == CampaignStatus::kPaused) {
        return Status::Conflict("campaign " + c->id + " is paused: resume it instead");
      }
      if (c->status == CampaignStatus::kActive && !c->blocks.empty() && !c->blocks.back().done()) {
        return Status::Conflict("campaign " + c->id + " is still sending block " +
                                std::to_string(c->blocks.back().number));
      }
      auto wf = workflows.Get(c->workflow_id, c->workflow_version);
      if (!wf.ok()) return wf.status();
      const auto& w = *wf->workflow;
      const Micros now = clock.Now();

      // Draw: best role score first, skipping numbers that may not get an opener.
      std::unordered_set<std::string> hashes_in_block;
      Status inner;
      auto drawn = pools.List(
          projections::LeadPoolsProjection::Pool::kEnriched, "",
          static_cast<size_t>(w.limits.block_size), [&](std::string_view lead_id) {
            auto view = leads.Get(lead_id);
            if (!view.ok() || view->phones.empty() || view->forgotten) return false;
            const std::string hash =
                store.keys().BlindIndex(projections::kPhonePurpose, view->phones.front());
            auto why = SuppressionReason(lead_id, hash);
            if (!why.ok()) {
              inner = why.status();
              return false;
            }
            if (!why->empty()) return false;
            return hashes_in_block.insert(hash).second;  // one lead per number in a block
          });
      NEXTIER_RETURN_IF_ERROR(inner);
      if (!drawn.ok()) return drawn.status();
      if (drawn->empty()) {
        return Status::Conflict("no enriched leads are left to draw for campaign " + c->id);
      }
      const uint32_t block_no = static_cast<uint32_t>(c->blocks.size() + 1);
      const uint32_t batch_size = static_cast<uint32_t>(std::max(1, w.limits.batch_size));
      const uint32_t batch_count =
          static_cast<uint32_t>((drawn->size() + batch_size - 1) / batch_size);

      std::vector<es::StreamAppend> unit;
      es::StreamAppend campaign_append{
          CampaignStreamId(c->id), es::ExpectedVersion::Exactly(c->version), {}};
      {
        es::NewEvent e;
        e.builder().getPayload().initCampaignStarted().setBlockNumber(block_no);
        campaign_append.events.push_back(std::move(e));
      }
      {
        es::NewEvent e;
        auto bd = e.builder().getPayload().initBlockDrawn();
        bd.setBlockNumber(block_no);
        auto ids = bd.initLeadIds(static_cast<unsigned>(drawn->size()));
        for (size_t i = 0; i < drawn->size(); ++i) ids.set(static_cast<unsigned>(i), (*drawn)[i]);
        bd.setBatchSize(batch_size);
        bd.setBatchCount(batch_count);
        campaign_append.events.push_back(std::move(e));
      }
      campaign_append.events.push_back(MakeTimerScheduled(
          BatchTimerId(c->id, block_no, 1), now, "batch", CampaignStreamId(c->id),
          nlohmann::json{{"block", block_no}, {"batch", 1}}.dump()));
      for (auto& e : campaign_append.events) StampCampaignEvent(e, *c, now, actor, c->id);
      unit.push_back(std::move(campaign_append));

      for (size_t i = 0; i < drawn->size(); ++i) {
        const std::string& lead_id = (*drawn)[i];
        auto lead = LoadLead(store, lead_id);
        if (!lead.ok()) return lead.status();
        const uint32_t batch_no = static_cast<uint32_t>(i / batch_size + 1);
        LeadCommand cmd;
        cmd.lead_id = lead_id;
        cmd.trigger = LeadTrigger::kQueue;
        cmd.actor = actor;
        cmd.correlation_id = c->id;
        cmd.workflow_id = c->workflow_id;
        cmd.workflow_version = c->workflow_version;
        const std::string cid = c->id;
        cmd.build = [&cid, block_no, batch_no](const Lead&, LeadEvents& out) {
          auto q = out.Add().getPayload().initLeadQueued();
          q.setCampaignId(cid);
          q.setBlockNumber(block_no);
          q.setBatchNumber(batch_no);
          return Status::Ok();
        };
        auto events = PrepareLeadEvents(*lead, cmd, store.keys(), now);
        if (!events.ok()) return events.status();
        unit.push_back(es::StreamAppend{lead->stream, es::ExpectedVersion::Exactly(lead->version),
                                        std::move(*events)});
      }
      auto r = store.AppendUnit(std::move(unit), {});
      if (r.ok()) {
        NEXTIER_RETURN_IF_ERROR(CatchUp());
        return LoadCampaign(store, id);
      }
      if (r.status().code() != StatusCode::kConflict || attempt >= 4) return r.status();
    }
  }

  Result<Campaign> Pause(std::string_view id, std::string_view actor) {
    std::lock_guard lock(command_mu);
    for (int attempt = 0;; ++attempt) {
      auto c = LoadCampaign(store, id);
      if (!c.ok()) return c.status();
      if (c->status == CampaignStatus::kPaused) return *c;
      if (c->status != CampaignStatus::kActive) {
        return Status::Conflict("campaign " + c->id + " is " +
                                std::string(CampaignStatusName(c->status)) +
                                ": only an active campaign can be paused");
      }
      std::vector<es::NewEvent> events;
      {
        es::NewEvent e;
        e.builder().getPayload().initCampaignPaused().setReason("paused by " + std::string(actor));
        events.push_back(std::move(e));
      }
      if (!c->batch_timer.empty()) events.push_back(MakeTimerCancelled(c->batch_timer, "paused"));
      for (auto& e : events) StampCampaignEvent(e, *c, clock.Now(), actor, c->id);
      auto r = store.Append(CampaignStreamId(c->id), es::ExpectedVersion::Exactly(c->version),
                            std::move(events));
      if (r.ok()) return LoadCampaign(store, id);
      if (r.status().code() != StatusCode::kConflict || attempt >= 4) return r.status();
    }
  }

  Result<Campaign> Resume(std::string_view id, std::string_view actor) {
    std::lock_guard lock(command_mu);
    for (int attempt = 0;; ++attempt) {
      auto c = LoadCampaign(store, id);
      if (!c.ok()) return c.status();
      if (c->status == CampaignStatus::kActive) return *c;
      if (c->status != CampaignStatus::kPaused) {
        return Status::Conflict("campaign " + c->id + " is " +
                                std::string(CampaignStatusName(c->status)) +
                                ": only a paused campaign can be resumed");
      }
      const Micros now = clock.Now();
      std::vector<es::NewEvent> events;
      {
        es::NewEvent e;
        e.builder().getPayload().initCampaignResumed();
        events.push_back(std::move(e));
      }
      // The next batch not yet dispatched goes out now, under a fresh timer id (the cancelled
      // one can never fire again).
      bool scheduled = false;
      for (const auto& block : c->blocks) {
        for (const auto& b : block.batches) {
          if (b.dispatched || scheduled) continue;
          events.push_back(MakeTimerScheduled(
              BatchTimerId(c->id, block.number, b.number) + ":r" + std::to_string(c->version), now,
              "batch", CampaignStreamId(c->id),
              nlohmann::json{{"block", block.number}, {"batch", b.number}}.dump()));
          scheduled = true;
        }
      }
      for (auto& e : events) StampCampaignEvent(e, *c, now, actor, c->id);
      auto r = store.Append(CampaignStreamId(c->id), es::ExpectedVersion::Exactly(c->version),
                            std::move(events));
      if (r.ok()) return LoadCampaign(store, id);
      if (r.status().code() != StatusCode::kConflict || attempt >= 4) return r.status();
    }
  }

  Result<Campaign> Migrate(std::string_view id, std::string_view version, std::string_view actor) {
    std::lock_guard lock(command_mu);
    if (version.empty()) return Status::InvalidArgument("a version is required", "version");
    for (int attempt = 0;; ++attempt) {
      auto c = LoadCampaign(store, id);
      if (!c.ok()) return c.status();
      if (c->workflow_version == version) return *c;
      auto wf = workflows.Get(c->workflow_id, version);
      if (!wf.ok()) {
        return Status(StatusCode::kNotFound,
                      "workflow " + c->workflow_id + " has no version " + std::string(version),
                      "version");
      }
      es::NewEvent e;
      auto m = e.builder().getPayload().initCampaignMigrated();
      m.setFromVersion(c->workflow_version);
      m.setToVersion(std::string(version));
      StampCampaignEvent(e, *c, clock.Now(), actor, c->id);
      e.builder().setWorkflowVersion(std::string(version));
      std::vector<es::NewEvent> events;
      events.push_back(std::move(e));
      auto r = store.Append(CampaignStreamId(c->id), es::ExpectedVersion::Exactly(c->version),
                            std::move(events));
      if (r.ok()) return LoadCampaign(store, id);
      if (r.status().code() != StatusCode::kConflict || attempt >= 4) return r.status();
    }
  }

  Result<uint64_t> CountSmsToday(std::string_view from, Micros t) {
    return store.StreamVersion(SmsCapStreamId(from, CarrierDayKey(t)));
  }

  // ---- dispatching ----

  // The state of one fire: the campaign, its workflow, the cap stream and what this fire has
  // taken from it so far.
  struct Dispatch {
    const Campaign* campaign = nullptr;
    const workflows::Workflow* workflow = nullptr;
    Micros now = 0;
    internal::CapTally cap;
    std::unordered_set<std::string> hashes;  // numbers given an opener in this fire
    uint32_t sent = 0, deferred = 0, failed = 0;
  };

  Status BeginDispatch(Dispatch& d, const Campaign& c, const workflows::Workflow& w, Micros now) {
    d.campaign = &c;
    d.workflow = &w;
    d.now = now;
    return d.cap.Begin(store, c.from_number, now);
  }

  void EndDispatch(Dispatch& d, std::vector<es::StreamAppend>& effects) { d.cap.AppendTo(effects); }

  // Decides and builds one lead's opener (or its deferral or failure), appending the lead's
  // events to `out` (which the caller puts on the lead's stream). Leads that are no longer
  // waiting for this campaign's opener get nothing.
  Status DispatchLead(Dispatch& d, const Lead& lead, std::vector<es::NewEvent>& out) {
    const Campaign& c = *d.campaign;
    // A forgotten lead is never texted, and nothing can be sealed under its destroyed key.
    if (lead.state != LeadState::kQueued || lead.campaign_id != c.id ||
        !lead.initial_message_key.empty() || lead.forgotten) {
      return Status::Ok();
    }
    auto view = leads.Get(lead.id);
    if (!view.ok()) return view.status();
    const std::string phone = view->phones.empty() ? std::string() : view->phones.front();
    const std::string hash =
        phone.empty() ? std::string() : store.keys().BlindIndex(projections::kPhonePurpose, phone);

    std::string fail_code, fail_reason;
    Micros defer_until = 0;
    std::string defer_reason;
    if (phone.empty() || view->forgotten) {
      fail_code = "no_number";
      fail_reason = "the lead has no number to text";
    } else {
      auto why = SuppressionReason(lead.id, hash);
      if (!why.ok()) return why.status();
      if (!why->empty() || d.hashes.count(hash) > 0) {
        fail_code = "suppressed";
        fail_reason = why->empty() ? "duplicate_number" : *why;
      }
    }
    if (fail_code.empty()) {
      const SendWindow window =
          CheckSendWindow(d.now, phone, view->state_code, d.workflow->limits.quiet_hours);
      if (!window.known) {
        fail_code = "no_time_zone";
        fail_reason = window.reason;
      } else if (!window.open) {
        defer_until = window.opens_at;
        defer_reason = "quiet_hours";
      } else if (d.cap.Full(d.workflow->limits.daily_sms_cap)) {
        defer_until = NextCarrierDayStart(d.now);
        defer_reason = "daily_cap";
      }
    }

    LeadCommand cmd;
    cmd.lead_id = lead.id;
    cmd.actor = options.actor;
    cmd.correlation_id = c.id;
    cmd.workflow_id = c.workflow_id;
    cmd.workflow_version = c.workflow_version;
    // Everything the builder captures lives until PrepareLeadEvents below has run.
    std::string timer_id;
    const std::string key = OpenerKey(c.id, lead.id);
    std::string body;
    internal::IntentFields fields;
    if (defer_until != 0) {
      ++d.deferred;
      timer_id = "send:" + c.id + ":" + lead.id + ":" + std::to_string(defer_until);
      cmd.build = [&](const Lead&, LeadEvents& events) {
        events.events().push_back(MakeTimerScheduled(
            timer_id, defer_until, "send", lead.stream,
            nlohmann::json{{"campaign", c.id}, {"reason", defer_reason}}.dump()));
        return Status::Ok();
      };
    } else {
      if (fail_code.empty()) {
        workflows::TemplateValues values{
            {"firstName", view->first_name.empty() ? "there" : view->first_name},
            {"lastName", view->last_name},
            {"company", view->company.empty() ? "your business" : view->company},
            {"aiWorker", c.ai_worker},
            {"brand", d.workflow->signalhouse.brand_name},
            {"fromNumber", c.from_number},
            {"partner", d.workflow->handoff_partner ? d.workflow->handoff_partner->name : ""},
        };
        auto rendered = workflows::Render(d.workflow->templates.opener.text, values);
        if (!rendered.ok()) {
          fail_code = "template";
          fail_reason = rendered.status().message();
        } else {
          body = std::move(*rendered);
        }
      }
      if (fail_code.empty()) {
        ++d.sent;
        d.hashes.insert(hash);
        d.cap.Count(key, lead.id, "opener");
      } else {
        ++d.failed;
      }
      fields = internal::IntentFields{key,      "opener", c.id, c.from_number,
                                      "opener", body,     hash, d.cap.day()};
      cmd.build = [&](const Lead&, LeadEvents& events) {
        auto e = events.Add();
        auto sealed = events.SealPersonal(e, [&](es::schema::Personal::Builder p) {
          p.setToNumber(phone);
          p.setFromNumber(c.from_number);
          p.setBody(body);
        });
        if (!sealed.ok()) return sealed.status();
        internal::FillIntent(e.getPayload().initSmsSendIntended(), fields, *sealed);
        if (fail_code.empty()) {
          // The workflow's follow-ups, each after the previous message's hours of silence; the
          // SMS queue drops them once the lead has replied (and a reply cancels them).
          Micros due = d.now;
          for (const auto& f : d.workflow->templates.follow_ups) {
            due += Micros{f.delay_hours} * 3600 * kMicrosPerSecond;
            LeadSmsRequest r;
            r.lead_id = lead.id;
            r.kind = "followup";
            r.template_name = "followup:" + f.name;
            r.message_key = "sms:followup:" + c.id + ":" + lead.id + ":" + f.name;
            r.campaign_id = c.id;
            events.events().push_back(RequestLeadSms(r, due));
          }
        }
        if (!fail_code.empty()) {
          auto f = events.Add().getPayload().initSmsSendFailed();
          f.setMessageKey(key);
          f.setCode(fail_code);
          f.setReason(fail_reason);
          f.setPermanent(true);
        }
        return Status::Ok();
      };
    }
    auto events = PrepareLeadEvents(lead, cmd, store.keys(), d.now);
    if (!events.ok()) return events.status();
    for (auto& e : *events) out.push_back(std::move(e));
    return Status::Ok();
  }

  Result<std::vector<es::StreamAppend>> FireBatch(const FiredTimer& t) {
    auto args = nlohmann::json::parse(t.args, nullptr, false);
    if (!args.is_object() || !args.contains("block") || !args.contains("batch")) {
      return Status::InvalidArgument("batch timer " + t.timer_id + " has no block/batch");
    }
    const uint32_t block_no = args["block"].get<uint32_t>();
    const uint32_t batch_no = args["batch"].get<uint32_t>();
    const std::string_view cid = std::string_view(t.target).substr(sizeof("campaign-") - 1);
    auto c = LoadCampaign(store, cid);
    if (!c.ok()) return c.status();
    std::vector<es::StreamAppend> effects;
    if (c->status != CampaignStatus::kActive) return effects;  // paused meanwhile
    const CampaignBlock* block = nullptr;
    for (const auto& b : c->blocks) {
      if (b.number == block_no) block = &b;
    }
    if (block == nullptr || batch_no == 0 || batch_no > block->batches.size() ||
        block->batches[batch_no - 1].dispatched) {
      return effects;
    }
    auto wf = workflows.Get(c->workflow_id, c->workflow_version);
    if (!wf.ok()) return wf.status();
    const auto& w = *wf->workflow;

    Dispatch d;
    NEXTIER_RETURN_IF_ERROR(BeginDispatch(d, *c, w, t.fired_at));
    const size_t start = size_t{batch_no - 1} * block->batch_size;
    const size_t end = std::min(block->lead_ids.size(), start + block->batch_size);
    for (size_t i = start; i < end; ++i) {
      auto lead = LoadLead(store, block->lead_ids[i]);
      if (!lead.ok()) return lead.status();
      std::vector<es::NewEvent> events;
      NEXTIER_RETURN_IF_ERROR(DispatchLead(d, *lead, events));
      if (events.empty()) continue;
      effects.push_back(es::StreamAppend{lead->stream, es::ExpectedVersion::Exactly(lead->version),
                                         std::move(events)});
    }
    EndDispatch(d, effects);

    es::StreamAppend campaign_append{t.target, es::ExpectedVersion::Exactly(t.target_version), {}};
    {
      es::NewEvent e;
      auto bd = e.builder().getPayload().initBatchDispatched();
      bd.setBlockNumber(block_no);
      bd.setBatchNumber(batch_no);
      bd.setSize(static_cast<uint32_t>(end - start));
      bd.setSent(d.sent);
      bd.setDeferred(d.deferred);
      campaign_append.events.push_back(std::move(e));
    }
    if (batch_no < block->batches.size()) {
      // Exactly the batch delay after this batch's due time, however late this one fired.
      const Micros next = t.due_at + Micros{w.limits.batch_delay_seconds} * kMicrosPerSecond;
      campaign_append.events.push_back(
          MakeTimerScheduled(BatchTimerId(c->id, block_no, batch_no + 1), next, "batch", t.target,
                             nlohmann::json{{"block", block_no}, {"batch", batch_no + 1}}.dump()));
    } else {
      es::NewEvent e;
      e.builder().getPayload().initCampaignCompleted().setReason(
          "block " + std::to_string(block_no) + " dispatched");
      campaign_append.events.push_back(std::move(e));
    }
    for (auto& e : campaign_append.events) {
      StampCampaignEvent(e, *c, t.fired_at, options.actor, c->id);
    }
    effects.push_back(std::move(campaign_append));
    return effects;
  }

  Result<std::vector<es::StreamAppend>> FireSend(const FiredTimer& t) {
    auto args = nlohmann::json::parse(t.args, nullptr, false);
    std::vector<es::StreamAppend> effects;
    if (!args.is_object() || !args.contains("campaign") || !args["campaign"].is_string()) {
      return Status::InvalidArgument("send timer " + t.timer_id + " names no campaign");
    }
    const std::string lead_id(std::string_view(t.target).substr(sizeof("lead-") - 1));
    auto lead = LoadLead(store, lead_id);
    if (!lead.ok()) return lead.status();
    auto c = LoadCampaign(store, args["campaign"].get<std::string>());
    if (!c.ok()) return c.status();
    auto wf = workflows.Get(c->workflow_id, c->workflow_version);
    if (!wf.ok()) return wf.status();
    Dispatch d;
    NEXTIER_RETURN_IF_ERROR(BeginDispatch(d, *c, *wf->workflow, t.fired_at));
    std::vector<es::NewEvent> events;
    if (c->status == CampaignStatus::kPaused) {
      // Look again in a quarter of an hour: a paused campaign's deferred leads wait with it.
      const Micros later = t.fired_at + 15 * 60 * kMicrosPerSecond;
      events.push_back(
          MakeTimerScheduled("send:" + c->id + ":" + lead_id + ":" + std::to_string(later), later,
                             "send", lead->stream, t.args));
    } else {
      NEXTIER_RETURN_IF_ERROR(DispatchLead(d, *lead, events));
    }
    if (!events.empty()) {
      // Expecting the version just folded: if the lead moved since the service read
      // target_version, the service sees the mismatch and fires again on the fresh stream.
      effects.push_back(es::StreamAppend{lead->stream, es::ExpectedVersion::Exactly(lead->version),
                                         std::move(events)});
    }
    EndDispatch(d, effects);
    return effects;
  }
};

CampaignService::CampaignService(es::EventStore& store, const Clock& clock,
                                 WorkflowRegistry& workflows, projections::ProjectionRunner& runner,
                                 const projections::LeadPoolsProjection& pools,
                                 const projections::LeadsProjection& leads,
                                 const projections::SuppressionProjection& suppression,
                                 CampaignServiceOptions options)
    : impl_(std::make_shared<Impl>(store, clock, workflows, runner, pools, leads, suppression,
                                   std::move(options))) {}

void CampaignService::RegisterTimerHandlers(TimerService& timers) {
  std::shared_ptr<Impl> impl = impl_;
  timers.RegisterHandler("batch", [impl](const FiredTimer& t) { return impl->FireBatch(t); });
  timers.RegisterHandler("send", [impl](const FiredTimer& t) { return impl->FireSend(t); });
}

Result<Campaign> CampaignService::Create(const CreateCampaign& request) {
  return impl_->Create(request);
}
Result<Campaign> CampaignService::Start(std::string_view id, std::string_view actor) {
  return impl_->Start(id, actor);
}
Result<Campaign> CampaignService::Pause(std::string_view id, std::string_view actor) {
  return impl_->Pause(id, actor);
}
Result<Campaign> CampaignService::Resume(std::string_view id, std::string_view actor) {
  return impl_->Resume(id, actor);
}
Result<Campaign> CampaignService::Migrate(std::string_view id, std::string_view version,
                                          std::string_view actor) {
  return impl_->Migrate(id, version, actor);
}
Result<Campaign> CampaignService::Get(std::string_view campaign_id) {
  return LoadCampaign(impl_->store, campaign_id);
}
Result<uint64_t> CampaignService::CountSmsToday(std::string_view from_number, Micros t) {
  return impl_->CountSmsToday(from_number, t);
}

}  // namespace nextier::engine
