// `nextier rebuild` after a long mixed run through a real `nextier serve` (import, dedupe, skip
// trace, two campaigns, delivery receipts, replies of every class through the signed webhook,
// calls, a callback, a booking and its reminders): the rebuilt read models answer the API
// byte for byte like the live ones did.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "testing/http_client.h"
#include "testing/journey.h"
#include "testing/serve_process.h"
#include "testing/testing.h"

namespace nextier {
namespace {

namespace fs = std::filesystem;
using nextier::testing::Advance;
using nextier::testing::BodyOf;
using nextier::testing::Call;
using nextier::testing::CliRun;
using nextier::testing::ReplyEvent;
using nextier::testing::RunCli;
using nextier::testing::StatusOf;
using nextier::testing::WaitForReadModels;
using nlohmann::json;

constexpr const char* kOps = nextier::testing::kOpsKey;
constexpr const char* kAgent = nextier::testing::kAgentKey;
constexpr char kOwnersFrom[] = "+12125550190";
constexpr char kAgentsFrom[] = "+15164079249";
constexpr char kSecret[] = "test-webhook-secret";
constexpr char kSimClock[] = "--sim-clock 2026-11-28T17:00:00Z";

class ServeProcess : public nextier::testing::ServeProcess {
 public:
  explicit ServeProcess(const std::string& args)
      : nextier::testing::ServeProcess(NEXTIER_BINARY, args) {}
};

// Posts a signed SignalHouse event; expects 200 and returns the answer.
json PostWebhook(uint16_t port, const json& event, const std::string& delivery) {
  const std::string res = nextier::testing::PostSignedWebhook(port, kSecret, event, delivery);
  EXPECT_EQ(StatusOf(res), 200) << res;
  return json::parse(BodyOf(res), nullptr, false);
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
  const std::string up = nextier::testing::UploadCsv(port, workflow + ".csv", csv, workflow);
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

std::map<std::string, std::string> SnapshotOfAFreshServe(const std::string& data,
                                                         const std::vector<std::string>& ids) {
  ServeProcess p("--data " + data + " " + kSimClock);
  EXPECT_GT(p.port(), 0) << p.output();
  if (p.port() == 0) return {};
  WaitForReadModels(p.port());
  auto snap = nextier::testing::SnapshotReadModels(p.port(), ids);
  EXPECT_EQ(p.Terminate(), 0) << p.output();
  return snap;
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
      json r =
          PostWebhook(port, ReplyEvent("in-" + std::to_string(i), m["to"], m["from"], bodies[i]),
                      "d-" + std::to_string(i));
      if (r["goldLabel"] == true) gold_leads.push_back(r["leadId"]);
    }
    PostWebhook(port, ReplyEvent("in-orphan", "+13105550111", kOwnersFrom, "who dis"), "d-orphan");
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
    const CliRun busy = RunCli(NEXTIER_BINARY, "rebuild --data " + data);
    EXPECT_EQ(busy.exit_code, 1) << busy.out;
    EXPECT_NE(busy.out.find("in use by another process"), std::string::npos) << busy.out;

    WaitForReadModels(port);
    live = nextier::testing::SnapshotReadModels(port, campaigns);
    ASSERT_EQ(p.Terminate(), 0) << p.output();
  }
  // Sanity: the run left something in every read model compared.
  EXPECT_NE(live["/api/meetings"].find("\"booked\""), std::string::npos) << live["/api/meetings"];
  EXPECT_NE(live["/api/responses/gold-labels?limit=1000"].find("example"), std::string::npos);
  EXPECT_NE(live["/api/call-queue?limit=1000"].find("callback"), std::string::npos);

  // The live read models answer the same after a restart (the baseline of the comparison).
  nextier::testing::ExpectSameSnapshots(live, SnapshotOfAFreshServe(data, campaigns));

  const fs::path models = fs::path(data) / "projections";
  const fs::path aside = fs::path(dir_.str()) / "projections-live";
  fs::copy(models, aside, fs::copy_options::recursive);

  const CliRun rebuilt = RunCli(NEXTIER_BINARY, "rebuild --data " + data);
  ASSERT_EQ(rebuilt.exit_code, 0) << rebuilt.out;
  for (const char* name : {"leads", "call_queue", "dashboard", "events replayed", "rebuilt"}) {
    EXPECT_NE(rebuilt.out.find(name), std::string::npos) << name << "\n" << rebuilt.out;
  }
  nextier::testing::ExpectSameSnapshots(live, SnapshotOfAFreshServe(data, campaigns));

  // And the copy set aside still answers like the live ones did (it was not touched).
  fs::remove_all(models);
  fs::copy(aside, models, fs::copy_options::recursive);
  nextier::testing::ExpectSameSnapshots(live, SnapshotOfAFreshServe(data, campaigns));
}

TEST(RebuildCliTest, AFolderWithoutAStoreIsAOneLineFailure) {
  nextier::testing::TempDir dir;
  const CliRun r = RunCli(NEXTIER_BINARY, "rebuild --data " + dir.str() + "/nothing");
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_NE(r.out.find("no event store"), std::string::npos) << r.out;
  EXPECT_FALSE(fs::exists(dir.path() / "nothing"));
}

}  // namespace
}  // namespace nextier
