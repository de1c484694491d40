// The HTTP clients for SignalHouse and RealEstateAPI, and the small Beast client they share.
//
// One exchange = one io_context on the calling thread: resolve, connect, (TLS handshake),
// write, read, as a coroutine, with one deadline timer that cancels whatever is pending when the
// whole exchange takes longer than the timeout. The context's run() returns only when the
// coroutine and the timer are done, so the references they hold to this frame cannot dangle.
// A connection per request keeps it simple; SMS volumes (a few per second) do not need pooling.
#include "nextier/adapters/http_providers.h"

#include <openssl/ssl.h>

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <cctype>
#include <cstdlib>
#include <exception>
#include <nlohmann/json.hpp>
#include <utility>
#include <vector>

namespace nextier::adapters {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using json = nlohmann::json;

namespace {

constexpr size_t kMaxAnswerBytes = size_t{4} << 20;
constexpr size_t kMaxReasonChars = 300;

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string Truncate(std::string s) {
  if (s.size() > kMaxReasonChars) {
    s.resize(kMaxReasonChars);
    s += "...";
  }
  return s;
}

// Where requests go, from a base URL "http(s)://host[:port][/path]".
struct Endpoint {
  bool tls = false;
  std::string host;  // without brackets for IPv6
  std::string port;  // "443" by default for https, "80" for http
  std::string host_header;
  std::string base_path;  // "" or "/prefix" without a trailing slash
};

Result<Endpoint> ParseBaseUrl(std::string_view url, std::string_view variable) {
  const auto bad = [&](std::string_view why) {
    return Status::InvalidArgument(std::string(variable) + ": '" + std::string(url) +
                                       "' is not a usable base URL: " + std::string(why),
                                   std::string(variable));
  };
  Endpoint ep;
  const std::string lower = Lower(url);
  std::string_view rest = url;
  if (lower.rfind("https://", 0) == 0) {
    ep.tls = true;
    rest.remove_prefix(8);
  } else if (lower.rfind("http://", 0) == 0) {
    rest.remove_prefix(7);
  } else {
    return bad("it must start with http:// or https://");
  }
  const size_t slash = rest.find_first_of("/?#");
  std::string_view authority = rest.substr(0, slash);
  std::string_view path = slash == std::string_view::npos ? std::string_view() : rest.substr(slash);
  if (!path.empty() && path[0] != '/') return bad("a query or fragment is not allowed");
  if (authority.find('@') != std::string_view::npos) return bad("credentials are not allowed");
  std::string_view host = authority;
  std::string_view port;
  if (!authority.empty() && authority[0] == '[') {
    const size_t close = authority.find(']');
    if (close == std::string_view::npos) return bad("unclosed [ in the host");
    host = authority.substr(1, close - 1);
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after[0] != ':') return bad("unexpected text after the host");
      port = after.substr(1);
    }
  } else if (const size_t colon = authority.rfind(':'); colon != std::string_view::npos) {
    host = authority.substr(0, colon);
    port = authority.substr(colon + 1);
  }
  if (host.empty()) return bad("the host is missing");
  if (!port.empty()) {
    if (port.size() > 5 ||
        !std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; }) ||
        std::stoi(std::string(port)) == 0 || std::stoi(std::string(port)) > 65535) {
      return bad("the port is not a number from 1 to 65535");
    }
  }
  ep.host = std::string(host);
  ep.port = port.empty() ? (ep.tls ? "443" : "80") : std::string(port);
  ep.host_header = std::string(authority);
  while (!path.empty() && path.back() == '/') path.remove_suffix(1);
  ep.base_path = std::string(path);
  return ep;
}

}  // namespace

namespace detail {

struct HttpAnswer {
  int status = 0;
  std::string body;
};

// A synchronous HTTP/1.1 client for one base URL. Immutable after Create; PostJson may be called
// from several threads at once (each call has its own io_context and connection; the shared TLS
// context is only read).
class HttpTransport {
 public:
  // `service` names the provider in errors ("signalhouse"); `variable` names the setting the
  // base URL came from, for errors.
  static Result<std::unique_ptr<HttpTransport>> Create(std::string_view base_url,
                                                       std::string_view variable,
                                                       std::string service,
                                                       std::chrono::milliseconds timeout) {
    auto ep = ParseBaseUrl(base_url, variable);
    if (!ep.ok()) return ep.status();
    auto t = std::unique_ptr<HttpTransport>(new HttpTransport());
    t->endpoint_ = std::move(*ep);
    t->service_ = std::move(service);
    t->timeout_ = timeout.count() > 0 ? timeout : std::chrono::milliseconds(10000);
    if (t->endpoint_.tls) {
      try {
        t->tls_ = std::make_unique<ssl::context>(ssl::context::tls_client);
        t->tls_->set_default_verify_paths();
        t->tls_->set_verify_mode(ssl::verify_peer);
        t->tls_->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                             ssl::context::no_sslv3 | ssl::context::no_tlsv1 |
                             ssl::context::no_tlsv1_1);
      } catch (const std::exception& e) {
        return Status::Internal(t->service_ + ": cannot set up TLS: " + e.what());
      }
    }
    return t;
  }

  // POSTs `body` as JSON to the base path + `path` with the extra `headers`. Any HTTP status is
  // an answer; Unavailable when the service cannot be reached, the exchange fails or the
  // deadline passes. The headers (API keys) never appear in an error.
  Result<HttpAnswer> PostJson(std::string_view path,
                              const std::vector<std::pair<std::string, std::string>>& headers,
                              const std::string& body) const;

 private:
  HttpTransport() = default;

  // What one exchange came to; filled by the coroutine.
  struct Exchange {
    std::string failed_stage;  // "" when the answer was read
    beast::error_code ec;
    std::exception_ptr exception;
  };

  template <typename Stream>
  Result<HttpAnswer> Run(asio::io_context& ioc, Stream& stream,
                         http::request<http::string_body>& req) const;
  template <typename Stream>
  static asio::awaitable<void> DoExchange(Stream& stream, tcp::resolver& resolver,
                                          const Endpoint& ep, http::request<http::string_body>& req,
                                          http::response_parser<http::string_body>& parser,
                                          Exchange& out);

  Endpoint endpoint_;
  std::string service_;
  std::chrono::milliseconds timeout_{10000};
  std::unique_ptr<ssl::context> tls_;
};

template <typename Stream>
asio::awaitable<void> HttpTransport::DoExchange(Stream& stream, tcp::resolver& resolver,
                                                const Endpoint& ep,
                                                http::request<http::string_body>& req,
                                                http::response_parser<http::string_body>& parser,
                                                Exchange& out) {
  constexpr auto kTok = asio::as_tuple(asio::use_awaitable);
  auto [resolve_ec, results] = co_await resolver.async_resolve(ep.host, ep.port, kTok);
  if (resolve_ec) {
    out = {"resolve", resolve_ec, nullptr};
    co_return;
  }
  auto [connect_ec, connected] =
      co_await beast::get_lowest_layer(stream).async_connect(results, kTok);
  (void)connected;
  if (connect_ec) {
    out = {"connect", connect_ec, nullptr};
    co_return;
  }
  if constexpr (!std::is_same_v<Stream, beast::tcp_stream>) {
    auto [handshake_ec] = co_await stream.async_handshake(ssl::stream_base::client, kTok);
    if (handshake_ec) {
      out = {"TLS handshake", handshake_ec, nullptr};
      co_return;
    }
  }
  auto [write_ec, written] = co_await http::async_write(stream, req, kTok);
  (void)written;
  if (write_ec) {
    out = {"write", write_ec, nullptr};
    co_return;
  }
  beast::flat_buffer buffer;
  auto [read_ec, read] = co_await http::async_read(stream, buffer, parser, kTok);
  (void)read;
  if (read_ec) {
    out = {"read", read_ec, nullptr};
    co_return;
  }
  out = {};
  // No TLS close_notify: the answer is complete, and waiting for the peer's would only add a
  // round trip (the socket closes with the stream).
}

template <typename Stream>
Result<HttpAnswer> HttpTransport::Run(asio::io_context& ioc, Stream& stream,
                                      http::request<http::string_body>& req) const {
  tcp::resolver resolver(ioc);
  http::response_parser<http::string_body> parser;
  parser.body_limit(kMaxAnswerBytes);
  Exchange out{"start", {}, nullptr};
  bool timed_out = false;
  bool finished = false;

  // One deadline for the whole exchange. The handlers capture this frame by reference: they run
  // inside ioc.run() below, which returns only after both have completed.
  asio::steady_timer deadline(ioc);
  deadline.expires_after(timeout_);
  deadline.async_wait([&](beast::error_code ec) {
    if (ec || finished) return;
    timed_out = true;
    resolver.cancel();
    beast::error_code ignored;
    beast::get_lowest_layer(stream).socket().close(ignored);
  });
  asio::co_spawn(ioc, DoExchange(stream, resolver, endpoint_, req, parser, out),
                 [&](std::exception_ptr e) {
                   finished = true;
                   if (e) out.exception = e;
                   deadline.cancel();
                 });
  ioc.run();

  const std::string where = service_ + " at " + endpoint_.host + ":" + endpoint_.port;
  if (out.exception) {
    try {
      std::rethrow_exception(out.exception);
    } catch (const std::exception& e) {
      return Status::Unavailable(where + ": the exchange failed: " + e.what());
    } catch (...) {
      return Status::Unavailable(where + ": the exchange failed");
    }
  }
  if (timed_out) {
    return Status::Unavailable(where + ": no answer within " + std::to_string(timeout_.count()) +
                               " ms (stopped during " + out.failed_stage + ")");
  }
  if (!out.failed_stage.empty()) {
    return Status::Unavailable(where + ": " + out.failed_stage + " failed: " + out.ec.message());
  }
  HttpAnswer answer;
  answer.status = static_cast<int>(parser.get().result_int());
  answer.body = std::move(parser.get().body());
  return answer;
}

Result<HttpAnswer> HttpTransport::PostJson(
    std::string_view path, const std::vector<std::pair<std::string, std::string>>& headers,
    const std::string& body) const {
  http::request<http::string_body> req{http::verb::post, endpoint_.base_path + std::string(path),
                                       11};
  req.set(http::field::host, endpoint_.host_header);
  req.set(http::field::user_agent, "nextier-lead-engine/0.1");
  req.set(http::field::content_type, "application/json");
  req.set(http::field::accept, "application/json");
  req.set(http::field::connection, "close");
  for (const auto& [name, value] : headers) req.set(name, value);
  req.body() = body;
  req.prepare_payload();

  asio::io_context ioc(1);
  try {
    if (!endpoint_.tls) {
      beast::tcp_stream stream(ioc);
      return Run(ioc, stream, req);
    }
    beast::ssl_stream<beast::tcp_stream> stream(ioc, *tls_);
    // SNI, and the certificate must name the host (an IP address is checked against the
    // certificate's IP entries).
    if (!SSL_set_tlsext_host_name(stream.native_handle(), endpoint_.host.c_str())) {
      return Status::Internal(service_ + ": cannot set the TLS server name");
    }
    stream.set_verify_callback(ssl::host_name_verification(endpoint_.host));
    return Run(ioc, stream, req);
  } catch (const std::exception& e) {
    // Beast throws only for bugs or resource exhaustion; keep it a value at this boundary.
    return Status::Unavailable(service_ + ": the exchange failed: " + e.what());
  }
}

}  // namespace detail

namespace {

using detail::HttpAnswer;

// --- JSON helpers -----------------------------------------------------------------------------

// The first member of `names` present in object `j` and not null.
const json* Member(const json& j, std::initializer_list<const char*> names) {
  if (!j.is_object()) return nullptr;
  for (const char* n : names) {
    auto it = j.find(n);
    if (it != j.end() && !it->is_null()) return &*it;
  }
  return nullptr;
}

// A string or number as text; "" otherwise.
std::string Text(const json* j) {
  if (j == nullptr) return "";
  if (j->is_string()) return j->get<std::string>();
  if (j->is_number_integer()) return std::to_string(j->get<int64_t>());
  if (j->is_number_unsigned()) return std::to_string(j->get<uint64_t>());
  return "";
}

// The answer itself, then its `data` (an object, or the first element of an array).
std::vector<const json*> Scopes(const json& root) {
  std::vector<const json*> out{&root};
  if (const json* data = Member(root, {"data", "result"})) {
    if (data->is_object()) out.push_back(data);
    if (data->is_array() && !data->empty() && (*data)[0].is_object()) out.push_back(&(*data)[0]);
  }
  return out;
}

std::optional<int64_t> EnqueuedCount(const json& root) {
  for (const json* s : Scopes(root)) {
    const json* c = Member(*s, {"enqueuedCount", "enqueued_count"});
    if (c == nullptr) continue;
    if (c->is_number_integer() || c->is_number_unsigned()) return c->get<int64_t>();
    if (c->is_string()) {
      const std::string t = c->get<std::string>();
      if (!t.empty() &&
          std::all_of(t.begin(), t.end(), [](char ch) { return ch >= '0' && ch <= '9'; })) {
        return std::stoll(t.substr(0, 18));
      }
    }
  }
  return std::nullopt;
}

std::string MessageId(const json& root) {
  for (const json* s : Scopes(root)) {
    if (auto id = Text(Member(*s, {"messageId", "message_id", "id", "identifier"})); !id.empty()) {
      return id;
    }
    if (const json* ids = Member(*s, {"messageIds", "message_ids"});
        ids != nullptr && ids->is_array() && !ids->empty()) {
      if (auto id = Text(&(*ids)[0]); !id.empty()) return id;
    }
    if (const json* msgs = Member(*s, {"messages", "enqueued", "queued"});
        msgs != nullptr && msgs->is_array() && !msgs->empty()) {
      const json& m = (*msgs)[0];
      if (auto id =
              Text(m.is_object() ? Member(m, {"messageId", "message_id", "id", "identifier"}) : &m);
          !id.empty()) {
        return id;
      }
    }
  }
  return "";
}

// The code and reason of the first failure the answer describes.
std::pair<std::string, std::string> Failure(const json& root) {
  std::vector<const json*> candidates;
  for (const json* s : Scopes(root)) {
    if (const json* list = Member(*s, {"failed", "failedRecipients", "failedMessages", "errors",
                                       "messages", "recipients", "results"});
        list != nullptr && list->is_array()) {
      for (const json& e : *list) {
        if (e.is_object()) candidates.push_back(&e);
      }
    }
    candidates.push_back(s);
  }
  for (const json* c : candidates) {
    std::string code = Text(Member(*c, {"errorCode", "error_code", "code", "optOutStatus"}));
    std::string reason =
        Text(Member(*c, {"errorMessage", "error_message", "reason", "message", "description"}));
    if (const json* err = Member(*c, {"error"})) {
      if (err->is_string() && reason.empty()) reason = err->get<std::string>();
      if (err->is_object()) {
        if (code.empty()) code = Text(Member(*err, {"code", "errorCode"}));
        if (reason.empty()) reason = Text(Member(*err, {"message", "reason", "errorMessage"}));
      }
    }
    if (!code.empty()) return {code, Truncate(reason)};
  }
  // No code anywhere: the first reason, if any.
  for (const json* c : candidates) {
    std::string reason = Text(Member(*c, {"errorMessage", "reason", "message", "error"}));
    if (!reason.empty()) return {"", Truncate(reason)};
  }
  return {"", ""};
}

std::optional<json> ParseJson(const std::string& body) {
  json j = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return std::nullopt;
  return j;
}

const char* GetEnv(const char* name) {
  const char* v = std::getenv(name);
  return (v != nullptr && *v != '\0') ? v : nullptr;
}

}  // namespace

// --- SignalHouse ----------------------------------------------------------------------------

Result<SignalHouseConfig> SignalHouseConfigFromEnv() {
  SignalHouseConfig c;
  const char* key = GetEnv("SIGNALHOUSE_API_KEY");
  if (key == nullptr) {
    return Status::InvalidArgument(
        "SIGNALHOUSE_API_KEY is not set: the SignalHouse provider needs an API key",
        "SIGNALHOUSE_API_KEY");
  }
  c.api_key = key;
  if (const char* base = GetEnv("SIGNALHOUSE_BASE_URL")) c.base_url = base;
  if (const char* cb = GetEnv("SIGNALHOUSE_STATUS_CALLBACK_URL")) c.status_callback_url = cb;
  return c;
}

SignalHouseClient::SignalHouseClient(SignalHouseConfig config,
                                     std::unique_ptr<detail::HttpTransport> http)
    : config_(std::move(config)), http_(std::move(http)) {}
SignalHouseClient::~SignalHouseClient() = default;

Result<std::unique_ptr<SignalHouseClient>> SignalHouseClient::Create(SignalHouseConfig config) {
  if (config.api_key.empty()) {
    return Status::InvalidArgument("the SignalHouse API key is empty", "SIGNALHOUSE_API_KEY");
  }
  auto http = detail::HttpTransport::Create(config.base_url, "SIGNALHOUSE_BASE_URL", "signalhouse",
                                            config.timeout);
  if (!http.ok()) return http.status();
  return std::unique_ptr<SignalHouseClient>(
      new SignalHouseClient(std::move(config), std::move(*http)));
}

Result<engine::SmsSendOutcome> SignalHouseClient::Send(const engine::OutboundSms& sms) {
  json req = {{"senderPhoneNumber", sms.from},
              {"recipientPhoneNumber", json::array({sms.to})},
              {"messageBody", sms.body}};
  const std::string& callback =
      sms.status_callback_url.empty() ? config_.status_callback_url : sms.status_callback_url;
  if (!callback.empty()) req["statusCallbackUrl"] = callback;
  if (!sms.provider_campaign_id.empty()) req["campaignId"] = sms.provider_campaign_id;

  auto answer = http_->PostJson("/message/sms", {{"Authorization", "Bearer " + config_.api_key}},
                                req.dump(-1, ' ', false, json::error_handler_t::replace));
  if (!answer.ok()) return answer.status();
  const int status = answer->status;
  if (status == 429) {
    return Status::ResourceExhausted("signalhouse: too many requests (HTTP 429)");
  }
  if (status == 401 || status == 403) {
    return Status::Unavailable("SignalHouse refused the API key (HTTP " + std::to_string(status) +
                               "); fix SIGNALHOUSE_API_KEY. The send's outcome stays unknown");
  }
  const auto body = ParseJson(answer->body);
  const std::optional<int64_t> enqueued = body ? EnqueuedCount(*body) : std::nullopt;

  engine::SmsSendOutcome out;
  if (enqueued.has_value() && *enqueued >= 1) {
    out.kind = engine::SmsSendOutcome::Kind::kAccepted;
    out.provider_message_id = MessageId(*body);
    return out;
  }
  if (!enqueued.has_value()) {
    if (status >= 500) {
      return Status::Unavailable("signalhouse: HTTP " + std::to_string(status) +
                                 "; the send's outcome is unknown");
    }
    if (!body) {
      return Status::Internal("signalhouse: HTTP " + std::to_string(status) +
                              " with an answer that is not JSON");
    }
    // A 2xx naming a message without enqueuedCount still queued it.
    if (status >= 200 && status < 300) {
      if (std::string id = MessageId(*body); !id.empty()) {
        out.kind = engine::SmsSendOutcome::Kind::kAccepted;
        out.provider_message_id = std::move(id);
        return out;
      }
    }
  }
  // Nothing was enqueued (or the request was refused): the failure entry says why.
  auto [code, reason] = body ? Failure(*body) : std::pair<std::string, std::string>{};
  if (!enqueued.has_value() && code.empty() && status != 400 && status != 422) {
    return Status::Internal("signalhouse: HTTP " + std::to_string(status) +
                            " without enqueuedCount or an error code" +
                            (reason.empty() ? "" : ": " + reason));
  }
  if (Lower(code) == "out") {
    out.kind = engine::SmsSendOutcome::Kind::kOptedOut;
    out.code = "OUT";
    out.reason = reason.empty() ? "the recipient opted out at SignalHouse" : reason;
    return out;
  }
  out.kind = engine::SmsSendOutcome::Kind::kRejected;
  out.code = code.empty() ? "http_" + std::to_string(status) : code;
  out.reason = reason.empty() ? "signalhouse enqueued nothing" : reason;
  out.permanent = status < 500;
  return out;
}

Result<std::optional<engine::SmsSendOutcome>> SignalHouseClient::Lookup(std::string_view) {
  return Status::Unavailable("signalhouse has no look-up by idempotency key");
}

// --- RealEstateAPI --------------------------------------------------------------------------

namespace {

// E.164 for a provider's phone: "+..." kept (digits only), 10 US digits or 11 starting with 1
// get +1; anything else is dropped ("").
std::string NormalisePhone(std::string_view raw) {
  std::string digits;
  for (char c : raw) {
    if (c >= '0' && c <= '9') digits += c;
  }
  const size_t first = raw.find_first_not_of(" \t");
  if (first != std::string_view::npos && raw[first] == '+') {
    return digits.size() >= 8 && digits.size() <= 15 ? "+" + digits : "";
  }
  if (digits.size() == 10) return "+1" + digits;
  if (digits.size() == 11 && digits[0] == '1') return "+" + digits;
  return "";
}

std::string PhoneType(std::string_view raw) {
  const std::string t = Lower(raw);
  if (t == "mobile" || t == "wireless" || t == "cell" || t == "cellular") return "mobile";
  if (t == "landline" || t == "land line" || t == "land_line" || t == "wireline" || t == "fixed") {
    return "landline";
  }
  if (t == "voip") return "voip";
  return "";
}

// A flag given as a boolean, a number or a string ("true", "yes", "1"); `fallback` when absent.
bool Flag(const json* j, bool fallback) {
  if (j == nullptr) return fallback;
  if (j->is_boolean()) return j->get<bool>();
  if (j->is_number()) return j->get<double>() != 0;
  if (j->is_string()) {
    const std::string s = Lower(j->get<std::string>());
    if (s == "true" || s == "yes" || s == "y" || s == "1") return true;
    if (s == "false" || s == "no" || s == "n" || s == "0") return false;
  }
  return fallback;
}

std::string ProviderMessage(const std::optional<json>& body, const std::string& raw) {
  if (body) {
    std::string m = Text(Member(*body, {"message", "statusMessage", "error_message"}));
    if (m.empty()) {
      if (const json* err = Member(*body, {"error"})) {
        m = err->is_string() ? err->get<std::string>() : Text(Member(*err, {"message"}));
      }
    }
    if (!m.empty()) return Truncate(m);
  }
  return Truncate(raw);
}

}  // namespace

Result<RealEstateApiConfig> RealEstateApiConfigFromEnv() {
  RealEstateApiConfig c;
  const char* key = GetEnv("REALESTATEAPI_KEY");
  if (key == nullptr) {
    return Status::InvalidArgument(
        "REALESTATEAPI_KEY is not set: the RealEstateAPI skip trace needs an API key",
        "REALESTATEAPI_KEY");
  }
  c.api_key = key;
  if (const char* base = GetEnv("REALESTATEAPI_BASE_URL")) c.base_url = base;
  return c;
}

RealEstateApiSkipTrace::RealEstateApiSkipTrace(RealEstateApiConfig config,
                                               std::unique_ptr<detail::HttpTransport> http)
    : config_(std::move(config)), http_(std::move(http)) {}
RealEstateApiSkipTrace::~RealEstateApiSkipTrace() = default;

Result<std::unique_ptr<RealEstateApiSkipTrace>> RealEstateApiSkipTrace::Create(
    RealEstateApiConfig config) {
  if (config.api_key.empty()) {
    return Status::InvalidArgument("the RealEstateAPI key is empty", "REALESTATEAPI_KEY");
  }
  auto http = detail::HttpTransport::Create(config.base_url, "REALESTATEAPI_BASE_URL",
                                            "realestateapi", config.timeout);
  if (!http.ok()) return http.status();
  return std::unique_ptr<RealEstateApiSkipTrace>(
      new RealEstateApiSkipTrace(std::move(config), std::move(*http)));
}

Result<engine::SkipTraceAnswer> RealEstateApiSkipTrace::Lookup(
    const engine::SkipTraceQuery& query) {
  // Only the fields we know: the API matches on what it is given, and an empty string could
  // count as a mismatch.
  json req = json::object();
  const std::pair<const char*, const std::string*> fields[] = {
      {"first_name", &query.first_name}, {"last_name", &query.last_name},
      {"address", &query.street},        {"city", &query.city},
      {"state", &query.state},           {"zip", &query.zip}};
  for (const auto& [name, value] : fields) {
    if (!value->empty()) req[name] = *value;
  }
  auto answer = http_->PostJson("/v1/SkipTrace", {{"x-api-key", config_.api_key}},
                                req.dump(-1, ' ', false, json::error_handler_t::replace));
  if (!answer.ok()) return answer.status();
  const int status = answer->status;
  const auto body = ParseJson(answer->body);
  if (status == 429) {
    return Status::ResourceExhausted("realestateapi: too many requests (HTTP 429)");
  }
  if (status == 401 || status == 403) {
    return Status::Unavailable("RealEstateAPI refused the API key (HTTP " + std::to_string(status) +
                               "); fix REALESTATEAPI_KEY");
  }
  if (status >= 500) {
    return Status::Unavailable("realestateapi: HTTP " + std::to_string(status));
  }
  if (status == 400 || status == 422) {
    return Status::InvalidArgument("realestateapi refused the query: " +
                                   ProviderMessage(body, answer->body));
  }
  if (status < 200 || status >= 300) {
    return Status::Internal("realestateapi: unexpected HTTP " + std::to_string(status) + ": " +
                            ProviderMessage(body, answer->body));
  }
  if (!body || !body->is_object()) {
    return Status::Internal("realestateapi: the answer is not a JSON object");
  }

  engine::SkipTraceAnswer out;
  const json* output = Member(*body, {"output"});
  const json* identity = output != nullptr ? Member(*output, {"identity"}) : nullptr;
  if (identity == nullptr || !identity->is_object()) return out;  // a miss

  if (const json* phones = Member(*identity, {"phones"}); phones != nullptr && phones->is_array()) {
    for (const json& p : *phones) {
      engine::SkipTracePhone phone;
      phone.number = NormalisePhone(p.is_string() ? p.get<std::string>()
                                                  : Text(Member(p, {"phone", "phoneNumber"})));
      if (phone.number.empty()) continue;
      if (p.is_object()) {
        phone.type = PhoneType(Text(Member(p, {"phoneType", "type"})));
        phone.connected = Flag(Member(p, {"isConnected", "connected"}), true);
        phone.do_not_call = Flag(Member(p, {"doNotCall", "dnc"}), false);
      }
      out.phones.push_back(std::move(phone));
    }
  }
  if (const json* emails = Member(*identity, {"emails"}); emails != nullptr && emails->is_array()) {
    for (const json& e : *emails) {
      std::string email = e.is_string() ? e.get<std::string>() : Text(Member(e, {"email"}));
      if (!email.empty()) out.emails.push_back(std::move(email));
    }
  }
  return out;
}

// --- the AI classifier ---

namespace {

constexpr char kClassifierPrompt[] =
    "You classify one SMS reply to a sales text sent to a business owner. Answer with exactly "
    "one word, the class:\n"
    "OPT_OUT: asks to stop texting or to be removed, in any words or language.\n"
    "HELP: only the keyword HELP or INFO (or AYUDA), nothing else.\n"
    "EMAIL: gives an email address to reach them.\n"
    "WRONG_NUMBER: not the person, or no longer the owner (sold the business, passed away, "
    "just works there).\n"
    "POSITIVE: any interest, including asking about price, process or a call.\n"
    "NEGATIVE: declines without asking to stop.\n"
    "QUESTION: asks who this is, what company, or where the number came from, with no "
    "interest shown.\n"
    "OTHER: emoji only, ok, reactions, driving or out-of-office auto-replies, anything else.";

// "Wrong number." -> WRONG_NUMBER; nullopt when the text names no class.
std::optional<workflows::ReplyClass> ClassFromAnswer(std::string_view text) {
  std::string word;
  for (char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (std::isalpha(u)) {
      word.push_back(static_cast<char>(std::toupper(u)));
    } else if ((c == ' ' || c == '_' || c == '-') && !word.empty() && word.back() != '_') {
      word.push_back('_');
    }
  }
  while (!word.empty() && word.back() == '_') word.pop_back();
  return workflows::ReplyClassFromName(word);
}

}  // namespace

Result<std::optional<AiClassifierConfig>> AiClassifierConfigFromEnv() {
  const char* url = GetEnv("NEXTIER_CLASSIFIER_URL");
  if (url == nullptr) return std::optional<AiClassifierConfig>();
  AiClassifierConfig c;
  c.base_url = url;
  if (const char* key = GetEnv("NEXTIER_CLASSIFIER_API_KEY")) c.api_key = key;
  if (const char* model = GetEnv("NEXTIER_CLASSIFIER_MODEL")) c.model = model;
  if (const char* t = GetEnv("NEXTIER_CLASSIFIER_TIMEOUT_MS")) {
    char* end = nullptr;
    const long ms = std::strtol(t, &end, 10);
    if (*end != '\0' || ms < 1 || ms > 60000) {
      return Status::InvalidArgument(
          "NEXTIER_CLASSIFIER_TIMEOUT_MS must be a number of milliseconds from 1 to 60000",
          "NEXTIER_CLASSIFIER_TIMEOUT_MS");
    }
    c.timeout = std::chrono::milliseconds(ms);
  }
  return std::optional<AiClassifierConfig>(std::move(c));
}

OpenAiClassifier::OpenAiClassifier(AiClassifierConfig config,
                                   std::unique_ptr<detail::HttpTransport> http)
    : config_(std::move(config)), http_(std::move(http)) {}
OpenAiClassifier::~OpenAiClassifier() = default;

Result<std::unique_ptr<OpenAiClassifier>> OpenAiClassifier::Create(AiClassifierConfig config) {
  if (config.model.empty()) {
    return Status::InvalidArgument("the classifier model is empty", "NEXTIER_CLASSIFIER_MODEL");
  }
  auto http = detail::HttpTransport::Create(config.base_url, "NEXTIER_CLASSIFIER_URL", "classifier",
                                            config.timeout);
  if (!http.ok()) return http.status();
  return std::unique_ptr<OpenAiClassifier>(
      new OpenAiClassifier(std::move(config), std::move(*http)));
}

Result<workflows::ReplyClass> OpenAiClassifier::Classify(std::string_view body) {
  const json req = {
      {"model", config_.model},
      {"temperature", 0},
      {"max_tokens", 8},
      {"messages", json::array({{{"role", "system"}, {"content", kClassifierPrompt}},
                                {{"role", "user"}, {"content", std::string(body)}}})}};
  std::vector<std::pair<std::string, std::string>> headers;
  if (!config_.api_key.empty()) headers.emplace_back("Authorization", "Bearer " + config_.api_key);
  auto answer = http_->PostJson("/chat/completions", headers,
                                req.dump(-1, ' ', false, json::error_handler_t::replace));
  if (!answer.ok()) return answer.status();
  if (answer->status < 200 || answer->status > 299) {
    return Status::Unavailable("classifier: HTTP " + std::to_string(answer->status));
  }
  const auto doc = ParseJson(answer->body);
  const json* content = nullptr;
  if (doc && doc->is_object()) {
    const auto choices = doc->find("choices");
    if (choices != doc->end() && choices->is_array() && !choices->empty() &&
        (*choices)[0].is_object()) {
      const auto message = (*choices)[0].find("message");
      if (message != (*choices)[0].end() && message->is_object()) {
        const auto c = message->find("content");
        if (c != message->end() && c->is_string()) content = &*c;
      }
    }
  }
  if (content == nullptr) {
    return Status::Internal("classifier: the answer has no choices[0].message.content");
  }
  const auto cls = ClassFromAnswer(content->get_ref<const std::string&>());
  if (!cls) return Status::Internal("classifier: the answer names no reply class");
  return *cls;
}

}  // namespace nextier::adapters
