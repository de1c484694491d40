// The outbox: intents -> provider calls -> outcome events (see outbox.h).
#include "nextier/engine/outbox.h"

#include <capnp/serialize.h>

#include <atomic>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "nextier/engine/lead.h"
#include "nextier/engine/lead_commands.h"

namespace nextier::engine {

namespace es = nextier::eventstore;
using Which = es::schema::Event::Payload::Which;

namespace {

std::string Str(capnp::Text::Reader t) { return std::string(t.cStr(), t.size()); }
std::string Bytes(capnp::Data::Reader d) {
  return std::string(reinterpret_cast<const char*>(d.begin()), d.size());
}
capnp::Data::Reader DataOf(const std::string& s) {
  return capnp::Data::Reader(reinterpret_cast<const capnp::byte*>(s.data()), s.size());
}

// What the outbox needs of an intent, copied out of the log.
struct Intent {
  uint64_t seq = 0;
  std::string stream;
  std::string lead_id;
  std::string key;
  std::string kind;
  std::string campaign_id;
  std::string from;
  std::string to;
  std::string body;
  std::string to_hash;
  Micros at = 0;
};

bool LeadPastOpener(LeadState s) {
  return s == LeadState::kSent || s == LeadState::kResponded || s == LeadState::kGold ||
         s == LeadState::kCalled || s == LeadState::kBooked || s == LeadState::kNotInterested;
}

}  // namespace

struct Outbox::Impl {
  es::EventStore& store;
  projections::ProjectionRunner& runner;
  const projections::OutboxProjection& pending;
  SmsProvider& provider;
  const Clock& clock;
  OutboxOptions options;

  uint64_t startup_head = 0;  // intents up to here may have reached the provider before a crash
  std::mutex mu;
  std::condition_variable cv;  // planner: new intents; senders: work queued
  std::deque<projections::PendingSend> queue;
  std::set<std::string> in_flight;  // queued or being sent
  std::set<std::string> stuck;      // outcomes that could not be stored; not retried
  bool stop = false;
  bool wake = false;
  std::vector<std::thread> threads;
  uint64_t listener = 0;
  bool started = false;

  mutable std::mutex stats_mu;
  OutboxStats stats;

  Impl(es::EventStore& s, projections::ProjectionRunner& r, const projections::OutboxProjection& p,
       SmsProvider& pr, const Clock& c, OutboxOptions o)
      : store(s), runner(r), pending(p), provider(pr), clock(c), options(std::move(o)) {}

  bool Stopping() {
    std::lock_guard lock(mu);
    return stop;
  }

  // Sleeps up to `d`, returning early (true) when stopping.
  bool SleepOrStop(std::chrono::milliseconds d) {
    std::unique_lock lock(mu);
    return cv.wait_for(lock, d, [&] { return stop; });
  }

  Result<Intent> ReadIntent(const projections::PendingSend& p) {
    Intent in;
    bool found = false;
    Status inner;
    NEXTIER_RETURN_IF_ERROR(store.ReadAll(p.seq, 1, [&](const es::EventView& view) {
      const auto ev = view.event();
      if (ev.getPayload().which() != Which::SMS_SEND_INTENDED) return false;
      const auto i = ev.getPayload().getSmsSendIntended();
      found = true;
      in.seq = view.seq();
      in.stream = Str(ev.getStreamId());
      in.key = Str(i.getMessageKey());
      in.kind = Str(i.getKind());
      in.campaign_id = Str(i.getCampaignId());
      in.from = Str(i.getFromNumber());
      in.to_hash = Bytes(i.getToHash());
      in.at = ev.getRecordedAt();
      auto plain = store.keys().Open(Str(ev.getKeySubject()), Bytes(i.getPersonal()));
      if (!plain.ok()) {
        inner = plain.status();
        return false;
      }
      if (plain->empty() || plain->size() % sizeof(capnp::word) != 0) {
        inner = Status::Corruption("the intent's sealed message does not decode");
        return false;
      }
      kj::Array<capnp::word> words =
          kj::heapArray<capnp::word>(plain->size() / sizeof(capnp::word));
      std::memcpy(words.begin(), plain->data(), plain->size());
      try {
        capnp::FlatArrayMessageReader reader(words);
        auto personal = reader.getRoot<es::schema::Personal>();
        in.to = Str(personal.getToNumber());
        in.body = Str(personal.getBody());
        if (in.from.empty()) in.from = Str(personal.getFromNumber());
      } catch (const kj::Exception& e) {
        inner = Status::Corruption(std::string("the intent's sealed message: ") +
                                   e.getDescription().cStr());
      }
      return false;
    }));
    NEXTIER_RETURN_IF_ERROR(inner);
    if (!found || in.key != p.message_key) {
      return Status::Corruption("outbox: no intent " + p.message_key + " at seq " +
                                std::to_string(p.seq));
    }
    const std::string prefix = "lead-";
    in.lead_id = in.stream.rfind(prefix, 0) == 0 ? in.stream.substr(prefix.size()) : in.stream;
    return in;
  }

  // Stores the outcome on the lead's stream (idempotent under "outcome:<key>").
  Status Record(const Intent& in, const std::function<void(const Lead&, LeadEvents&)>& fill) {
    for (int attempt = 0; attempt < 8; ++attempt) {
      auto lead = LoadLead(store, in.lead_id);
      if (!lead.ok()) return lead.status();
      LeadCommand cmd;
      cmd.lead_id = in.lead_id;
      cmd.actor = options.actor;
      cmd.idempotency_key = "outcome:" + in.key;
      cmd.causation_id = in.key;
      cmd.correlation_id = in.campaign_id;
      cmd.build = [&](const Lead& l, LeadEvents& out) {
        fill(l, out);
        return Status::Ok();
      };
      // A repeat of the key (the outcome was stored before a crash) writes nothing.
      bool seen = false;
      (void)store.ReadStream(lead->stream, 1, SIZE_MAX, [&](const es::EventView& v) {
        if (Str(v.event().getCommandId()) == cmd.idempotency_key) seen = true;
        return !seen;
      });
      if (seen) return Status::Ok();
      auto events = PrepareLeadEvents(*lead, cmd, store.keys(), clock.Now());
      if (!events.ok()) return events.status();
      std::vector<es::StreamAppend> unit;
      unit.push_back(es::StreamAppend{lead->stream, es::ExpectedVersion::Exactly(lead->version),
                                      std::move(*events)});
      auto r = store.AppendUnit(std::move(unit), cmd.idempotency_key);
      if (r.ok()) return runner.WaitFor(r->last_seq, std::chrono::seconds(30));
      if (r.status().code() != StatusCode::kConflict) return r.status();
    }
    return Status::Conflict("outbox: lead " + in.lead_id + " kept changing while recording " +
                            in.key);
  }

  Status RecordOutcome(const Intent& in, const SmsSendOutcome& o, bool reconciled) {
    Status s = Record(in, [&](const Lead& lead, LeadEvents& out) {
      switch (o.kind) {
        case SmsSendOutcome::Kind::kAccepted: {
          auto m = out.Add().getPayload().initSmsSent();
          m.setMessageKey(in.key);
          m.setProviderMessageId(o.provider_message_id);
          m.setKind(in.kind);
          m.setReconciled(reconciled);
          break;
        }
        case SmsSendOutcome::Kind::kRejected:
        case SmsSendOutcome::Kind::kOptedOut: {
          const bool out_opt = o.kind == SmsSendOutcome::Kind::kOptedOut;
          auto f = out.Add().getPayload().initSmsSendFailed();
          f.setMessageKey(in.key);
          f.setCode(out_opt ? "OUT" : o.code);
          f.setReason(o.reason);
          f.setPermanent(out_opt || o.permanent);
          if (out_opt) {
            auto n = out.Add().getPayload().initNumberSuppressed();
            n.setPhoneHash(DataOf(in.to_hash));
            n.setReason("opt_out");
            if (LeadPastOpener(lead.state)) {
              auto oo = out.Add().getPayload().initLeadOptedOut();
              oo.setSource("provider");
              oo.setProviderMessageId(o.provider_message_id);
              oo.setPhoneHash(DataOf(in.to_hash));
            }
          }
          break;
        }
      }
    });
    std::lock_guard lock(stats_mu);
    if (s.ok()) {
      if (o.kind == SmsSendOutcome::Kind::kAccepted) {
        ++stats.sent;
      } else {
        ++stats.failed;
      }
      if (reconciled) ++stats.reconciled;
    }
    return s;
  }

  Status RecordUnknown(const Intent& in, const std::string& reason) {
    Status s = Record(in, [&](const Lead&, LeadEvents& out) {
      auto u = out.Add().getPayload().initSmsSendUnknown();
      u.setMessageKey(in.key);
      u.setReason(reason);
    });
    std::lock_guard lock(stats_mu);
    if (s.ok()) ++stats.unknown;
    return s;
  }

  // One pending intent, to an outcome. Returns without an outcome only when stopping (the
  // next start reconciles it).
  Status Process(const projections::PendingSend& p) {
    auto in = ReadIntent(p);
    if (!in.ok()) return in.status();
    OutboundSms sms;
    sms.message_key = in->key;
    sms.from = in->from;
    sms.to = in->to;
    sms.body = in->body;
    sms.kind = in->kind;
    sms.campaign_id = in->campaign_id;
    sms.lead_id = in->lead_id;
    sms.status_callback_url = options.status_callback_url;
    sms.at = in->at;

    bool look_up_first = p.seq <= startup_head;
    int unavailable = 0;
    for (;;) {
      if (look_up_first) {
        auto found = provider.Lookup(in->key);
        if (!found.ok()) {
          return RecordUnknown(*in,
                               "after a restart the provider could not say whether it sent "
                               "this message: " +
                                   found.status().message());
        }
        if (found->has_value()) return RecordOutcome(*in, **found, true);
        look_up_first = false;  // never reached the provider: safe to send
      }
      if (Stopping()) return Status::Ok();
      auto r = provider.Send(sms);
      if (r.ok()) return RecordOutcome(*in, *r, false);
      {
        std::lock_guard lock(stats_mu);
        ++stats.retries;
      }
      if (r.status().code() == StatusCode::kResourceExhausted) {
        if (SleepOrStop(options.retry_pause)) return Status::Ok();
        continue;  // a 429 sent nothing
      }
      if (r.status().code() == StatusCode::kUnavailable) {
        // The request may have arrived: ask before sending again.
        if (++unavailable > options.max_unavailable_retries) {
          return RecordUnknown(*in, "the provider stayed unreachable: " + r.status().message());
        }
        if (SleepOrStop(options.retry_pause)) return Status::Ok();
        look_up_first = true;
        continue;
      }
      // The request itself was refused (bad number...): a permanent failure.
      SmsSendOutcome failed;
      failed.kind = SmsSendOutcome::Kind::kRejected;
      failed.code = std::string(StatusCodeName(r.status().code()));
      failed.reason = r.status().message();
      failed.permanent = true;
      return RecordOutcome(*in, failed, false);
    }
  }

  void PlannerLoop() {
    for (;;) {
      {
        std::unique_lock lock(mu);
        cv.wait_for(lock, std::chrono::milliseconds(200), [&] { return stop || wake; });
        if (stop) return;
        wake = false;
      }
      auto list = pending.List(0, 4096);
      if (!list.ok()) continue;
      std::lock_guard lock(mu);
      bool added = false;
      for (auto& p : *list) {
        if (in_flight.count(p.message_key) > 0 || stuck.count(p.message_key) > 0) continue;
        in_flight.insert(p.message_key);
        queue.push_back(std::move(p));
        added = true;
      }
      if (added) cv.notify_all();
    }
  }

  void SenderLoop() {
    for (;;) {
      projections::PendingSend p;
      {
        std::unique_lock lock(mu);
        cv.wait(lock, [&] { return stop || !queue.empty(); });
        if (stop) return;
        p = std::move(queue.front());
        queue.pop_front();
      }
      Status s = Process(p);
      std::lock_guard lock(mu);
      if (!s.ok()) {
        // Not retried in this process: a broken intent or a store error must not spin.
        stuck.insert(p.message_key);
        std::fprintf(stderr, "outbox: %s: %s\n", p.message_key.c_str(), s.ToString().c_str());
      }
      in_flight.erase(p.message_key);
      wake = true;
      cv.notify_all();
    }
  }
};

Outbox::Outbox(es::EventStore& store, projections::ProjectionRunner& runner,
               const projections::OutboxProjection& pending, SmsProvider& provider,
               const Clock& clock, OutboxOptions options)
    : impl_(std::make_shared<Impl>(store, runner, pending, provider, clock, std::move(options))) {}

Outbox::~Outbox() { Stop(); }

Status Outbox::Start() {
  Impl& i = *impl_;
  if (i.started) return Status::Ok();
  i.startup_head = i.store.Head();
  NEXTIER_RETURN_IF_ERROR(i.runner.WaitFor(i.startup_head, std::chrono::seconds(60)));
  i.started = true;
  std::weak_ptr<Impl> weak = impl_;
  i.listener = i.runner.AddListener([weak](uint64_t) {
    if (auto impl = weak.lock()) {
      std::lock_guard lock(impl->mu);
      impl->wake = true;
      impl->cv.notify_all();
    }
  });
  i.threads.emplace_back([&i] { i.PlannerLoop(); });
  for (int n = 0; n < std::max(1, i.options.senders); ++n) {
    i.threads.emplace_back([&i] { i.SenderLoop(); });
  }
  std::lock_guard lock(i.mu);
  i.wake = true;
  i.cv.notify_all();
  return Status::Ok();
}

void Outbox::Stop() {
  Impl& i = *impl_;
  if (!i.started) return;
  i.runner.RemoveListener(i.listener);
  {
    std::lock_guard lock(i.mu);
    i.stop = true;
    i.cv.notify_all();
  }
  for (auto& t : i.threads) t.join();
  i.threads.clear();
  i.started = false;
}

Status Outbox::Drain(std::chrono::milliseconds timeout) {
  Impl& i = *impl_;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  const uint64_t head = i.store.Head();
  NEXTIER_RETURN_IF_ERROR(i.runner.WaitFor(head, timeout));
  for (;;) {
    auto list = i.pending.List(0, 4096);
    if (!list.ok()) return list.status();
    bool waiting = false;
    {
      std::lock_guard lock(i.mu);
      for (const auto& p : *list) {
        if (p.seq > head) break;
        if (i.stuck.count(p.message_key) == 0) {
          waiting = true;
          break;
        }
      }
      i.wake = true;
      i.cv.notify_all();
    }
    if (!waiting) return Status::Ok();
    if (std::chrono::steady_clock::now() > deadline) {
      return Status::Unavailable("outbox: sends still pending after the drain timeout");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
}

OutboxStats Outbox::stats() const {
  std::lock_guard lock(impl_->stats_mu);
  return impl_->stats;
}

}  // namespace nextier::engine
