// Two tables against a real `nextier serve --provider sandbox --sim-clock` (issue 8):
//
// 1. Every route the server registers × every role: no key is 401, a key of a role the route
//    does not allow is 403, an allowed role (and admin, always) gets past both; public routes
//    need no key; webhooks take a signature, never a key. A key with the right prefix but the
//    wrong rest is 401, and no key ever appears in an answer. The table is checked against the
//    routes the server itself reports in /metrics, so a new route cannot be left out.
// 2. More than 100 malformed requests across all endpoints and at the protocol level, each with
//    its exact status and error code; the server keeps serving, and the log holds not one
//    event more afterwards (GET /api/audit/verify counts them).
#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "nextier/adapters/api_webhooks.h"
#include "testing/http_client.h"
#include "testing/serve_process.h"
#include "testing/testing.h"

namespace nextier {
namespace {

using nextier::testing::BodyOf;
using nextier::testing::HttpCall;
using nextier::testing::RawRequest;
using nextier::testing::StatusOf;
using nlohmann::json;
using namespace std::string_literals;

constexpr char kOps[] = "ops-key-0001";
constexpr char kAgent[] = "agent-key-0001";
constexpr char kAuditor[] = "audit-key-0001";
constexpr char kAdmin[] = "admin-key-0001";
constexpr char kSecret[] = "endpoint-table-webhook-secret";
// Keys that look right but are not (one character changed, one added, one cut off).
const std::vector<std::string> kWrongKeys = {"admin-key-0002", "ops-key-00011", "agent-key-000"};

// Every string that must never come back in an answer.
std::vector<std::string> Secrets() {
  std::vector<std::string> s = {kOps, kAgent, kAuditor, kAdmin, kSecret};
  s.insert(s.end(), kWrongKeys.begin(), kWrongKeys.end());
  return s;
}

class ServeProcess : public nextier::testing::ServeProcess {
 public:
  explicit ServeProcess(const std::string& args)
      : nextier::testing::ServeProcess(NEXTIER_BINARY, args) {}
};

// The webhook secret reaches the child through the environment it inherits.
class ServeWithSecret {
 public:
  explicit ServeWithSecret(const nextier::testing::TempDir& dir)
      : env_(SetSecret()),
        process_("--data " + dir.str() + " --provider sandbox --sim-clock 2026-11-28T15:00:00Z") {
    unsetenv("NEXTIER_WEBHOOK_SECRET");
  }
  ServeProcess& process() { return process_; }
  uint16_t port() const { return process_.port(); }

 private:
  static bool SetSecret() { return setenv("NEXTIER_WEBHOOK_SECRET", kSecret, 1) == 0; }
  [[maybe_unused]] bool env_;
  ServeProcess process_;
};

int64_t NowMillis() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Header lines signing `body` for the webhook (an empty `secret` leaves the signature out).
std::string SignedHeaders(const std::string& body, const std::string& secret = kSecret,
                          int64_t ts = NowMillis(), const std::string& delivery = "d-table-1") {
  const std::string stamp = std::to_string(ts);
  std::string h = "X-SignalHouse-Timestamp: " + stamp + "\r\n";
  if (!secret.empty()) {
    h += "X-SignalHouse-Signature: " + adapters::WebhookSignature(secret, stamp, body) + "\r\n";
  }
  if (!delivery.empty()) h += "X-SignalHouse-Delivery-Id: " + delivery + "\r\n";
  return h;
}

// One request: method, target, key, body, and whatever else it needs.
struct Request {
  std::string method;
  std::string target;
  std::string key;
  std::string body;
  std::string content_type = "application/json";
  std::string headers;  // extra header lines, each ending in \r\n
  // When set, the header declares this many body bytes but only the header is sent.
  std::optional<size_t> declared_length;
  std::string raw;  // when set, sent as is instead of all of the above

  std::string Wire() const {
    if (!raw.empty()) return raw;
    std::string r = method + " " + target + " HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n";
    if (!key.empty()) r += "Authorization: Bearer " + key + "\r\n";
    if (declared_length) {
      r += "Content-Length: " + std::to_string(*declared_length) + "\r\n";
    } else if (!body.empty() || method == "POST" || method == "PUT" || method == "DELETE") {
      if (!content_type.empty()) r += "Content-Type: " + content_type + "\r\n";
      r += "Content-Length: " + std::to_string(body.size()) + "\r\n";
    }
    r += headers + "\r\n";
    if (!declared_length) r += body;
    return r;
  }
  std::string Describe() const {
    if (!raw.empty())
      return "raw " + json(raw.substr(0, 80)).dump(-1, ' ', true, json::error_handler_t::replace);
    return method + " " + target.substr(0, 100) + (key.empty() ? "" : " [" + key + "]");
  }
};

Request Req(std::string method, std::string target, std::string key, std::string body,
            std::string content_type = "application/json", std::string headers = {}) {
  Request r;
  r.method = std::move(method);
  r.target = std::move(target);
  r.key = std::move(key);
  r.body = std::move(body);
  r.content_type = std::move(content_type);
  r.headers = std::move(headers);
  return r;
}

// An answer that follows API.md's error shape: {"error": {"code", "message", "field"?}}, with
// `code` when given.
::testing::AssertionResult IsError(const std::string& response, const std::string& code = {}) {
  const json body = json::parse(BodyOf(response), nullptr, false);
  if (!body.is_object() || !body.contains("error") || !body["error"].is_object()) {
    return ::testing::AssertionFailure() << "not the error shape: " << response;
  }
  const json& e = body["error"];
  if (!e.contains("code") || !e["code"].is_string() || !e.contains("message") ||
      !e["message"].is_string() || e["message"].get<std::string>().empty()) {
    return ::testing::AssertionFailure() << "error lacks code or message: " << response;
  }
  if (e.contains("field") && !e["field"].is_string()) {
    return ::testing::AssertionFailure() << "error.field is not a string: " << response;
  }
  if (!std::regex_match(e["code"].get<std::string>(), std::regex("[a-z][a-z0-9_]*"))) {
    return ::testing::AssertionFailure() << "error.code is not snake_case: " << response;
  }
  if (!code.empty() && e["code"] != code) {
    return ::testing::AssertionFailure()
           << "error.code is " << e["code"] << ", not " << code << ": " << response;
  }
  return ::testing::AssertionSuccess();
}

::testing::AssertionResult EchoesNoSecret(const std::string& response) {
  for (const auto& s : Secrets()) {
    if (response.find(s) != std::string::npos) {
      return ::testing::AssertionFailure() << "the answer echoes '" << s << "': " << response;
    }
  }
  return ::testing::AssertionSuccess();
}

// The number of events in the log, as the auditor's verify counts them.
int64_t LoggedEvents(uint16_t port) {
  const std::string res = HttpCall(port, "GET", "/api/audit/verify", kAuditor);
  const json j = json::parse(BodyOf(res), nullptr, false);
  EXPECT_EQ(StatusOf(res), 200) << res;
  EXPECT_TRUE(j.is_object() && j.value("ok", false)) << res;
  return j.is_object() && j.contains("events") ? j["events"].get<int64_t>() : -1;
}

bool Healthy(uint16_t port) { return StatusOf(HttpCall(port, "GET", "/healthz")) == 200; }

// The routes the server reports in /metrics ("METHOD /pattern"), but for its "unmatched" bin.
std::set<std::string> RoutesInMetrics(uint16_t port) {
  const std::string res = HttpCall(port, "GET", "/metrics");
  EXPECT_EQ(StatusOf(res), 200);
  std::set<std::string> routes;
  const std::string body = BodyOf(res);
  const std::regex re("nextier_http_requests_total\\{route=\"([^\"]+)\",");
  for (auto it = std::sregex_iterator(body.begin(), body.end(), re); it != std::sregex_iterator();
       ++it) {
    if ((*it)[1] != "* unmatched") routes.insert((*it)[1]);
  }
  return routes;
}

// --- 1. every endpoint × auth -------------------------------------------------------------

enum class Access { kKeyed, kPublic, kSigned };

struct Endpoint {
  std::string method;
  std::string pattern;          // as registered (and reported in /metrics)
  std::string target;           // a harmless concrete request to it
  std::set<std::string> roles;  // roles allowed besides admin (kKeyed only)
  Access access = Access::kKeyed;
  std::string body;          // for the allowed call
  int allowed_status = 200;  // what an allowed caller gets with that harmless request
  std::string content_type = "application/json";
};

const std::set<std::string> kOpsOnly = {"ops"};
const std::set<std::string> kOpsAgent = {"ops", "agent"};
const std::set<std::string> kReaders = {"ops", "agent", "auditor"};
const std::set<std::string> kAuditorOnly = {"auditor"};
const std::set<std::string> kAdminOnly = {};

// Every route of app/serve.cc and the Register* functions it calls, with the roles API.md
// gives each. The allowed calls store nothing: unknown ids (404), bodies rejected before any
// work (400), or reads.
std::vector<Endpoint> EndpointTable() {
  return {
      // app/serve.cc
      {"GET", "/healthz", "/healthz", {}, Access::kPublic, "", 200},
      {"GET", "/metrics", "/metrics", {}, Access::kPublic, "", 200},
      {"POST", "/api/test/clock/advance", "/api/test/clock/advance", kAdminOnly, Access::kKeyed,
       R"({"seconds": -1})", 400},
      // api_workflows.cc
      {"GET", "/api/workflows", "/api/workflows", kOpsAgent, Access::kKeyed, "", 200},
      {"GET", "/api/workflows/{id}", "/api/workflows/no-such-workflow", kOpsAgent, Access::kKeyed,
       "", 404},
      {"PUT", "/api/workflows/{id}", "/api/workflows/no-such-workflow", kOpsOnly, Access::kKeyed,
       "{not json", 400},
      // api_data_hub.cc
      {"POST", "/api/data-hub/upload", "/api/data-hub/upload?source=nonsense", kOpsOnly,
       Access::kKeyed, "a,b\n1,2\n", 400, "text/csv"},
      {"GET", "/api/data-hub/files", "/api/data-hub/files", kOpsOnly, Access::kKeyed, "", 200},
      {"GET", "/api/data-hub/files/{id}", "/api/data-hub/files/no-such-file", kOpsOnly,
       Access::kKeyed, "", 404},
      {"GET", "/api/leads", "/api/leads", kOpsAgent, Access::kKeyed, "", 200},
      {"GET", "/api/leads/enriched", "/api/leads/enriched", kOpsAgent, Access::kKeyed, "", 200},
      {"GET", "/api/leads/{id}", "/api/leads/no-such-lead", kOpsAgent, Access::kKeyed, "", 404},
      // api_forget.cc
      {"POST", "/api/leads/{id}/forget", "/api/leads/no-such-lead/forget", kAdminOnly,
       Access::kKeyed, "", 404},
      // api_skip_trace.cc
      {"POST", "/api/skip-trace/start", "/api/skip-trace/start", kOpsOnly, Access::kKeyed,
       "{not json", 400},
      {"GET", "/api/skip-trace/status/{job_id}", "/api/skip-trace/status/no-such-job", kOpsOnly,
       Access::kKeyed, "", 404},
      // api_campaigns.cc
      {"POST", "/api/campaigns/create", "/api/campaigns/create", kOpsOnly, Access::kKeyed,
       "{not json", 400},
      {"GET", "/api/campaigns", "/api/campaigns", kOpsOnly, Access::kKeyed, "", 200},
      {"GET", "/api/campaigns/{id}", "/api/campaigns/no-such-campaign", kOpsOnly, Access::kKeyed,
       "", 404},
      {"POST", "/api/campaigns/{id}/migrate", "/api/campaigns/no-such-campaign/migrate", kOpsOnly,
       Access::kKeyed, R"({"version": "1"})", 404},
      {"POST", "/api/campaigns/{id}/start", "/api/campaigns/no-such-campaign/start", kOpsOnly,
       Access::kKeyed, "", 404},
      {"POST", "/api/campaigns/{id}/pause", "/api/campaigns/no-such-campaign/pause", kOpsOnly,
       Access::kKeyed, "", 404},
      {"POST", "/api/campaigns/{id}/resume", "/api/campaigns/no-such-campaign/resume", kOpsOnly,
       Access::kKeyed, "", 404},
      // api_sandbox.cc (sandbox only)
      {"GET", "/api/sandbox/outbox", "/api/sandbox/outbox", kReaders, Access::kKeyed, "", 200},
      {"GET", "/api/sandbox/outage", "/api/sandbox/outage", kAdminOnly, Access::kKeyed, "", 200},
      {"DELETE", "/api/sandbox/outage", "/api/sandbox/outage", kAdminOnly, Access::kKeyed, "", 200},
      {"POST", "/api/sandbox/outage", "/api/sandbox/outage", kAdminOnly, Access::kKeyed, "{}", 400},
      // api_webhooks.cc
      {"POST",
       "/api/webhooks/sms-response",
       "/api/webhooks/sms-response",
       {},
       Access::kSigned,
       R"({"event": "NOT_AN_EVENT"})",
       400},
      {"POST",
       "/api/webhooks/signalhouse",
       "/api/webhooks/signalhouse",
       {},
       Access::kSigned,
       R"({"event": "NOT_AN_EVENT"})",
       400},
      {"GET", "/api/responses", "/api/responses", kOpsAgent, Access::kKeyed, "", 200},
      {"GET", "/api/responses/gold-labels", "/api/responses/gold-labels", kOpsAgent, Access::kKeyed,
       "", 200},
      // api_audit.cc
      {"GET", "/api/leads/{id}/history", "/api/leads/no-such-lead/history", kReaders,
       Access::kKeyed, "", 404},
      {"GET", "/api/audit/verify", "/api/audit/verify", kAuditorOnly, Access::kKeyed, "", 200},
      {"GET", "/api/audit/export", "/api/audit/export?limit=1", kAuditorOnly, Access::kKeyed, "",
       200},
      // api_calls_meetings.cc
      {"GET", "/api/call-queue", "/api/call-queue", kOpsAgent, Access::kKeyed, "", 200},
      {"PUT", "/api/call-queue/{id}/assign", "/api/call-queue/call-nobody-1/assign", kOpsAgent,
       Access::kKeyed, "{}", 404},
      {"PUT", "/api/call-queue/{id}/complete", "/api/call-queue/call-nobody-1/complete", kOpsAgent,
       Access::kKeyed, R"({"disposition": "no_answer"})", 404},
      {"POST", "/api/meetings/book", "/api/meetings/book", kOpsAgent, Access::kKeyed, "{not json",
       400},
      {"POST", "/api/meetings/{id}/cancel", "/api/meetings/mtg-nobody-1/cancel", kOpsAgent,
       Access::kKeyed, "", 404},
      {"POST", "/api/meetings/{id}/reschedule", "/api/meetings/mtg-nobody-1/reschedule", kOpsAgent,
       Access::kKeyed, R"({"startsAt": "2027-01-05T15:00:00Z"})", 404},
      {"POST", "/api/meetings/{id}/outcome", "/api/meetings/mtg-nobody-1/outcome", kOpsAgent,
       Access::kKeyed, R"({"status": "completed"})", 404},
      {"GET", "/api/meetings", "/api/meetings", kOpsAgent, Access::kKeyed, "", 200},
      // api_dashboard.cc; a plain GET on the WebSocket route is 426 once the key passes.
      {"GET", "/api/dashboard/overview", "/api/dashboard/overview", kOpsAgent, Access::kKeyed, "",
       200},
      {"GET", "/ws/dashboard", "/ws/dashboard", kOpsAgent, Access::kKeyed, "", 426},
      // static_files.cc
      {"GET", "/", "/", {}, Access::kPublic, "", 200},
      {"GET", "/ui/{file}", "/ui/no-such-file.js", {}, Access::kPublic, "", 404},
  };
}

std::string Call(uint16_t port, const Endpoint& e, const std::string& key,
                 const std::string& extra_headers = {}) {
  return RawRequest(port,
                    Req(e.method, e.target, key, e.body, e.content_type, extra_headers).Wire());
}

TEST(EndpointTableTest, EveryRouteAnswersEachRoleAsApiMdSays) {
  nextier::testing::TempDir dir;
  ServeWithSecret serve(dir);
  const uint16_t port = serve.port();
  ASSERT_NE(port, 0) << serve.process().output();
  const auto table = EndpointTable();
  RecordProperty("routes", static_cast<int>(table.size()));
  const int64_t events_before = LoggedEvents(port);

  // The guard: the table and the server agree on the set of routes, both ways.
  std::set<std::string> in_table;
  for (const auto& e : table) {
    EXPECT_TRUE(in_table.insert(e.method + " " + e.pattern).second)
        << "listed twice: " << e.method << " " << e.pattern;
  }
  const std::set<std::string> served = RoutesInMetrics(port);
  ASSERT_GT(served.size(), 10u) << "no route labels in /metrics";
  for (const auto& r : served) {
    EXPECT_TRUE(in_table.count(r)) << "the server has a route this table lacks: " << r
                                   << " (add it to EndpointTable with its roles)";
  }
  for (const auto& r : in_table) {
    EXPECT_TRUE(served.count(r)) << "the table lists a route the server does not have: " << r;
  }

  const std::map<std::string, std::string> role_keys = {
      {"ops", kOps}, {"agent", kAgent}, {"auditor", kAuditor}};
  for (const auto& e : table) {
    SCOPED_TRACE(e.method + " " + e.target);
    std::vector<std::string> answers;
    auto call = [&](const std::string& key, const std::string& headers = {}) {
      answers.push_back(Call(port, e, key, headers));
      return answers.back();
    };
    switch (e.access) {
      case Access::kPublic: {
        // No key needed, and a key changes nothing (not even a wrong one).
        const std::string none = call("");
        EXPECT_EQ(StatusOf(none), e.allowed_status) << none;
        EXPECT_EQ(StatusOf(call(kWrongKeys[0])), e.allowed_status);
        EXPECT_EQ(StatusOf(call(kAuditor)), e.allowed_status);
        break;
      }
      case Access::kSigned: {
        // No signature: 401, whatever key comes with it; a valid signature gets to the handler.
        for (const std::string key : {"", kAdmin, kOps}) {
          const std::string res = call(key);
          EXPECT_EQ(StatusOf(res), 401) << res;
          EXPECT_TRUE(IsError(res, "missing_signature"));
        }
        const std::string wrong = call(kAdmin, SignedHeaders(e.body, "not-the-secret"));
        EXPECT_EQ(StatusOf(wrong), 401) << wrong;
        EXPECT_TRUE(IsError(wrong, "invalid_signature"));
        const std::string ok = call("", SignedHeaders(e.body));
        EXPECT_EQ(StatusOf(ok), e.allowed_status) << ok;
        break;
      }
      case Access::kKeyed: {
        const std::string none = call("");
        EXPECT_EQ(StatusOf(none), 401) << none;
        EXPECT_TRUE(IsError(none, "unauthorized"));
        for (const auto& wrong_key : kWrongKeys) {
          const std::string wrong = call(wrong_key);
          EXPECT_EQ(StatusOf(wrong), 401) << wrong_key << ": " << wrong;
          EXPECT_TRUE(IsError(wrong, "unauthorized"));
        }
        for (const auto& [role, key] : role_keys) {
          const std::string res = call(key);
          if (e.roles.count(role)) {
            EXPECT_EQ(StatusOf(res), e.allowed_status) << role << ": " << res;
          } else {
            EXPECT_EQ(StatusOf(res), 403) << role << ": " << res;
            EXPECT_TRUE(IsError(res, "forbidden")) << role;
          }
        }
        const std::string admin = call(kAdmin);
        EXPECT_EQ(StatusOf(admin), e.allowed_status) << "admin: " << admin;
        break;
      }
    }
    for (const auto& a : answers) {
      EXPECT_NE(StatusOf(a), 0) << "no answer";
      EXPECT_TRUE(EchoesNoSecret(a));
      if (StatusOf(a) >= 400) {
        EXPECT_TRUE(IsError(a));
      }
    }
  }

  // Not one of those calls stored anything, and no secret reached the metrics.
  EXPECT_EQ(LoggedEvents(port), events_before);
  EXPECT_TRUE(EchoesNoSecret(HttpCall(port, "GET", "/metrics")));
  // ... nor the server's own output (its log).
  EXPECT_EQ(serve.process().Terminate(), 0);
  EXPECT_TRUE(EchoesNoSecret(serve.process().output()));
}

// --- 2. malformed requests ----------------------------------------------------------------

struct Malformed {
  Request request;
  int status;
  std::string code;
};

// Shorthands for the table.
Malformed M(std::string method, std::string target, std::string key, std::string body, int status,
            std::string code) {
  return {Req(std::move(method), std::move(target), std::move(key), std::move(body)), status,
          std::move(code)};
}
Malformed Typed(Malformed m, std::string content_type) {
  m.request.content_type = std::move(content_type);
  return m;
}
Malformed WithHeaders(Malformed m, std::string headers) {
  m.request.headers = std::move(headers);
  return m;
}
// Declares `length` bytes of body but sends only the header: the server must refuse on the
// Content-Length alone (and nothing is left unread to reset the connection).
Malformed Declared(Malformed m, size_t length) {
  m.request.declared_length = length;
  return m;
}
Malformed Raw(std::string raw, int status, std::string code) {
  Request r;
  r.raw = std::move(raw);
  return {std::move(r), status, std::move(code)};
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string Chunked(const std::string& head_and_target, const std::string& key,
                    const std::string& chunks) {
  return "POST " + head_and_target + " HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n" +
         "Authorization: Bearer " + key + "\r\nTransfer-Encoding: chunked\r\n\r\n" + chunks;
}

std::vector<Malformed> MalformedTable() {
  const std::string workflow =
      ReadFile(std::string(NEXTIER_SOURCE_DIR) + "/workflows/business-owners.json");
  const std::string long_id(600, 'x');
  const std::string huge_number = "99999999999999999999999";
  const std::string h = "X-SignalHouse-";
  std::vector<Malformed> t = {
      // --- keys ---
      WithHeaders(M("GET", "/api/leads", "", "", 401, "unauthorized"),
                  "Authorization: Basic b3BzOm9wcw==\r\n"),
      WithHeaders(M("GET", "/api/leads", "", "", 401, "unauthorized"),
                  "Authorization: Bearer \r\n"),
      WithHeaders(M("GET", "/api/leads", "", "", 401, "unauthorized"),
                  "Authorization: ops-key-0001\r\n"),
      M("GET", "/api/leads?key=ops-key-0002", "", "", 401, "unauthorized"),
      // A valid key in the query counts only on the WebSocket route.
      M("GET", std::string("/api/leads?key=") + kOps, "", "", 401, "unauthorized"),

      // --- routing: unknown paths, odd characters, methods ---
      M("GET", "/api/nothing-here", kOps, "", 404, "not_found"),
      M("GET", "/%FF%FE", "", "", 404, "not_found"),  // not UTF-8: once ended the process
      M("GET", "/api/leads/a%2Fb", kOps, "", 404, "not_found"),
      M("GET", "/ui/..%2F..%2Fetc%2Fpasswd", "", "", 404, "not_found"),
      M("GET", "/ui/%2E%2E", "", "", 404, "not_found"),
      M("GET", "/ui/.hidden", "", "", 404, "not_found"),
      M("DELETE", "/api/workflows/business-owners", kAdmin, "", 405, "method_not_allowed"),
      M("POST", "/api/leads", kAdmin, "{}", 405, "method_not_allowed"),
      M("GET", "/api/leads/x/forget", kAdmin, "", 405, "method_not_allowed"),
      M("PATCH", "/api/call-queue/x/assign", kAdmin, "{}", 405, "method_not_allowed"),
      M("PUT", "/api/sandbox/outage", kAdmin, "{}", 405, "method_not_allowed"),
      M("GET", "/api/webhooks/sms-response", kAdmin, "", 405, "method_not_allowed"),
      M("POST", "/api/audit/verify", kAdmin, "", 405, "method_not_allowed"),
      M("BREW", "/healthz", "", "", 405, "method_not_allowed"),
      M("OPTIONS", "/api/leads", "", "", 405, "method_not_allowed"),
      M("POST", "/ws/dashboard", kAdmin, "", 405, "method_not_allowed"),
      M("GET", "/ws/dashboard", kOps, "", 426, "upgrade_required"),

      // --- workflows ---
      M("GET", "/api/workflows/nope", kOps, "", 404, "not_found"),
      M("GET", "/api/workflows/business-owners?version=999", kOps, "", 404, "not_found"),
      M("GET", "/api/workflows/%FF", kOps, "", 404, "not_found"),
      M("PUT", "/api/workflows/x", kOps, "{", 400, "invalid_json"),
      M("PUT", "/api/workflows/x", kOps, "", 400, "invalid_json"),
      M("PUT", "/api/workflows/x", kOps, "{} trailing", 400, "invalid_json"),
      M("PUT", "/api/workflows/x", kOps, "{\"id\": \"\xff\"}", 400, "invalid_json"),
      M("PUT", "/api/workflows/x", kOps, "[]", 400, "invalid_workflow"),
      M("PUT", "/api/workflows/x", kOps, R"({"id": 5})", 400, "invalid_workflow"),
      M("PUT", "/api/workflows/other-id", kOps, workflow, 400, "invalid_workflow"),
      M("PUT", "/api/workflows/%FF", kOps, workflow, 400, "invalid_workflow"),  // was a crash
      Declared(M("PUT", "/api/workflows/x", kOps, "", 413, "payload_too_large"),
               (size_t{1} << 20) + 1),
      Typed(M("PUT", "/api/workflows/x", kOps, "id=x&version=2", 400, "invalid_json"),
            "application/x-www-form-urlencoded"),

      // --- data hub ---
      Typed(M("POST", "/api/data-hub/upload?source=nope", kOps, "a,b\n1,2\n", 400,
              "invalid_argument"),
            "text/csv"),
      Typed(M("POST", "/api/data-hub/upload?name=%FF", kOps, "a,b\n1,2\n", 400, "invalid_argument"),
            "text/csv"),  // was stored, then every file list failed
      Typed(M("POST", "/api/data-hub/upload?workflow=nope", kOps, "a,b\n1,2\n", 400,
              "invalid_argument"),
            "text/csv"),
      Typed(M("POST", "/api/data-hub/upload", kOps, "a,b\n1,2\n", 400, "invalid_argument"),
            "multipart/form-data"),
      Typed(M("POST", "/api/data-hub/upload", kOps, "a,b\n1,2\n", 400, "invalid_argument"),
            "multipart/form-data; boundary="),
      Typed(M("POST", "/api/data-hub/upload", kOps, "a,b\n1,2\n", 400, "invalid_argument"),
            "multipart/form-data; boundary=" + std::string(71, 'b')),
      Typed(M("POST", "/api/data-hub/upload", kOps, "a,b\n1,2\n", 400, "invalid_argument"),
            "multipart/mixed; boundary=x"),
      M("GET", "/api/data-hub/files?limit=0", kOps, "", 400, "invalid_argument"),
      M("GET", "/api/data-hub/files?limit=1001", kOps, "", 400, "invalid_argument"),
      M("GET", "/api/data-hub/files?limit=-1", kOps, "", 400, "invalid_argument"),
      M("GET", "/api/data-hub/files?limit=ten", kOps, "", 400, "invalid_argument"),
      M("GET", "/api/data-hub/files?limit=" + huge_number, kOps, "", 400, "invalid_argument"),
      M("GET", "/api/data-hub/files?cursor=not-hex", kOps, "", 400, "invalid_argument"),
      M("GET", "/api/data-hub/files/nope", kOps, "", 404, "not_found"),
      M("GET", "/api/data-hub/files/%FF", kOps, "", 404, "not_found"),  // was a 500
      M("GET", "/api/data-hub/files/" + long_id, kOps, "", 404, "not_found"),

      // --- leads and their history ---
      M("GET", "/api/leads?limit=0", kOps, "", 400, "invalid_argument"),
      M("GET", "/api/leads?limit=5x", kAgent, "", 400, "invalid_argument"),
      M("GET", "/api/leads?cursor=zz", kOps, "", 400, "invalid_argument"),
      M("GET", "/api/leads?status=sent&cursor=00", kOps, "", 400, "invalid_argument"),
      M("GET", "/api/leads?status=bogus", kOps, "", 400, "invalid_argument"),
      M("GET", "/api/leads/enriched?cursor=00", kOps, "", 400, "invalid_argument"),
      M("GET", "/api/leads/nope", kOps, "", 404, "not_found"),
      M("GET", "/api/leads/%FF", kOps, "", 404, "not_found"),  // was a 500
      M("GET", "/api/leads/%00", kOps, "", 404, "not_found"),
      M("GET", "/api/leads/" + long_id, kOps, "", 404, "not_found"),
      M("GET", "/api/leads/nope/history", kAuditor, "", 404, "not_found"),
      M("GET", "/api/leads/NXT-000000/history", kAuditor, "", 404, "not_found"),
      M("GET", "/api/leads/NXT-" + huge_number + "/history", kAuditor, "", 404, "not_found"),
      M("GET", "/api/leads/nope/history?at=yesterday", kAuditor, "", 400, "invalid_argument"),
      M("GET", "/api/leads/nope/history?at=2026-13-01T00:00:00Z", kAuditor, "", 400,
        "invalid_argument"),
      M("GET", "/api/leads/nope/history?at=2026-11-28T25:00:00Z", kAuditor, "", 400,
        "invalid_argument"),
      M("GET", "/api/leads/nope/history?at=2026-11-28", kAuditor, "", 400, "invalid_argument"),
      M("GET", "/api/leads/nope/history?at=2026-11-28T10:00:00", kAuditor, "", 400,
        "invalid_argument"),
      M("POST", "/api/leads/nope/forget", kAdmin, "", 404, "not_found"),
      M("POST", "/api/leads/NXT-000000/forget", kAdmin, "", 404, "not_found"),
      M("POST", "/api/leads/%FF/forget", kAdmin, "", 404, "not_found"),

      // --- skip trace ---
      M("POST", "/api/skip-trace/start", kOps, "{", 400, "invalid_argument"),
      M("POST", "/api/skip-trace/start", kOps, "[]", 400, "invalid_argument"),
      M("POST", "/api/skip-trace/start", kOps, "\"text\"", 400, "invalid_argument"),
      M("POST", "/api/skip-trace/start", kOps, R"({"fileId": 5})", 400, "invalid_argument"),
      M("POST", "/api/skip-trace/start", kOps, R"({"fileId": "no-such-file"})", 404, "not_found"),
      M("POST", "/api/skip-trace/start", kOps, R"({"leadIds": "x"})", 400, "invalid_argument"),
      M("POST", "/api/skip-trace/start", kOps, R"({"leadIds": [""]})", 400, "invalid_argument"),
      M("POST", "/api/skip-trace/start", kOps, R"({"leadIds": [1]})", 400, "invalid_argument"),
      M("POST", "/api/skip-trace/start", kOps, R"({"limit": 0})", 400, "invalid_argument"),
      M("POST", "/api/skip-trace/start", kOps, R"({"limit": -5})", 400, "invalid_argument"),
      M("POST", "/api/skip-trace/start", kOps, R"({"limit": 1.5})", 400, "invalid_argument"),
      M("POST", "/api/skip-trace/start", kOps, R"({"limit": "10"})", 400, "invalid_argument"),
      M("POST", "/api/skip-trace/start", kOps, R"({"limit": -1e300})", 400, "invalid_argument"),
      M("GET", "/api/skip-trace/status/nope", kOps, "", 404, "not_found"),
      M("GET", "/api/skip-trace/status/%2E%2E", kOps, "", 404, "not_found"),
      M("GET", "/api/skip-trace/start", kOps, "", 405, "method_not_allowed"),

      // --- campaigns ---
      M("POST", "/api/campaigns/create", kOps, "{", 400, "invalid_json"),
      M("POST", "/api/campaigns/create", kOps, "[]", 400, "invalid_json"),
      M("POST", "/api/campaigns/create", kOps, "", 400, "invalid_json"),
      M("POST", "/api/campaigns/create", kOps, R"({"name": 5})", 400, "invalid_argument"),
      M("POST", "/api/campaigns/create", kOps, R"({"name": "x", "fromNumber": []})", 400,
        "invalid_argument"),
      M("POST", "/api/campaigns/create", kOps, "{}", 400, "invalid_argument"),
      M("POST", "/api/campaigns/create", kOps, R"({"name": "x"})", 400, "invalid_argument"),
      M("POST", "/api/campaigns/create", kOps, R"({"name": "x", "workflow": "nope"})", 400,
        "invalid_argument"),
      M("POST", "/api/campaigns/create", kOps,
        R"({"name": "x", "workflow": "business-owners", "fromNumber": "555-1234"})", 400,
        "invalid_argument"),
      M("POST", "/api/campaigns/create", kOps, std::string(30000, '[') + std::string(30000, ']'),
        400, "invalid_json"),
      Declared(M("POST", "/api/campaigns/create", kOps, "", 413, "payload_too_large"),
               (size_t{64} << 10) + 1),
      M("GET", "/api/campaigns?limit=0", kOps, "", 400, "invalid_argument"),
      M("GET", "/api/campaigns?limit=abc", kOps, "", 400, "invalid_argument"),
      M("GET", "/api/campaigns?limit=" + huge_number, kOps, "", 400, "invalid_argument"),
      M("GET", "/api/campaigns?cursor=nope", kOps, "", 400, "invalid_argument"),
      M("GET", "/api/campaigns?cursor=" + long_id, kOps, "", 400, "invalid_argument"),
      M("GET", "/api/campaigns/nope", kOps, "", 404, "not_found"),
      M("GET", "/api/campaigns/%FF", kOps, "", 404, "not_found"),  // was a crash
      M("POST", "/api/campaigns/nope/start", kOps, "", 404, "not_found"),
      M("POST", "/api/campaigns/nope/pause", kOps, "", 404, "not_found"),
      M("POST", "/api/campaigns/nope/resume", kOps, "", 404, "not_found"),
      M("POST", "/api/campaigns/nope/migrate", kOps, "{", 400, "invalid_argument"),
      M("POST", "/api/campaigns/nope/migrate", kOps, "{}", 400, "invalid_argument"),
      M("POST", "/api/campaigns/nope/migrate", kOps, R"({"version": 2})", 400, "invalid_argument"),
      M("POST", "/api/campaigns/nope/migrate", kOps, R"({"version": ""})", 400, "invalid_argument"),
      M("POST", "/api/campaigns/nope/migrate", kOps, R"({"version": "2"})", 404, "not_found"),
      M("GET", "/api/campaigns/nope/start", kOps, "", 405, "method_not_allowed"),

      // --- sandbox and test hooks ---
      M("GET", "/api/sandbox/outbox?limit=0", kAuditor, "", 400, "invalid_argument"),
      M("GET", "/api/sandbox/outbox?limit=1001", kAuditor, "", 400, "invalid_argument"),
      M("GET", "/api/sandbox/outbox?cursor=-1", kAuditor, "", 400, "invalid_argument"),
      M("GET", "/api/sandbox/outbox?cursor=" + huge_number, kAuditor, "", 400, "invalid_argument"),
      M("POST", "/api/sandbox/outage", kAdmin, "", 400, "invalid_argument"),
      M("POST", "/api/sandbox/outage", kAdmin, "{}", 400, "invalid_argument"),
      M("POST", "/api/sandbox/outage", kAdmin, R"({"email": null})", 400, "invalid_argument"),
      M("POST", "/api/sandbox/outage", kAdmin, R"({"sms": 5})", 400, "invalid_argument"),
      M("POST", "/api/sandbox/outage", kAdmin, R"({"sms": {"mode": "boom", "count": 1}})", 400,
        "invalid_argument"),
      M("POST", "/api/sandbox/outage", kAdmin, R"({"sms": {"mode": "error"}})", 400,
        "invalid_argument"),
      M("POST", "/api/sandbox/outage", kAdmin,
        R"({"sms": {"mode": "error", "count": 1, "seconds": 1}})", 400, "invalid_argument"),
      M("POST", "/api/sandbox/outage", kAdmin, R"({"sms": {"mode": "error", "count": 0}})", 400,
        "invalid_argument"),
      M("POST", "/api/sandbox/outage", kAdmin, R"({"sms": {"mode": "error", "count": 2000000}})",
        400, "invalid_argument"),
      M("POST", "/api/sandbox/outage", kAdmin, R"({"sms": {"mode": "error", "seconds": -1}})", 400,
        "invalid_argument"),
      M("POST", "/api/sandbox/outage", kAdmin,
        R"({"sms": {"mode": "error", "count": 1, "delayMs": 99999}})", 400, "invalid_argument"),
      M("POST", "/api/sandbox/outage", kAdmin,
        R"({"sms": {"mode": "error", "count": 1, "extra": 1}})", 400, "invalid_argument"),
      M("POST", "/api/test/clock/advance", kAdmin, "", 400, "invalid_argument"),
      M("POST", "/api/test/clock/advance", kAdmin, "{}", 400, "invalid_argument"),
      M("POST", "/api/test/clock/advance", kAdmin, R"({"seconds": "60"})", 400, "invalid_argument"),
      M("POST", "/api/test/clock/advance", kAdmin, R"({"seconds": -1})", 400, "invalid_argument"),
      M("POST", "/api/test/clock/advance", kAdmin, R"({"seconds": 1e300})", 400,
        "invalid_argument"),  // once a 200 that cast out of range
      M("POST", "/api/test/clock/advance", kAdmin, R"({"seconds": 1e12})", 400, "invalid_argument"),
      Declared(M("POST", "/api/test/clock/advance", kAdmin, "", 413, "payload_too_large"), 5000),

      // --- webhooks: a signature, and then a body that says something ---
      M("POST", "/api/webhooks/sms-response", "", "{}", 401, "missing_signature"),
      WithHeaders(M("POST", "/api/webhooks/sms-response", "", "{}", 401, "missing_signature"),
                  SignedHeaders("{}", kSecret, NowMillis(), /*delivery=*/"")),
      WithHeaders(M("POST", "/api/webhooks/sms-response", "", "{}", 401, "invalid_signature"),
                  SignedHeaders("{}", "another-secret")),
      WithHeaders(M("POST", "/api/webhooks/sms-response", "", "{}", 401, "invalid_signature"),
                  SignedHeaders("{\"other\": 1}")),  // signed over a different body
      WithHeaders(M("POST", "/api/webhooks/sms-response", "", "{}", 401, "invalid_signature"),
                  h + "Timestamp: 1\r\n" + h + "Signature: abc\r\n" + h + "Delivery-Id: d\r\n"),
      WithHeaders(M("POST", "/api/webhooks/sms-response", "", "{}", 401, "stale_timestamp"),
                  SignedHeaders("{}", kSecret, NowMillis() - 10 * 60 * 1000)),
      WithHeaders(M("POST", "/api/webhooks/sms-response", "", "{}", 401, "stale_timestamp"),
                  SignedHeaders("{}", kSecret, NowMillis() + 10 * 60 * 1000)),
      WithHeaders(M("POST", "/api/webhooks/signalhouse", "", "not json", 400, "invalid_json"),
                  SignedHeaders("not json")),
      WithHeaders(M("POST", "/api/webhooks/signalhouse", "", "[]", 400, "invalid_json"),
                  SignedHeaders("[]")),
      WithHeaders(
          M("POST", "/api/webhooks/sms-response", "", R"({"event": 5})", 400, "invalid_argument"),
          SignedHeaders(R"({"event": 5})")),
      WithHeaders(M("POST", "/api/webhooks/sms-response", "", R"({"event": "MESSAGE_RECEIVED"})",
                    400, "invalid_argument"),
                  SignedHeaders(R"({"event": "MESSAGE_RECEIVED"})")),
      Declared(M("POST", "/api/webhooks/sms-response", "", "", 413, "payload_too_large"),
               (size_t{256} << 10) + 1),

      // --- responses ---
      M("GET", "/api/responses?limit=0", kOps, "", 400, "invalid_argument"),
      M("GET", "/api/responses?limit=5000", kAgent, "", 400, "invalid_argument"),
      M("GET", "/api/responses?cursor=abc", kOps, "", 400, "invalid_argument"),
      M("GET", "/api/responses?classification=bogus", kOps, "", 400, "invalid_argument"),
      M("GET", "/api/responses/gold-labels?cursor=abc", kOps, "", 400, "invalid_argument"),
      M("GET", "/api/responses/gold-labels?limit=-3", kOps, "", 400, "invalid_argument"),

      // --- audit ---
      M("GET", "/api/audit/export?from=0", kAuditor, "", 400, "invalid_argument"),
      M("GET", "/api/audit/export?from=-1", kAuditor, "", 400, "invalid_argument"),
      M("GET", "/api/audit/export?from=abc", kAuditor, "", 400, "invalid_argument"),
      M("GET", "/api/audit/export?from=" + huge_number, kAuditor, "", 400, "invalid_argument"),
      M("GET", "/api/audit/export?limit=0", kAuditor, "", 400, "invalid_argument"),
      M("GET", "/api/audit/export?limit=100001", kAuditor, "", 400, "invalid_argument"),
      Declared(M("GET", "/api/audit/verify", kAuditor, "", 413, "payload_too_large"), 2000),

      // --- call queue ---
      M("GET", "/api/call-queue?status=bogus", kAgent, "", 400, "invalid_argument"),
      M("GET", "/api/call-queue?status=%FF", kAgent, "", 400, "invalid_argument"),
      M("GET", "/api/call-queue?limit=0", kAgent, "", 400, "invalid_argument"),
      M("GET", "/api/call-queue?cursor=zz", kAgent, "", 400, "invalid_argument"),
      M("GET", "/api/call-queue?status=pending&cursor=00", kAgent, "", 400, "invalid_argument"),
      M("PUT", "/api/call-queue/call-x-1/assign", kAgent, "{", 400, "invalid_json"),
      M("PUT", "/api/call-queue/call-x-1/assign", kAgent, R"({"agent": 5})", 400,
        "invalid_argument"),
      M("PUT", "/api/call-queue/nope/assign", kAgent, "{}", 400, "invalid_argument"),
      M("PUT", "/api/call-queue/call-x-1/assign", kAgent, "{}", 404, "not_found"),
      M("PUT", "/api/call-queue/call-x-1/complete", kAgent, "", 400, "invalid_json"),
      M("PUT", "/api/call-queue/call-x-1/complete", kAgent, "{}", 400, "invalid_argument"),
      M("PUT", "/api/call-queue/call-x-1/complete", kAgent, R"({"disposition": "maybe"})", 400,
        "invalid_argument"),
      M("PUT", "/api/call-queue/call-x-1/complete", kAgent, R"({"disposition": 5})", 400,
        "invalid_argument"),
      M("PUT", "/api/call-queue/call-x-1/complete", kAgent,
        R"({"disposition": "no_answer", "notes": 5})", 400, "invalid_argument"),
      M("PUT", "/api/call-queue/call-x-1/complete", kAgent, R"({"disposition": "callback"})", 400,
        "invalid_argument"),
      M("PUT", "/api/call-queue/call-x-1/complete", kAgent,
        R"({"disposition": "callback", "callbackAt": "tomorrow"})", 400, "invalid_argument"),
      M("PUT", "/api/call-queue/call-x-1/complete", kAgent,
        R"({"disposition": "callback", "callbackAt": "2020-01-01T00:00:00Z"})", 400,
        "invalid_argument"),
      M("PUT", "/api/call-queue/call-x-1/complete", kAgent, R"({"disposition": "voicemail"})", 404,
        "not_found"),

      // --- meetings ---
      M("POST", "/api/meetings/book", kAgent, "", 400, "invalid_json"),
      M("POST", "/api/meetings/book", kAgent, "[1]", 400, "invalid_json"),
      M("POST", "/api/meetings/book", kAgent, "{}", 400, "invalid_argument"),
      M("POST", "/api/meetings/book", kAgent, R"({"leadId": 5})", 400, "invalid_argument"),
      M("POST", "/api/meetings/book", kAgent, R"({"leadId": "x"})", 400, "invalid_argument"),
      M("POST", "/api/meetings/book", kAgent, R"({"leadId": "x", "startsAt": "soon"})", 400,
        "invalid_argument"),
      M("POST", "/api/meetings/book", kAgent, R"({"leadId": "x", "startsAt": "2027-01-05 15:00"})",
        400, "invalid_argument"),
      M("POST", "/api/meetings/book", kAgent,
        R"({"leadId": "x", "startsAt": "2020-01-05T15:00:00Z"})", 400, "invalid_argument"),
      M("POST", "/api/meetings/book", kAgent,
        R"({"leadId": "x", "startsAt": "2027-01-05T15:00:00Z", "durationMinutes": "15"})", 400,
        "invalid_argument"),
      M("POST", "/api/meetings/book", kAgent,
        R"({"leadId": "x", "startsAt": "2027-01-05T15:00:00Z", "durationMinutes": 1.5})", 400,
        "invalid_argument"),
      M("POST", "/api/meetings/book", kAgent,
        R"({"leadId": "x", "startsAt": "2027-01-05T15:00:00Z", "durationMinutes": )" + huge_number +
            "}",
        400, "invalid_argument"),
      M("POST", "/api/meetings/book", kAgent,
        R"({"leadId": "nope", "startsAt": "2027-01-05T15:00:00Z"})", 404, "not_found"),
      M("POST", "/api/meetings/mtg-x-1/cancel", kAgent, "{", 400, "invalid_json"),
      M("POST", "/api/meetings/mtg-x-1/cancel", kAgent, R"({"reason": 5})", 400,
        "invalid_argument"),
      M("POST", "/api/meetings/nope/cancel", kAgent, "", 400, "invalid_argument"),
      M("POST", "/api/meetings/%FF/cancel", kAgent, "", 400, "invalid_argument"),  // was a crash
      M("POST", "/api/meetings/mtg-x-1/reschedule", kAgent, "{}", 400, "invalid_argument"),
      M("POST", "/api/meetings/mtg-x-1/reschedule", kAgent, R"({"startsAt": 5})", 400,
        "invalid_argument"),
      M("POST", "/api/meetings/mtg-x-1/reschedule", kAgent, R"({"startsAt": "noon"})", 400,
        "invalid_argument"),
      M("POST", "/api/meetings/mtg-x-1/outcome", kAgent, "{}", 400, "invalid_argument"),
      M("POST", "/api/meetings/mtg-x-1/outcome", kAgent, R"({"status": 5})", 400,
        "invalid_argument"),
      M("POST", "/api/meetings/mtg-x-1/outcome", kAgent, R"({"status": "held"})", 400,
        "invalid_argument"),
      M("POST", "/api/meetings/nope/outcome", kAgent, R"({"status": "completed"})", 400,
        "invalid_argument"),
      M("GET", "/api/meetings?from=monday", kAgent, "", 400, "invalid_argument"),
      M("GET", "/api/meetings?to=2026-11-31T99:00:00Z", kAgent, "", 400, "invalid_argument"),
      M("GET", "/api/meetings?limit=0", kAgent, "", 400, "invalid_argument"),
      M("GET", "/api/meetings?cursor=zz", kAgent, "", 400, "invalid_argument"),
      M("GET", "/api/meetings?agent=a&cursor=00", kAgent, "", 400, "invalid_argument"),

      // --- dashboard, health ---
      Declared(M("GET", "/api/dashboard/overview", kOps, "", 413, "payload_too_large"), 1),
      Declared(M("GET", "/healthz", "", "", 413, "payload_too_large"), 1),
      M("POST", "/api/dashboard/overview", kOps, "{}", 405, "method_not_allowed"),

      // --- HTTP itself ---
      Raw("GARBAGE\r\n\r\n", 400, "malformed_request"),
      Raw("GET / HTTP/9.9\r\nHost: x\r\n\r\n", 400, "malformed_request"),
      Raw("GET /he althz HTTP/1.1\r\nHost: x\r\n\r\n", 400, "malformed_request"),
      Raw("GET /heal\0thz HTTP/1.1\r\nHost: x\r\n\r\n"s, 400, "malformed_request"),
      Raw("GET /healthz HTTP/1.1\nHost: x\n\n", 400, "malformed_request"),
      Raw("GET /healthz HTTP/1.1\r\nHost x\r\n\r\n", 400, "malformed_request"),
      Raw("GET /healthz HTTP/1.1\r\nBad Name: x\r\n\r\n", 400, "malformed_request"),
      Raw("GET /healthz HTTP/1.1\r\n\r\n", 400, "malformed_request"),  // no Host
      Raw("GET /healthz HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400, "malformed_request"),
      Raw("GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(20000, 'a') + "\r\n\r\n", 431,
          "header_too_large"),
      Raw(
          [] {
            std::string r = "GET /healthz HTTP/1.1\r\nHost: x\r\n";
            for (int i = 0; i < 3000; ++i) r += "X-H" + std::to_string(i) + ": v\r\n";
            return r + "\r\n";
          }(),
          431, "header_too_large"),
      Raw("POST /api/campaigns/create HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ops-key-0001"
          "\r\nContent-Length: abc\r\n\r\n",
          400, "malformed_request"),
      Raw("POST /api/campaigns/create HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ops-key-0001"
          "\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}x",
          400, "malformed_request"),
      Raw("POST /api/campaigns/create HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ops-key-0001"
          "\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
          400, "malformed_request"),
      Raw(Chunked("/api/campaigns/create", kOps, "ZZ\r\nabc\r\n0\r\n\r\n"), 400,
          "malformed_request"),
      Raw(Chunked("/api/campaigns/create", kOps, "FFFFFFFFFFFFFFFFFF\r\nabc\r\n0\r\n\r\n"), 400,
          "malformed_request"),
      Raw(Chunked("/api/campaigns/create", kOps, "2\r\n{}XX0\r\n\r\n"), 400, "malformed_request"),
      Raw(Chunked("/api/test/clock/advance", kAdmin,
                  "1388\r\n" + std::string(5000, ' ') + "\r\n0\r\n\r\n"),
          413, "payload_too_large"),
  };
  return t;
}

TEST(EndpointTableTest, MalformedRequestsGetTheirStatusAndCodeAndStoreNothing) {
  nextier::testing::TempDir dir;
  ServeWithSecret serve(dir);
  const uint16_t port = serve.port();
  ASSERT_NE(port, 0) << serve.process().output();
  const auto table = MalformedTable();
  ASSERT_GE(table.size(), 100u);
  RecordProperty("malformed_rows", static_cast<int>(table.size()));
  const int64_t events_before = LoggedEvents(port);
  ASSERT_GT(events_before, 0);

  for (const auto& row : table) {
    SCOPED_TRACE(row.request.Describe());
    const std::string res = RawRequest(port, row.request.Wire());
    EXPECT_EQ(StatusOf(res), row.status) << res.substr(0, 600);
    EXPECT_TRUE(IsError(res, row.code)) << res.substr(0, 600);
    EXPECT_TRUE(EchoesNoSecret(res));
    // Whatever came before, the server still answers the next client.
    ASSERT_TRUE(Healthy(port)) << "the server stopped answering after this row";
  }

  // Not one event more: every row was refused before anything was appended.
  EXPECT_EQ(LoggedEvents(port), events_before);
  // The reads that a poisoned record once broke still answer.
  EXPECT_EQ(StatusOf(HttpCall(port, "GET", "/api/data-hub/files", kOps)), 200);
  EXPECT_EQ(StatusOf(HttpCall(port, "GET", "/api/campaigns", kOps)), 200);

  // Uploads the importer itself refuses are recorded as failed FILEs (API.md's status
  // "failed"), on purpose: each adds exactly one, and no lead.
  const std::vector<std::pair<std::string, std::string>> bad_files = {
      {"text/csv", ""},
      {"text/csv", "name,phone\n"},
      {"text/csv", "\x89PNG\r\n\x1a\n\0\0\0\rIHDR"s},
      {"multipart/form-data; boundary=XX",
       "--XX\r\nContent-Disposition: form-data; "
       "name=\"file\"; filename=\"a.csv\"\r\n\r\na,b\n1,2"},
  };
  for (const auto& [type, body] : bad_files) {
    const std::string res =
        RawRequest(port, Req("POST", "/api/data-hub/upload?name=bad.csv", kOps, body, type).Wire());
    EXPECT_EQ(StatusOf(res), 400) << type << ": " << res;
    EXPECT_TRUE(IsError(res, "invalid_file")) << type;
  }
  const json files =
      json::parse(BodyOf(HttpCall(port, "GET", "/api/data-hub/files", kOps)), nullptr, false);
  ASSERT_TRUE(files.contains("items")) << files;
  EXPECT_EQ(files["items"].size(), bad_files.size()) << files;
  for (const auto& f : files["items"]) EXPECT_EQ(f["status"], "failed") << f;
  const json leads = json::parse(BodyOf(HttpCall(port, "GET", "/api/leads", kOps)), nullptr, false);
  EXPECT_EQ(leads["items"].size(), 0u) << leads;

  EXPECT_TRUE(Healthy(port));
  EXPECT_EQ(serve.process().Terminate(), 0) << serve.process().output();
}

}  // namespace
}  // namespace nextier
