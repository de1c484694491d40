// The durable timer service. Asio is compiled here only and stays out of the header (pimpl).
#include "nextier/engine/timers.h"

#include <kj/exception.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <exception>
#include <future>
#include <limits>
#include <map>
#include <mutex>
#include <optional>
#include <thread>

namespace nextier::engine {

namespace asio = boost::asio;
using eventstore::ExpectedVersion;
using eventstore::NewEvent;
using eventstore::StreamAppend;
using projections::PendingTimer;

namespace {

// Where TimerFired goes for a timer scheduled without a target stream.
constexpr std::string_view kDefaultTarget = "timers";

bool Empty(capnp::Text::Builder t) { return t.size() == 0; }

// Fills the metadata an effect (or TimerFired) left empty: business time, actor, the timer's
// correlation, and the fire as cause and command.
void Stamp(NewEvent& e, const FiredTimer& t, const std::string& actor, const std::string& key) {
  auto b = e.builder();
  if (b.getRecordedAt() == 0) b.setRecordedAt(t.fired_at);
  if (!b.hasActor() || Empty(b.getActor())) b.setActor(actor);
  if ((!b.hasCorrelationId() || Empty(b.getCorrelationId())) && !t.correlation_id.empty()) {
    b.setCorrelationId(t.correlation_id);
  }
  if (!b.hasCausationId() || Empty(b.getCausationId())) b.setCausationId(key);
  if (!b.hasCommandId() || Empty(b.getCommandId())) b.setCommandId(key);
}

Status FromException(std::string_view where, std::string_view what) {
  return Status::Internal(std::string(where) + " threw: " + std::string(what));
}

}  // namespace

NewEvent MakeTimerScheduled(std::string_view timer_id, Micros due_at, std::string_view kind,
                            std::string_view target, std::string_view args) {
  NewEvent e;
  auto t = e.builder().getPayload().initTimerScheduled();
  t.setTimerId(std::string(timer_id));
  t.setDueAt(due_at);
  t.setKind(std::string(kind));
  t.setTarget(std::string(target));
  t.setArgs(std::string(args));
  return e;
}

NewEvent MakeTimerCancelled(std::string_view timer_id, std::string_view reason) {
  NewEvent e;
  auto t = e.builder().getPayload().initTimerCancelled();
  t.setTimerId(std::string(timer_id));
  t.setReason(std::string(reason));
  return e;
}

std::string TimerIdempotencyKey(std::string_view timer_id) {
  return "timer:" + std::string(timer_id);
}

struct TimerService::Impl {
  Impl(eventstore::EventStore& log_in, projections::ProjectionRunner& runner_in,
       const projections::PendingTimers& timers_in, Clock& clock_in, TimerServiceOptions opts)
      : log(log_in),
        runner(runner_in),
        timers(timers_in),
        clock(clock_in),
        sim(dynamic_cast<SimulatedClock*>(&clock_in)),
        options(std::move(opts)) {}

  Status FireOne(const PendingTimer& chosen);
  void Record(const Status& s);

  // Real clock, all on the io thread.
  void PostRescan();
  void Rescan();
  void FireDue();
  void Arm(Micros delay, Micros due);
  void BackOff();
  void SignalReady();

  eventstore::EventStore& log;
  projections::ProjectionRunner& runner;
  const projections::PendingTimers& timers;
  Clock& clock;
  SimulatedClock* const sim;
  const TimerServiceOptions options;
  std::map<std::string, TimerHandler, std::less<>> handlers;

  mutable std::mutex stats_mu;
  TimerStats stats;
  Status last_error;

  std::mutex advance_mu;  // one AdvanceTo at a time

  // Real clock. The io_context and its thread are owned here and joined in Stop before
  // anything they reference goes away, so handlers may use `this`.
  std::unique_ptr<asio::io_context> io;
  std::optional<asio::steady_timer> timer;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work;
  std::thread thread;
  std::atomic<bool> rescan_posted{false};
  uint64_t listener = 0;
  bool armed = false;  // io thread only
  Micros armed_due = 0;
  bool backing_off = false;
  std::optional<std::promise<void>> ready;
};

void TimerService::Impl::Record(const Status& s) {
  std::lock_guard lock(stats_mu);
  last_error = s;
}

Status TimerService::Impl::FireOne(const PendingTimer& chosen) {
  const std::string key = TimerIdempotencyKey(chosen.timer_id);
  bool drop_effects = false;  // set when the store rejected the handler's effects
  for (int attempt = 0; attempt <= options.max_conflict_retries; ++attempt) {
    const std::string target = chosen.target.empty() ? std::string(kDefaultTarget) : chosen.target;
    // The target's version first, then the read model up to a head that includes it: a cancel
    // stored before V shows in the read model, one stored after V conflicts with our append.
    auto version = log.StreamVersion(target);
    if (!version.ok()) return version.status();
    const uint64_t v = *version;
    NEXTIER_RETURN_IF_ERROR(runner.WaitFor(log.Head(), options.projection_timeout));
    auto current = timers.Get(chosen.timer_id);
    if (!current.ok()) return current.status();
    if (!current->has_value() || (*current)->due_at > clock.Now()) {
      // Fired, cancelled or moved later since it was chosen.
      std::lock_guard lock(stats_mu);
      ++stats.skipped;
      return Status::Ok();
    }
    const PendingTimer& t = **current;

    FiredTimer fired;
    fired.timer_id = t.timer_id;
    fired.kind = t.kind;
    fired.target = target;
    fired.args = t.args;
    fired.correlation_id = t.correlation_id;
    fired.due_at = t.due_at;
    fired.fired_at = clock.Now();
    fired.target_version = v;

    std::vector<StreamAppend> effects;
    auto h = handlers.find(t.kind);
    if (drop_effects) {
      // Fire without effects (counted when the store rejected them).
    } else if (h == handlers.end()) {
      std::lock_guard lock(stats_mu);
      ++stats.unhandled;
    } else {
      Result<std::vector<StreamAppend>> r = Status::Internal("handler returned nothing");
      try {
        r = h->second(fired);
      } catch (const kj::Exception& e) {
        r = FromException("timer handler " + t.kind, e.getDescription().cStr());
      } catch (const std::exception& e) {
        r = FromException("timer handler " + t.kind, e.what());
      }
      if (!r.ok()) {
        Status s(r.status().code(),
                 "timer " + t.timer_id + " (" + t.kind + "): " + r.status().message());
        std::lock_guard lock(stats_mu);
        last_error = s;
        if (s.retryable()) {
          ++stats.retries;
          return s;
        }
        ++stats.handler_failures;  // fire without effects rather than wedge the queue
      } else {
        effects = std::move(*r);
      }
    }

    NewEvent fired_event;
    auto tf = fired_event.builder().getPayload().initTimerFired();
    tf.setTimerId(t.timer_id);
    tf.setFiredAt(fired.fired_at);

    // TimerFired leads the unit, in the same StreamAppend as any effect on the target.
    std::vector<StreamAppend> unit;
    unit.reserve(effects.size() + 1);
    unit.push_back(StreamAppend{target, ExpectedVersion::Exactly(v), {}});
    unit.front().events.push_back(std::move(fired_event));
    bool merged = false;
    bool mismatch = false;
    for (auto& sa : effects) {
      if (sa.events.empty()) continue;
      if (!merged && sa.stream == target) {
        const auto& ex = sa.expected;
        if ((ex.kind() == ExpectedVersion::Kind::kExact && ex.version() != v) ||
            (ex.kind() == ExpectedVersion::Kind::kNoStream && v != 0)) {
          mismatch = true;
        }
        for (auto& e : sa.events) unit.front().events.push_back(std::move(e));
        merged = true;
        continue;
      }
      unit.push_back(std::move(sa));
    }
    for (auto& sa : unit) {
      for (auto& e : sa.events) Stamp(e, fired, options.actor, key);
    }
    if (mismatch) {
      std::lock_guard lock(stats_mu);
      ++stats.conflicts;
      continue;
    }

    auto r = log.AppendUnit(std::move(unit), key);
    if (!r.ok()) {
      if (r.status().code() == StatusCode::kConflict) {
        std::lock_guard lock(stats_mu);
        ++stats.conflicts;
        continue;
      }
      if (r.status().code() == StatusCode::kInvalidArgument && !drop_effects) {
        // The handler built effects the store refuses (an empty stream id, say): a bug that
        // must not wedge the queue, like a failing handler.
        std::lock_guard lock(stats_mu);
        ++stats.handler_failures;
        last_error = Status(
            StatusCode::kInvalidArgument,
            "timer " + t.timer_id + " (" + t.kind + "): effects rejected: " + r.status().message());
        drop_effects = true;
        continue;
      }
      return r.status();
    }
    {
      std::lock_guard lock(stats_mu);
      if (r->duplicate) {
        ++stats.duplicates;
      } else {
        ++stats.fired;
        stats.last_lateness = fired.fired_at - t.due_at;
      }
    }
    return runner.WaitFor(r->last_seq, options.projection_timeout);
  }
  return Status::Unavailable("timer " + chosen.timer_id + ": its target stream kept changing (" +
                             std::to_string(options.max_conflict_retries + 1) + " attempts)");
}

// --- real clock ---------------------------------------------------------------------------

void TimerService::Impl::PostRescan() {
  if (rescan_posted.exchange(true)) return;
  asio::post(*io, [this] {
    rescan_posted = false;
    Rescan();
  });
}

void TimerService::Impl::SignalReady() {
  if (ready) {
    ready->set_value();
    ready.reset();
  }
}

void TimerService::Impl::Rescan() {
  if (backing_off) return;  // the back-off timer rescans when it ends
  auto next = timers.Earliest(std::numeric_limits<int64_t>::max(), 1);
  if (!next.ok()) {
    Record(next.status());
    SignalReady();
    BackOff();
    return;
  }
  SignalReady();
  if (next->empty()) {
    if (armed) timer->cancel();
    armed = false;
    return;
  }
  const Micros due = next->front().due_at;
  const Micros now = clock.Now();
  if (due <= now) {
    FireDue();
    return;
  }
  if (armed && armed_due == due) return;
  Arm(due - now, due);
}

void TimerService::Impl::Arm(Micros delay, Micros due) {
  armed = true;
  armed_due = due;
  timer->expires_after(std::chrono::microseconds(delay));
  timer->async_wait([this](const boost::system::error_code& ec) {
    if (ec == asio::error::operation_aborted) return;  // re-armed or stopped
    armed = false;
    Rescan();  // fires if due; re-arms if the wall clock lags the steady clock
  });
}

void TimerService::Impl::FireDue() {
  for (size_t n = 0; n < options.fire_batch; ++n) {
    auto due = timers.Earliest(clock.Now(), 1);
    if (!due.ok()) {
      Record(due.status());
      BackOff();
      return;
    }
    if (due->empty()) break;
    Status s = FireOne(due->front());
    if (!s.ok()) {
      Record(s);
      BackOff();
      return;
    }
  }
  PostRescan();  // yield to Stop, then fire more or arm for the next
}

void TimerService::Impl::BackOff() {
  backing_off = true;
  armed = false;
  timer->expires_after(options.retry_backoff);
  timer->async_wait([this](const boost::system::error_code& ec) {
    if (ec == asio::error::operation_aborted) return;
    backing_off = false;
    Rescan();
  });
}

// --- the service --------------------------------------------------------------------------

TimerService::TimerService(eventstore::EventStore& log, projections::ProjectionRunner& runner,
                           const projections::PendingTimers& timers, Clock& clock,
                           TimerServiceOptions options)
    : impl_(std::make_unique<Impl>(log, runner, timers, clock, std::move(options))) {}

TimerService::~TimerService() { Stop(); }

void TimerService::RegisterHandler(std::string kind, TimerHandler handler) {
  impl_->handlers[std::move(kind)] = std::move(handler);
}

bool TimerService::simulated() const { return impl_->sim != nullptr; }

Status TimerService::Start() {
  Impl& m = *impl_;
  NEXTIER_RETURN_IF_ERROR(m.runner.WaitFor(m.log.Head(), m.options.projection_timeout));
  if (m.sim != nullptr) return Status::Ok();
  if (m.thread.joinable()) return Status::Conflict("the timer service is already running");
  m.io = std::make_unique<asio::io_context>(1);
  m.timer.emplace(*m.io);
  m.work.emplace(m.io->get_executor());
  m.ready.emplace();
  auto ready = m.ready->get_future();
  m.listener = m.runner.AddListener([&m](uint64_t) { m.PostRescan(); });
  m.thread = std::thread([&m] { m.io->run(); });
  m.PostRescan();
  // Ready once the earliest pending timer is armed (or overdue ones are firing).
  if (ready.wait_for(m.options.projection_timeout) != std::future_status::ready) {
    return Status::Unavailable("the timer service did not arm in time");
  }
  return Status::Ok();
}

void TimerService::Stop() {
  Impl& m = *impl_;
  if (!m.thread.joinable()) return;
  m.runner.RemoveListener(m.listener);
  m.work.reset();
  m.io->stop();
  m.thread.join();
  m.timer.reset();
  m.io.reset();
  m.armed = false;
  m.backing_off = false;
  m.ready.reset();
}

Status TimerService::AdvanceTo(Micros t) {
  Impl& m = *impl_;
  if (m.sim == nullptr) {
    return Status::InvalidArgument("AdvanceTo needs the simulated clock; this service is real");
  }
  std::lock_guard lock(m.advance_mu);
  while (true) {
    // Everything stored so far (including timers the last handler scheduled) is folded before
    // the next timer is chosen.
    NEXTIER_RETURN_IF_ERROR(m.runner.WaitFor(m.log.Head(), m.options.projection_timeout));
    auto next = m.timers.Earliest(t, 1);
    if (!next.ok()) return next.status();
    if (next->empty()) break;
    m.sim->AdvanceTo(next->front().due_at);
    Status s = m.FireOne(next->front());
    if (!s.ok()) {
      m.Record(s);
      return s;
    }
  }
  m.sim->AdvanceTo(t);
  return Status::Ok();
}

Status TimerService::AdvanceBy(std::chrono::microseconds d) {
  return AdvanceTo(impl_->clock.Now() + d.count());
}

TimerStats TimerService::stats() const {
  std::lock_guard lock(impl_->stats_mu);
  return impl_->stats;
}

Status TimerService::last_error() const {
  std::lock_guard lock(impl_->stats_mu);
  return impl_->last_error;
}

}  // namespace nextier::engine
