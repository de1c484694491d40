// The real outside services over HTTPS: SignalHouse (SMS) and RealEstateAPI (skip trace), behind
// the engine's provider interfaces (engine/providers.h, which says what each error means to the
// caller). Each call is one synchronous HTTP/1.1 exchange on its own connection (Boost.Beast,
// compiled only in http_providers.cc): `http://` or `https://` base URLs, TLS with SNI and the
// peer's certificate verified against the system store, one deadline covering resolve, connect,
// handshake, request and answer (`timeout`), JSON bodies. Calls block: they run on the outbox
// and job workers, never on an I/O thread.
//
// API keys are sent only in their header; they never appear in a Status, a log line or an
// exception text.
//
// Thread-safety: the clients are immutable after construction; calls from several threads run
// independent exchanges.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "nextier/common/status.h"
#include "nextier/engine/classifier.h"
#include "nextier/engine/providers.h"

namespace nextier::adapters {

namespace detail {
class HttpTransport;  // the Beast client, private to http_providers.cc
}

// ---------------------------------------------------------------------------------------------
// SignalHouse

struct SignalHouseConfig {
  std::string base_url = "https://api.signalhouse.io";
  std::string api_key;
  // Where SignalHouse posts delivery receipts for our sends ("" sends none). A send's own
  // status_callback_url wins over this one.
  std::string status_callback_url;
  std::chrono::milliseconds timeout{10000};
};

// SIGNALHOUSE_API_KEY (required: InvalidArgument naming it when missing or empty),
// SIGNALHOUSE_BASE_URL and SIGNALHOUSE_STATUS_CALLBACK_URL (optional).
Result<SignalHouseConfig> SignalHouseConfigFromEnv();

// POST {base}/message/sms with `Authorization: Bearer KEY` and
// {"senderPhoneNumber", "recipientPhoneNumber": [to], "messageBody", "statusCallbackUrl"?,
//  "campaignId"? (the send's provider_campaign_id)}.
//
// The answer's `enqueuedCount` decides, not the HTTP status (SignalHouse answers 200 for a
// refused recipient and may answer 4xx with an enqueued message):
//   enqueuedCount >= 1  kAccepted; the message id is the first found of: messageId, id,
//                       messageIds[0], messages[0].{messageId,id,identifier}, and the same
//                       under data (object, or data[0] when an array); "" when none.
//   otherwise           the failure entry (failed[0], failedRecipients[0], errors[0],
//                       messages[0], or the answer itself; under data too) gives the code
//                       (errorCode, code, error.code, status) and the reason (errorMessage,
//                       message, reason, error.message). Code "OUT" → kOptedOut; else kRejected,
//                       permanent unless the HTTP status was 5xx.
// Errors: 429 → ResourceExhausted; 5xx without enqueuedCount, network errors, timeouts →
// Unavailable (the send's outcome is unknown); 401/403 → Unavailable "SignalHouse refused the
// API key" (the sends stay unknown until ops fix the key); another status without a JSON
// enqueuedCount → Internal.
class SignalHouseClient final : public engine::SmsProvider {
 public:
  // InvalidArgument when the base URL is not http(s)://host[:port][/path] or the key is empty.
  static Result<std::unique_ptr<SignalHouseClient>> Create(SignalHouseConfig config);
  ~SignalHouseClient() override;

  std::string_view name() const override { return "signalhouse"; }
  Result<engine::SmsSendOutcome> Send(const engine::OutboundSms& sms) override;
  // SignalHouse has no look-up by our idempotency key: always Unavailable.
  Result<std::optional<engine::SmsSendOutcome>> Lookup(std::string_view message_key) override;
  bool can_look_up() const override { return false; }

 private:
  SignalHouseClient(SignalHouseConfig config, std::unique_ptr<detail::HttpTransport> http);
  const SignalHouseConfig config_;
  std::unique_ptr<detail::HttpTransport> http_;
};

// ---------------------------------------------------------------------------------------------
// RealEstateAPI skip trace

struct RealEstateApiConfig {
  std::string base_url = "https://api.realestateapi.com";
  std::string api_key;
  std::chrono::milliseconds timeout{10000};
};

// REALESTATEAPI_KEY (required: InvalidArgument naming it when missing or empty) and
// REALESTATEAPI_BASE_URL (optional).
Result<RealEstateApiConfig> RealEstateApiConfigFromEnv();

// POST {base}/v1/SkipTrace with `x-api-key: KEY` and
// {"first_name","last_name","address","city","state","zip"}.
// The answer's output.identity.phones[] ({phone, phoneType, isConnected, doNotCall}) and
// output.identity.emails[] (objects with `email`, or strings). Phones become E.164 (ten US
// digits, or eleven starting with 1 → +1XXXXXXXXXX; a number already starting with + is kept;
// anything else is dropped); phoneType maps case-insensitively to mobile (also "wireless",
// "cell"), landline (also "land line"), voip, else "". A 200 without an identity is a miss (an
// empty answer).
// Errors: 429 → ResourceExhausted; 5xx, network errors, timeouts → Unavailable; 400/404/422 →
// InvalidArgument with the provider's message; 401/403 → Unavailable "RealEstateAPI refused the
// API key"; a 200 that is not JSON → Internal.
class RealEstateApiSkipTrace final : public engine::SkipTraceProvider {
 public:
  // InvalidArgument when the base URL is not http(s)://host[:port][/path] or the key is empty.
  static Result<std::unique_ptr<RealEstateApiSkipTrace>> Create(RealEstateApiConfig config);
  ~RealEstateApiSkipTrace() override;

  std::string_view name() const override { return "realestateapi"; }
  Result<engine::SkipTraceAnswer> Lookup(const engine::SkipTraceQuery& query) override;

 private:
  RealEstateApiSkipTrace(RealEstateApiConfig config, std::unique_ptr<detail::HttpTransport> http);
  const RealEstateApiConfig config_;
  std::unique_ptr<detail::HttpTransport> http_;
};

// ---------------------------------------------------------------------------------------------
// An AI reply classifier behind an OpenAI-compatible endpoint (OpenAI, or a local server such as
// llama.cpp's or vLLM's), the optional second opinion of engine::InboundService. Off unless
// configured; the rules stay the default and never need a network.

struct AiClassifierConfig {
  std::string base_url;  // e.g. https://api.openai.com/v1
  std::string api_key;   // may be empty (a local server)
  std::string model = "gpt-4o-mini";
  std::chrono::milliseconds timeout{2000};
};

// NEXTIER_CLASSIFIER_URL (unset or empty: nullopt, no classifier), NEXTIER_CLASSIFIER_API_KEY,
// NEXTIER_CLASSIFIER_MODEL and NEXTIER_CLASSIFIER_TIMEOUT_MS (1 to 60000; InvalidArgument naming
// it otherwise).
Result<std::optional<AiClassifierConfig>> AiClassifierConfigFromEnv();

// POST {base}/chat/completions with `Authorization: Bearer KEY` (when a key is set) and
// {"model", "temperature": 0, "max_tokens": 8, "messages": [system: the classes and what they
// mean, user: the reply]}. The answer's choices[0].message.content, trimmed of spaces, quotes and
// punctuation, upper-cased, spaces as underscores, must name a class (OPT_OUT, HELP, EMAIL,
// POSITIVE, NEGATIVE, QUESTION, WRONG_NUMBER, OTHER).
// Errors (all mean "no opinion" to the caller): network errors and timeouts → Unavailable; a
// status other than 2xx → Unavailable naming it; an answer without such a class → Internal.
class OpenAiClassifier final : public engine::ExternalClassifier {
 public:
  // InvalidArgument when the base URL is not http(s)://host[:port][/path] or the model is empty.
  static Result<std::unique_ptr<OpenAiClassifier>> Create(AiClassifierConfig config);
  ~OpenAiClassifier() override;

  std::string_view name() const override { return config_.model; }
  Result<workflows::ReplyClass> Classify(std::string_view body) override;

 private:
  OpenAiClassifier(AiClassifierConfig config, std::unique_ptr<detail::HttpTransport> http);
  const AiClassifierConfig config_;
  std::unique_ptr<detail::HttpTransport> http_;
};

}  // namespace nextier::adapters
