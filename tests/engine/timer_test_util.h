// Helpers shared by the timer tests: a rig wiring log, read models, runner and service, and a
// reader that summarises every timer event in the log.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "nextier/engine/clock.h"
#include "nextier/engine/timers.h"
#include "nextier/eventstore/event_store.h"
#include "nextier/projections/pending_timers.h"
#include "nextier/projections/projection.h"
#include "nextier/projections/read_model_store.h"

namespace nextier::engine::testutil {

struct TimerRig {
  // `sync` applies to both LMDB environments.
  TimerRig(const std::string& dir, Clock& clock, bool sync = false,
           TimerServiceOptions options = {}) {
    eventstore::LmdbOptions lo;
    lo.path = dir + "/log";
    lo.sync = sync;
    log = eventstore::OpenLmdbEventStore(lo).value();
    projections::ReadModelOptions ro;
    ro.path = dir + "/projections";
    ro.sync = sync;
    store = projections::ReadModelStore::Open(ro).value();
    timers = projections::PendingTimers::Open(*store).value();
    runner = std::make_unique<projections::ProjectionRunner>(*log, *store);
    Status s = runner->Add(*timers);
    if (!s.ok()) throw std::runtime_error(s.ToString());
    service = std::make_unique<TimerService>(*log, *runner, *timers, clock, options);
  }
  ~TimerRig() {
    service.reset();
    runner.reset();
  }

  std::unique_ptr<eventstore::EventStore> log;
  std::unique_ptr<projections::ReadModelStore> store;
  std::unique_ptr<projections::PendingTimers> timers;
  std::unique_ptr<projections::ProjectionRunner> runner;
  std::unique_ptr<TimerService> service;
};

inline eventstore::NewEvent Opaque(std::string_view kind, std::string_view data = {}) {
  eventstore::NewEvent e;
  auto o = e.builder().getPayload().initOpaque();
  o.setKind(std::string(kind));
  o.setData(capnp::Data::Reader(reinterpret_cast<const capnp::byte*>(data.data()), data.size()));
  return e;
}

// Appends one unit: `events` to `stream`.
inline Result<eventstore::AppendResult> AppendOne(eventstore::EventStore& log,
                                                  const std::string& stream,
                                                  std::vector<eventstore::NewEvent> events,
                                                  std::string key = {}) {
  std::vector<eventstore::StreamAppend> unit;
  unit.push_back(
      eventstore::StreamAppend{stream, eventstore::ExpectedVersion::Any(), std::move(events)});
  return log.AppendUnit(std::move(unit), std::move(key));
}

inline std::vector<eventstore::NewEvent> One(eventstore::NewEvent e) {
  std::vector<eventstore::NewEvent> v;
  v.push_back(std::move(e));
  return v;
}

// Every timer event of the log.
struct TimerLog {
  struct Scheduled {
    uint64_t seq;
    Micros due_at;
    std::string kind, target;
  };
  struct Fired {
    uint64_t seq;
    std::string timer_id;
    Micros fired_at;
    std::string stream;
    uint64_t stream_version;
  };
  std::map<std::string, std::vector<Scheduled>> scheduled;  // by timer id
  std::vector<Fired> fired;                                 // in log order
  std::map<std::string, std::vector<uint64_t>> cancelled;   // seqs, by timer id
  std::map<std::string, int> fire_count;
  // Opaque events: kind -> data -> seqs.
  std::map<std::string, std::map<std::string, std::vector<uint64_t>>> opaque;
};

inline TimerLog ReadTimerLog(eventstore::EventStore& log) {
  TimerLog out;
  using Which = eventstore::schema::Event::Payload::Which;
  Status s = log.ReadAll(1, SIZE_MAX, [&](const eventstore::EventView& ev) {
    auto e = ev.event();
    auto p = e.getPayload();
    switch (p.which()) {
      case Which::TIMER_SCHEDULED: {
        auto t = p.getTimerScheduled();
        out.scheduled[t.getTimerId().cStr()].push_back(
            {ev.seq(), t.getDueAt(), t.getKind().cStr(), t.getTarget().cStr()});
        break;
      }
      case Which::TIMER_FIRED: {
        auto t = p.getTimerFired();
        out.fired.push_back({ev.seq(), t.getTimerId().cStr(), t.getFiredAt(),
                             e.getStreamId().cStr(), e.getStreamVersion()});
        ++out.fire_count[t.getTimerId().cStr()];
        break;
      }
      case Which::TIMER_CANCELLED:
        out.cancelled[p.getTimerCancelled().getTimerId().cStr()].push_back(ev.seq());
        break;
      case Which::OPAQUE: {
        auto d = p.getOpaque().getData();
        out.opaque[p.getOpaque().getKind().cStr()]
                  [std::string(reinterpret_cast<const char*>(d.begin()), d.size())]
                      .push_back(ev.seq());
        break;
      }
      default:
        break;
    }
    return true;
  });
  if (!s.ok()) throw std::runtime_error(s.ToString());
  return out;
}

}  // namespace nextier::engine::testutil
