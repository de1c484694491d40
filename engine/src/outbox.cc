// The outbox: intents -> provider calls -> outcome events (see outbox.h).
#include "nextier/engine/outbox.h"

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "nextier/engine/lead.h"
#include "nextier/engine/lead_commands.h"
#include "nextier/eventstore/personal.h"

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
  bool forgotten = false;  // the lead was forgotten: `to` and `body` are gone with its key
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

  // One intent on its way to an outcome.
  struct Work {
    projections::PendingSend p;
    int attempts = 0;        // failed attempts so far
    bool look_up = false;    // it may have reached the provider: ask before sending
    std::string last_error;  // of the last failed attempt
    // Known but not yet stored (the store was full or unavailable): stored on the next attempt
    // without asking the provider again.
    std::optional<SmsSendOutcome> outcome;
    bool reconciled = false;
    bool given_up = false;
    std::optional<std::string> unknown_reason;  // instead of `outcome`
  };
  struct Parked {
    Work work;
    Micros due = 0;  // engine clock
  };

  uint64_t startup_head = 0;  // intents up to here may have reached the provider before a crash
  std::mutex mu;
  std::condition_variable cv;  // planner: new intents; senders: work queued
  std::deque<Work> queue;
  std::set<std::string> in_flight;       // queued or being sent
  std::map<std::string, Parked> parked;  // waiting for a retry
  std::set<std::string> stuck;           // outcomes that could not be stored; not retried
  // Intents whose outcome a sender stored, by completion number, until a planner pass that
  // listed after it: a list read before the outcome was folded must not send them again.
  uint64_t completions = 0;
  std::map<std::string, uint64_t> completed;
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
      if (!plain.ok() && plain.status().code() == StatusCode::kNotFound &&
          store.keys().IsForgotten(Str(ev.getKeySubject()))) {
        in.forgotten = true;
        return false;
      }
      if (!plain.ok()) {
        inner = plain.status();
        return false;
      }
      Status read = es::ReadPersonal(*plain, [&](es::schema::Personal::Reader personal) {
        in.to = Str(personal.getToNumber());
        in.body = Str(personal.getBody());
        if (in.from.empty()) in.from = Str(personal.getFromNumber());
      });
      if (!read.ok()) inner = Status::Corruption("the intent's sealed message: " + read.message());
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
      // A repeat of the key (the outcome was stored before a crash, or before the read models
      // could take it) writes nothing, but waits like a first write for the read models to
      // fold it: the planner must not see the intent as pending once this returns.
      uint64_t seen = 0;
      (void)store.ReadStream(lead->stream, 1, SIZE_MAX, [&](const es::EventView& v) {
        if (Str(v.event().getCommandId()) == cmd.idempotency_key) seen = v.seq();
        return seen == 0;
      });
      if (seen != 0) return runner.WaitFor(seen, std::chrono::seconds(30));
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

  Status RecordOutcome(const Intent& in, const SmsSendOutcome& o, bool reconciled,
                       bool given_up = false) {
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
      if (given_up) ++stats.given_up;
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

  // An intent whose lead was forgotten before it was sent: it cannot be sent (the number and
  // the text are gone), and must not be. Only a send a crash interrupted may have reached the
  // provider; that one is looked up (by key, which needs neither) and recorded as it went.
  Status ForgottenIntent(const Intent& in, bool maybe_sent) {
    if (maybe_sent) {
      auto found = provider.Lookup(in.key);
      if (!found.ok()) {
        return RecordUnknown(in,
                             "the lead was forgotten, and after a restart the provider could "
                             "not say whether it sent this message: " +
                                 found.status().message());
      }
      if (found->has_value()) return RecordOutcome(in, **found, true);
    }
    SmsSendOutcome failed;
    failed.kind = SmsSendOutcome::Kind::kRejected;
    failed.code = "forgotten";
    failed.reason = "the lead was forgotten before this message was sent";
    failed.permanent = true;
    return RecordOutcome(in, failed, false);
  }

  // The wait before the next attempt at `w` (after w.attempts failed ones), on the engine clock.
  Micros Backoff(const Work& w) const {
    const Micros cap = std::max<Micros>(1, options.retry_cap.count() * 1000);
    Micros d = std::max<Micros>(1, options.retry_pause.count() * 1000);
    for (int i = 1; i < w.attempts && d < cap; ++i) d *= 2;
    d = std::min(d, cap);
    // Up to a quarter more, fixed per key: sends that failed together come back spread out.
    const size_t h = std::hash<std::string>{}(w.p.message_key);
    return d + d / 4 * static_cast<Micros>(h % 1024) / 1024;
  }

  // A failed attempt: `w` waits for its retry (see SenderLoop).
  Status Retry(Work& w, bool look_up, std::string error, bool* retry) {
    ++w.attempts;
    w.look_up = look_up;
    w.last_error = std::move(error);
    *retry = true;
    std::lock_guard lock(stats_mu);
    ++stats.retries;
    return Status::Ok();
  }

  // Stores what became of `w` (an outcome, or unknown when `unknown_reason` is set). A store that
  // is full or unavailable keeps it in `w` for the next attempt, so room returning is enough.
  Status Settle(Work& w, const Intent& in, const SmsSendOutcome* o, bool reconciled, bool given_up,
                const std::string* unknown_reason, bool* retry) {
    Status s = o != nullptr ? RecordOutcome(in, *o, reconciled, given_up)
                            : RecordUnknown(in, *unknown_reason);
    if (s.ok() || !s.retryable()) return s;
    if (o != nullptr) {
      w.outcome = *o;
      w.reconciled = reconciled;
      w.given_up = given_up;
    } else {
      w.unknown_reason = *unknown_reason;
    }
    return Retry(w, false, "storing the outcome: " + s.message(), retry);
  }
  Status Settle(Work& w, const Intent& in, const SmsSendOutcome& o, bool reconciled, bool* retry,
                bool given_up = false) {
    return Settle(w, in, &o, reconciled, given_up, nullptr, retry);
  }
  Status SettleUnknown(Work& w, const Intent& in, const std::string& reason, bool* retry) {
    return Settle(w, in, nullptr, false, false, &reason, retry);
  }

  // One attempt at an intent: an outcome recorded, or *retry set (the attempt failed and `w`
  // says how to go on). Returns without either only when stopping (the next start reconciles
  // it), and an error when the intent is unreadable or its outcome cannot be stored.
  Status Process(Work& w, bool* retry) {
    *retry = false;
    auto in = ReadIntent(w.p);
    if (!in.ok()) return in.status();
    if (in->forgotten) return ForgottenIntent(*in, w.look_up);
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
    if (w.outcome) return Settle(w, *in, *w.outcome, w.reconciled, retry, w.given_up);
    if (w.unknown_reason) return SettleUnknown(w, *in, *w.unknown_reason, retry);
    // Only a provider that kept failing gives a send up; an old intent met at start-up (the
    // engine was down) is still sent.
    const Micros waited = clock.Now() - in->at;
    const bool too_late =
        w.attempts > 0 && waited > static_cast<Micros>(options.give_up_after.count()) * 1000;

    if (w.look_up) {
      if (!provider.can_look_up()) {
        return SettleUnknown(w, *in,
                             w.attempts == 0
                                 ? "pending at start-up and the provider has no look-up to tell "
                                   "whether it sent this message"
                                 : "the provider did not answer and has no look-up to tell "
                                   "whether it sent this message: " +
                                       w.last_error,
                             retry);
      }
      auto found = provider.Lookup(in->key);
      if (!found.ok()) {
        // It cannot say now: ask again later (even past give_up_after: the answer decides
        // between sent and given up), never send blind.
        return Retry(w, true, "look-up: " + found.status().message(), retry);
      }
      if (found->has_value()) return Settle(w, *in, **found, true, retry);
      // The provider never got it: safe to send.
    }
    if (too_late) {
      SmsSendOutcome failed;
      failed.kind = SmsSendOutcome::Kind::kRejected;
      failed.code = "provider_unavailable";
      failed.reason = "not sent: the provider kept failing for " +
                      std::to_string(waited / kMicrosPerSecond) + " s after the message was due (" +
                      w.last_error + ")";
      failed.permanent = true;
      return Settle(w, *in, failed, false, retry, true);
    }
    if (Stopping()) return Status::Ok();
    auto r = provider.Send(sms);
    if (r.ok()) {
      if (r->kind == SmsSendOutcome::Kind::kRejected && !r->permanent) {
        // Refused for now (nothing was sent): a later attempt may pass.
        return Retry(w, false, "refused for now: " + r->code + " " + r->reason, retry);
      }
      return Settle(w, *in, *r, false, retry);
    }
    switch (r.status().code()) {
      case StatusCode::kResourceExhausted:  // a 429 sent nothing
        return Retry(w, false, r.status().message(), retry);
      case StatusCode::kUnavailable:  // the request may have arrived: ask before sending again
        if (!provider.can_look_up()) {
          return SettleUnknown(w, *in,
                               "the provider did not answer and has no look-up to tell whether "
                               "it sent this message: " +
                                   r.status().message(),
                               retry);
        }
        return Retry(w, true, r.status().message(), retry);
      default:
        break;
    }
    // The request itself was refused (bad number...): a permanent failure.
    SmsSendOutcome failed;
    failed.kind = SmsSendOutcome::Kind::kRejected;
    failed.code = std::string(StatusCodeName(r.status().code()));
    failed.reason = r.status().message();
    failed.permanent = true;
    return Settle(w, *in, failed, false, retry);
  }

  // Queues every pending intent that is not in hand: new ones, and parked ones whose retry is
  // due. Requires mu.
  void PlanLocked(const std::vector<projections::PendingSend>& list, bool* added) {
    const Micros now = clock.Now();
    for (const auto& p : list) {
      if (queue.size() >= kMaxQueued) return;
      if (in_flight.count(p.message_key) > 0 || stuck.count(p.message_key) > 0 ||
          completed.count(p.message_key) > 0) {
        continue;
      }
      Work w;
      if (auto it = parked.find(p.message_key); it != parked.end()) {
        if (it->second.due > now) continue;
        w = std::move(it->second.work);
        parked.erase(it);
      } else {
        w.p = p;
        w.look_up = p.seq <= startup_head;
      }
      in_flight.insert(p.message_key);
      queue.push_back(std::move(w));
      *added = true;
    }
  }

  static constexpr size_t kMaxQueued = 4096;
  static constexpr size_t kPage = 4096;

  void PlannerLoop() {
    for (;;) {
      {
        std::unique_lock lock(mu);
        cv.wait_for(lock, std::chrono::milliseconds(200), [&] { return stop || wake; });
        if (stop) return;
        wake = false;
      }
      // Sends completed before this pass are folded (Record waits for that), so the lists read
      // below cannot hold them; those completed meanwhile are skipped by `completed`.
      uint64_t listed_after = 0;
      {
        std::lock_guard lock(mu);
        listed_after = completions;
      }
      // Page through every pending intent: parked ones must not hide those behind them.
      bool added = false;
      uint64_t after = 0;
      for (;;) {
        auto list = pending.List(after, kPage);
        if (!list.ok() || list->empty()) break;
        after = list->back().seq;
        std::lock_guard lock(mu);
        PlanLocked(*list, &added);
        if (list->size() < kPage || queue.size() >= kMaxQueued) break;
      }
      std::lock_guard lock(mu);
      std::erase_if(completed, [&](const auto& c) { return c.second <= listed_after; });
      if (added) cv.notify_all();
    }
  }

  void SenderLoop() {
    for (;;) {
      Work w;
      {
        std::unique_lock lock(mu);
        cv.wait(lock, [&] { return stop || !queue.empty(); });
        if (stop) return;
        w = std::move(queue.front());
        queue.pop_front();
      }
      bool retry = false;
      Status s = Process(w, &retry);
      std::lock_guard lock(mu);
      const std::string key = w.p.message_key;
      if (!s.ok()) {
        // Not retried in this process: a broken intent or a store error must not spin.
        stuck.insert(key);
        std::fprintf(stderr, "outbox: %s: %s\n", key.c_str(), s.ToString().c_str());
      } else if (retry) {
        const Micros due = clock.Now() + Backoff(w);
        parked[key] = Parked{std::move(w), due};
      } else if (!stop) {
        completed[key] = ++completions;
      }
      in_flight.erase(key);
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
    bool waiting = false;
    uint64_t after = 0;
    while (!waiting) {
      auto list = i.pending.List(after, Impl::kPage);
      if (!list.ok()) return list.status();
      if (list->empty()) break;
      after = list->back().seq;
      std::lock_guard lock(i.mu);
      const Micros now = i.clock.Now();
      for (const auto& p : *list) {
        if (p.seq > head) break;
        if (i.stuck.count(p.message_key) > 0) continue;
        // A retry not due yet on the engine's clock cannot be hurried by waiting.
        if (auto it = i.parked.find(p.message_key); it != i.parked.end() && it->second.due > now) {
          continue;
        }
        waiting = true;
        break;
      }
      if (list->size() < Impl::kPage || list->back().seq >= head) break;
    }
    {
      std::lock_guard lock(i.mu);
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
  OutboxStats out;
  {
    std::lock_guard lock(impl_->stats_mu);
    out = impl_->stats;
  }
  std::lock_guard lock(impl_->mu);
  out.waiting = impl_->parked.size();
  return out;
}

}  // namespace nextier::engine
