// The SignalHouse and RealEstateAPI clients against a fake server on loopback: the requests they
// make, how they read answers (enqueuedCount, not the HTTP status, decides a send), and how HTTP
// statuses, refused connections and timeouts become errors.
#include "nextier/adapters/http_providers.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>
#include <vector>

#include "testing/testing.h"

namespace nextier::adapters {
namespace {

using namespace std::chrono_literals;
using json = nlohmann::json;
using Kind = engine::SmsSendOutcome::Kind;

// A plain-HTTP server on 127.0.0.1 that records each request and answers the canned response,
// one connection at a time.
class FakeServer {
 public:
  struct Recorded {
    std::string method;
    std::string target;
    std::map<std::string, std::string> headers;  // lower-case names
    std::string body;
  };

  FakeServer() {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    ::setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    EXPECT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    EXPECT_EQ(::listen(fd_, 16), 0);
    socklen_t len = sizeof addr;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { Loop(); });
  }
  ~FakeServer() {
    {
      std::lock_guard lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
    ::close(fd_);
  }

  void Answer(int status, std::string body, std::chrono::milliseconds delay = 0ms) {
    std::lock_guard lock(mu_);
    status_ = status;
    body_ = std::move(body);
    delay_ = delay;
  }
  std::vector<Recorded> requests() {
    std::lock_guard lock(mu_);
    return requests_;
  }
  std::string base() const { return "http://127.0.0.1:" + std::to_string(port_); }
  uint16_t port() const { return port_; }

 private:
  void Loop() {
    while (true) {
      {
        std::lock_guard lock(mu_);
        if (stop_) return;
      }
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) continue;
      int c = ::accept(fd_, nullptr, nullptr);
      if (c < 0) continue;
      Serve(c);
      ::close(c);
    }
  }

  void Serve(int c) {
    timeval tv{5, 0};
    ::setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    std::string in;
    char buf[4096];
    size_t header_end = std::string::npos;
    size_t content_length = 0;
    while (true) {
      if (header_end == std::string::npos) {
        header_end = in.find("\r\n\r\n");
        if (header_end != std::string::npos)
          content_length = ContentLength(in.substr(0, header_end));
      }
      if (header_end != std::string::npos && in.size() >= header_end + 4 + content_length) break;
      ssize_t n = ::recv(c, buf, sizeof buf, 0);
      if (n <= 0) return;
      in.append(buf, static_cast<size_t>(n));
      // A TLS ClientHello (record type 22): answer plain HTTP, as a plain server would.
      if (in[0] == '\x16') {
        const std::string refuse = "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n";
        ::send(c, refuse.data(), refuse.size(), MSG_NOSIGNAL);
        return;
      }
    }
    Recorded r;
    const std::string head = in.substr(0, header_end);
    size_t line_end = head.find("\r\n");
    const std::string request_line = head.substr(0, line_end);
    const size_t sp1 = request_line.find(' ');
    const size_t sp2 = request_line.find(' ', sp1 + 1);
    r.method = request_line.substr(0, sp1);
    r.target = request_line.substr(sp1 + 1, sp2 - sp1 - 1);
    size_t pos = line_end == std::string::npos ? head.size() : line_end + 2;
    while (pos < head.size()) {
      size_t e = head.find("\r\n", pos);
      if (e == std::string::npos) e = head.size();
      const std::string line = head.substr(pos, e - pos);
      const size_t colon = line.find(':');
      if (colon != std::string::npos) {
        std::string name = line.substr(0, colon);
        for (char& ch : name) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
        std::string value = line.substr(colon + 1);
        while (!value.empty() && value[0] == ' ') value.erase(0, 1);
        r.headers[name] = value;
      }
      pos = e + 2;
    }
    r.body = in.substr(header_end + 4, content_length);

    int status = 0;
    std::string body;
    {
      std::unique_lock lock(mu_);
      requests_.push_back(std::move(r));
      status = status_;
      body = body_;
      if (delay_ > 0ms) {
        cv_.wait_for(lock, delay_, [this] { return stop_; });
        if (stop_) return;
      }
    }
    const std::string out = "HTTP/1.1 " + std::to_string(status) +
                            " Canned\r\nContent-Type: application/json\r\nContent-Length: " +
                            std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body;
    ::send(c, out.data(), out.size(), MSG_NOSIGNAL);
  }

  static size_t ContentLength(const std::string& head) {
    std::string lower = head;
    for (char& ch : lower) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    const size_t at = lower.find("content-length:");
    if (at == std::string::npos) return 0;
    return std::strtoul(head.c_str() + at + 15, nullptr, 10);
  }

  int fd_ = -1;
  uint16_t port_ = 0;
  std::thread thread_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  int status_ = 200;
  std::string body_ = "{}";
  std::chrono::milliseconds delay_{0};
  std::vector<Recorded> requests_;
};

// A port nothing listens on.
uint16_t ClosedPort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

engine::OutboundSms Sms() {
  engine::OutboundSms s;
  s.message_key = "send-1";
  s.from = "+12125550100";
  s.to = "+15164079249";
  s.body = "Hi Ann, is 12 Main St still yours?";
  s.kind = "opener";
  return s;
}

constexpr const char* kKey = "sh-secret-key-123";

std::unique_ptr<SignalHouseClient> Client(const std::string& base, std::string callback = {},
                                          std::chrono::milliseconds timeout = 5000ms) {
  SignalHouseConfig c;
  c.base_url = base;
  c.api_key = kKey;
  c.status_callback_url = std::move(callback);
  c.timeout = timeout;
  auto r = SignalHouseClient::Create(c);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? std::move(r).value() : nullptr;
}

// --- SignalHouse --------------------------------------------------------------------------

TEST(SignalHouseClientTest, PostsTheMessageWithBearerKeyAndJsonBody) {
  FakeServer server;
  server.Answer(200, R"({"enqueuedCount": 1, "messageId": "SH-1"})");
  auto client = Client(server.base() + "/", "https://engine.example/api/webhooks/signalhouse");
  ASSERT_NE(client, nullptr);
  EXPECT_EQ(client->name(), "signalhouse");
  ASSERT_OK(client->Send(Sms()));

  auto reqs = server.requests();
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(reqs[0].method, "POST");
  EXPECT_EQ(reqs[0].target, "/message/sms");
  EXPECT_EQ(reqs[0].headers["authorization"], std::string("Bearer ") + kKey);
  EXPECT_EQ(reqs[0].headers["content-type"], "application/json");
  EXPECT_EQ(reqs[0].headers["host"], "127.0.0.1:" + std::to_string(server.port()));
  auto body = json::parse(reqs[0].body);
  EXPECT_EQ(body["senderPhoneNumber"], "+12125550100");
  EXPECT_EQ(body["recipientPhoneNumber"], json::array({"+15164079249"}));
  EXPECT_EQ(body["messageBody"], "Hi Ann, is 12 Main St still yours?");
  EXPECT_EQ(body["statusCallbackUrl"], "https://engine.example/api/webhooks/signalhouse");
}

TEST(SignalHouseClientTest, OmitsAnEmptyCallbackAndKeepsTheBasePath) {
  FakeServer server;
  server.Answer(200, R"({"enqueuedCount": 1, "messageId": "SH-1"})");
  auto client = Client(server.base() + "/api/v1");
  ASSERT_NE(client, nullptr);
  ASSERT_OK(client->Send(Sms()));
  auto reqs = server.requests();
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(reqs[0].target, "/api/v1/message/sms");
  auto body = json::parse(reqs[0].body);
  EXPECT_FALSE(body.contains("statusCallbackUrl"));
}

TEST(SignalHouseClientTest, EnqueuedCountOneIsAcceptedWithTheMessageId) {
  FakeServer server;
  auto client = Client(server.base());
  ASSERT_NE(client, nullptr);
  const std::pair<const char*, const char*> answers[] = {
      {R"({"enqueuedCount": 1, "messageId": "SH-1"})", "SH-1"},
      {R"({"enqueuedCount": "1", "messages": [{"messageId": "SH-2"}]})", "SH-2"},
      {R"({"data": {"enqueuedCount": 1, "messages": [{"id": "SH-3"}]}})", "SH-3"},
      {R"({"enqueuedCount": 1, "data": [{"identifier": 44}]})", "44"},
      {R"({"enqueuedCount": 1})", ""},
  };
  for (const auto& [answer, id] : answers) {
    server.Answer(200, answer);
    auto r = client->Send(Sms());
    ASSERT_OK(r);
    EXPECT_EQ(r->kind, Kind::kAccepted) << answer;
    EXPECT_EQ(r->provider_message_id, id) << answer;
  }
  // enqueuedCount wins over a non-2xx status.
  server.Answer(400, R"({"enqueuedCount": 1, "messageId": "SH-9"})");
  auto r = client->Send(Sms());
  ASSERT_OK(r);
  EXPECT_EQ(r->kind, Kind::kAccepted);
  EXPECT_EQ(r->provider_message_id, "SH-9");
}

TEST(SignalHouseClientTest, Http200WithNothingEnqueuedAndOutIsOptedOut) {
  FakeServer server;
  server.Answer(200, R"({"enqueuedCount": 0, "failed": [{"recipientPhoneNumber": "+15164079249",
                        "errorCode": "OUT", "errorMessage": "recipient opted out"}]})");
  auto client = Client(server.base());
  ASSERT_NE(client, nullptr);
  auto r = client->Send(Sms());
  ASSERT_OK(r);
  EXPECT_EQ(r->kind, Kind::kOptedOut);
  EXPECT_EQ(r->code, "OUT");
  EXPECT_EQ(r->reason, "recipient opted out");
}

TEST(SignalHouseClientTest, OtherFailuresAreRejectedWithTheProvidersCode) {
  FakeServer server;
  server.Answer(200, R"({"enqueuedCount": 0, "data": {"errors": [{"code": "INVALID_NUMBER",
                        "message": "not a mobile"}]}})");
  auto client = Client(server.base());
  ASSERT_NE(client, nullptr);
  auto r = client->Send(Sms());
  ASSERT_OK(r);
  EXPECT_EQ(r->kind, Kind::kRejected);
  EXPECT_EQ(r->code, "INVALID_NUMBER");
  EXPECT_EQ(r->reason, "not a mobile");
  EXPECT_TRUE(r->permanent);

  server.Answer(400, R"({"message": "messageBody is required"})");
  r = client->Send(Sms());
  ASSERT_OK(r);
  EXPECT_EQ(r->kind, Kind::kRejected);
  EXPECT_EQ(r->code, "http_400");
  EXPECT_EQ(r->reason, "messageBody is required");
}

TEST(SignalHouseClientTest, TooManyRequestsIsResourceExhausted) {
  FakeServer server;
  server.Answer(429, R"({"message": "slow down"})");
  auto client = Client(server.base());
  ASSERT_NE(client, nullptr);
  auto r = client->Send(Sms());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kResourceExhausted);
}

TEST(SignalHouseClientTest, ServerErrorIsUnavailable) {
  FakeServer server;
  server.Answer(500, "oops");
  auto client = Client(server.base());
  ASSERT_NE(client, nullptr);
  auto r = client->Send(Sms());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable);
}

TEST(SignalHouseClientTest, RefusedKeyIsUnavailableAndNeverNamesTheKey) {
  FakeServer server;
  server.Answer(401, R"({"message": "bad key"})");
  auto client = Client(server.base());
  ASSERT_NE(client, nullptr);
  auto r = client->Send(Sms());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(r.status().message().find("refused the API key"), std::string::npos);
  EXPECT_EQ(r.status().ToString().find(kKey), std::string::npos);
}

TEST(SignalHouseClientTest, ConnectionRefusedIsUnavailable) {
  auto client = Client("http://127.0.0.1:" + std::to_string(ClosedPort()));
  ASSERT_NE(client, nullptr);
  auto r = client->Send(Sms());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable) << r.status().ToString();
  EXPECT_NE(r.status().message().find("connect"), std::string::npos) << r.status().ToString();
}

TEST(SignalHouseClientTest, NoAnswerWithinTheTimeoutIsUnavailable) {
  FakeServer server;
  server.Answer(200, R"({"enqueuedCount": 1})", 5000ms);
  auto client = Client(server.base(), {}, 200ms);
  ASSERT_NE(client, nullptr);
  const auto start = std::chrono::steady_clock::now();
  auto r = client->Send(Sms());
  const auto took = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(r.status().message().find("no answer within 200 ms"), std::string::npos)
      << r.status().ToString();
  // It gave up long before the server would have answered.
  EXPECT_LT(took, 4000ms);
}

TEST(SignalHouseClientTest, HttpsToAPlainServerFailsTheHandshake) {
  FakeServer server;
  auto client = Client("https://127.0.0.1:" + std::to_string(server.port()), {}, 2000ms);
  ASSERT_NE(client, nullptr);
  auto r = client->Send(Sms());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable) << r.status().ToString();
  EXPECT_NE(r.status().message().find("TLS handshake failed"), std::string::npos)
      << r.status().ToString();
}

TEST(SignalHouseClientTest, LookupIsUnavailable) {
  auto client = Client("http://127.0.0.1:1");
  ASSERT_NE(client, nullptr);
  auto r = client->Lookup("send-1");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable);
}

TEST(SignalHouseClientTest, RejectsBadBaseUrlsAndEmptyKeys) {
  SignalHouseConfig c;
  c.api_key = "k";
  for (const char* url : {"ftp://x", "api.signalhouse.io", "http://", "http://h:0",
                          "http://h:99999", "http://u:p@h"}) {
    c.base_url = url;
    auto r = SignalHouseClient::Create(c);
    ASSERT_FALSE(r.ok()) << url;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << url;
  }
  c.base_url = "https://api.signalhouse.io";
  c.api_key.clear();
  EXPECT_FALSE(SignalHouseClient::Create(c).ok());
}

TEST(SignalHouseConfigTest, ReadsTheEnvironmentAndNamesAMissingKey) {
  ::unsetenv("SIGNALHOUSE_API_KEY");
  ::unsetenv("SIGNALHOUSE_BASE_URL");
  ::unsetenv("SIGNALHOUSE_STATUS_CALLBACK_URL");
  auto missing = SignalHouseConfigFromEnv();
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(missing.status().message().find("SIGNALHOUSE_API_KEY"), std::string::npos);

  ::setenv("SIGNALHOUSE_API_KEY", "abc", 1);
  auto defaults = SignalHouseConfigFromEnv();
  ASSERT_OK(defaults);
  EXPECT_EQ(defaults->api_key, "abc");
  EXPECT_EQ(defaults->base_url, "https://api.signalhouse.io");
  EXPECT_EQ(defaults->status_callback_url, "");

  ::setenv("SIGNALHOUSE_BASE_URL", "http://127.0.0.1:9", 1);
  ::setenv("SIGNALHOUSE_STATUS_CALLBACK_URL", "https://cb.example/x", 1);
  auto set = SignalHouseConfigFromEnv();
  ASSERT_OK(set);
  EXPECT_EQ(set->base_url, "http://127.0.0.1:9");
  EXPECT_EQ(set->status_callback_url, "https://cb.example/x");
  ::unsetenv("SIGNALHOUSE_API_KEY");
  ::unsetenv("SIGNALHOUSE_BASE_URL");
  ::unsetenv("SIGNALHOUSE_STATUS_CALLBACK_URL");
}

// --- RealEstateAPI ------------------------------------------------------------------------

std::unique_ptr<RealEstateApiSkipTrace> SkipTrace(const std::string& base) {
  RealEstateApiConfig c;
  c.base_url = base;
  c.api_key = "rea-key-456";
  c.timeout = 5000ms;
  auto r = RealEstateApiSkipTrace::Create(c);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? std::move(r).value() : nullptr;
}

engine::SkipTraceQuery Query() {
  engine::SkipTraceQuery q;
  q.first_name = "Ann";
  q.last_name = "Lee";
  q.street = "12 Main St";
  q.city = "Hempstead";
  q.state = "NY";
  q.zip = "11550";
  return q;
}

TEST(RealEstateApiSkipTraceTest, PostsTheQueryWithTheApiKeyHeader) {
  FakeServer server;
  server.Answer(200, R"({"output": {}})");
  auto client = SkipTrace(server.base());
  ASSERT_NE(client, nullptr);
  EXPECT_EQ(client->name(), "realestateapi");
  ASSERT_OK(client->Lookup(Query()));
  auto reqs = server.requests();
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(reqs[0].method, "POST");
  EXPECT_EQ(reqs[0].target, "/v1/SkipTrace");
  EXPECT_EQ(reqs[0].headers["x-api-key"], "rea-key-456");
  EXPECT_EQ(reqs[0].headers.count("authorization"), 0u);
  auto body = json::parse(reqs[0].body);
  EXPECT_EQ(body, json({{"first_name", "Ann"},
                        {"last_name", "Lee"},
                        {"address", "12 Main St"},
                        {"city", "Hempstead"},
                        {"state", "NY"},
                        {"zip", "11550"}}));
}

TEST(RealEstateApiSkipTraceTest, ParsesPhonesWithTheirFlagsAndEmails) {
  FakeServer server;
  server.Answer(200, R"({"statusCode": 200, "output": {"identity": {
      "phones": [
        {"phone": "(516) 407-9249", "phoneType": "Mobile", "isConnected": true, "doNotCall": false},
        {"phone": "15165550123", "phoneType": "LandLine", "isConnected": true, "doNotCall": true},
        {"phone": "+44 20 7123 4567", "phoneType": "VOIP", "isConnected": false},
        {"phone": "5165550999", "phoneType": "something", "isConnected": "false",
         "doNotCall": "true"},
        {"phone": "12", "phoneType": "mobile"}
      ],
      "emails": [{"email": "ann@example.com"}, "lee@example.org", {"other": 1}]}}})");
  auto client = SkipTrace(server.base());
  ASSERT_NE(client, nullptr);
  auto r = client->Lookup(Query());
  ASSERT_OK(r);
  ASSERT_EQ(r->phones.size(), 4u);
  EXPECT_EQ(r->phones[0].number, "+15164079249");
  EXPECT_EQ(r->phones[0].type, "mobile");
  EXPECT_TRUE(r->phones[0].connected);
  EXPECT_FALSE(r->phones[0].do_not_call);
  EXPECT_EQ(r->phones[1].number, "+15165550123");
  EXPECT_EQ(r->phones[1].type, "landline");
  EXPECT_TRUE(r->phones[1].do_not_call);
  EXPECT_EQ(r->phones[2].number, "+442071234567");
  EXPECT_EQ(r->phones[2].type, "voip");
  EXPECT_FALSE(r->phones[2].connected);
  EXPECT_EQ(r->phones[3].number, "+15165550999");
  EXPECT_EQ(r->phones[3].type, "");
  EXPECT_FALSE(r->phones[3].connected);
  EXPECT_TRUE(r->phones[3].do_not_call);
  EXPECT_EQ(r->emails, (std::vector<std::string>{"ann@example.com", "lee@example.org"}));
}

TEST(RealEstateApiSkipTraceTest, NoIdentityIsAMiss) {
  FakeServer server;
  auto client = SkipTrace(server.base());
  ASSERT_NE(client, nullptr);
  for (const char* answer :
       {R"({"output": {}})", R"({"output": {"identity": null}})", R"({"match": false})"}) {
    server.Answer(200, answer);
    auto r = client->Lookup(Query());
    ASSERT_OK(r);
    EXPECT_TRUE(r->phones.empty()) << answer;
    EXPECT_TRUE(r->emails.empty()) << answer;
  }
}

TEST(RealEstateApiSkipTraceTest, MapsHttpStatusesToErrors) {
  FakeServer server;
  auto client = SkipTrace(server.base());
  ASSERT_NE(client, nullptr);
  server.Answer(400, R"({"message": "zip must be 5 digits"})");
  auto r = client->Lookup(Query());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("zip must be 5 digits"), std::string::npos);

  server.Answer(429, "{}");
  r = client->Lookup(Query());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kResourceExhausted);

  server.Answer(503, "down");
  r = client->Lookup(Query());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable);

  server.Answer(403, "{}");
  r = client->Lookup(Query());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(r.status().message().find("RealEstateAPI refused the API key"), std::string::npos);
  EXPECT_EQ(r.status().ToString().find("rea-key-456"), std::string::npos);

  server.Answer(200, "not json");
  r = client->Lookup(Query());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInternal);
}

TEST(RealEstateApiSkipTraceTest, ConnectionRefusedIsUnavailable) {
  auto client = SkipTrace("http://127.0.0.1:" + std::to_string(ClosedPort()));
  ASSERT_NE(client, nullptr);
  auto r = client->Lookup(Query());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable);
}

TEST(RealEstateApiConfigTest, ReadsTheEnvironmentAndNamesAMissingKey) {
  ::unsetenv("REALESTATEAPI_KEY");
  ::unsetenv("REALESTATEAPI_BASE_URL");
  auto missing = RealEstateApiConfigFromEnv();
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(missing.status().message().find("REALESTATEAPI_KEY"), std::string::npos);

  ::setenv("REALESTATEAPI_KEY", "k1", 1);
  auto defaults = RealEstateApiConfigFromEnv();
  ASSERT_OK(defaults);
  EXPECT_EQ(defaults->api_key, "k1");
  EXPECT_EQ(defaults->base_url, "https://api.realestateapi.com");
  ::setenv("REALESTATEAPI_BASE_URL", "http://127.0.0.1:9", 1);
  auto set = RealEstateApiConfigFromEnv();
  ASSERT_OK(set);
  EXPECT_EQ(set->base_url, "http://127.0.0.1:9");
  ::unsetenv("REALESTATEAPI_KEY");
  ::unsetenv("REALESTATEAPI_BASE_URL");
}

// --- the AI classifier (OpenAI-compatible) ------------------------------------------------

std::unique_ptr<OpenAiClassifier> Ai(const std::string& base, std::string key = "ai-key-789",
                                     std::chrono::milliseconds timeout = 5000ms) {
  AiClassifierConfig c;
  c.base_url = base;
  c.api_key = std::move(key);
  c.model = "tiny-model";
  c.timeout = timeout;
  auto r = OpenAiClassifier::Create(c);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? std::move(r).value() : nullptr;
}

std::string Completion(const std::string& content) {
  return json{
      {"choices", json::array({{{"message", {{"role", "assistant"}, {"content", content}}}}})}}
      .dump();
}

TEST(OpenAiClassifierTest, AsksTheChatCompletionsEndpointWithTheReplyAndReadsTheClass) {
  FakeServer server;
  server.Answer(200, Completion(" Wrong number.\n"));
  auto ai = Ai(server.base() + "/v1");
  ASSERT_NE(ai, nullptr);
  auto r = ai->Classify("I sold that shop in 2019");
  ASSERT_OK(r);
  EXPECT_EQ(*r, workflows::ReplyClass::kWrongNumber);
  EXPECT_EQ(ai->name(), "tiny-model");
  auto reqs = server.requests();
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(reqs[0].method, "POST");
  EXPECT_EQ(reqs[0].target, "/v1/chat/completions");
  EXPECT_EQ(reqs[0].headers["authorization"], "Bearer ai-key-789");
  const json body = json::parse(reqs[0].body);
  EXPECT_EQ(body["model"], "tiny-model");
  EXPECT_EQ(body["temperature"], 0);
  ASSERT_EQ(body["messages"].size(), 2u);
  EXPECT_EQ(body["messages"][0]["role"], "system");
  EXPECT_NE(body["messages"][0]["content"].get<std::string>().find("WRONG_NUMBER"),
            std::string::npos);
  EXPECT_EQ(body["messages"][1]["role"], "user");
  EXPECT_EQ(body["messages"][1]["content"], "I sold that shop in 2019");

  // Other spellings of a class; a local server without a key gets no Authorization header.
  auto local = Ai(server.base(), "");
  ASSERT_NE(local, nullptr);
  for (const auto& [answer, want] : std::vector<std::pair<std::string, workflows::ReplyClass>>{
           {"\"OPT OUT\"", workflows::ReplyClass::kOptOut},
           {"negative", workflows::ReplyClass::kNegative},
           {"QUESTION", workflows::ReplyClass::kQuestion}}) {
    server.Answer(200, Completion(answer));
    auto c = local->Classify("x");
    ASSERT_OK(c);
    EXPECT_EQ(*c, want) << answer;
  }
  EXPECT_EQ(server.requests().back().headers.count("authorization"), 0u);
}

TEST(OpenAiClassifierTest, NoUsableAnswerIsAnErrorNeverAGuess) {
  FakeServer server;
  auto ai = Ai(server.base());
  ASSERT_NE(ai, nullptr);
  server.Answer(200, Completion("I think they are interested"));
  EXPECT_EQ(ai->Classify("x").status().code(), StatusCode::kInternal);
  server.Answer(200, R"({"choices": []})");
  EXPECT_EQ(ai->Classify("x").status().code(), StatusCode::kInternal);
  server.Answer(200, "not json");
  EXPECT_EQ(ai->Classify("x").status().code(), StatusCode::kInternal);
  server.Answer(503, R"({"error": "overloaded"})");
  auto unavailable = ai->Classify("x");
  EXPECT_EQ(unavailable.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(unavailable.status().message().find("503"), std::string::npos);
  server.Answer(401, R"({"error": "bad key"})");
  auto refused = ai->Classify("x");
  EXPECT_EQ(refused.status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(refused.status().message().find("ai-key-789"), std::string::npos);
}

TEST(OpenAiClassifierTest, GivesUpAtItsTimeout) {
  FakeServer server;
  server.Answer(200, Completion("POSITIVE"), 5000ms);
  auto ai = Ai(server.base(), "k", 200ms);
  ASSERT_NE(ai, nullptr);
  const auto start = std::chrono::steady_clock::now();
  auto r = ai->Classify("sounds good");
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable) << r.status().ToString();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 4000ms);
}

TEST(AiClassifierConfigTest, OffUnlessAUrlIsSetAndTheTimeoutIsChecked) {
  for (const char* v : {"NEXTIER_CLASSIFIER_URL", "NEXTIER_CLASSIFIER_API_KEY",
                        "NEXTIER_CLASSIFIER_MODEL", "NEXTIER_CLASSIFIER_TIMEOUT_MS"}) {
    ::unsetenv(v);
  }
  auto off = AiClassifierConfigFromEnv();
  ASSERT_OK(off);
  EXPECT_FALSE(off->has_value());

  ::setenv("NEXTIER_CLASSIFIER_URL", "http://127.0.0.1:9/v1", 1);
  auto defaults = AiClassifierConfigFromEnv();
  ASSERT_OK(defaults);
  ASSERT_TRUE(defaults->has_value());
  EXPECT_EQ((*defaults)->base_url, "http://127.0.0.1:9/v1");
  EXPECT_EQ((*defaults)->api_key, "");
  EXPECT_EQ((*defaults)->model, "gpt-4o-mini");
  EXPECT_EQ((*defaults)->timeout, 2000ms);

  ::setenv("NEXTIER_CLASSIFIER_TIMEOUT_MS", "soon", 1);
  auto bad = AiClassifierConfigFromEnv();
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().field(), "NEXTIER_CLASSIFIER_TIMEOUT_MS");
  ::setenv("NEXTIER_CLASSIFIER_TIMEOUT_MS", "750", 1);
  ::setenv("NEXTIER_CLASSIFIER_MODEL", "llama3", 1);
  auto set = AiClassifierConfigFromEnv();
  ASSERT_OK(set);
  EXPECT_EQ((*set)->timeout, 750ms);
  EXPECT_EQ((*set)->model, "llama3");
  for (const char* v : {"NEXTIER_CLASSIFIER_URL", "NEXTIER_CLASSIFIER_API_KEY",
                        "NEXTIER_CLASSIFIER_MODEL", "NEXTIER_CLASSIFIER_TIMEOUT_MS"}) {
    ::unsetenv(v);
  }
  AiClassifierConfig c;
  c.base_url = "ftp://x";
  EXPECT_EQ(OpenAiClassifier::Create(c).status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace nextier::adapters
