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
// never seen -> sent now; the provider cannot say -> SmsSendUnknown (never resent). The same
// look-up settles a Send that failed with Unavailable (the request may have arrived). A 429
// sends nothing, so it is retried after a pause.
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
  std::string status_callback_url;              // handed to the provider for delivery receipts
  std::chrono::milliseconds retry_pause{2000};  // after a 429 or an unreachable provider
  int max_unavailable_retries = 5;  // Send answered Unavailable and Lookup said "never seen"
  std::string actor = "system:outbox";
};

struct OutboxStats {
  uint64_t sent = 0;
  uint64_t failed = 0;
  uint64_t unknown = 0;
  uint64_t reconciled = 0;  // outcomes learned by look-up after a restart
  uint64_t retries = 0;
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

  // Waits until every intent in the log as of this call has an outcome stored and folded.
  // Unavailable after `timeout`.
  Status Drain(std::chrono::milliseconds timeout = std::chrono::seconds(120));

  OutboxStats stats() const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace nextier::engine
