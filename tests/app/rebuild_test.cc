// `nextier rebuild` after a long mixed run through a real `nextier serve` (import, dedupe, skip
// trace, two campaigns, delivery receipts, replies of every class through the signed webhook,
// calls, a callback, a booking and its reminders): the rebuilt read models answer the API
// byte for byte like the live ones did.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "nextier/adapters/api_webhooks.h"
#include "testing/http_client.h"
#include "testing/serve_process.h"
#include "testing/testing.h"

namespace nextier {
namespace {

namespace fs = std::filesystem;
using nextier::testing::BodyOf;
using nextier::testing::HttpCall;
using nextier::testing::RawRequest;
using nextier::testing::StatusOf;
using nlohmann::json;

constexpr char kOps[] = "ops-key-0001";
constexpr char kAgent[] = "agent-key-0001";
constexpr char kAdmin[] = "admin-key-0001";
constexpr char kOwnersFrom[] = "+12125550190";
constexpr char kAgentsFrom[] = "+15164079249";
constexpr char kSecret[] = "test-webhook-secret";
constexpr char kSimClock[] = "--sim-clock 2026-11-28T17:00:00Z";

class ServeProcess : public nextier::testing::ServeProcess {
 public:
  explicit ServeProcess(const std::string& args)
      : nextier::testing::ServeProcess(NEXTIER_BINARY, args) {}
};

struct CliRun {
  int exit_code = -1;
  std::string out;  // stdout and stderr together
};

CliRun Nextier(const std::string& args) {
  CliRun r;
  const std::string cmd = std::string(NEXTIER_BINARY) + " " + args + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  if (p == nullptr) return r;
  std::array<char, 4096> buf;
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) r.out.append(buf.data(), n);
  const int status = pclose(p);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

json Call(uint16_t port, const std::string& method, const std::string& path, const std::string& key,
          const json& body, int expect) {
  const std::string res = HttpCall(port, method, path, key, body.is_null() ? "" : body.dump());
  EXPECT_EQ(StatusOf(res), expect) << method << " " << path << ": " << res;
  return json::parse(BodyOf(res), nullptr, false);
}

void Advance(uint16_t port, int seconds) {
  Call(port, "POST", "/api/test/clock/advance", kAdmin, {{"seconds", seconds}}, 200);
}

int64_t NowMillis() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Posts a SignalHouse event, signed.
json PostWebhook(uint16_t port, const json& event, const std::string& delivery) {
  const std::string body = event.dump();
  const std::string stamp = std::to_string(NowMillis());
  const std::string res = RawRequest(
      port,
      "POST /api/webhooks/sms-response HTTP/1.1\r\nHost: localhost\r\n"
      "X-SignalHouse-Timestamp: " +
          stamp +
          "\r\nX-SignalHouse-Signature: " + adapters::WebhookSignature(kSecret, stamp, body) +
          "\r\nX-SignalHouse-Delivery-Id: " + delivery +
          "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
          "\r\nConnection: close\r\n\r\n" + body);
  EXPECT_EQ(StatusOf(res), 200) << res;
  return json::parse(BodyOf(res), nullptr, false);
}

json Reply(const std::string& id, const std::string& from, const std::string& to,
           const std::string& text) {
  return {{"event", "MESSAGE_RECEIVED"},
          {"identifier", id},
          {"timestamp", "2026-11-28T17:10:00Z"},
          {"metaData",
           {{"Message",
             {{"direction", "INBOUND"},
              {"senderPhoneNumber", from},
              {"recipientPhoneNumber", to},
              {"messageBody", text}}}}}};
}

// Owners (with a repeated row and a trust as owner) or real-estate offices.
std::string Csv(int rows, bool agents) {
  std::string csv = "Company Name,Address,City,State,Zip,Contact First,Contact Last,Title\n";
  static const char* kFirst[] = {"John", "Mary", "Ahmed", "Lucia", "Wei", "Olga", "Kwame", "Ines"};
  static const char* kPlaces[] = {"New York,NY,10001", "Chicago,IL,60601", "Houston,TX,77002",
                                  "Miami,FL,33130"};
  for (int i = 0; i < rows; ++i) {
    const std::string n = std::to_string(i);
    csv += (agents ? "Realty " : "Shop ") + n + "," + std::to_string(i + 1) + " Main St," +
           kPlaces[i % 4] + "," + kFirst[i % 8] + "," + (agents ? "Agent" : "Owner") + n + "," +
           (agents ? "Broker Owner" : "Owner") + "\n";
  }
  csv += "Trust Co,9 Elm St,New York,NY,10001,,Smith Family Trust,Owner\n";
  csv += (agents ? "Realty 0" : "Shop 0") + std::string(",1 Main St,") + kPlaces[0] + ",John," +
         (agents ? "Agent0" : "Owner0") + "," + (agents ? "Broker Owner" : "Owner") + "\n";
  return csv;
}

// Imports a file, skip-traces it and starts a campaign of `workflow` on it; returns the
// campaign id.
std::string ImportAndStart(uint16_t port, const std::string& csv, const std::string& workflow,
                           const std::string& from) {
  const std::string up =
      RawRequest(port, "POST /api/data-hub/upload?name=" + workflow + ".csv&workflow=" + workflow +
                           " HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer ops-key-0001\r\n"
                           "Content-Type: text/csv\r\nContent-Length: " +
                           std::to_string(csv.size()) + "\r\nConnection: close\r\n\r\n" + csv);
  EXPECT_EQ(StatusOf(up), 202) << up;
  const std::string file = json::parse(BodyOf(up))["file"]["id"];
  json job = Call(port, "POST", "/api/skip-trace/start", kOps, {{"fileId", file}}, 202)["job"];
  for (int i = 0; i < 300 && job["status"] != "done"; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    job = Call(port, "GET", "/api/skip-trace/status/" + std::string(job["id"]), kOps, nullptr, 200);
  }
  json c =
      Call(port, "POST", "/api/campaigns/create", kOps,
           {{"name", workflow}, {"workflow", workflow}, {"fromNumber", from}}, 201)["campaign"];
  Call(port, "POST", "/api/campaigns/" + std::string(c["id"]) + "/start", kOps, nullptr, 200);
  Advance(port, 10);
  return c["id"];
}

// Waits until the read models have applied the whole log (projection lag 0).
void WaitForReadModels(uint16_t port) {
  for (int i = 0; i < 200; ++i) {
    const std::string metrics = BodyOf(HttpCall(port, "GET", "/metrics", ""));
    if (metrics.find("nextier_projection_lag_events 0\n") != std::string::npos) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ADD_FAILURE() << "the read models never caught up";
}

// Drops what depends on the moment of asking rather than on the log.
void DropVolatile(json& j) {
  if (j.is_object()) {
    j.erase("today");
    j.erase("asOf");
    for (auto& [k, v] : j.items()) DropVolatile(v);
  } else if (j.is_array()) {
    for (auto& v : j) DropVolatile(v);
  }
}

// Every read-model answer of the API, path -> body without volatile fields.
std::map<std::string, std::string> Snapshot(uint16_t port,
                                            const std::vector<std::string>& campaigns) {
  std::vector<std::string> paths = {
      "/api/leads?limit=1000",
      "/api/leads?status=gold&limit=1000",
      "/api/leads/enriched?limit=1000",
      "/api/campaigns",
      "/api/responses?limit=1000",
      "/api/responses?classification=EMAIL&limit=1000",
      "/api/responses/gold-labels?limit=1000",
      "/api/call-queue?limit=1000",
      "/api/call-queue?status=pending&limit=1000",
      "/api/meetings",
      "/api/dashboard/overview",
      "/api/data-hub/files",
  };
  for (const auto& id : campaigns) paths.push_back("/api/campaigns/" + id);
  std::map<std::string, std::string> out;
  for (const auto& path : paths) {
    const std::string res = HttpCall(port, "GET", path, kOps);
    EXPECT_EQ(StatusOf(res), 200) << path << ": " << res;
    json j = json::parse(BodyOf(res), nullptr, false);
    DropVolatile(j);
    out[path] = j.dump();
  }
  // Each lead one by one too (the single-lead read path).
  json leads = json::parse(out["/api/leads?limit=1000"]);
  for (const auto& lead : leads["items"]) {
    const std::string path = "/api/leads/" + std::string(lead["id"]);
    json j = json::parse(BodyOf(HttpCall(port, "GET", path, kOps)), nullptr, false);
    DropVolatile(j);
    out[path] = j.dump();
  }
  return out;
}

std::map<std::string, std::string> SnapshotOfAFreshServe(const std::string& data,
                                                         const std::vector<std::string>& ids) {
  ServeProcess p("--data " + data + " " + kSimClock);
  EXPECT_GT(p.port(), 0) << p.output();
  if (p.port() == 0) return {};
  WaitForReadModels(p.port());
  auto snap = Snapshot(p.port(), ids);
  EXPECT_EQ(p.Terminate(), 0) << p.output();
  return snap;
}

void ExpectSame(const std::map<std::string, std::string>& live,
                const std::map<std::string, std::string>& rebuilt) {
  ASSERT_EQ(live.size(), rebuilt.size());
  for (const auto& [path, body] : live) {
    auto it = rebuilt.find(path);
    ASSERT_NE(it, rebuilt.end()) << path;
    EXPECT_EQ(body, it->second) << path;
  }
}

class RebuildTest : public ::testing::Test {
 protected:
  void SetUp() override { setenv("NEXTIER_WEBHOOK_SECRET", kSecret, 1); }
  void TearDown() override { unsetenv("NEXTIER_WEBHOOK_SECRET"); }
  nextier::testing::TempDir dir_;
};

TEST_F(RebuildTest, RebuiltReadModelsAnswerExactlyLikeTheLiveOnes) {
  const std::string data = dir_.str() + "/data";
  std::vector<std::string> campaigns;
  std::map<std::string, std::string> live;
  {
    ServeProcess p("--data " + data + " " + kSimClock);
    ASSERT_GT(p.port(), 0) << p.output();
    const uint16_t port = p.port();
    campaigns.push_back(ImportAndStart(port, Csv(14, false), "business-owners", kOwnersFrom));
    campaigns.push_back(ImportAndStart(port, Csv(10, true), "real-estate-agents", kAgentsFrom));

    // Who was texted, at which number, from which of ours; a receipt for each opener.
    std::vector<json> openers;
    json outbox = Call(port, "GET", "/api/sandbox/outbox?limit=1000", kOps, nullptr, 200);
    for (const auto& m : outbox["items"]) {
      if (m["kind"] == "opener") openers.push_back(m);
    }
    ASSERT_GE(openers.size(), 12u) << outbox.dump();
    for (size_t i = 0; i < openers.size(); ++i) {
      const bool ok = i % 7 != 3;
      PostWebhook(port,
                  {{"event", ok ? "MESSAGE_DELIVERED" : "MESSAGE_FAILED"},
                   {"identifier", openers[i]["id"]},
                   {"metaData",
                    {{"status", ok ? "delivered" : "failed"},
                     {"segmentCount", 1},
                     {"successOrFailureReason", ok ? "" : "30003"}}}},
                  "r-" + std::to_string(i));
    }
    // Replies of every class, an orphan among them.
    const std::vector<std::string> bodies = {"Sure, send it to pat.smith@example.com",
                                             "yes! owner@shop.example.com",
                                             "Yes, I'm interested. How much?",
                                             "Not interested, thanks",
                                             "STOP",
                                             "HELP",
                                             "Who is this?",
                                             "Wrong number",
                                             "ok",
                                             "email me at lee@example.org"};
    std::vector<std::string> gold_leads;
    for (size_t i = 0; i < bodies.size(); ++i) {
      const auto& m = openers[i];
      json r = PostWebhook(port, Reply("in-" + std::to_string(i), m["to"], m["from"], bodies[i]),
                           "d-" + std::to_string(i));
      if (r["goldLabel"] == true) gold_leads.push_back(r["leadId"]);
    }
    PostWebhook(port, Reply("in-orphan", "+13105550111", kOwnersFrom, "who dis"), "d-orphan");
    ASSERT_GE(gold_leads.size(), 3u);
    Advance(port, 60);

    // The agents: a booking with its reminders, a callback, a no-answer.
    json queue;
    for (int i = 0; i < 100; ++i) {
      queue = Call(port, "GET", "/api/call-queue?status=pending", kAgent, nullptr, 200);
      if (queue["items"].size() >= gold_leads.size()) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    ASSERT_GE(queue["items"].size(), 3u) << queue.dump();
    const std::vector<std::string> dispositions = {"booked", "callback", "no_answer"};
    for (size_t i = 0; i < 3; ++i) {
      const std::string entry = queue["items"][i]["id"];
      Call(port, "PUT", "/api/call-queue/" + entry + "/assign", kAgent, {{"agent", "ana"}}, 200);
      json done = {{"disposition", dispositions[i]}, {"notes", "call " + std::to_string(i)}};
      if (dispositions[i] == "callback") done["callbackAt"] = "2026-11-29T18:00:00Z";
      Call(port, "PUT", "/api/call-queue/" + entry + "/complete", kAgent, done, 200);
      if (dispositions[i] == "booked") {
        Call(port, "POST", "/api/meetings/book", kAgent,
             {{"leadId", queue["items"][i]["leadId"]},
              {"startsAt", "2026-11-30T16:00:00Z"},
              {"agent", "ana"}},
             201);
      }
    }
    for (int h = 0; h < 50; ++h) Advance(port, 3600);  // reminders, the callback, follow-ups

    // While serve holds the data folder, rebuild refuses with a reason.
    const CliRun busy = Nextier("rebuild --data " + data);
    EXPECT_EQ(busy.exit_code, 1) << busy.out;
    EXPECT_NE(busy.out.find("in use by another process"), std::string::npos) << busy.out;

    WaitForReadModels(port);
    live = Snapshot(port, campaigns);
    ASSERT_EQ(p.Terminate(), 0) << p.output();
  }
  // Sanity: the run left something in every read model compared.
  EXPECT_NE(live["/api/meetings"].find("\"booked\""), std::string::npos) << live["/api/meetings"];
  EXPECT_NE(live["/api/responses/gold-labels?limit=1000"].find("example"), std::string::npos);
  EXPECT_NE(live["/api/call-queue?limit=1000"].find("callback"), std::string::npos);

  // The live read models answer the same after a restart (the baseline of the comparison).
  ExpectSame(live, SnapshotOfAFreshServe(data, campaigns));

  const fs::path models = fs::path(data) / "projections";
  const fs::path aside = fs::path(dir_.str()) / "projections-live";
  fs::copy(models, aside, fs::copy_options::recursive);

  const CliRun rebuilt = Nextier("rebuild --data " + data);
  ASSERT_EQ(rebuilt.exit_code, 0) << rebuilt.out;
  for (const char* name : {"leads", "call_queue", "dashboard", "events replayed", "rebuilt"}) {
    EXPECT_NE(rebuilt.out.find(name), std::string::npos) << name << "\n" << rebuilt.out;
  }
  ExpectSame(live, SnapshotOfAFreshServe(data, campaigns));

  // And the copy set aside still answers like the live ones did (it was not touched).
  fs::remove_all(models);
  fs::copy(aside, models, fs::copy_options::recursive);
  ExpectSame(live, SnapshotOfAFreshServe(data, campaigns));
}

TEST(RebuildCliTest, AFolderWithoutAStoreIsAOneLineFailure) {
  nextier::testing::TempDir dir;
  const CliRun r = Nextier("rebuild --data " + dir.str() + "/nothing");
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_NE(r.out.find("no event store"), std::string::npos) << r.out;
  EXPECT_FALSE(fs::exists(dir.path() / "nothing"));
}

}  // namespace
}  // namespace nextier
