// The outbox: turns SmsSendIntended events into provider calls and their outcomes into events.
//
// The intent is already durable when the outbox sees it (OutboxProjection lists every intent
// without an outcome, in log order). For each, the outbox calls SmsProvider::Send with the
// intent's messageKey as idempotency key, then appends the outcome to the lead's stream under
// the idempotency key "outcome:<messageKey>": SmsSent (provider id; for the opener the lead
// moves to sent), SmsSendFailed, or SmsSendUnknown.
//
// Never twice. After a crash, an intent with no outcome may or may not have reached the
// provider. Those pending when the outbox starts are therefore first LOOKED UP
// (SmsProvider::Lookup by messageKey): found -> its outcome, recorded with reconciled=true;
// never seen -> sent now. The same look-up settles a Send that failed with Unavailable (a 500,
// a time-out, a connection cut after the request arrived: the request may have been carried
// out), and nothing is sent again before the look-up has said "never seen". A provider that has
// no look-up (can_look_up() false, SignalHouse) cannot say: such a send is SmsSendUnknown at once
// (never resent).
//
// Retries. A failed attempt does not hold a sender: the intent waits ("parks") and is tried
// again after a backoff: retry_pause, doubled after every failed attempt up to retry_cap, plus
// up to a quarter more spread by the message key (so a crowd of sends does not come back in
// step). Failed attempts are: Send answered Unavailable (next attempt looks up first), a 429
// (ResourceExhausted: nothing was sent; next attempt sends), a refusal the provider calls not
// permanent (nothing was sent), and a look-up that failed (asked again; never a blind send).
// Backoffs run on the engine's Clock (business time): with a simulated clock, retries happen as
// the clock is advanced. An intent whose provider kept failing for longer than give_up_after
// (engine clock, counted from the intent) is not sent late: once the provider can say it never
// got it, SmsSendFailed{code "provider_unavailable", permanent} fails it (the lead fails: visible
// in the campaign's counts); until then it is only looked up, never sent. An outcome the store
// cannot take (full, unavailable) is kept with the intent and stored on a later attempt, so room
// returning is enough.
//
// A provider-side opt-out (SignalHouse error "OUT") is recorded as SmsSendFailed code OUT and
// a NumberSuppressed{reason opt_out} (the number joins the suppression list), plus
// LeadOptedOut when the lead is past its opener.
//
// Threads: one planner thread lists pending intents (woken by the projection runner) and a few
// sender threads make the calls in parallel.
//
// Thread-safety: Start/Stop/Drain/stats may be called from any thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "nextier/common/status.h"
#include "nextier/engine/clock.h"
#include "nextier/engine/providers.h"
#include "nextier/eventstore/event_store.h"
#include "nextier/projections/projection.h"
#include "nextier/projections/sending.h"

namespace nextier::engine {

struct OutboxOptions {
  int senders = 4;
  std::string status_callback_url;  // handed to the provider for delivery receipts
  // The backoff after the first failed attempt at a send, doubled after each further one up to
  // retry_cap (engine clock; see the file comment).
  std::chrono::milliseconds retry_pause{1000};
  std::chrono::milliseconds retry_cap{60000};
  // How long (engine clock, from the intent) a failing provider may hold a send up before it is
  // given up rather than sent late.
  std::chrono::milliseconds give_up_after{std::chrono::minutes(15)};
  std::string actor = "system:outbox";
};

struct OutboxStats {
  uint64_t sent = 0;
  uint64_t failed = 0;    // SmsSendFailed recorded (refusals, opt-outs, given up)
  uint64_t given_up = 0;  // of those, provider_unavailable: the provider failed too long
  uint64_t unknown = 0;
  uint64_t reconciled = 0;  // outcomes learned by look-up (after a restart or a lost answer)
  uint64_t retries = 0;     // failed attempts (sends, look-ups, storing outcomes), tried again
  uint64_t waiting = 0;     // intents waiting for their retry right now
};

class Outbox {
 public:
  // Everything passed in must outlive the outbox; `pending` must be added to `runner`.
  Outbox(eventstore::EventStore& store, projections::ProjectionRunner& runner,
         const projections::OutboxProjection& pending, SmsProvider& provider, const Clock& clock,
         OutboxOptions options = {});
  ~Outbox();  // Stop()
  Outbox(const Outbox&) = delete;
  Outbox& operator=(const Outbox&) = delete;

  // Reconciles what was pending before this start, then follows new intents.
  Status Start();
  void Stop();

  // Waits until every intent in the log as of this call has an outcome stored and folded, or
  // waits for a retry that is not yet due on the engine's clock (a failing provider does not
  // hold the caller up; with a simulated clock such a retry happens only once the clock moves).
  // Unavailable after `timeout`.
  Status Drain(std::chrono::milliseconds timeout = std::chrono::seconds(120));

  OutboxStats stats() const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace nextier::engine
