// The dashboard over real loopback sockets: GET /api/dashboard/overview (shape, roles, counts)
// and WS /ws/dashboard with a tiny raw WebSocket client (upgrade with ?key= or the header, 401 /
// 403 / 426 before any upgrade, the overview first, at most one overview a second, a response
// message per reply, a slow client dropped while a fast one keeps receiving, 1,000 clients at
// once, shutdown closing them).
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "nextier/adapters/api_dashboard.h"
#include "nextier/eventstore/event_store.h"
#include "nextier/projections/dashboard.h"
#include "testing/http_client.h"
#include "testing/testing.h"

namespace nextier::adapters {
namespace {

namespace es = eventstore;
using nlohmann::json;
using namespace std::chrono_literals;
using SteadyClock = std::chrono::steady_clock;

constexpr char kOps[] = "ops-key-123";
constexpr char kAgent[] = "agent-key-123";
constexpr char kAuditor[] = "auditor-key-123";

// ---- a tiny WebSocket client -----------------------------------------------------------------

struct WsClient {
  int fd = -1;
  std::string buf;  // bytes read, not yet parsed
  int status = 0;
  std::string header;
  WsClient() = default;
  WsClient(const WsClient&) = delete;
  WsClient& operator=(const WsClient&) = delete;
  WsClient(WsClient&& o) noexcept : fd(o.fd), buf(std::move(o.buf)), status(o.status) { o.fd = -1; }
  ~WsClient() {
    if (fd >= 0) ::close(fd);
  }
};

int ConnectTo(uint16_t port, int rcvbuf = 0) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  if (rcvbuf > 0) ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

// Reads at least one more byte into c.buf; false on EOF, error or timeout.
bool Fill(WsClient& c, std::chrono::milliseconds timeout) {
  pollfd p{c.fd, POLLIN, 0};
  if (::poll(&p, 1, static_cast<int>(timeout.count())) <= 0) return false;
  char tmp[65536];
  const ssize_t n = ::recv(c.fd, tmp, sizeof tmp, 0);
  if (n <= 0) return false;
  c.buf.append(tmp, static_cast<size_t>(n));
  return true;
}

void SendUpgrade(WsClient& c, const std::string& path, const std::string& extra = {}) {
  nextier::testing::SendAll(c.fd, "GET " + path +
                                      " HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
                                      "Connection: Upgrade\r\n"
                                      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                                      "Sec-WebSocket-Version: 13\r\n" +
                                      extra + "\r\n");
}

// Reads the handshake's response header; leaves what follows in c.buf.
bool ReadUpgradeResponse(WsClient& c, std::chrono::milliseconds timeout = 10s) {
  const auto deadline = SteadyClock::now() + timeout;
  size_t end;
  while ((end = c.buf.find("\r\n\r\n")) == std::string::npos) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - SteadyClock::now());
    if (left <= 0ms || !Fill(c, left)) return false;
  }
  c.header = c.buf.substr(0, end + 4);
  c.buf.erase(0, end + 4);
  c.status = nextier::testing::StatusOf(c.header);
  return true;
}

WsClient Open(uint16_t port, const std::string& path, const std::string& extra = {},
              int rcvbuf = 0) {
  WsClient c;
  c.fd = ConnectTo(port, rcvbuf);
  if (c.fd < 0) return c;
  SendUpgrade(c, path, extra);
  ReadUpgradeResponse(c);
  return c;
}

void SendFrame(WsClient& c, int opcode, const std::string& payload) {
  std::string f;
  f.push_back(static_cast<char>(0x80 | opcode));
  const unsigned char mask[4] = {0x12, 0x34, 0x56, 0x78};
  if (payload.size() < 126) {
    f.push_back(static_cast<char>(0x80 | payload.size()));
  } else {
    f.push_back(static_cast<char>(0x80 | 126));
    f.push_back(static_cast<char>(payload.size() >> 8));
    f.push_back(static_cast<char>(payload.size() & 0xff));
  }
  f.append(reinterpret_cast<const char*>(mask), 4);
  for (size_t i = 0; i < payload.size(); ++i) {
    f.push_back(static_cast<char>(payload[i] ^ static_cast<char>(mask[i % 4])));
  }
  nextier::testing::SendAll(c.fd, f);
}

// One whole message (continuations joined; pings answered). Returns the opcode (1 text, 8
// close), or -1 on EOF / timeout / a masked server frame.
int ReadMessage(WsClient& c, std::string* out, std::chrono::milliseconds timeout = 10s) {
  const auto deadline = SteadyClock::now() + timeout;
  out->clear();
  int first_opcode = -1;
  for (;;) {
    // Parse one frame if the buffer holds it.
    if (c.buf.size() >= 2) {
      const auto b0 = static_cast<unsigned char>(c.buf[0]);
      const auto b1 = static_cast<unsigned char>(c.buf[1]);
      if ((b1 & 0x80) != 0) return -1;  // servers never mask
      uint64_t len = b1 & 0x7f;
      size_t at = 2;
      bool complete = true;
      if (len == 126) {
        if (c.buf.size() < 4)
          complete = false;
        else
          len = (static_cast<unsigned char>(c.buf[2]) << 8) | static_cast<unsigned char>(c.buf[3]);
        at = 4;
      } else if (len == 127) {
        if (c.buf.size() < 10) {
          complete = false;
        } else {
          len = 0;
          for (int i = 2; i < 10; ++i) len = (len << 8) | static_cast<unsigned char>(c.buf[i]);
        }
        at = 10;
      }
      if (complete && c.buf.size() >= at + len) {
        const int opcode = b0 & 0x0f;
        const bool fin = (b0 & 0x80) != 0;
        std::string payload = c.buf.substr(at, len);
        c.buf.erase(0, at + len);
        if (opcode == 9) {  // ping
          SendFrame(c, 10, payload);
          continue;
        }
        if (opcode == 10) continue;
        if (opcode == 8) return 8;
        if (opcode != 0) first_opcode = opcode;
        out->append(payload);
        if (fin) return first_opcode;
        continue;
      }
    }
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - SteadyClock::now());
    if (left <= 0ms || !Fill(c, left)) return -1;
  }
}

json ReadJson(WsClient& c, std::chrono::milliseconds timeout = 10s) {
  std::string text;
  const int op = ReadMessage(c, &text, timeout);
  if (op != 1) return json();
  return json::parse(text, nullptr, false);
}

// ---- the rig ---------------------------------------------------------------------------------

class DashboardWsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    rlimit rl{};
    if (::getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < 4096) {
      rl.rlim_cur = std::min<rlim_t>(rl.rlim_max, 8192);
      ::setrlimit(RLIMIT_NOFILE, &rl);
    }
    es::LmdbOptions lo;
    lo.path = dir_.str() + "/log";
    lo.sync = false;
    log_ = es::OpenLmdbEventStore(lo).value();
    projections::ReadModelOptions ro;
    ro.path = dir_.str() + "/projections";
    ro.sync = false;
    models_ = projections::ReadModelStore::Open(ro).value();
    dashboard_ = projections::DashboardProjection::Open(*models_).value();
    projections::RunnerOptions run;
    run.poll = 10ms;
    runner_ = std::make_unique<projections::ProjectionRunner>(*log_, *models_, run);
    ASSERT_OK(runner_->Add(*dashboard_));
    ASSERT_OK(runner_->Start());

    // The parts owned elsewhere are stand-ins: this test is about the dashboard's own work.
    sources_.counts = [this] { return dashboard_->Read(); };
    sources_.campaigns = []() -> Result<json> {
      return json::array({json{{"id", "c1"},
                               {"name", "Spring"},
                               {"status", "active"},
                               {"counts", {{"queued", 0}}},
                               {"today", {{"sent", 0}, {"cap", 2000}}}}});
    };
    sources_.today = []() -> Result<DashboardToday> {
      DashboardToday t;
      t.sms_sent = 12;
      t.sms_cap = 2000;
      t.skip_traced = 3;
      t.skip_trace_limit = 2000;
      return t;
    };
    sources_.as_of = [] { return std::string("2026-11-28T14:00:00Z"); };
  }

  void StartServer(WebSocketOptions ws = DefaultDashboardSocketOptions(), int threads = 2) {
    feed_ = std::make_unique<DashboardFeed>(sources_, *log_, *runner_);
    ServerOptions o;
    o.port = 0;
    o.threads = threads;
    o.shutdown_grace = 5s;
    server_ = std::make_unique<Server>(o,
                                       std::vector<ApiKey>{{kOps, Role::kOps, "alice"},
                                                           {kAgent, Role::kAgent, "bob"},
                                                           {kAuditor, Role::kAuditor, "carol"}},
                                       nullptr);
    pool_ = std::make_unique<WorkPool>(2);
    RegisterDashboardRoutes(*server_, sources_, *feed_, *pool_, ws);
    ASSERT_OK(server_->Start());
    port_ = server_->port();
  }

  void TearDown() override {
    if (server_) server_->Stop();
    feed_.reset();
    pool_.reset();
    server_.reset();
    runner_.reset();
  }

  // Appends `n` events to lead-`id`, each made by `f`, as one unit, and waits for the runner.
  void Append(const std::string& stream, int n,
              const std::function<void(es::schema::Event::Builder, int)>& f) {
    std::vector<es::NewEvent> events;
    for (int i = 0; i < n; ++i) {
      es::NewEvent e;
      f(e.builder(), i);
      events.push_back(std::move(e));
    }
    auto r = log_->Append(stream, es::ExpectedVersion::Any(), std::move(events));
    ASSERT_OK(r);
    ASSERT_OK(runner_->WaitFor(r->last_seq, 10s));
  }
  void Import(const std::string& id) {
    Append("lead-" + id, 1, [&](es::schema::Event::Builder b, int) {
      b.getPayload().initLeadImported().setLeadId(id);
    });
  }
  void Reply(const std::string& lead, const std::string& cls, bool gold, int n = 1,
             size_t pad = 0) {
    Append(lead.empty() ? "inbound-orphans" : "lead-" + lead, n,
           [&](es::schema::Event::Builder b, int i) {
             auto r = b.getPayload().initReplyReceived();
             r.setLeadId(lead);
             r.setClassification(cls);
             r.setGoldLabel(gold);
             r.setProviderMessageId("m" + std::to_string(i) + std::string(pad, 'x'));
           });
  }

  json GetOverview(const std::string& key, int* status) {
    const std::string res =
        nextier::testing::HttpCall(port_, "GET", "/api/dashboard/overview", key);
    *status = nextier::testing::StatusOf(res);
    return json::parse(nextier::testing::BodyOf(res), nullptr, false);
  }

  nextier::testing::TempDir dir_;
  std::unique_ptr<es::EventStore> log_;
  std::unique_ptr<projections::ReadModelStore> models_;
  std::unique_ptr<projections::DashboardProjection> dashboard_;
  std::unique_ptr<projections::ProjectionRunner> runner_;
  DashboardSources sources_;
  std::unique_ptr<Server> server_;
  std::unique_ptr<WorkPool> pool_;
  std::unique_ptr<DashboardFeed> feed_;
  uint16_t port_ = 0;
};

void ExpectOverviewShape(const json& o) {
  ASSERT_TRUE(o.is_object()) << o;
  for (const char* k : {"raw", "enriched", "queued", "sent", "delivered", "responded", "gold",
                        "called", "booked", "optedOut", "rejected"}) {
    EXPECT_TRUE(o["funnel"][k].is_number_unsigned()) << k << " in " << o;
  }
  for (const char* k : {"response", "gold", "booking", "netPositive"}) {
    EXPECT_TRUE(o["rates"][k].is_number()) << k;
  }
  ASSERT_TRUE(o["campaigns"].is_array());
  for (const char* k : {"smsSent", "smsCap", "skipTraced", "skipTraceLimit"}) {
    EXPECT_TRUE(o["today"][k].is_number()) << k;
  }
  EXPECT_TRUE(o["asOf"].is_string());
}

TEST_F(DashboardWsTest, OverviewHasTheShapeOfApiMdForOpsAndAgents) {
  StartServer();
  int status = 0;
  json o = GetOverview(kOps, &status);
  EXPECT_EQ(status, 200);
  ExpectOverviewShape(o);
  EXPECT_EQ(o["campaigns"][0]["id"], "c1");
  EXPECT_EQ(o["today"]["smsSent"], 12);
  EXPECT_EQ(o["rates"]["response"], 0.0);  // none texted: 0, not NaN
  GetOverview(kAgent, &status);
  EXPECT_EQ(status, 200);
  GetOverview(kAuditor, &status);
  EXPECT_EQ(status, 403);
  GetOverview("", &status);
  EXPECT_EQ(status, 401);
}

TEST_F(DashboardWsTest, OverviewCountsAndRatesFollowTheLog) {
  StartServer();
  for (const char* id : {"a", "b", "c", "d"}) Import(id);
  for (const char* id : {"a", "b", "c", "d"}) {
    Append(std::string("lead-") + id, 1, [](es::schema::Event::Builder b, int) {
      b.getPayload().initSmsSent().setKind("opener");
    });
  }
  Reply("a", "EMAIL", true);
  Reply("b", "NEGATIVE", false);
  Append("lead-a", 1,
         [](es::schema::Event::Builder b, int) { b.getPayload().initLeadGoldLabeled(); });
  int status = 0;
  json o = GetOverview(kOps, &status);
  ASSERT_EQ(status, 200);
  EXPECT_EQ(o["funnel"]["raw"], 4);
  EXPECT_EQ(o["funnel"]["sent"], 4);
  EXPECT_EQ(o["funnel"]["responded"], 2);
  EXPECT_EQ(o["funnel"]["gold"], 1);
  EXPECT_DOUBLE_EQ(o["rates"]["response"].get<double>(), 0.5);
  EXPECT_DOUBLE_EQ(o["rates"]["gold"].get<double>(), 0.25);
  EXPECT_DOUBLE_EQ(o["rates"]["netPositive"].get<double>(), 0.25);
  EXPECT_DOUBLE_EQ(o["rates"]["booking"].get<double>(), 0.0);
}

TEST_F(DashboardWsTest, UpgradesWithQueryKeyOrHeaderAndSendsTheOverviewFirst) {
  StartServer();
  WsClient a = Open(port_, std::string("/ws/dashboard?key=") + kAgent);
  ASSERT_EQ(a.status, 101) << a.header;
  EXPECT_NE(a.header.find("s3pPLMBiTxaQ9kYGzzhZRbK+xOo="), std::string::npos) << a.header;
  json m = ReadJson(a);
  EXPECT_EQ(m["type"], "overview");
  ExpectOverviewShape(m["data"]);

  WsClient b = Open(port_, "/ws/dashboard", std::string("Authorization: Bearer ") + kOps + "\r\n");
  ASSERT_EQ(b.status, 101) << b.header;
  m = ReadJson(b);
  EXPECT_EQ(m["type"], "overview");
  EXPECT_EQ(m["data"]["campaigns"][0]["name"], "Spring");
}

TEST_F(DashboardWsTest, RefusesBeforeTheUpgradeWithoutKeyWithWrongRoleOrWithoutUpgrade) {
  StartServer();
  WsClient none = Open(port_, "/ws/dashboard");
  EXPECT_EQ(none.status, 401) << none.header;
  WsClient bad = Open(port_, "/ws/dashboard?key=not-a-key-at-all");
  EXPECT_EQ(bad.status, 401) << bad.header;
  WsClient auditor = Open(port_, std::string("/ws/dashboard?key=") + kAuditor);
  EXPECT_EQ(auditor.status, 403) << auditor.header;
  const std::string plain = nextier::testing::HttpCall(port_, "GET", "/ws/dashboard", kOps);
  EXPECT_EQ(nextier::testing::StatusOf(plain), 426) << plain;
}

TEST_F(DashboardWsTest, ABadHandshakeIsRefusedInTheApiErrorShape) {
  StartServer();
  auto upgrade = [&](const std::string& key_line, const std::string& version) {
    return nextier::testing::RawRequest(
        port_, std::string("GET /ws/dashboard?key=") + kOps +
                   " HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
                   key_line + "Sec-WebSocket-Version: " + version + "\r\n\r\n");
  };
  for (const std::string key_line :
       {"", "Sec-WebSocket-Key: abc\r\n", "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ=!\r\n"}) {
    const std::string r = upgrade(key_line, "13");
    EXPECT_EQ(nextier::testing::StatusOf(r), 400) << r;
    EXPECT_NE(r.find("\"code\":\"malformed_request\""), std::string::npos) << r;
    EXPECT_NE(r.find("\"field\":\"Sec-WebSocket-Key\""), std::string::npos) << r;
  }
  const std::string old = upgrade("Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n", "8");
  EXPECT_EQ(nextier::testing::StatusOf(old), 426) << old;
  EXPECT_NE(old.find("Sec-WebSocket-Version: 13"), std::string::npos) << old;
  EXPECT_NE(old.find("\"code\":\"upgrade_required\""), std::string::npos) << old;
}

TEST_F(DashboardWsTest, ChangesProduceAtMostOneOverviewPerSecond) {
  StartServer();
  WsClient c = Open(port_, std::string("/ws/dashboard?key=") + kOps);
  ASSERT_EQ(c.status, 101);
  ASSERT_EQ(ReadJson(c)["type"], "overview");
  // Change something every 50 ms for 2.6 s.
  std::atomic<bool> done{false};
  std::thread writer([&] {
    for (int i = 0; i < 52; ++i) {
      Import("w" + std::to_string(i));
      std::this_thread::sleep_for(50ms);
    }
    done = true;
  });
  std::vector<SteadyClock::time_point> at;
  json last;
  const auto until = SteadyClock::now() + 4s;
  while (SteadyClock::now() < until) {
    std::string text;
    const int op = ReadMessage(c, &text, 300ms);
    if (op == -1) continue;
    json m = json::parse(text, nullptr, false);
    if (m["type"] == "overview") {
      at.push_back(SteadyClock::now());
      last = m;
    }
  }
  writer.join();
  ASSERT_GE(at.size(), 2u);
  EXPECT_LE(at.size(), 5u);
  for (size_t i = 1; i < at.size(); ++i) {
    EXPECT_GE(at[i] - at[i - 1], 900ms) << "overviews " << i - 1 << " and " << i;
  }
  // The last one saw every change (it came after the writer's last append settled).
  EXPECT_EQ(last["data"]["funnel"]["raw"], 52);
}

TEST_F(DashboardWsTest, SendsAResponseMessagePerReply) {
  StartServer();
  WsClient c = Open(port_, std::string("/ws/dashboard?key=") + kOps);
  ASSERT_EQ(c.status, 101);
  ASSERT_EQ(ReadJson(c)["type"], "overview");
  Import("a");
  Reply("a", "EMAIL", true);
  Reply("a", "POSITIVE", false);
  Reply("", "OTHER", false);
  std::vector<json> responses;
  const auto until = SteadyClock::now() + 5s;
  while (responses.size() < 3 && SteadyClock::now() < until) {
    json m = ReadJson(c, 1s);
    if (m.is_object() && m["type"] == "response") responses.push_back(m["data"]);
  }
  ASSERT_EQ(responses.size(), 3u);
  EXPECT_EQ(responses[0]["leadId"], "a");
  EXPECT_EQ(responses[0]["classification"], "EMAIL");
  EXPECT_EQ(responses[0]["goldLabel"], true);
  EXPECT_EQ(responses[1]["classification"], "POSITIVE");
  EXPECT_EQ(responses[1]["goldLabel"], false);
  EXPECT_TRUE(responses[2]["leadId"].is_null());
  EXPECT_EQ(responses[2]["classification"], "OTHER");
}

TEST_F(DashboardWsTest, SlowClientIsDroppedWhileAFastOneKeepsReceiving) {
  WebSocketOptions ws;
  ws.max_queued_messages = 2048;
  ws.max_queued_bytes = size_t{2} << 20;
  StartServer(ws);
  WsClient fast = Open(port_, std::string("/ws/dashboard?key=") + kOps);
  WsClient slow = Open(port_, std::string("/ws/dashboard?key=") + kOps, {}, 4096);
  ASSERT_EQ(fast.status, 101);
  ASSERT_EQ(slow.status, 101);
  ASSERT_EQ(ReadJson(fast)["type"], "overview");
  // `slow` never reads again.
  std::atomic<int> received{0};
  std::atomic<bool> stop{false};
  std::thread reader([&] {
    std::string text;
    while (!stop) {
      const int op = ReadMessage(fast, &text, 200ms);
      if (op == 1 && text.find("\"type\":\"response\"") != std::string::npos) ++received;
      if (op == 8) break;
    }
  });
  int sent = 0;
  const auto until = SteadyClock::now() + 60s;
  while (feed_->clients() == 2 && SteadyClock::now() < until) {
    Reply("", "OTHER", false, 500, 1000);  // 500 replies of about 1 KB at once
    sent += 500;
    std::this_thread::sleep_for(20ms);
  }
  EXPECT_EQ(feed_->clients(), 1u) << "the slow client was never dropped after " << sent;
  // The fast one keeps receiving everything, during and after the drop.
  Reply("", "OTHER", false, 100, 1000);
  sent += 100;
  const auto wait_until = SteadyClock::now() + 20s;
  while (received < sent && SteadyClock::now() < wait_until) std::this_thread::sleep_for(20ms);
  stop = true;
  reader.join();
  EXPECT_EQ(received.load(), sent);
  // The slow client's connection was closed by the server: after its buffered bytes, EOF.
  std::string text;
  int op = 1;
  const auto drain_until = SteadyClock::now() + 20s;
  while (op == 1 && SteadyClock::now() < drain_until) op = ReadMessage(slow, &text, 5s);
  EXPECT_NE(op, 1);
}

TEST_F(DashboardWsTest, AThousandClientsAtOnceEachGetTheFirstMessage) {
  StartServer(DefaultDashboardSocketOptions(), 4);
  constexpr int kClients = 1000;
  std::vector<WsClient> clients(kClients);
  for (auto& c : clients) {
    c.fd = ConnectTo(port_);
    ASSERT_GE(c.fd, 0);
    SendUpgrade(c, std::string("/ws/dashboard?key=") + kAgent);
  }
  int upgraded = 0, greeted = 0;
  for (auto& c : clients) {
    if (!ReadUpgradeResponse(c) || c.status != 101) continue;
    ++upgraded;
    json m = ReadJson(c);
    if (m.is_object() && m["type"] == "overview") ++greeted;
  }
  EXPECT_EQ(upgraded, kClients);
  EXPECT_EQ(greeted, kClients);
  EXPECT_EQ(feed_->clients(), static_cast<size_t>(kClients));
  // And a change reaches every one of them.
  Reply("", "POSITIVE", false);
  int got = 0;
  for (auto& c : clients) {
    for (int i = 0; i < 3; ++i) {
      json m = ReadJson(c, 5s);
      if (m.is_object() && m["type"] == "response") {
        ++got;
        break;
      }
    }
  }
  EXPECT_EQ(got, kClients);
}

TEST_F(DashboardWsTest, StopClosesTheWebSockets) {
  StartServer();
  WsClient c = Open(port_, std::string("/ws/dashboard?key=") + kOps);
  ASSERT_EQ(c.status, 101);
  ASSERT_EQ(ReadJson(c)["type"], "overview");
  std::thread stopper([&] { server_->Stop(); });
  std::string text;
  const int op = ReadMessage(c, &text, 5s);
  EXPECT_EQ(op, 8);  // a close frame
  SendFrame(c, 8, std::string("\x03\xe8", 2));
  stopper.join();
  EXPECT_EQ(server_->open_connections(), 0u);
}

}  // namespace
}  // namespace nextier::adapters
