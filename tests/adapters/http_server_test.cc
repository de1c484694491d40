// The HTTP server over real loopback sockets: routing, keys and roles, limits, timeouts,
// streaming bodies, metrics and graceful shutdown.
#include "nextier/adapters/http_server.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <future>
#include <thread>
#include <vector>

#include "testing/http_client.h"
#include "testing/testing.h"

namespace nextier::adapters {
namespace {

using namespace std::chrono_literals;

using nextier::testing::BodyOf;
using nextier::testing::Connect;
using nextier::testing::ReadResponse;
using nextier::testing::SendAll;
using nextier::testing::StatusOf;

std::string Request(uint16_t port, const std::string& raw) {
  return nextier::testing::RawRequest(port, raw);
}

std::string Get(uint16_t port, const std::string& path, const std::string& key = {}) {
  std::string raw = "GET " + path + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n";
  if (!key.empty()) raw += "Authorization: Bearer " + key + "\r\n";
  return Request(port, raw + "\r\n");
}

std::string Post(uint16_t port, const std::string& path, const std::string& body,
                 const std::string& key) {
  return Request(port, "POST " + path + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n" +
                           "Authorization: Bearer " + key + "\r\nContent-Length: " +
                           std::to_string(body.size()) + "\r\n\r\n" + body);
}

class HttpServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    keys_ = {{"ops-key-123", Role::kOps, "alice"},
             {"agent-key-123", Role::kAgent, "bob"},
             {"admin-key-123", Role::kAdmin, "root"}};
  }
  void StartServer(ServerOptions o = {}) {
    o.port = 0;
    server_ = std::make_unique<Server>(o, keys_, &metrics_);
    server_->AddRoute("GET", "/healthz", {{}, true, 1024}, [](HttpRequest&, Responder r) {
      r(HttpResponse::Json(200, "{\"ok\":true}"));
    });
    server_->AddRoute("GET", "/api/things/{id}", {{Role::kOps, Role::kAgent}, false, 1024},
                      [](HttpRequest& req, Responder r) {
                        r(HttpResponse::Json(200, "{\"id\":\"" + req.params[0] + "\",\"role\":\"" +
                                                      std::string(RoleName(req.role)) +
                                                      "\",\"q\":\"" + req.Query("q") + "\"}"));
                      });
    server_->AddRoute(
        "POST", "/api/ops-only", {{Role::kOps}, false, 1000}, [](HttpRequest& req, Responder r) {
          r(HttpResponse::Json(201, "{\"len\":" + std::to_string(req.body.size()) + "}"));
        });
    server_->AddRoute("GET", "/api/slow", {{Role::kOps}, false, 1024},
                      [](HttpRequest&, Responder r) {
                        // Answer from another thread, later: the I/O thread is never blocked.
                        std::thread([r] {
                          std::this_thread::sleep_for(300ms);
                          r(HttpResponse::Json(200, "{\"slow\":true}"));
                        }).detach();
                      });
    server_->AddStreamingRoute(
        "POST", "/api/upload", {{Role::kOps}, false, 0},
        [this](HttpRequest&) { return std::make_unique<CountingSink>(this); });
    ASSERT_OK(server_->Start());
    port_ = server_->port();
  }

  struct CountingSink : BodySink {
    explicit CountingSink(HttpServerTest* t) : test(t) {}
    Status OnChunk(std::string_view chunk) override {
      bytes += chunk.size();
      test->max_chunk_ = std::max(test->max_chunk_.load(), chunk.size());
      if (chunk.find('!') != std::string_view::npos) {
        return Status::InvalidArgument("row 3: not CSV", "file");
      }
      return Status::Ok();
    }
    void Finish(Status s, Responder respond) override {
      if (!s.ok()) return respond(HttpResponse::FromStatus(s));
      respond(HttpResponse::Json(202, "{\"bytes\":" + std::to_string(bytes) + "}"));
    }
    HttpServerTest* test;
    size_t bytes = 0;
  };

  std::vector<ApiKey> keys_;
  Metrics metrics_;
  std::unique_ptr<Server> server_;
  uint16_t port_ = 0;
  std::atomic<size_t> max_chunk_{0};
};

TEST_F(HttpServerTest, HealthzNeedsNoKey) {
  StartServer();
  auto r = Get(port_, "/healthz");
  EXPECT_EQ(StatusOf(r), 200) << r;
  EXPECT_EQ(BodyOf(r), "{\"ok\":true}");
  EXPECT_NE(r.find("Content-Type: application/json"), std::string::npos);
}

TEST_F(HttpServerTest, MissingOrUnknownKeyIs401WithTheErrorShape) {
  StartServer();
  auto none = Get(port_, "/api/things/1");
  EXPECT_EQ(StatusOf(none), 401) << none;
  EXPECT_NE(BodyOf(none).find("{\"error\":{\"code\":\"unauthorized\""), std::string::npos) << none;
  auto wrong = Get(port_, "/api/things/1", "not-a-key-at-all");
  EXPECT_EQ(StatusOf(wrong), 401) << wrong;
}

TEST_F(HttpServerTest, WrongRoleIs403RightRoleAndAdminPass) {
  StartServer();
  auto agent = Post(port_, "/api/ops-only", "abc", "agent-key-123");
  EXPECT_EQ(StatusOf(agent), 403) << agent;
  EXPECT_NE(agent.find("\"code\":\"forbidden\""), std::string::npos);
  auto ops = Post(port_, "/api/ops-only", "abc", "ops-key-123");
  EXPECT_EQ(StatusOf(ops), 201) << ops;
  EXPECT_EQ(BodyOf(ops), "{\"len\":3}");
  auto admin = Post(port_, "/api/ops-only", "abc", "admin-key-123");
  EXPECT_EQ(StatusOf(admin), 201) << admin;
}

TEST_F(HttpServerTest, RoutesCarryPathParamsAndDecodedQuery) {
  StartServer();
  auto r = Get(port_, "/api/things/lead%2D7?q=a+b%21", "agent-key-123");
  EXPECT_EQ(StatusOf(r), 200) << r;
  EXPECT_EQ(BodyOf(r), "{\"id\":\"lead-7\",\"role\":\"agent\",\"q\":\"a b!\"}");
}

TEST_F(HttpServerTest, UnknownPathIs404AndWrongMethodIs405) {
  StartServer();
  auto missing = Get(port_, "/api/nothing", "ops-key-123");
  EXPECT_EQ(StatusOf(missing), 404) << missing;
  EXPECT_NE(missing.find("\"code\":\"not_found\""), std::string::npos);
  auto method = Request(port_, "DELETE /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(StatusOf(method), 405) << method;
}

// RFC 9112 §3.2: HTTP/1.1 needs exactly one Host; HTTP/1.0 may leave it out.
TEST_F(HttpServerTest, Http11WithoutOneHostIs400) {
  StartServer();
  auto none = Request(port_, "GET /healthz HTTP/1.1\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(StatusOf(none), 400) << none;
  EXPECT_NE(none.find("\"field\":\"Host\""), std::string::npos) << none;
  auto two = Request(port_, "GET /healthz HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n");
  EXPECT_EQ(StatusOf(two), 400) << two;
  auto old = Request(port_, "GET /healthz HTTP/1.0\r\n\r\n");
  EXPECT_EQ(StatusOf(old), 200) << old;
}

// Found by fuzz_http (tests/fuzz/corpus/http/regress_non_utf8_path.txt): the 404 message quotes
// the path, and a path that is not UTF-8 made the error's JSON dump throw on the I/O thread,
// which ended the process.
TEST_F(HttpServerTest, PathThatIsNotUtf8IsAnsweredAndTheServerStaysUp) {
  StartServer();
  for (const std::string target : {"/\xff\xffhealthz", "/api/%FF%fe", "/healthz%C3"}) {
    auto r = Request(port_, "GET " + target + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    EXPECT_EQ(StatusOf(r), 404) << r;
    EXPECT_NE(r.find("\"code\":\"not_found\""), std::string::npos) << r;
    EXPECT_NE(r.find("\xEF\xBF\xBD"), std::string::npos) << "bad bytes become U+FFFD: " << r;
  }
  // The 405 message quotes the path too.
  auto method = Request(port_, "DELETE /api/things/%FF HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(StatusOf(method), 405) << method;
  EXPECT_EQ(StatusOf(Get(port_, "/healthz")), 200);
}

TEST_F(HttpServerTest, OversizedBodyIs413) {
  StartServer();
  auto r = Post(port_, "/api/ops-only", std::string(5000, 'x'), "ops-key-123");
  EXPECT_EQ(StatusOf(r), 413) << r;
  EXPECT_NE(r.find("\"code\":\"payload_too_large\""), std::string::npos);
}

TEST_F(HttpServerTest, HugeHeadersAre431AndMalformedHttpIs400) {
  StartServer();
  auto big = Request(
      port_, "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(40000, 'h') + "\r\n\r\n");
  EXPECT_EQ(StatusOf(big), 431) << big.substr(0, 200);
  auto junk = Request(port_, "THIS IS NOT HTTP\r\n\r\n");
  EXPECT_EQ(StatusOf(junk), 400) << junk;
  // The server is still up.
  EXPECT_EQ(StatusOf(Get(port_, "/healthz")), 200);
}

TEST_F(HttpServerTest, TransferEncodingNotEndingInChunkedIs400AndClosesSoNothingIsSmuggled) {
  StartServer();
  // Were the gzip body read as empty, "GET /api/things/smuggled" would be answered as a second
  // request on the same connection.
  const std::string smuggled =
      "GET /api/things/smuggled HTTP/1.1\r\nHost: x\r\n"
      "Authorization: Bearer ops-key-123\r\n\r\n";
  const int fd = Connect(port_);
  ASSERT_GE(fd, 0);
  SendAll(fd,
          "POST /api/ops-only HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ops-key-123\r\n"
          "Transfer-Encoding: gzip\r\n\r\n" +
              smuggled);
  // Everything the server sends until it closes (the socket has a 5 s receive timeout).
  std::string r;
  char buf[4096];
  for (ssize_t n; (n = recv(fd, buf, sizeof buf, 0)) > 0;) r.append(buf, static_cast<size_t>(n));
  close(fd);
  EXPECT_EQ(StatusOf(r), 400) << r;
  EXPECT_NE(BodyOf(r).find("malformed_request"), std::string::npos) << r;
  EXPECT_EQ(r.find("smuggled\""), std::string::npos) << "a second request was answered: " << r;
  // chunked as the last coding is fine.
  const std::string ok = Request(port_,
                                 "POST /api/ops-only HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                                 "Authorization: Bearer ops-key-123\r\n"
                                 "Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n");
  EXPECT_EQ(StatusOf(ok), 201) << ok;
  EXPECT_EQ(BodyOf(ok), "{\"len\":3}");
}

TEST_F(HttpServerTest, KeepAliveServesSeveralRequestsOnOneConnection) {
  StartServer();
  int fd = Connect(port_);
  ASSERT_GE(fd, 0);
  for (int i = 0; i < 3; ++i) {
    SendAll(fd, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
    auto r = ReadResponse(fd);
    EXPECT_EQ(StatusOf(r), 200) << "request " << i << ": " << r;
  }
  close(fd);
}

TEST_F(HttpServerTest, TricklingClientIsCutOffWhileOthersAreServed) {
  ServerOptions o;
  o.read_timeout = 400ms;
  o.idle_timeout = 400ms;
  StartServer(o);
  int fd = Connect(port_);
  ASSERT_GE(fd, 0);
  auto start = std::chrono::steady_clock::now();
  bool closed = false;
  const std::string slow = "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: aaaaaaaaaaaaaaaa";
  for (char c : slow) {
    if (send(fd, &c, 1, MSG_NOSIGNAL) <= 0) {
      closed = true;
      break;
    }
    EXPECT_EQ(StatusOf(Get(port_, "/healthz")), 200);  // others are served meanwhile
    std::this_thread::sleep_for(50ms);
    char b;
    if (recv(fd, &b, 1, MSG_DONTWAIT) == 0) {
      closed = true;
      break;
    }
  }
  EXPECT_TRUE(closed) << "a client trickling a header was never cut off";
  EXPECT_LT(std::chrono::steady_clock::now() - start, 3s);
  close(fd);
}

TEST_F(HttpServerTest, AsynchronousHandlersAnswerLaterWithoutBlockingOthers) {
  StartServer();
  auto slow =
      std::async(std::launch::async, [&] { return Get(port_, "/api/slow", "ops-key-123"); });
  std::this_thread::sleep_for(50ms);
  auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(StatusOf(Get(port_, "/healthz")), 200);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 250ms);
  EXPECT_EQ(StatusOf(slow.get()), 200);
}

TEST_F(HttpServerTest, StreamingUploadArrivesInBoundedChunks) {
  StartServer();
  const std::string body(5 << 20, 'c');
  auto r = Post(port_, "/api/upload", body, "ops-key-123");
  EXPECT_EQ(StatusOf(r), 202) << r.substr(0, 300);
  EXPECT_EQ(BodyOf(r), "{\"bytes\":" + std::to_string(body.size()) + "}");
  EXPECT_GT(max_chunk_.load(), 0u);
  EXPECT_LE(max_chunk_.load(), size_t{64} << 10);
  // Chunked transfer encoding streams too.
  std::string chunked =
      "POST /api/upload HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
      "Authorization: Bearer ops-key-123\r\nTransfer-Encoding: chunked\r\n\r\n"
      "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n";
  auto c = Request(port_, chunked);
  EXPECT_EQ(StatusOf(c), 202) << c;
  EXPECT_EQ(BodyOf(c), "{\"bytes\":11}");
}

TEST_F(HttpServerTest, StreamingSinkErrorBecomesTheResponse) {
  StartServer();
  auto r = Post(port_, "/api/upload", "a,b\n1,2\n!!\n", "ops-key-123");
  EXPECT_EQ(StatusOf(r), 400) << r;
  EXPECT_NE(r.find("\"field\":\"file\""), std::string::npos) << r;
}

TEST_F(HttpServerTest, ConnectionsBeyondTheBoundAreRefused) {
  ServerOptions o;
  o.max_connections = 2;
  StartServer(o);
  int a = Connect(port_), b = Connect(port_);
  ASSERT_GE(a, 0);
  ASSERT_GE(b, 0);
  for (int i = 0; i < 100 && server_->open_connections() < 2; ++i) std::this_thread::sleep_for(5ms);
  int c = Connect(port_);
  ASSERT_GE(c, 0);
  SendAll(c, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(ReadResponse(c), "") << "the third connection should have been closed";
  close(a);
  close(b);
  close(c);
  for (int i = 0; i < 100 && server_->open_connections() > 0; ++i) std::this_thread::sleep_for(5ms);
  EXPECT_EQ(StatusOf(Get(port_, "/healthz")), 200);
}

TEST_F(HttpServerTest, ThousandsOfIdleAndHalfSentConnectionsDoNotStopOthersBeingServed) {
  // The file-descriptor limit must let both ends hold them all.
  rlimit lim{};
  getrlimit(RLIMIT_NOFILE, &lim);
  lim.rlim_cur = lim.rlim_max;
  setrlimit(RLIMIT_NOFILE, &lim);
  if (lim.rlim_cur < 7000) GTEST_SKIP() << "RLIMIT_NOFILE is " << lim.rlim_cur;
  ServerOptions o;
  o.read_timeout = 1500ms;  // a half-sent request is cut after this
  StartServer(o);
  std::vector<int> idle;
  for (int i = 0; i < 3000; ++i) {
    const int fd = Connect(port_);
    ASSERT_GE(fd, 0) << "connection " << i;
    // Every third one starts a request and never finishes it.
    if (i % 3 == 0) SendAll(fd, "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ");
    idle.push_back(fd);
  }
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(StatusOf(Get(port_, "/healthz")), 200) << "not served beside 3,000 idle connections";
  EXPECT_EQ(StatusOf(Get(port_, "/api/things/7", "ops-key-123")), 200);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 3s);
  // The half-sent ones are cut off by the read deadline; the server still serves.
  std::this_thread::sleep_for(2500ms);
  EXPECT_LE(server_->open_connections(), 2000u);
  for (int fd : idle) close(fd);
  EXPECT_EQ(StatusOf(Get(port_, "/healthz")), 200);
}

TEST_F(HttpServerTest, StopFinishesInFlightRequestsThenRefusesNewOnes) {
  StartServer();
  auto slow =
      std::async(std::launch::async, [&] { return Get(port_, "/api/slow", "ops-key-123"); });
  std::this_thread::sleep_for(100ms);
  const uint16_t port = port_;
  server_->Stop();
  EXPECT_EQ(StatusOf(slow.get()), 200) << "an in-flight request was cut at shutdown";
  EXPECT_EQ(Connect(port), -1) << "still accepting after Stop";
}

TEST_F(HttpServerTest, MetricsCountRequestsByRouteAndClass) {
  StartServer();
  Get(port_, "/healthz");
  Get(port_, "/api/things/1");
  const std::string text = metrics_.Render();
  EXPECT_NE(text.find("nextier_http_requests_total{route=\"GET /healthz\",code=\"2xx\"} 1"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("nextier_http_requests_total{route=\"GET /api/things/{id}\",code=\"4xx\"} 1"),
            std::string::npos);
  EXPECT_NE(text.find("# TYPE nextier_http_request_duration_seconds histogram"), std::string::npos);
  EXPECT_NE(text.find("nextier_http_open_connections"), std::string::npos);
  EXPECT_EQ(text.find("ops-key-123"), std::string::npos) << "a secret leaked into metrics";
}

TEST(ApiKeysTest, LoadsFromFileAndEnvironment) {
  nextier::testing::TempDir dir;
  const std::string file = dir.str() + "/keys.json";
  {
    std::ofstream out(file);
    out << R"([{"key":"file-ops-key-1","role":"ops","name":"alice"},
               {"key":"file-audit-key","role":"auditor"}])";
  }
  auto keys = LoadApiKeys(file, "agent:env-agent-key,admin:env-admin-key");
  ASSERT_OK(keys);
  ASSERT_EQ(keys->size(), 4u);
  EXPECT_EQ((*keys)[0].role, Role::kOps);
  EXPECT_EQ((*keys)[0].name, "alice");
  EXPECT_EQ((*keys)[1].role, Role::kAuditor);
  EXPECT_EQ((*keys)[2].role, Role::kAgent);
  EXPECT_EQ((*keys)[3].key, "env-admin-key");
}

TEST(ApiKeysTest, BadEntriesNameWhereAndWhy) {
  auto bad_role = LoadApiKeys("", "boss:some-long-key");
  EXPECT_FALSE(bad_role.ok());
  EXPECT_NE(bad_role.status().message().find("entry 1"), std::string::npos);
  auto short_key = LoadApiKeys("", "ops:abc");
  EXPECT_NE(short_key.status().message().find("shorter"), std::string::npos);
  nextier::testing::TempDir dir;
  const std::string file = dir.str() + "/keys.json";
  {
    std::ofstream out(file);
    out << R"([{"key":"file-ops-key-1","role":"captain"}])";
  }
  auto r = LoadApiKeys(file, "");
  EXPECT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("[0].role"), std::string::npos) << r.status().message();
  EXPECT_FALSE(LoadApiKeys(dir.str() + "/missing.json", "").ok());
}

TEST(HttpResponseTest, StatusesMapToTheApiErrorShape) {
  auto r = HttpResponse::FromStatus(Status::InvalidArgument("limit must be 1..1000", "limit"));
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(
      r.body,
      "{\"error\":{\"code\":\"invalid_argument\",\"field\":\"limit\",\"message\":\"limit must "
      "be 1..1000\"}}");
  EXPECT_EQ(HttpResponse::FromStatus(Status::Conflict("held")).status, 409);
  EXPECT_EQ(HttpResponse::FromStatus(Status::NotFound("x")).status, 404);
  EXPECT_EQ(HttpResponse::FromStatus(Status::Unavailable("x")).status, 503);
  EXPECT_EQ(HttpResponse::FromStatus(Status::ResourceExhausted("the event store is full")).status,
            503);
}

}  // namespace
}  // namespace nextier::adapters
