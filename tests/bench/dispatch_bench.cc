// dispatch_bench: prints figures, asserts nothing. Release build.
//
//   dispatch_bench [--workflows DIR] [--data DIR] [--leads N] [--quick]
//
// Time for the dispatcher to plan and send one block of 2,000 enriched leads with the sandbox
// provider and no batch delay, and the events appended per SMS. Everything is durable as in
// `nextier serve --provider sandbox`: the event log and the read models fsync, the projection
// runner follows the log on its own thread, and the sandbox provider commits every accepted
// SMS to its own LMDB folder before answering.
//
// The loader refuses batchDelaySeconds 0 (1 to 3,600), so the workflows are copied with the
// minimum, 1 s, and the SIMULATED clock is moved past all batches: the delay costs no wall
// time, and what is measured is planning and sending only. Per run (fresh folders):
//   setup     (not in the total) open everything, import + enrich N leads (New York numbers,
//             10:00 in New York), create the campaign, start the outbox
//   start     CampaignService::Start: draws the block (N LeadQueued + the campaign's events
//             in one unit)
//   plan      TimerService::AdvanceTo past all batches: batch timers -> SmsSendIntended (+ the
//             cap count and follow-up requests) per lead, one unit per batch. The outbox runs
//             meanwhile, as in production, so sending overlaps this phase ("sent meanwhile").
//   drain     Outbox::Drain: the rest of the sends to the sandbox and their SmsSent recorded
//             and folded
// The total is start + plan + drain. Events per SMS = events the store appended during those
// phases / N, with the split by event type.
// Runs 3 times (1 with --quick) and prints the median of each figure. Then a timing split for
// the drain: the sandbox provider alone, N durable Sends from 1 and from 4 threads (its writes
// are serialised: one LMDB commit per SMS). Alone, its fsyncs share no ext4 journal commit
// with the log's and the read models', so it is not simply a part of the drain: compare it
// with the drain of the same invocation, as fsync latency moves with the machine's other I/O.
#include <stdlib.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "nextier/adapters/sandbox_sms.h"
#include "nextier/engine/campaigns.h"
#include "nextier/engine/clock.h"
#include "nextier/engine/lead.h"
#include "nextier/engine/lead_commands.h"
#include "nextier/engine/outbox.h"
#include "nextier/engine/sms_queue.h"
#include "nextier/engine/timers.h"
#include "nextier/engine/workflow_registry.h"
#include "nextier/eventstore/event_store.h"
#include "nextier/projections/lead_pools.h"
#include "nextier/projections/leads.h"
#include "nextier/projections/pending_timers.h"
#include "nextier/projections/projection.h"
#include "nextier/projections/read_model_store.h"
#include "nextier/projections/sending.h"

#ifndef NEXTIER_SOURCE_DIR
#define NEXTIER_SOURCE_DIR "."
#endif

namespace es = nextier::eventstore;
namespace pj = nextier::projections;
namespace en = nextier::engine;
namespace ad = nextier::adapters;
namespace fs = std::filesystem;
using Steady = std::chrono::steady_clock;

namespace {

// 2026-11-28T15:00:00Z: 10:00 in New York (no daylight saving in late November).
constexpr en::Micros kStart = en::Micros{1'795'878'000} * en::kMicrosPerSecond;
constexpr const char* kFrom = "+15164079249";

double Ms(Steady::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "dispatch_bench: %s\n", what.c_str());
  std::exit(1);
}

void Check(const nextier::Status& s, const char* what) {
  if (!s.ok()) Die(std::string(what) + ": " + s.ToString());
}

template <typename T>
T Take(nextier::Result<T> r, const char* what) {
  Check(r.status(), what);
  return std::move(r).value();
}

// A valid US number in area code `area`, distinct per `i` (as in the campaigns test).
std::string Phone(const std::string& area, int i) {
  char buf[20];
  std::snprintf(buf, sizeof buf, "+1%s%03d%04d", area.c_str(), 234 + (i / 10000) % 600, i % 10000);
  return buf;
}

// Copies the shipped workflows (*.json) into `to` with batchDelaySeconds at the loader's
// minimum. Returns the delay written.
int CopyWorkflows(const fs::path& from, const fs::path& to) {
  constexpr int kMinDelay = 1;  // workflows/README.md: 1–3,600 seconds; 0 is refused
  fs::create_directories(to);
  int copied = 0;
  for (const auto& entry : fs::directory_iterator(from)) {
    if (entry.path().extension() != ".json") continue;
    std::ifstream in(entry.path());
    std::stringstream ss;
    ss << in.rdbuf();
    std::string text = ss.str();
    const std::string key = "\"batchDelaySeconds\":";
    for (size_t pos = text.find(key); pos != std::string::npos; pos = text.find(key, pos + 1)) {
      size_t v = pos + key.size();
      while (v < text.size() && text[v] == ' ') ++v;
      size_t e = v;
      while (e < text.size() && text[e] >= '0' && text[e] <= '9') ++e;
      text.replace(v, e - v, std::to_string(kMinDelay));
    }
    std::ofstream(to / entry.path().filename()) << text;
    ++copied;
  }
  if (copied == 0) Die("no workflow files in " + from.string());
  return kMinDelay;
}

struct RunResult {
  double setup_ms = 0;
  double start_ms = 0;
  double plan_ms = 0;
  double drain_ms = 0;
  double total_ms = 0;
  double sms_per_s = 0;
  double events_per_sms = 0;
  size_t sandbox_count = 0;
  size_t sent_during_plan = 0;
  uint64_t commits = 0;
  std::map<std::string, uint64_t> by_type;
};

// Everything `nextier serve --provider sandbox --sim-clock` wires for campaigns, in `dir`.
struct Node {
  Node(const std::string& dir, const std::string& workflows) : clock(kStart) {
    es::LmdbOptions lo;
    lo.path = dir + "/eventstore";
    lo.sync = true;
    store = Take(es::OpenLmdbEventStore(lo), "open event store");
    pj::ReadModelOptions ro;
    ro.path = dir + "/projections";
    ro.sync = true;
    models = Take(pj::ReadModelStore::Open(ro), "open read models");
    leads = Take(pj::LeadsProjection::Open(*models, store->keys()), "leads projection");
    pools = Take(pj::LeadPoolsProjection::Open(*models), "pools projection");
    outbox_pending = Take(pj::OutboxProjection::Open(*models), "outbox projection");
    suppression = Take(pj::SuppressionProjection::Open(*models), "suppression projection");
    counts = Take(pj::CampaignsProjection::Open(*models), "campaigns projection");
    timers = Take(pj::PendingTimers::Open(*models), "pending timers");
    runner = std::make_unique<pj::ProjectionRunner>(*store, *models);
    for (pj::Projection* p :
         std::initializer_list<pj::Projection*>{leads.get(), pools.get(), outbox_pending.get(),
                                                suppression.get(), counts.get(), timers.get()}) {
      Check(runner->Add(*p), "add projection");
    }
    Check(runner->Start(), "start projections");
    registry = std::make_unique<en::WorkflowRegistry>(*store, clock);
    Check(registry->LoadLogAndDirectory(workflows), "load workflows");
    timer_service = std::make_unique<en::TimerService>(*store, *runner, *timers, clock);
    campaigns = std::make_unique<en::CampaignService>(*store, clock, *registry, *runner, *pools,
                                                      *leads, *suppression);
    campaigns->RegisterTimerHandlers(*timer_service);
    sms_queue = std::make_unique<en::SmsQueue>(*store, *registry, *leads, *suppression);
    sms_queue->RegisterTimerHandlers(*timer_service);
    Check(timer_service->Start(), "start timers");
    sandbox = Take(ad::SandboxSms::Open(dir + "/sandbox"), "open sandbox");
    outbox = std::make_unique<en::Outbox>(*store, *runner, *outbox_pending, *sandbox, clock);
  }
  ~Node() {
    outbox.reset();
    timer_service.reset();
    runner.reset();
  }

  // Imports lead `id` and enriches it with `phone` (a mobile), living in `state`.
  void AddLead(en::LeadCommandHandler& handler, const std::string& id, const std::string& phone,
               const std::string& state) {
    en::LeadCommand create;
    create.lead_id = id;
    create.build = [&](const en::Lead&, en::LeadEvents& out) {
      auto e = out.Add();
      auto sealed = out.SealPersonal(e, [&](es::schema::Personal::Builder p) {
        p.setFirstName("Pat" + id);
        p.setLastName("Smith");
        p.setState(state);
      });
      if (!sealed.ok()) return sealed.status();
      auto li = e.getPayload().initLeadImported();
      li.setLeadId(id);
      li.setFileId("file-1");
      li.setRow(1);
      li.setCompany("Acme " + id);
      li.setRoleScore(50);
      li.setPersonal(capnp::Data::Reader(reinterpret_cast<const capnp::byte*>(sealed->data()),
                                         sealed->size()));
      return nextier::Status::Ok();
    };
    Check(handler.Create(create).status(), "create lead");
    en::LeadCommand enrich;
    enrich.lead_id = id;
    enrich.trigger = en::LeadTrigger::kEnrich;
    const std::string hash = store->keys().BlindIndex(pj::kPhonePurpose, phone);
    enrich.build = [&](const en::Lead&, en::LeadEvents& out) {
      auto e = out.Add();
      auto sealed = out.SealPersonal(
          e, [&](es::schema::Personal::Builder p) { p.initPhones(1).set(0, phone); });
      if (!sealed.ok()) return sealed.status();
      auto le = e.getPayload().initLeadEnriched();
      le.setHumanId("NXT-" + id);
      le.setPhoneType("mobile");
      le.setPersonal(capnp::Data::Reader(reinterpret_cast<const capnp::byte*>(sealed->data()),
                                         sealed->size()));
      le.setPhoneHash(
          capnp::Data::Reader(reinterpret_cast<const capnp::byte*>(hash.data()), hash.size()));
      return nextier::Status::Ok();
    };
    Check(handler.Execute(enrich).status(), "enrich lead");
  }

  en::SimulatedClock clock;
  std::unique_ptr<es::EventStore> store;
  std::unique_ptr<pj::ReadModelStore> models;
  std::unique_ptr<pj::LeadsProjection> leads;
  std::unique_ptr<pj::LeadPoolsProjection> pools;
  std::unique_ptr<pj::OutboxProjection> outbox_pending;
  std::unique_ptr<pj::SuppressionProjection> suppression;
  std::unique_ptr<pj::CampaignsProjection> counts;
  std::unique_ptr<pj::PendingTimers> timers;
  std::unique_ptr<pj::ProjectionRunner> runner;
  std::unique_ptr<en::WorkflowRegistry> registry;
  std::unique_ptr<en::TimerService> timer_service;
  std::unique_ptr<en::CampaignService> campaigns;
  std::unique_ptr<en::SmsQueue> sms_queue;
  std::unique_ptr<ad::SandboxSms> sandbox;
  std::unique_ptr<en::Outbox> outbox;
};

RunResult RunOnce(const std::string& dir, const std::string& workflows, int leads) {
  RunResult r;
  const auto setup_start = Steady::now();
  Node node(dir, workflows);
  {
    // Setup is not measured as dispatch: 16 writers share the store's group commits.
    en::LeadCommandHandler handler(*node.store, node.clock);
    std::atomic<int> next{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 16; ++t) {
      threads.emplace_back([&] {
        for (int i = next++; i < leads; i = next++) {
          node.AddLead(handler, std::to_string(i + 1), Phone("212", i), "NY");
        }
      });
    }
    for (auto& t : threads) t.join();
  }
  Check(node.runner->WaitFor(node.store->Head(), std::chrono::seconds(120)), "fold leads");
  en::CreateCampaign cc;
  cc.name = "bench";
  cc.workflow = "business-owners";
  cc.from_number = kFrom;
  cc.actor = "ops:bench";
  const auto campaign = Take(node.campaigns->Create(cc), "create campaign");
  Check(node.runner->WaitFor(node.store->Head(), std::chrono::seconds(30)), "fold campaign");
  Check(node.outbox->Start(), "start outbox");
  r.setup_ms = Ms(Steady::now() - setup_start);

  const uint64_t head_before = node.store->Head();
  const es::StoreStats before = node.store->Stats();
  const auto t0 = Steady::now();
  const auto started = Take(node.campaigns->Start(campaign.id, "ops:bench"), "start campaign");
  const auto t1 = Steady::now();
  // Past all batches on the simulated clock (8 batches 1 s apart); follow-ups are 72 h out.
  Check(node.timer_service->AdvanceTo(kStart + 60 * en::kMicrosPerSecond), "advance");
  const auto t2 = Steady::now();
  r.sent_during_plan = Take(node.sandbox->Count(), "sandbox count");
  Check(node.outbox->Drain(std::chrono::seconds(600)), "drain");
  const auto t3 = Steady::now();
  const es::StoreStats after = node.store->Stats();

  r.start_ms = Ms(t1 - t0);
  r.plan_ms = Ms(t2 - t1);
  r.drain_ms = Ms(t3 - t2);
  r.total_ms = Ms(t3 - t0);
  r.sandbox_count = Take(node.sandbox->Count(), "sandbox count");
  r.sms_per_s = static_cast<double>(r.sandbox_count) / (r.total_ms / 1e3);
  r.events_per_sms = static_cast<double>(after.events - before.events) / static_cast<double>(leads);
  r.commits = after.commits - before.commits;
  if (started.blocks.empty() || started.blocks[0].lead_ids.size() != static_cast<size_t>(leads)) {
    std::printf("WARNING: the block holds %zu leads, not %d\n",
                started.blocks.empty() ? size_t{0} : started.blocks[0].lead_ids.size(), leads);
  }
  Check(node.store->ReadAll(
            head_before + 1, SIZE_MAX,
            [&](const es::EventView& ev) {
              ++r.by_type[std::string(es::PayloadTypeName(ev.event().getPayload().which()))];
              return true;
            }),
        "read log");
  return r;
}

// A timing split for the drain: the sandbox provider alone, `n` durable sends from `threads`
// threads (the outbox uses 4 senders), in a fresh folder. Returns the wall time in ms.
double SandboxAlone(const std::string& dir, int n, int threads) {
  auto sandbox = Take(ad::SandboxSms::Open(dir), "open sandbox");
  std::atomic<int> next{0};
  const auto start = Steady::now();
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&] {
      for (int i = next++; i < n; i = next++) {
        en::OutboundSms sms;
        sms.message_key = "bench:" + std::to_string(i);
        sms.from = kFrom;
        sms.to = Phone("212", i);
        sms.body =
            "Hi Pat, GIANNA with Nextier. Ever wonder what Acme could sell for? We do "
            "free, confidential valuations for owners. Reply STOP to opt out";
        sms.kind = "opener";
        sms.campaign_id = "bench";
        sms.lead_id = std::to_string(i + 1);
        sms.at = kStart;
        Check(sandbox->Send(sms).status(), "sandbox send");
      }
    });
  }
  for (auto& w : workers) w.join();
  return Ms(Steady::now() - start);
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.size() % 2 == 1 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
}

void PrintRun(const char* label, const RunResult& r, int leads) {
  std::printf(
      "%s: start %.1f ms | plan (AdvanceTo) %.1f ms, %zu sent meanwhile | drain %.1f ms | "
      "total %.1f ms = %.0f SMS/s | %.2f events/SMS (%llu commits) | sandbox count %zu | "
      "setup %.1f ms (not in total)\n",
      label, r.start_ms, r.plan_ms, r.sent_during_plan, r.drain_ms, r.total_ms, r.sms_per_s,
      r.events_per_sms, static_cast<unsigned long long>(r.commits), r.sandbox_count, r.setup_ms);
  if (r.sandbox_count != static_cast<size_t>(leads)) {
    std::printf("WARNING: %s: the sandbox accepted %zu SMS, expected %d\n", label, r.sandbox_count,
                leads);
  }
}

}  // namespace

int main(int argc, char** argv) {
  std::string workflows = std::string(NEXTIER_SOURCE_DIR) + "/workflows";
  std::string data;
  int leads = 2000;
  bool quick = false;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--workflows") && i + 1 < argc) {
      workflows = argv[++i];
    } else if (!std::strcmp(argv[i], "--data") && i + 1 < argc) {
      data = argv[++i];
    } else if (!std::strcmp(argv[i], "--leads") && i + 1 < argc) {
      leads = std::atoi(argv[++i]);
    } else if (!std::strcmp(argv[i], "--quick")) {
      quick = true;
    } else {
      std::fprintf(stderr,
                   "usage: dispatch_bench [--workflows DIR] [--data DIR] [--leads N] [--quick]\n");
      return 2;
    }
  }
  if (leads < 1 || leads > 2000) Die("--leads must be 1..2000 (one block, one day's cap)");
  const bool temp = data.empty();
  if (temp) {
    char tmpl[] = "/tmp/dispatch_bench.XXXXXX";
    if (mkdtemp(tmpl) == nullptr) Die("mkdtemp failed");
    data = tmpl;
  }
  const int delay = CopyWorkflows(workflows, fs::path(data) / "workflows");
  const int runs = quick ? 1 : 3;
  std::printf(
      "dispatch_bench: %d leads, one block, batchDelaySeconds %d (the loader's minimum; 0 is "
      "refused) on the simulated clock, sandbox provider, fsync on (log, read models, sandbox), "
      "%d run%s, data in %s, %u hardware threads\n",
      leads, delay, runs, runs == 1 ? "" : "s", data.c_str(), std::thread::hardware_concurrency());

  std::vector<RunResult> results;
  for (int run = 1; run <= runs; ++run) {
    const std::string dir = data + "/run" + std::to_string(run);
    results.push_back(RunOnce(dir, (fs::path(data) / "workflows").string(), leads));
    PrintRun(("run " + std::to_string(run)).c_str(), results.back(), leads);
    fs::remove_all(dir);
  }
  std::printf("events appended during start+plan+drain by type (run 1):");
  for (const auto& [type, n] : results[0].by_type) {
    std::printf(" %s %llu", type.c_str(), static_cast<unsigned long long>(n));
  }
  std::printf("\n");
  for (int threads : {1, 4}) {
    const std::string dir = data + "/sandbox-alone-" + std::to_string(threads);
    const double ms = SandboxAlone(dir, leads, threads);
    std::printf(
        "split: the sandbox provider alone, %d durable Sends from %d thread%s: %.1f ms = %.3f "
        "ms/send (in isolation, right after the runs: fsync latency here moves with the "
        "machine's other I/O)\n",
        leads, threads, threads == 1 ? "" : "s", ms, ms / leads);
    fs::remove_all(dir);
  }
  if (runs > 1) {
    auto med = [&](double RunResult::*f) {
      std::vector<double> v;
      for (const auto& r : results) v.push_back(r.*f);
      return Median(v);
    };
    std::printf(
        "median of %d: start %.1f ms | plan %.1f ms | drain %.1f ms | total %.1f ms = %.0f SMS/s "
        "| %.2f events/SMS | setup %.1f ms\n",
        runs, med(&RunResult::start_ms), med(&RunResult::plan_ms), med(&RunResult::drain_ms),
        med(&RunResult::total_ms), med(&RunResult::sms_per_s), med(&RunResult::events_per_sms),
        med(&RunResult::setup_ms));
  }
  if (temp) fs::remove_all(data);
  return 0;
}
