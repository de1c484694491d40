// GET /api/sandbox/outbox over a real server: the item shape, oldest first, paging by cursor,
// limit validation and roles.
#include "nextier/adapters/api_sandbox.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "testing/http_client.h"
#include "testing/testing.h"

namespace nextier::adapters {
namespace {

using nextier::testing::BodyOf;
using nextier::testing::HttpCall;
using nextier::testing::StatusOf;
using json = nlohmann::json;

class ApiSandboxTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto sms = SandboxSms::Open(dir_.str() + "/sandbox");
    ASSERT_OK(sms);
    sms_ = std::move(sms).value();
    server_ = std::make_unique<Server>(ServerOptions{.bind = "127.0.0.1", .port = 0},
                                       std::vector<ApiKey>{{"ops-key-1", Role::kOps, "o"},
                                                           {"auditor-key-1", Role::kAuditor, "a"},
                                                           {"agent-key-1", Role::kAgent, "g"}},
                                       &metrics_);
    RegisterSandboxRoutes(*server_, *sms_);
    ASSERT_OK(server_->Start());
  }
  void TearDown() override {
    if (server_) server_->Stop();
  }
  void SendSome(int n) {
    for (int i = 0; i < n; ++i) {
      engine::OutboundSms s;
      s.message_key = "key-" + std::to_string(i);
      s.from = "+12125550100";
      s.to = "+1516407924" + std::to_string(i);
      s.body = "body " + std::to_string(i);
      s.kind = i == 0 ? "opener" : "followup";
      s.campaign_id = "cmp-1";
      s.lead_id = "lead-" + std::to_string(i);
      s.at = 1'795'000'000'000'000 + i * 1'000'000;
      ASSERT_OK(sms_->Send(s));
    }
  }
  std::string Get(const std::string& path, const std::string& key = "ops-key-1") {
    return HttpCall(server_->port(), "GET", path, key);
  }

  nextier::testing::TempDir dir_;
  std::unique_ptr<SandboxSms> sms_;
  Metrics metrics_;
  std::unique_ptr<Server> server_;
};

TEST_F(ApiSandboxTest, ListsAcceptedMessagesOldestFirstWithTheApiShape) {
  SendSome(3);
  auto r = Get("/api/sandbox/outbox");
  ASSERT_EQ(StatusOf(r), 200) << r;
  auto body = json::parse(BodyOf(r));
  ASSERT_EQ(body["items"].size(), 3u);
  EXPECT_TRUE(body["next"].is_null());
  const auto& first = body["items"][0];
  EXPECT_EQ(first["id"], "SBX000000000001");
  EXPECT_EQ(first["from"], "+12125550100");
  EXPECT_EQ(first["to"], "+15164079240");
  EXPECT_EQ(first["body"], "body 0");
  EXPECT_EQ(first["campaignId"], "cmp-1");
  EXPECT_EQ(first["leadId"], "lead-0");
  EXPECT_EQ(first["kind"], "opener");
  EXPECT_EQ(first["at"], engine::FormatRfc3339(1'795'000'000'000'000));
  EXPECT_EQ(body["items"][2]["leadId"], "lead-2");
}

TEST_F(ApiSandboxTest, PagesWithLimitAndCursor) {
  SendSome(5);
  auto r = Get("/api/sandbox/outbox?limit=2");
  ASSERT_EQ(StatusOf(r), 200) << r;
  auto page = json::parse(BodyOf(r));
  ASSERT_EQ(page["items"].size(), 2u);
  ASSERT_TRUE(page["next"].is_string());
  std::vector<std::string> leads;
  for (const auto& it : page["items"]) leads.push_back(it["leadId"]);
  while (page["next"].is_string()) {
    r = Get("/api/sandbox/outbox?limit=2&cursor=" + page["next"].get<std::string>());
    ASSERT_EQ(StatusOf(r), 200) << r;
    page = json::parse(BodyOf(r));
    for (const auto& it : page["items"]) leads.push_back(it["leadId"]);
  }
  EXPECT_EQ(leads, (std::vector<std::string>{"lead-0", "lead-1", "lead-2", "lead-3", "lead-4"}));
}

TEST_F(ApiSandboxTest, RejectsBadLimitsAndCursors) {
  for (const char* q : {"limit=0", "limit=1001", "limit=abc", "limit=-1", "cursor=x1"}) {
    auto r = Get(std::string("/api/sandbox/outbox?") + q);
    EXPECT_EQ(StatusOf(r), 400) << q << r;
  }
  EXPECT_EQ(StatusOf(Get("/api/sandbox/outbox?limit=1000")), 200);
}

TEST_F(ApiSandboxTest, NeedsAKeyOfAnAllowedRole) {
  EXPECT_EQ(StatusOf(Get("/api/sandbox/outbox", "")), 401);
  EXPECT_EQ(StatusOf(Get("/api/sandbox/outbox", "auditor-key-1")), 200);
  EXPECT_EQ(StatusOf(Get("/api/sandbox/outbox", "agent-key-1")), 200);
}

}  // namespace
}  // namespace nextier::adapters
