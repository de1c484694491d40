// Inbound texts and delivery receipts: what a SignalHouse webhook delivers, after its signature
// was checked (adapters do that), turned into events.
//
// A reply is matched to a lead by its sender: the lead that number was last texted about from
// the number it wrote to (ConversationsProjection). It is classified with the rules of that
// lead's workflow (classifier.h) and stored as ONE unit on the lead's stream under the
// idempotency key "inbound:<message id>", so a redelivery is processed once and answers the
// original result; a second key, "inbound-delivery:<delivery id>", does the same for a delivery
// id seen again with another message id (stores written before it kept that key as a stream
// "delivery-<delivery id>", still honoured). The unit holds the evidence
// (ReplyReceived, with the raw body sealed) and every effect of its class:
//   OPT_OUT       LeadOptedOut (the number joins the suppression list), exactly one
//                 confirmation SMS, every pending timer of the lead cancelled, its open call
//                 entry closed
//   HELP          the workflow's HELP text, once per lead
//   EMAIL         GOLD LABEL: LeadGoldLabeled{email, phoneVerified}, a call-queue entry with
//                 the workflow's priority, and the EMAIL auto-reply
//   POSITIVE      the auto-reply asking for the best email, at most once per lead per day
//   QUESTION      its auto-reply, at most once per lead per day
//   NEGATIVE      LeadNotInterested and its auto-reply (once)
//   WRONG_NUMBER  the number is suppressed for that lead, and its auto-reply (once)
//   any reply     LeadResponded, and the lead's pending follow-ups are cancelled
// Texts go through the SMS queue (sms_queue.h), so they obey suppression, quiet hours and the
// cap like any other. A reply from an unknown number is stored on the stream "orphan-replies"
// (leadId empty), never an error.
//
// Thread-safety: all methods may be called from any thread; they block on a durable append.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "nextier/common/status.h"
#include "nextier/engine/classifier.h"
#include "nextier/engine/clock.h"
#include "nextier/engine/workflow_registry.h"
#include "nextier/eventstore/event_store.h"
#include "nextier/projections/leads.h"
#include "nextier/projections/sending.h"

namespace nextier::engine {

struct InboundReply {
  std::string message_id;   // the provider's id of the inbound text (the webhook identifier)
  std::string delivery_id;  // X-SignalHouse-Delivery-Id
  std::string from;         // E.164, the person
  std::string to;           // E.164, our number it wrote to
  std::string body;
  std::string raw_body;  // the webhook's body as received, kept (sealed) as evidence
};

struct InboundOutcome {
  std::optional<std::string> lead_id;  // nullopt for an unknown sender
  std::string classification;          // OPT_OUT, HELP, EMAIL, ...
  bool gold_label = false;
  std::string email;
  bool duplicate = false;  // a redelivery: this is the original outcome
};

struct DeliveryReceipt {
  std::string event;       // MESSAGE_DELIVERED | MESSAGE_FAILED
  std::string message_id;  // our outbound message's provider id
  std::string delivery_id;
  uint32_t segments = 0;
  std::string status;
  std::string reason;
};

struct ReceiptOutcome {
  std::optional<std::string> lead_id;  // nullopt when the message is unknown (nothing stored)
  bool duplicate = false;
};

struct InboundOptions {
  std::string actor = "webhook:signalhouse";
  // The workflow whose rules classify a reply from an unknown number.
  std::string default_workflow = "business-owners";
  // Optional: an outside classifier consulted on every reply, folded in by Reconcile
  // (classifier.h). Null (the default): the rules alone, no network. When set, ReceiveAsync
  // prepares replies through `post`, since the call may block for the classifier's timeout.
  std::shared_ptr<ExternalClassifier> external;
};

class InboundService {
 public:
  // Everything passed in must outlive the service.
  InboundService(eventstore::EventStore& store, const Clock& clock, WorkflowRegistry& workflows,
                 projections::ProjectionRunner& runner,
                 const projections::ConversationsProjection& conversations,
                 const projections::LeadsProjection& leads, InboundOptions options = {});

  // InvalidArgument when the reply has neither message id nor delivery id, or no sender.
  Result<InboundOutcome> Receive(const InboundReply& reply);
  // The same without blocking: the reply is prepared on the calling thread and appended by the
  // store's group commit; `done` runs once it is durable (or failed), on the store's writer
  // thread, so it must be quick. Repeats and retries after a conflict, which read the log, run
  // through `post` (e.g. a work pool). `done` is called exactly once.
  void ReceiveAsync(InboundReply reply, std::function<void(std::function<void()>)> post,
                    std::function<void(Result<InboundOutcome>)> done);
  // InvalidArgument for an unknown event or no message id.
  Result<ReceiptOutcome> Receipt(const DeliveryReceipt& receipt);

  // Waits until every ReceiveAsync so far has called its `done`, at most `timeout`; true when
  // none is left. For shutdown: completions run through `post` and answer through the HTTP
  // server, so both must outlive them.
  bool WaitIdle(std::chrono::milliseconds timeout);

 private:
  struct Impl;
  struct InFlight;
  std::shared_ptr<Impl> impl_;
  std::shared_ptr<InFlight> in_flight_;
};

}  // namespace nextier::engine
