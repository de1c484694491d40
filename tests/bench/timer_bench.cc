// timer_bench: prints figures, asserts nothing. Release build.
//
//   timer_bench [--data DIR] [--timers N] [--quick]
//
// Measures durable timers end to end (event log + pending-timers read model + TimerService):
//   1. timers scheduled per second: 1-timer command units (a state event + TimerScheduled)
//      from 64 concurrent producers, durable (group commit), then the read model folding them
//   2. time to re-arm N pending timers after a restart: reopen the log and the read model and
//      start the service until it is armed, (a) loading the read model from its checkpoint and
//      (b) rebuilding it from the log (the read-model folder deleted)
//   3. timers fired per second with the simulated clock (AdvanceTo over all N), fsync off and
//      on (the simulated clock is for tests and demos, where fsync is usually off)
//   4. lateness (fired_at - due_at) p50/p99/max with the real clock, fsync on, for timers due
//      at a steady rate while the service runs, and for a burst all due at the same moment
//      (they fire one after another, so the burst measures the per-fire cost)
// Without --data everything is written under a temporary folder and removed.
#include <stdlib.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <functional>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "nextier/engine/clock.h"
#include "nextier/engine/timers.h"
#include "nextier/eventstore/event_store.h"
#include "nextier/projections/pending_timers.h"
#include "nextier/projections/projection.h"
#include "nextier/projections/read_model_store.h"

namespace es = nextier::eventstore;
namespace pj = nextier::projections;
namespace en = nextier::engine;
using Steady = std::chrono::steady_clock;

namespace {

double Seconds(Steady::duration d) { return std::chrono::duration<double>(d).count(); }

void Die(const std::string& what) {
  std::fprintf(stderr, "timer_bench: %s\n", what.c_str());
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

// Everything a node keeps for timers, opened from `dir`.
struct Node {
  Node(const std::string& dir, en::Clock& clock, bool sync) {
    es::LmdbOptions lo;
    lo.path = dir + "/log";
    lo.sync = sync;
    log = Take(es::OpenLmdbEventStore(lo), "open log");
    pj::ReadModelOptions ro;
    ro.path = dir + "/projections";
    ro.sync = sync;
    store = Take(pj::ReadModelStore::Open(ro), "open read models");
    timers = Take(pj::PendingTimers::Open(*store), "open pending timers");
    runner = std::make_unique<pj::ProjectionRunner>(*log, *store);
    Check(runner->Add(*timers), "add projection");
    service = std::make_unique<en::TimerService>(*log, *runner, *timers, clock);
    service->RegisterHandler("bench", [](const en::FiredTimer& t) {
      // One effect on the target, as a reminder or follow-up handler would produce.
      es::NewEvent e;
      auto o = e.builder().getPayload().initOpaque();
      o.setKind("effect");
      std::vector<es::StreamAppend> out;
      out.push_back(es::StreamAppend{t.target, es::ExpectedVersion::Any(), {}});
      out.back().events.push_back(std::move(e));
      return nextier::Result<std::vector<es::StreamAppend>>(std::move(out));
    });
  }
  ~Node() {
    service.reset();
    runner.reset();
  }
  std::unique_ptr<es::EventStore> log;
  std::unique_ptr<pj::ReadModelStore> store;
  std::unique_ptr<pj::PendingTimers> timers;
  std::unique_ptr<pj::ProjectionRunner> runner;
  std::unique_ptr<en::TimerService> service;
};

// One scheduling command: a state event and its TimerScheduled, on the lead's stream.
std::vector<es::StreamAppend> ScheduleUnit(uint64_t n, en::Micros due) {
  const std::string target = "lead-" + std::to_string(n % 5000);
  std::vector<es::StreamAppend> unit;
  unit.push_back(es::StreamAppend{target, es::ExpectedVersion::Any(), {}});
  es::NewEvent state;
  state.builder().getPayload().initOpaque().setKind("followup-planned");
  state.builder().setActor("system:bench");
  unit.back().events.push_back(std::move(state));
  unit.back().events.push_back(
      en::MakeTimerScheduled("t" + std::to_string(n), due, "bench", target, R"({"step":1})"));
  return unit;
}

// Appends `count` scheduling units from `producers` threads; returns the wall time.
double ScheduleMany(es::EventStore& log, uint64_t first, uint64_t count, int producers,
                    const std::function<en::Micros(uint64_t)>& due) {
  std::atomic<uint64_t> next{first};
  const auto start = Steady::now();
  std::vector<std::thread> threads;
  for (int p = 0; p < producers; ++p) {
    threads.emplace_back([&] {
      for (uint64_t n = next++; n < first + count; n = next++) {
        Check(log.AppendUnit(ScheduleUnit(n, due(n)), "sched:" + std::to_string(n)).status(),
              "schedule");
      }
    });
  }
  for (auto& t : threads) t.join();
  return Seconds(Steady::now() - start);
}

en::Micros Percentile(std::vector<en::Micros> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())))];
}

}  // namespace

int main(int argc, char** argv) {
  std::string data;
  uint64_t timers = 100'000;
  bool quick = false;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--data") && i + 1 < argc) {
      data = argv[++i];
    } else if (!std::strcmp(argv[i], "--timers") && i + 1 < argc) {
      timers = std::strtoull(argv[++i], nullptr, 10);
    } else if (!std::strcmp(argv[i], "--quick")) {
      quick = true;
    } else {
      std::fprintf(stderr, "usage: timer_bench [--data DIR] [--timers N] [--quick]\n");
      return 2;
    }
  }
  if (quick) timers = std::min<uint64_t>(timers, 10'000);
  bool temp = data.empty();
  if (temp) {
    char tmpl[] = "/tmp/timer_bench.XXXXXX";
    if (mkdtemp(tmpl) == nullptr) Die("mkdtemp failed");
    data = tmpl;
  }
  std::printf("timer_bench: %llu timers, data in %s, %u hardware threads\n",
              static_cast<unsigned long long>(timers), data.c_str(),
              std::thread::hardware_concurrency());
  en::RealClock real;
  const en::Micros hour = 3600 * en::kMicrosPerSecond;

  // 1 + 2: schedule N timers due 1-2 hours from now, then restart and re-arm.
  const std::string main_dir = data + "/main";
  {
    Node node(main_dir, real, /*sync=*/true);
    const en::Micros now = real.Now();
    std::mt19937_64 rng(1);
    std::vector<en::Micros> dues(timers);
    for (auto& d : dues) d = now + hour + static_cast<en::Micros>(rng() % hour);
    const double s = ScheduleMany(*node.log, 0, timers, 64, [&](uint64_t n) { return dues[n]; });
    std::printf(
        "schedule: %llu timers in %.2f s = %.0f timers/s durable "
        "(1-timer units, 64 producers, fsync on)\n",
        static_cast<unsigned long long>(timers), s, static_cast<double>(timers) / s);
    const auto fold = Steady::now();
    Check(node.runner->CatchUp(), "catch up");
    const double f = Seconds(Steady::now() - fold);
    std::printf("schedule: read model folded %llu events (%llu timers) in %.3f s = %.0f timers/s\n",
                static_cast<unsigned long long>(node.log->Head()),
                static_cast<unsigned long long>(timers), f, static_cast<double>(timers) / f);
  }
  {
    const auto start = Steady::now();
    Node node(main_dir, real, true);
    Check(node.service->Start(), "start");
    const double s = Seconds(Steady::now() - start);
    std::printf(
        "re-arm: %llu pending timers, read model loaded from its checkpoint: %.1f ms "
        "(reopen + start until armed)\n",
        static_cast<unsigned long long>(Take(node.timers->Count(), "count")), s * 1e3);
  }
  {
    std::filesystem::remove_all(main_dir + "/projections");
    const auto start = Steady::now();
    Node node(main_dir, real, true);
    Check(node.service->Start(), "start");
    const double s = Seconds(Steady::now() - start);
    std::printf(
        "re-arm: %llu pending timers, read model rebuilt from the log (%llu events): "
        "%.1f ms\n",
        static_cast<unsigned long long>(Take(node.timers->Count(), "count")),
        static_cast<unsigned long long>(node.log->Head()), s * 1e3);
  }

  // 3: fire them all with the simulated clock, fsync off and on.
  for (bool sync : {false, true}) {
    const std::string dir = data + (sync ? "/fire-sync" : "/fire-nosync");
    const uint64_t n = sync ? std::min<uint64_t>(timers, 10'000) : timers;
    const en::Micros t0 = en::Micros{1'790'000'000} * en::kMicrosPerSecond;
    en::SimulatedClock clock(t0);
    Node node(dir, clock, sync);
    std::mt19937_64 rng(2);
    std::vector<en::Micros> dues(n);
    for (auto& d : dues) d = t0 + 1 + static_cast<en::Micros>(rng() % hour);
    ScheduleMany(*node.log, 0, n, 64, [&](uint64_t i) { return dues[i]; });
    Check(node.service->Start(), "start");
    const auto start = Steady::now();
    Check(node.service->AdvanceTo(t0 + 2 * hour), "advance");
    const double s = Seconds(Steady::now() - start);
    std::printf(
        "fire (simulated clock, fsync %s): %llu timers in %.2f s = %.0f fired/s "
        "(TimerFired + 1 effect per unit, folded before the next)\n",
        sync ? "on" : "off", static_cast<unsigned long long>(n), s, static_cast<double>(n) / s);
  }

  // 4: lateness with the real clock: timers due at a steady rate while the service runs.
  // rate 0: a burst, every timer due at the same moment (they fire one after another).
  for (int rate : {100, 400, 0}) {
    const std::string dir = data + "/lateness-" + std::to_string(rate);
    Node node(dir, real, /*sync=*/true);
    Check(node.runner->Start(), "runner");
    Check(node.service->Start(), "start");
    const int count = rate == 0 ? (quick ? 200 : 1000) : (quick ? rate : rate * 5);
    const en::Micros first = real.Now() + (rate == 0 ? 1'000'000 : 300'000);
    ScheduleMany(*node.log, 0, static_cast<uint64_t>(count), 8, [&](uint64_t i) {
      return rate == 0 ? first : first + static_cast<en::Micros>(i) * en::kMicrosPerSecond / rate;
    });
    const auto deadline = Steady::now() + std::chrono::seconds(60);
    while (Take(node.timers->Count(), "count") > 0 && Steady::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    node.service->Stop();
    node.runner->Stop();
    std::vector<en::Micros> lateness;
    std::vector<en::Micros> due_of(static_cast<size_t>(count));
    Check(node.log->ReadAll(1, SIZE_MAX,
                            [&](const es::EventView& ev) {
                              auto p = ev.event().getPayload();
                              if (p.isTimerScheduled()) {
                                auto t = p.getTimerScheduled();
                                due_of[std::stoul(t.getTimerId().cStr() + 1)] = t.getDueAt();
                              } else if (p.isTimerFired()) {
                                auto t = p.getTimerFired();
                                lateness.push_back(t.getFiredAt() -
                                                   due_of[std::stoul(t.getTimerId().cStr() + 1)]);
                              }
                              return true;
                            }),
          "read");
    const std::string how =
        rate == 0 ? "all due at the same moment" : "due at " + std::to_string(rate) + "/s";
    std::printf(
        "lateness (real clock, fsync on, %d timers %s): p50 %.2f ms, p99 %.2f "
        "ms, max %.2f ms (%zu fired)\n",
        count, how.c_str(), Percentile(lateness, 0.50) / 1e3, Percentile(lateness, 0.99) / 1e3,
        Percentile(lateness, 1.0) / 1e3, lateness.size());
  }

  if (temp) std::filesystem::remove_all(data);
  return 0;
}
