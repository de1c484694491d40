// Skip trace, campaigns and the SMS queue against a real `nextier serve --provider sandbox
// --sim-clock`, only through the HTTP API; and kill -9 in the middle of batches, 20 rounds,
// after which no number was texted twice and none was skipped.
#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <string>
#include <thread>

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

constexpr char kOps[] = "ops-key-0001";
constexpr char kAdmin[] = "admin-key-0001";
constexpr char kFrom[] = "+15164079249";

class ServeProcess : public nextier::testing::ServeProcess {
 public:
  explicit ServeProcess(const std::string& args)
      : nextier::testing::ServeProcess(NEXTIER_BINARY, args) {}
};

// `rows` owners in New York with distinct names (the sandbox skip trace decides by name).
std::string Csv(int rows) {
  std::string csv = "Company Name,Address,City,State,Zip,Contact First,Contact Last,Title\n";
  static const char* kFirst[] = {"John", "Mary", "Ahmed", "Lucia", "Wei", "Olga", "Kwame", "Ines"};
  for (int i = 0; i < rows; ++i) {
    csv += "Shop " + std::to_string(i) + "," + std::to_string(i + 1) + " Broadway,New York,NY," +
           "10001," + kFirst[i % 8] + ",Owner" + std::to_string(i) + ",Owner\n";
  }
  return csv;
}

json Call(uint16_t port, const std::string& method, const std::string& path, const std::string& key,
          const json& body, int expect) {
  const std::string res = HttpCall(port, method, path, key, body.is_null() ? "" : body.dump());
  EXPECT_EQ(StatusOf(res), expect) << method << " " << path << ": " << res;
  return json::parse(BodyOf(res), nullptr, false);
}

std::string Upload(uint16_t port, const std::string& csv) {
  const std::string raw =
      "POST /api/data-hub/upload?name=owners.csv HTTP/1.1\r\nHost: localhost\r\n"
      "Authorization: Bearer ops-key-0001\r\nContent-Type: text/csv\r\nContent-Length: " +
      std::to_string(csv.size()) + "\r\nConnection: close\r\n\r\n" + csv;
  return RawRequest(port, raw);
}

// Uploads, skip-traces everything and waits for the job: returns the number enriched.
int ImportAndSkipTrace(uint16_t port, int rows) {
  const std::string up = Upload(port, Csv(rows));
  EXPECT_EQ(StatusOf(up), 202) << up;
  json job = Call(port, "POST", "/api/skip-trace/start", kOps, json::object(), 202)["job"];
  const std::string id = job["id"];
  for (int i = 0; i < 600; ++i) {
    job = Call(port, "GET", "/api/skip-trace/status/" + id, kOps, nullptr, 200);
    if (job["status"] == "done" || job["status"] == "failed") break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_EQ(job["status"], "done") << job.dump();
  return job.value("enriched", 0);
}

std::string CreateCampaign(uint16_t port) {
  json c = Call(port, "POST", "/api/campaigns/create", kOps,
                {{"name", "Owners Q4"},
                 {"workflow", "business-owners"},
                 {"signalhouseCampaignId", "CSH123"},
                 {"fromNumber", kFrom},
                 {"aiWorker", "GIANNA"}},
                201)["campaign"];
  EXPECT_EQ(c["status"], "draft");
  return c["id"];
}

json Outbox(uint16_t port) {
  json all = json::array();
  std::string cursor;
  for (;;) {
    json page = Call(port, "GET",
                     "/api/sandbox/outbox?limit=1000" + (cursor.empty() ? "" : "&cursor=" + cursor),
                     kOps, nullptr, 200);
    for (auto& item : page["items"]) all.push_back(item);
    if (page["next"].is_null()) break;
    cursor = page["next"];
  }
  return all;
}

// Moves the simulated clock two seconds per request, so that each answer (which waits for the
// batch's sends) stays well inside the test client's 5 s timeout.
void AdvanceInSteps(uint16_t port, int seconds) {
  for (int s = 0; s < seconds; s += 2) {
    Call(port, "POST", "/api/test/clock/advance", kAdmin, {{"seconds", 2}}, 200);
  }
}

TEST(SmsQueueServeTest, SkipTraceCampaignAndBatchesThroughTheHttpApi) {
  nextier::testing::TempDir dir;
  ServeProcess p("--data " + dir.str() + " --provider sandbox --sim-clock 2026-11-28T15:00:00Z");
  ASSERT_GT(p.port(), 0) << p.output();
  const int enriched = ImportAndSkipTrace(p.port(), 600);
  EXPECT_GT(enriched, 600 * 75 / 100);
  EXPECT_LT(enriched, 600 * 95 / 100);

  const std::string id = CreateCampaign(p.port());
  json started =
      Call(p.port(), "POST", "/api/campaigns/" + id + "/start", kOps, nullptr, 200)["campaign"];
  EXPECT_EQ(started["status"], "active");
  ASSERT_EQ(started["blocks"].size(), 1u);
  EXPECT_EQ(started["blocks"][0]["size"], enriched);
  const size_t batches = (static_cast<size_t>(enriched) + 249) / 250;
  EXPECT_EQ(started["blocks"][0]["batches"].size(), batches);
  EXPECT_EQ(started["counts"]["queued"], enriched);

  Call(p.port(), "POST", "/api/test/clock/advance", kOps, {{"seconds", 60}}, 403);
  AdvanceInSteps(p.port(), 60);

  const json outbox = Outbox(p.port());
  ASSERT_EQ(outbox.size(), static_cast<size_t>(enriched));
  std::map<std::string, int> per_time;
  std::set<std::string> to;
  for (const auto& m : outbox) {
    EXPECT_EQ(m["from"], kFrom);
    EXPECT_EQ(m["kind"], "opener");
    EXPECT_EQ(m["campaignId"], id);
    EXPECT_EQ(std::string(m["to"]).rfind("+1", 0), 0u);
    ++per_time[m["at"]];
    to.insert(m["to"]);
  }
  EXPECT_EQ(to.size(), outbox.size());
  ASSERT_EQ(per_time.size(), batches);
  EXPECT_EQ(per_time.begin()->first, "2026-11-28T15:00:00Z");
  EXPECT_EQ(per_time.begin()->second, 250);
  EXPECT_EQ(std::next(per_time.begin())->first, "2026-11-28T15:00:05Z");

  json c = Call(p.port(), "GET", "/api/campaigns/" + id, kOps, nullptr, 200);
  EXPECT_EQ(c["status"], "completed");
  EXPECT_EQ(c["counts"]["sent"], enriched);
  EXPECT_EQ(c["today"]["sent"], enriched);
  EXPECT_EQ(c["today"]["cap"], 2000);
  EXPECT_EQ(c["workflow"]["id"], "business-owners");
  EXPECT_EQ(c["signalhouseCampaignId"], "CSH123");
  for (const auto& b : c["blocks"][0]["batches"]) {
    EXPECT_EQ(b["status"], "sent");
    EXPECT_TRUE(b["sentAt"].is_string());
  }
  json list = Call(p.port(), "GET", "/api/campaigns", kOps, nullptr, 200);
  ASSERT_EQ(list["items"].size(), 1u);
  EXPECT_EQ(list["items"][0]["id"], id);

  json sent = Call(p.port(), "GET", "/api/leads?status=sent&limit=1000", kOps, nullptr, 200);
  EXPECT_EQ(sent["items"].size(), static_cast<size_t>(enriched));
  const json lead = sent["items"][0];
  EXPECT_FALSE(std::string(lead["initialMessageId"]).empty());
  EXPECT_EQ(lead["campaignId"], id);
  EXPECT_EQ(std::string(lead["leadId"]).rfind("NXT-", 0), 0u);

  // A new version of the workflow; the campaign moves to it only when told to.
  json wf = Call(p.port(), "GET", "/api/workflows/business-owners", kOps, nullptr, 200);
  const std::string old_version = wf["version"];
  wf.erase("version");
  wf.erase("updatedAt");
  wf["pitch"] = "Know what your business is worth today";
  const std::string new_version =
      Call(p.port(), "PUT", "/api/workflows/business-owners", kOps, wf, 201)["version"];
  EXPECT_EQ(
      Call(p.port(), "GET", "/api/campaigns/" + id, kOps, nullptr, 200)["workflow"]["version"],
      old_version);
  json migrated = Call(p.port(), "POST", "/api/campaigns/" + id + "/migrate", kOps,
                       {{"version", new_version}}, 200)["campaign"];
  EXPECT_EQ(migrated["workflow"]["version"], new_version);
  Call(p.port(), "POST", "/api/campaigns/" + id + "/migrate", kOps, {{"version", "0123"}}, 404);
  Call(p.port(), "POST", "/api/campaigns/" + id + "/migrate", kOps, json::object(), 400);

  // Nothing left to draw: a second start is a conflict, and bad input is a 400/404.
  Call(p.port(), "POST", "/api/campaigns/" + id + "/start", kOps, nullptr, 409);
  Call(p.port(), "POST", "/api/campaigns/nope/start", kOps, nullptr, 404);
  json bad = Call(p.port(), "POST", "/api/campaigns/create", kOps,
                  {{"name", "x"}, {"workflow", "business-owners"}, {"fromNumber", "5551234"}}, 400);
  EXPECT_EQ(bad["error"]["field"], "fromNumber");
  Call(p.port(), "POST", "/api/campaigns/create", kOps, {{"name", "x"}, {"workflow", "nope"}}, 400);
  Call(p.port(), "GET", "/api/campaigns", "agent-key-0001", nullptr, 403);
  EXPECT_EQ(p.Terminate(), 0) << p.output();
}

TEST(SmsQueueServeTest, KillNineMidBatchTwentyTimesNeitherDoublesNorSkipsANumber) {
  nextier::testing::TempDir dir;
  const std::string args =
      "--data " + dir.str() + " --provider sandbox --sim-clock 2026-11-28T15:00:00Z";
  int enriched = 0;
  std::string id;
  {
    ServeProcess p(args);
    ASSERT_GT(p.port(), 0) << p.output();
    enriched = ImportAndSkipTrace(p.port(), 1400);
    id = CreateCampaign(p.port());
    Call(p.port(), "POST", "/api/campaigns/" + id + "/start", kOps, nullptr, 200);
    p.Kill();
  }
  std::mt19937 rng(20261128);
  for (int round = 0; round < 20; ++round) {
    ServeProcess p(args);
    ASSERT_GT(p.port(), 0) << "round " << round << ": " << p.output();
    // Move the clock a second at a time on another connection and kill the process while it
    // is dispatching a batch or sending its messages.
    std::thread advance([port = p.port()] {
      (void)HttpCall(port, "POST", "/api/test/clock/advance", kAdmin, R"({"seconds": 2})");
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(rng() % 400));
    p.Kill();
    advance.join();
  }
  ServeProcess p(args);
  ASSERT_GT(p.port(), 0) << p.output();
  AdvanceInSteps(p.port(), 120);
  const json outbox = Outbox(p.port());
  std::map<std::string, int> texts;
  for (const auto& m : outbox) ++texts[m["to"]];
  for (const auto& [number, n] : texts) EXPECT_EQ(n, 1) << number << " texted " << n << " times";
  EXPECT_EQ(texts.size(), static_cast<size_t>(enriched));
  json c = Call(p.port(), "GET", "/api/campaigns/" + id, kOps, nullptr, 200);
  EXPECT_EQ(c["counts"]["sent"], enriched);
  EXPECT_EQ(c["status"], "completed");
  json sent = Call(p.port(), "GET", "/api/leads?status=sent&limit=1000", kOps, nullptr, 200);
  json queued = Call(p.port(), "GET", "/api/leads?status=queued&limit=1000", kOps, nullptr, 200);
  EXPECT_EQ(queued["items"].size(), 0u);
  EXPECT_EQ(p.Terminate(), 0) << p.output();
}

}  // namespace
}  // namespace nextier
