// The outside services the engine calls, as interfaces: an SMS gateway (SignalHouse) and a
// skip-trace provider (RealEstateAPI). Each has a real HTTP client and a sandbox (adapters/),
// and the engine sees only these. Both are called from the outbox and job workers, never from
// an I/O thread, and may block (a network round trip).
//
// Errors are values with a meaning the caller acts on:
//   Unavailable        the service could not be reached or answered 5xx: retry later. For an
//                      SMS the outcome is UNKNOWN (it may have been sent): never resend blindly,
//                      Lookup() the key instead.
//   ResourceExhausted  the service said 429 (too many requests): pause, then go on.
//   InvalidArgument    the request itself is wrong (bad number...): do not retry.
//   Internal           anything else (a malformed answer).
//
// Thread-safety: implementations must allow calls from several threads at once.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "nextier/common/status.h"
#include "nextier/engine/clock.h"

namespace nextier::engine {

// One SMS to send.
struct OutboundSms {
  // The send's idempotency key (the outbox intent's messageKey). A provider never sends two
  // messages for one key: a repeat answers the first outcome.
  std::string message_key;
  std::string from;  // E.164
  std::string to;    // E.164
  std::string body;
  // What it is, for the sandbox's outbox and the logs: opener | followup | autoreply |
  // confirmation | reminder | help | optout.
  std::string kind;
  std::string campaign_id;
  std::string lead_id;
  std::string provider_campaign_id;  // the SignalHouse campaign id, when any
  std::string status_callback_url;   // where delivery receipts go, when any
  Micros at = 0;                     // business time of the send
};

struct SmsSendOutcome {
  enum class Kind {
    kAccepted,  // queued by the provider; provider_message_id is set
    kRejected,  // refused for this recipient; code and reason say why
    kOptedOut,  // refused because the recipient opted out at the provider (SignalHouse "OUT")
  };
  Kind kind = Kind::kAccepted;
  std::string provider_message_id;
  std::string code;
  std::string reason;
  bool permanent = true;  // a rejection that a later retry cannot fix
};

class SmsProvider {
 public:
  virtual ~SmsProvider() = default;
  virtual std::string_view name() const = 0;  // "sandbox", "signalhouse"

  // Sends `sms`, or answers the first outcome for a message_key seen before (without sending).
  // See the file comment for the errors.
  virtual Result<SmsSendOutcome> Send(const OutboundSms& sms) = 0;

  // What became of the send with `message_key`: its outcome, or nullopt when the provider never
  // accepted it (so it was not sent). Unavailable when the provider cannot say (then the send
  // stays unknown). A provider with no look-up answers Unavailable.
  virtual Result<std::optional<SmsSendOutcome>> Lookup(std::string_view message_key) = 0;

  // False for a provider whose Lookup always answers Unavailable (it has no look-up): a send
  // whose answer was lost is then recorded unknown at once instead of being asked about again.
  virtual bool can_look_up() const { return true; }
};

// Who to look for.
struct SkipTraceQuery {
  std::string first_name;
  std::string last_name;
  std::string street;
  std::string city;
  std::string state;       // two letters
  std::string zip;         // five digits
  bool is_entity = false;  // the owner is a company/trust (a sandbox never finds one)
};

struct SkipTracePhone {
  std::string number;  // E.164
  std::string type;    // mobile | landline | voip | "" (unknown)
  bool connected = true;
  bool do_not_call = false;
};

struct SkipTraceAnswer {
  std::vector<SkipTracePhone> phones;  // as the provider listed them
  std::vector<std::string> emails;
};

class SkipTraceProvider {
 public:
  virtual ~SkipTraceProvider() = default;
  virtual std::string_view name() const = 0;  // "sandbox", "realestateapi"
  // An empty answer (no phones) is a miss, not an error. See the file comment for the errors.
  virtual Result<SkipTraceAnswer> Lookup(const SkipTraceQuery& query) = 0;
};

// The number to text from an answer: phones flagged do-not-call or disconnected are dropped;
// then the first mobile wins, else the first that is not a landline (VoIP or untyped numbers
// often take SMS), else nullopt (a landline cannot take a text).
std::optional<SkipTracePhone> ChooseSkipTracePhone(const SkipTraceAnswer& answer);

}  // namespace nextier::engine
