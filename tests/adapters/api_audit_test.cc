// The auditors' endpoints over a real server and store: a lead's history (now and as it was at a
// past time, by id or LEAD ID), verify on an intact and on a tampered log, the export in pages
// with personal data left sealed, and the roles.
#include "nextier/adapters/api_audit.h"

#include <capnp/message.h>
#include <capnp/serialize.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <sstream>

#include "nextier/adapters/event_json.h"
#include "testing/http_client.h"
#include "testing/testing.h"

namespace nextier::adapters {
namespace {

namespace es = eventstore;
using nextier::testing::BodyOf;
using nextier::testing::HttpCall;
using nextier::testing::StatusOf;
using json = nlohmann::json;

constexpr engine::Micros kT0 = 1'795'000'000'000'000;
constexpr engine::Micros kMinute = 60'000'000;

// The value of header `name` in a raw response ("" when absent); names compare case-blind.
std::string HeaderOf(const std::string& response, std::string name) {
  const std::string head = response.substr(0, response.find("\r\n\r\n"));
  std::string lower = head;
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  std::transform(name.begin(), name.end(), name.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  const auto pos = lower.find("\r\n" + name + ":");
  if (pos == std::string::npos) return {};
  auto start = pos + 2 + name.size() + 1;
  while (start < head.size() && head[start] == ' ') ++start;
  return head.substr(start, head.find("\r\n", start) - start);
}

std::vector<json> Lines(const std::string& body) {
  std::vector<json> out;
  std::istringstream in(body);
  for (std::string line; std::getline(in, line);) out.push_back(json::parse(line));
  return out;
}

class ApiAuditTest : public ::testing::Test {
 protected:
  void SetUp() override {
    OpenAndStart();
    Seed();
  }
  void TearDown() override { StopAll(); }

  void OpenAndStart() {
    es::LmdbOptions o;
    o.path = dir_.str() + "/es";
    o.sync = false;
    auto store = es::OpenLmdbEventStore(o);
    ASSERT_OK(store);
    store_ = std::move(store).value();
    pool_ = std::make_unique<WorkPool>(2);
    server_ = std::make_unique<Server>(ServerOptions{.bind = "127.0.0.1", .port = 0},
                                       std::vector<ApiKey>{{"ops-key-1", Role::kOps, "o"},
                                                           {"agent-key-1", Role::kAgent, "g"},
                                                           {"auditor-key-1", Role::kAuditor, "a"},
                                                           {"admin-key-1", Role::kAdmin, "r"}},
                                       &metrics_);
    RegisterAuditRoutes(*server_, *store_, *pool_);
    ASSERT_OK(server_->Start());
  }
  void StopAll() {
    if (server_) server_->Stop();
    server_.reset();
    pool_.reset();
    store_.reset();
  }

  es::NewEvent Event(engine::Micros at, const std::string& subject = {}) {
    es::NewEvent e;
    auto b = e.builder();
    b.setRecordedAt(at);
    b.setActor("system:test");
    b.setCorrelationId("corr-" + std::to_string(at / kMinute % 1000));
    b.setKeySubject(subject);
    return e;
  }
  void Append(const std::string& stream, es::NewEvent e) {
    std::vector<es::NewEvent> v;
    v.push_back(std::move(e));
    ASSERT_OK(store_->Append(stream, es::ExpectedVersion::Any(), std::move(v)));
  }

  // Lead 7: imported at T0 (personal sealed), enriched as NXT-000001 at T0+1m, queued at
  // T0+2m; then five marker events on another stream (seq 5..9).
  void Seed() {
    capnp::MallocMessageBuilder m;
    auto p = m.initRoot<es::schema::Personal>();
    p.setFirstName("Ada");
    p.setLastName("Lovelace");
    auto words = capnp::messageToFlatArray(m);
    auto bytes = words.asBytes();
    auto sealed = store_->keys().Seal(
        "lead-7", std::string(reinterpret_cast<const char*>(bytes.begin()), bytes.size()));
    ASSERT_OK(sealed);

    auto imported = Event(kT0, "lead-7");
    auto li = imported.builder().getPayload().initLeadImported();
    li.setLeadId("7");
    li.setRow(3);
    li.setPersonal(
        capnp::Data::Reader(reinterpret_cast<const kj::byte*>(sealed->data()), sealed->size()));
    Append("lead-7", std::move(imported));

    auto assigned = Event(kT0 + kMinute);
    auto la = assigned.builder().getPayload().initLeadIdAssigned();
    la.setLeadId("7");
    la.setHumanId("NXT-000001");
    Append("lead-ids", std::move(assigned));

    auto enriched = Event(kT0 + kMinute, "lead-7");
    auto le = enriched.builder().getPayload().initLeadEnriched();
    le.setHumanId("NXT-000001");
    le.setPhoneType("mobile");
    Append("lead-7", std::move(enriched));

    auto queued = Event(kT0 + 2 * kMinute);
    auto lq = queued.builder().getPayload().initLeadQueued();
    lq.setCampaignId("cmp-1");
    lq.setBlockNumber(1);
    lq.setBatchNumber(1);
    Append("lead-7", std::move(queued));

    for (int i = 5; i <= 9; ++i) {
      auto marker = Event(kT0 + 3 * kMinute);
      marker.builder().getPayload().initOpaque().setKind("AUDIT-MARKER-10000" + std::to_string(i));
      Append("other", std::move(marker));
    }
  }

  std::string Get(const std::string& path, const std::string& key = "auditor-key-1") {
    return HttpCall(server_->port(), "GET", path, key);
  }

  nextier::testing::TempDir dir_;
  std::unique_ptr<es::EventStore> store_;
  std::unique_ptr<WorkPool> pool_;
  Metrics metrics_;
  std::unique_ptr<Server> server_;
};

TEST_F(ApiAuditTest, HistoryFoldsTheStateAndOpensPersonalData) {
  auto r = Get("/api/leads/7/history", "ops-key-1");
  ASSERT_EQ(StatusOf(r), 200) << r;
  auto body = json::parse(BodyOf(r));
  EXPECT_EQ(body["leadId"], "7");
  EXPECT_EQ(body["humanId"], "NXT-000001");
  EXPECT_EQ(body["state"], "queued");
  ASSERT_EQ(body["events"].size(), 3u);
  const auto& first = body["events"][0];
  EXPECT_EQ(first["type"], "LeadImported");
  EXPECT_EQ(first["seq"], 1);
  EXPECT_EQ(first["version"], 1);
  EXPECT_EQ(first["at"], engine::FormatRfc3339(kT0));
  EXPECT_EQ(first["actor"], "system:test");
  EXPECT_EQ(first["data"]["row"], 3);
  EXPECT_EQ(first["data"]["personal"]["firstName"], "Ada");
  EXPECT_EQ(body["events"][1]["data"]["humanId"], "NXT-000001");
  EXPECT_EQ(body["events"][2]["data"]["campaignId"], "cmp-1");
  for (const char* key : {"agent-key-1", "auditor-key-1", "admin-key-1"}) {
    EXPECT_EQ(StatusOf(Get("/api/leads/7/history", key)), 200) << key;
  }
}

TEST_F(ApiAuditTest, HistoryAtAPastTimeGivesTheStateAsItWasThen) {
  auto r = Get("/api/leads/7/history?at=" + engine::FormatRfc3339(kT0 + kMinute));
  ASSERT_EQ(StatusOf(r), 200) << r;
  auto body = json::parse(BodyOf(r));
  EXPECT_EQ(body["state"], "enriched");
  EXPECT_EQ(body["events"].size(), 2u);

  r = Get("/api/leads/7/history?at=" + engine::FormatRfc3339(kT0 + 30'000'000));
  ASSERT_EQ(StatusOf(r), 200) << r;
  body = json::parse(BodyOf(r));
  EXPECT_EQ(body["state"], "raw");
  EXPECT_EQ(body["events"].size(), 1u);

  // The moment of the queueing, written with an offset.
  std::string local = engine::FormatRfc3339(kT0 + 2 * kMinute - 5 * 60 * kMinute);
  ASSERT_EQ(local.back(), 'Z');
  local.back() = '-';
  r = Get("/api/leads/7/history?at=" + local + "05:00");
  ASSERT_EQ(StatusOf(r), 200) << r;
  EXPECT_EQ(json::parse(BodyOf(r))["state"], "queued");

  r = Get("/api/leads/7/history?at=" + engine::FormatRfc3339(kT0 - kMinute));
  EXPECT_EQ(StatusOf(r), 404) << "the lead did not exist yet: " << r;
}

TEST_F(ApiAuditTest, HistoryFindsALeadByItsLeadId) {
  auto r = Get("/api/leads/NXT-000001/history");
  ASSERT_EQ(StatusOf(r), 200) << r;
  auto body = json::parse(BodyOf(r));
  EXPECT_EQ(body["leadId"], "7");
  EXPECT_EQ(body["events"].size(), 3u);
  EXPECT_EQ(StatusOf(Get("/api/leads/NXT-000002/history")), 404);
}

TEST_F(ApiAuditTest, HistoryOfAnUnknownLeadIs404AndABadTimeIs400) {
  auto r = Get("/api/leads/99/history");
  EXPECT_EQ(StatusOf(r), 404) << r;
  EXPECT_EQ(json::parse(BodyOf(r))["error"]["code"], "not_found");
  r = Get("/api/leads/7/history?at=yesterday");
  ASSERT_EQ(StatusOf(r), 400) << r;
  EXPECT_EQ(json::parse(BodyOf(r))["error"]["field"], "at");
}

TEST_F(ApiAuditTest, RolesAreEnforced) {
  EXPECT_EQ(StatusOf(Get("/api/leads/7/history", "")), 401);
  EXPECT_EQ(StatusOf(Get("/api/audit/verify", "")), 401);
  EXPECT_EQ(StatusOf(Get("/api/audit/export", "")), 401);
  EXPECT_EQ(StatusOf(Get("/api/audit/verify", "ops-key-1")), 403);
  EXPECT_EQ(StatusOf(Get("/api/audit/export", "agent-key-1")), 403);
  EXPECT_EQ(StatusOf(Get("/api/audit/verify", "admin-key-1")), 200);
}

TEST_F(ApiAuditTest, VerifyReportsAnIntactChain) {
  auto r = Get("/api/audit/verify");
  ASSERT_EQ(StatusOf(r), 200) << r;
  auto body = json::parse(BodyOf(r));
  EXPECT_EQ(body["ok"], true);
  EXPECT_EQ(body["events"], 9);
  ASSERT_TRUE(body["headHash"].is_string());
  EXPECT_EQ(body["headHash"].get<std::string>().size(), 64u);
  EXPECT_FALSE(body.contains("firstBad"));
  // The head hash is the last event's hash as the export shows it.
  auto last = Lines(BodyOf(Get("/api/audit/export?from=9")));
  ASSERT_EQ(last.size(), 1u);
  EXPECT_EQ(body["headHash"], last[0]["hash"]);
}

TEST_F(ApiAuditTest, VerifyNamesTheFirstBadPositionOfATamperedLog) {
  StopAll();
  const std::string file = dir_.str() + "/es/data.mdb";
  std::string bytes;
  {
    std::ifstream in(file, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), {});
  }
  size_t flipped = 0;
  for (size_t pos = bytes.find("AUDIT-MARKER-100007"); pos != std::string::npos;
       pos = bytes.find("AUDIT-MARKER-100007", pos + 1)) {
    bytes[pos + 18] = '8';  // one byte: ...100007 -> ...100008
    ++flipped;
  }
  ASSERT_GT(flipped, 0u);
  {
    std::ofstream out(file, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  }
  OpenAndStart();
  auto r = Get("/api/audit/verify");
  ASSERT_EQ(StatusOf(r), 200) << r;
  auto body = json::parse(BodyOf(r));
  EXPECT_EQ(body["ok"], false);
  EXPECT_EQ(body["firstBad"], 7);
  EXPECT_TRUE(body["problem"].is_string());
  EXPECT_FALSE(body["problem"].get<std::string>().empty());
}

TEST_F(ApiAuditTest, ExportPagesThroughTheLogWithPersonalDataSealed) {
  auto r = Get("/api/audit/export?from=1&limit=4");
  ASSERT_EQ(StatusOf(r), 200) << r;
  EXPECT_EQ(HeaderOf(r, "Content-Type"), "application/x-ndjson");
  EXPECT_EQ(HeaderOf(r, "X-Next-From"), "5");
  auto lines = Lines(BodyOf(r));
  ASSERT_EQ(lines.size(), 4u);
  for (size_t i = 0; i < lines.size(); ++i) EXPECT_EQ(lines[i]["seq"], i + 1);
  EXPECT_EQ(lines[0]["type"], "LeadImported");
  EXPECT_EQ(lines[0]["data"]["personal"], kSealed);
  EXPECT_EQ(BodyOf(r).find("Ada"), std::string::npos) << "an export must not leak PII";
  EXPECT_EQ(BodyOf(r).find("Lovelace"), std::string::npos);

  r = Get("/api/audit/export?from=5&limit=4");
  EXPECT_EQ(HeaderOf(r, "X-Next-From"), "9");
  lines = Lines(BodyOf(r));
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_EQ(lines[0]["seq"], 5);
  EXPECT_EQ(lines[0]["data"]["kind"], "AUDIT-MARKER-100005");

  r = Get("/api/audit/export?from=9&limit=4");
  EXPECT_EQ(HeaderOf(r, "X-Next-From"), "") << "nothing remains: " << r;
  EXPECT_EQ(Lines(BodyOf(r)).size(), 1u);

  // A page that ends exactly at the head has no next page either.
  r = Get("/api/audit/export?from=6&limit=4");
  EXPECT_EQ(HeaderOf(r, "X-Next-From"), "");
  EXPECT_EQ(Lines(BodyOf(r)).size(), 4u);

  r = Get("/api/audit/export");
  EXPECT_EQ(HeaderOf(r, "X-Next-From"), "");
  EXPECT_EQ(Lines(BodyOf(r)).size(), 9u);

  r = Get("/api/audit/export?from=100");
  EXPECT_EQ(StatusOf(r), 200);
  EXPECT_EQ(BodyOf(r), "");
}

TEST_F(ApiAuditTest, ExportRejectsABadFromOrLimit) {
  for (const char* q : {"from=abc", "from=0", "from=-1", "from=1.5"}) {
    auto r = Get(std::string("/api/audit/export?") + q);
    ASSERT_EQ(StatusOf(r), 400) << q << ": " << r;
    EXPECT_EQ(json::parse(BodyOf(r))["error"]["field"], "from") << q;
  }
  for (const char* q : {"limit=0", "limit=100001", "limit=ten"}) {
    auto r = Get(std::string("/api/audit/export?from=1&") + q);
    ASSERT_EQ(StatusOf(r), 400) << q << ": " << r;
    EXPECT_EQ(json::parse(BodyOf(r))["error"]["field"], "limit") << q;
  }
}

}  // namespace
}  // namespace nextier::adapters
