// Every SMS to a lead other than a campaign's opener (follow-ups, auto-replies, HELP and opt-out
// answers, meeting confirmations and reminders) goes through one door: a request, which is a
// durable "sms" timer on the lead's stream, due at once.
//
// A caller puts RequestLeadSms(...) in the same unit as the state change that causes the text
// (a reply, a booking), so the wish to text is exactly as durable as its cause. When the timer
// fires, the queue applies the rules every SMS obeys, at the moment of sending:
//   - suppression: never to an opted-out number or a number that is wrong for this lead (the
//     opt-out confirmation itself excepted, which goes once to the number that just opted out);
//   - the lead's state: nothing to a lead that opted out (but that confirmation), and a
//     follow-up only while the lead has not replied;
//   - quiet hours in the recipient's zones, and the from-number's daily cap per carrier day
//     (America/Los_Angeles): what does not fit is re-requested when the window opens or the
//     next carrier day starts. Conversational answers (kinds "help" and "optout", sent in
//     answer to a text the person just wrote, which carriers require) are not held back by
//     quiet hours or the cap, but still count against the cap;
// then renders the template (the lead's fields, the sender's, and the request's extra values)
// and appends the SmsSendIntended the outbox sends, with its SmsCapCounted, as one unit with
// the timer's TimerFired. The message key is the caller's, so the outbox and the provider see
// one send per request, whatever crashes happen.
//
// Thread-safety: RequestLeadSms is a pure function. SmsQueue's handler runs on the timer
// service's thread.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "nextier/common/status.h"
#include "nextier/engine/clock.h"
#include "nextier/engine/timers.h"
#include "nextier/engine/workflow_registry.h"
#include "nextier/eventstore/event_store.h"
#include "nextier/projections/leads.h"
#include "nextier/projections/projection.h"
#include "nextier/projections/sending.h"

namespace nextier::engine {

struct LeadSmsRequest {
  std::string lead_id;
  // followup | autoreply | confirmation | reminder | help | optout
  std::string kind;
  // Which of the workflow's templates: "followup:<name>", "autoreply:<CLASS>", "help",
  // "optout", "confirmation", "reminder:24h" | "reminder:1h" | "reminder:15m".
  std::string template_name;
  // Unique per message for all time, e.g. "sms:autoreply:<lead>:<inbound id>"; the outbox's
  // and the provider's idempotency key. 1 to 200 bytes.
  std::string message_key;
  // Values for placeholders beyond the lead's and the sender's: email, agentName, meetingTime,
  // link. They are stored in clear in the request's timer: never put the lead's personal data
  // here (see email_from_reply).
  std::map<std::string, std::string> values;
  // The campaign whose from-number and workflow apply; "" = the lead's campaign.
  std::string campaign_id;
  // The provider message id of a ReplyReceived on the lead's stream whose sealed email fills
  // {email} when the text is sent (an answer to the address the person just wrote). "" = none;
  // {email} is then the lead's, from the read model. Last, with a default, so that positional
  // initialisers of the fields above stay whole.
  std::string email_from_reply = {};
};

// The TimerScheduled event (due `now`, on the lead's stream) that asks for `request`. Put it in
// the unit that causes the text.
eventstore::NewEvent RequestLeadSms(const LeadSmsRequest& request, Micros now);

class SmsQueue {
 public:
  // Everything passed in must outlive the queue.
  SmsQueue(eventstore::EventStore& store, WorkflowRegistry& workflows,
           const projections::LeadsProjection& leads,
           const projections::SuppressionProjection& suppression);
  // Registers the "sms" timer handler; before the timer service starts.
  void RegisterTimerHandlers(TimerService& timers);

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace nextier::engine
