// `nextier serve` as a real process: start, keys and roles, workflow endpoints, the simulated
// clock hook, graceful SIGTERM, restart on the same data.
#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <nlohmann/json.hpp>
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
using nextier::testing::StatusOf;

// The real binary, started by the shared helper.
class ServeProcess : public nextier::testing::ServeProcess {
 public:
  explicit ServeProcess(const std::string& args)
      : nextier::testing::ServeProcess(NEXTIER_BINARY, args) {}
};

TEST(ServeTest, ServesHealthAndMetricsWithoutAKey) {
  nextier::testing::TempDir dir;
  ServeProcess p("--data " + dir.str());
  ASSERT_GT(p.port(), 0) << p.output();
  auto health = HttpCall(p.port(), "GET", "/healthz");
  EXPECT_EQ(StatusOf(health), 200) << health;
  auto metrics = HttpCall(p.port(), "GET", "/metrics");
  EXPECT_EQ(StatusOf(metrics), 200);
  EXPECT_NE(BodyOf(metrics).find("nextier_log_head"), std::string::npos);
  EXPECT_NE(BodyOf(metrics).find("nextier_http_requests_total"), std::string::npos);
  EXPECT_EQ(BodyOf(metrics).find("ops-key-0001"), std::string::npos);
  EXPECT_EQ(p.Terminate(), 0) << "SIGTERM must stop the server gracefully with exit 0\n"
                              << p.output();
}

TEST(ServeTest, WorkflowEndpointsEnforceRolesAndValidate) {
  nextier::testing::TempDir dir;
  ServeProcess p("--data " + dir.str());
  ASSERT_GT(p.port(), 0) << p.output();
  EXPECT_EQ(StatusOf(HttpCall(p.port(), "GET", "/api/workflows")), 401);
  EXPECT_EQ(StatusOf(HttpCall(p.port(), "GET", "/api/workflows", "audit-key-0001")), 403);
  auto list = HttpCall(p.port(), "GET", "/api/workflows", "agent-key-0001");
  ASSERT_EQ(StatusOf(list), 200) << list;
  auto items = nlohmann::json::parse(BodyOf(list))["items"];
  ASSERT_EQ(items.size(), 2u);
  EXPECT_EQ(items[1]["id"], "real-estate-agents");
  const std::string v1 = items[1]["version"];

  auto one = HttpCall(p.port(), "GET", "/api/workflows/real-estate-agents", "ops-key-0001");
  ASSERT_EQ(StatusOf(one), 200);
  auto doc = nlohmann::json::parse(BodyOf(one));
  EXPECT_EQ(doc["version"], v1);
  EXPECT_EQ(doc["signalhouse"]["campaignId"], "Temp-C21390");

  // Agents may read but not write.
  doc.erase("version");
  doc.erase("updatedAt");
  EXPECT_EQ(StatusOf(HttpCall(p.port(), "PUT", "/api/workflows/real-estate-agents",
                              "agent-key-0001", doc.dump())),
            403);
  // Every error comes back with its field.
  auto broken = doc;
  broken["limits"]["batchSize"] = 0;
  broken["templates"]["opener"] = "Hi {frstName}";
  auto bad =
      HttpCall(p.port(), "PUT", "/api/workflows/real-estate-agents", "ops-key-0001", broken.dump());
  ASSERT_EQ(StatusOf(bad), 400) << bad;
  auto err = nlohmann::json::parse(BodyOf(bad))["error"];
  EXPECT_EQ(err["code"], "invalid_workflow");
  std::set<std::string> fields;
  for (const auto& d : err["details"]) fields.insert(d["field"]);
  EXPECT_TRUE(fields.count("limits.batchSize")) << err.dump();
  EXPECT_TRUE(fields.count("templates.opener")) << err.dump();
  EXPECT_EQ(StatusOf(HttpCall(p.port(), "PUT", "/api/workflows/real-estate-agents", "ops-key-0001",
                              "{not json")),
            400);
  // Found by fuzz_workflow: a number no double holds is not a parse_error to nlohmann but an
  // out_of_range, which the handler let escape (a 500).
  auto overflow = HttpCall(p.port(), "PUT", "/api/workflows/real-estate-agents", "ops-key-0001",
                           "{\"limits\": {\"batchSize\": 1e999}}");
  EXPECT_EQ(StatusOf(overflow), 400) << overflow;
  EXPECT_NE(BodyOf(overflow).find("\"code\":\"invalid_json\""), std::string::npos) << overflow;

  doc["limits"]["batchDelaySeconds"] = 9;
  auto put =
      HttpCall(p.port(), "PUT", "/api/workflows/real-estate-agents", "ops-key-0001", doc.dump());
  ASSERT_EQ(StatusOf(put), 201) << put;
  const std::string v2 = nlohmann::json::parse(BodyOf(put))["version"];
  EXPECT_NE(v2, v1);
  auto old =
      HttpCall(p.port(), "GET", "/api/workflows/real-estate-agents?version=" + v1, "ops-key-0001");
  ASSERT_EQ(StatusOf(old), 200);
  EXPECT_EQ(nlohmann::json::parse(BodyOf(old))["limits"]["batchDelaySeconds"], 5);
  EXPECT_EQ(StatusOf(HttpCall(p.port(), "GET", "/api/workflows/nope", "ops-key-0001")), 404);
  EXPECT_EQ(p.Terminate(), 0) << p.output();

  // The new version survives a restart; the shipped file does not override it.
  ServeProcess again("--data " + dir.str());
  ASSERT_GT(again.port(), 0) << again.output();
  auto latest = HttpCall(again.port(), "GET", "/api/workflows/real-estate-agents", "ops-key-0001");
  EXPECT_EQ(nlohmann::json::parse(BodyOf(latest))["version"], v2);
}

TEST(ServeTest, SimulatedClockAdvancesOnlyForAdminAndNeverGoesBack) {
  nextier::testing::TempDir dir;
  {
    ServeProcess p("--data " + dir.str() + " --sim-clock 2026-11-28T14:00:00Z");
    ASSERT_GT(p.port(), 0) << p.output();
    EXPECT_NE(p.output().find("simulated from 2026-11-28T14:00:00Z"), std::string::npos)
        << p.output();
    EXPECT_EQ(StatusOf(HttpCall(p.port(), "POST", "/api/test/clock/advance", "ops-key-0001",
                                "{\"seconds\":60}")),
              403);
    auto r = HttpCall(p.port(), "POST", "/api/test/clock/advance", "admin-key-0001",
                      "{\"seconds\":3600}");
    ASSERT_EQ(StatusOf(r), 200) << r;
    EXPECT_EQ(nlohmann::json::parse(BodyOf(r))["now"], "2026-11-28T15:00:00Z");
    EXPECT_EQ(nlohmann::json::parse(BodyOf(r))["timersFired"], 0);
    EXPECT_EQ(StatusOf(HttpCall(p.port(), "POST", "/api/test/clock/advance", "admin-key-0001",
                                "{\"seconds\":-5}")),
              400);
    // Record something at the advanced time.
    auto doc = nlohmann::json::parse(
        BodyOf(HttpCall(p.port(), "GET", "/api/workflows/business-owners", "ops-key-0001")));
    doc.erase("version");
    doc.erase("updatedAt");
    doc["pitch"] = "Know what your business could sell for, this quarter";
    ASSERT_EQ(StatusOf(HttpCall(p.port(), "PUT", "/api/workflows/business-owners", "ops-key-0001",
                                doc.dump())),
              201);
    EXPECT_EQ(p.Terminate(), 0) << p.output();
  }
  ServeProcess again("--data " + dir.str() + " --sim-clock 2026-11-28T14:00:00Z");
  ASSERT_GT(again.port(), 0) << again.output();
  EXPECT_NE(again.output().find("simulated from 2026-11-28T15:00:00Z"), std::string::npos)
      << "the clock went back after a restart: " << again.output();
}

TEST(ServeTest, WithoutSimClockTheTestHookIs404) {
  nextier::testing::TempDir dir;
  ServeProcess p("--data " + dir.str());
  ASSERT_GT(p.port(), 0) << p.output();
  EXPECT_EQ(StatusOf(HttpCall(p.port(), "POST", "/api/test/clock/advance", "admin-key-0001",
                              "{\"seconds\":1}")),
            404);
}

TEST(ServeTest, BadUsageExitsTwo) {
  nextier::testing::TempDir dir;
  ServeProcess bad_provider("--data " + dir.str() + " --provider carrier-pigeon");
  EXPECT_EQ(bad_provider.WaitExit(), 2) << bad_provider.output();
  ServeProcess bad_clock("--data " + dir.str() + " --sim-clock tomorrow");
  EXPECT_EQ(bad_clock.WaitExit(), 2) << bad_clock.output();
}

}  // namespace
}  // namespace nextier
