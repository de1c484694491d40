// Provider outages against a real `nextier serve --provider sandbox --sim-clock`, only through the
// HTTP API: the sandbox is made to fail (`POST /api/sandbox/outage`) with HTTP 500s, time-outs
// and lost answers while a campaign's batch is being sent; once the provider is back and the
// clock has moved on, every lead was texted exactly once, and /metrics and the campaign show the
// retries. Also: a kill -9 while sends wait for their retry, a provider down for longer than the
// outbox waits (the sends are given up, not sent late), and the skip-trace sandbox's outage.
#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
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

// 2026-11-28T15:00:00Z is 10:00 in New York: inside the sending hours for hours to come.
std::string Args(const nextier::testing::TempDir& dir) {
  return "--data " + dir.str() + " --provider sandbox --sim-clock 2026-11-28T15:00:00Z";
}

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

json SkipTraceJob(uint16_t port, const std::string& id) {
  json job;
  for (int i = 0; i < 600; ++i) {
    job = Call(port, "GET", "/api/skip-trace/status/" + id, kOps, nullptr, 200);
    if (job["status"] == "done" || job["status"] == "failed") break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return job;
}

// Uploads, skip-traces everything and waits for the job: returns the number enriched.
int ImportAndSkipTrace(uint16_t port, int rows) {
  const std::string up = Upload(port, Csv(rows));
  EXPECT_EQ(StatusOf(up), 202) << up;
  json job = Call(port, "POST", "/api/skip-trace/start", kOps, json::object(), 202)["job"];
  job = SkipTraceJob(port, job["id"]);
  EXPECT_EQ(job["status"], "done") << job.dump();
  return job.value("enriched", 0);
}

// Creates and starts a campaign over every enriched lead; its first batch goes out when the
// clock is next advanced.
std::string StartCampaign(uint16_t port) {
  json c = Call(port, "POST", "/api/campaigns/create", kOps,
                {{"name", "Owners Q4"},
                 {"workflow", "business-owners"},
                 {"fromNumber", kFrom},
                 {"aiWorker", "GIANNA"}},
                201)["campaign"];
  const std::string id = c["id"];
  Call(port, "POST", "/api/campaigns/" + id + "/start", kOps, nullptr, 200);
  return id;
}

json SandboxOutbox(uint16_t port) {
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

// Texts per recipient in the sandbox's outbox.
std::map<std::string, int> TextsPerNumber(uint16_t port) {
  std::map<std::string, int> texts;
  for (const auto& m : SandboxOutbox(port)) ++texts[m["to"]];
  return texts;
}

// The samples of GET /metrics by name (with labels, as written).
std::map<std::string, double> Metrics(uint16_t port) {
  std::map<std::string, double> out;
  std::istringstream in(BodyOf(HttpCall(port, "GET", "/metrics")));
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line[0] == '#') continue;
    const auto sp = line.rfind(' ');
    if (sp == std::string::npos) continue;
    out[line.substr(0, sp)] = std::stod(line.substr(sp + 1));
  }
  return out;
}

// Moves the simulated clock `step` seconds per request, `seconds` in all.
void Advance(uint16_t port, int seconds, int step = 2) {
  for (int s = 0; s < seconds; s += step) {
    Call(port, "POST", "/api/test/clock/advance", kAdmin, {{"seconds", step}}, 200);
  }
}

json SetOutage(uint16_t port, const json& body, int expect = 200) {
  return Call(port, "POST", "/api/sandbox/outage", kAdmin, body, expect);
}

// Every enriched lead texted exactly once, the campaign complete with all of them sent, and
// nothing waiting, given up or unknown in the outbox.
void ExpectEveryLeadTextedOnce(uint16_t port, const std::string& campaign, int enriched) {
  const auto texts = TextsPerNumber(port);
  for (const auto& [number, n] : texts) EXPECT_EQ(n, 1) << number << " texted " << n << " times";
  EXPECT_EQ(texts.size(), static_cast<size_t>(enriched));
  json c = Call(port, "GET", "/api/campaigns/" + campaign, kOps, nullptr, 200);
  EXPECT_EQ(c["counts"]["sent"], enriched) << c.dump();
  EXPECT_EQ(c["counts"]["failed"], 0) << c.dump();
  EXPECT_EQ(c["status"], "completed") << c.dump();
  json queued = Call(port, "GET", "/api/leads?status=queued&limit=1000", kOps, nullptr, 200);
  EXPECT_EQ(queued["items"].size(), 0u);
  const auto m = Metrics(port);
  EXPECT_EQ(m.at("nextier_outbox_waiting"), 0);
  EXPECT_EQ(m.at("nextier_outbox_given_up_total"), 0);
  EXPECT_EQ(m.at("nextier_outbox_unknown_total"), 0);
}

TEST(FaultsServeTest, TheOutageHookChecksItsInputAndReportsItsState) {
  nextier::testing::TempDir dir;
  ServeProcess p(Args(dir));
  ASSERT_GT(p.port(), 0) << p.output();
  const uint16_t port = p.port();
  // Admin only.
  Call(port, "POST", "/api/sandbox/outage", kOps, {{"sms", nullptr}}, 403);
  Call(port, "GET", "/api/sandbox/outage", "", nullptr, 401);
  json none = Call(port, "GET", "/api/sandbox/outage", kAdmin, nullptr, 200);
  EXPECT_TRUE(none["sms"].is_null());
  EXPECT_TRUE(none["skipTrace"].is_null());
  EXPECT_EQ(none["failures"]["sms"], 0);

  const std::pair<json, std::string> bad[] = {
      {json::object(), ""},
      {{{"sms", 1}}, "sms"},
      {{{"sms", {{"mode", "boom"}, {"count", 1}}}}, "sms.mode"},
      {{{"sms", {{"count", 1}}}}, "sms.mode"},
      {{{"sms", {{"mode", "error"}}}}, "sms"},
      {{{"sms", {{"mode", "error"}, {"count", 1}, {"seconds", 1}}}}, "sms"},
      {{{"sms", {{"mode", "error"}, {"count", 0}}}}, "sms.count"},
      {{{"sms", {{"mode", "error"}, {"count", 1.5}}}}, "sms.count"},
      {{{"sms", {{"mode", "error"}, {"seconds", -3}}}}, "sms.seconds"},
      {{{"sms", {{"mode", "timeout"}, {"count", 2}, {"delayMs", 99999}}}}, "sms.delayMs"},
      {{{"sms", {{"mode", "error"}, {"count", 2}, {"extra", true}}}}, "sms.extra"},
      {{{"email", nullptr}}, "email"},
      {{{"skipTrace", {{"mode", "error"}}}}, "skipTrace"},
  };
  for (const auto& [body, field] : bad) {
    json e = SetOutage(port, body, 400);
    EXPECT_EQ(e["error"]["code"], "invalid_argument") << body.dump();
    EXPECT_EQ(e["error"].value("field", ""), field) << body.dump() << " " << e.dump();
  }
  // A bad skipTrace leaves a good sms untouched: nothing changes on a 400.
  SetOutage(port, {{"sms", {{"mode", "error"}, {"count", 3}}}, {"skipTrace", 7}}, 400);
  EXPECT_TRUE(Call(port, "GET", "/api/sandbox/outage", kAdmin, nullptr, 200)["sms"].is_null());

  json on = SetOutage(port, {{"sms", {{"mode", "timeout"}, {"count", 3}, {"delayMs", 20}}},
                             {"skipTrace", {{"mode", "error"}, {"seconds", 90}}}});
  EXPECT_EQ(on["sms"]["mode"], "timeout");
  EXPECT_EQ(on["sms"]["remaining"], 3);
  EXPECT_EQ(on["sms"]["delayMs"], 20);
  EXPECT_EQ(on["skipTrace"]["mode"], "error");
  EXPECT_EQ(on["skipTrace"]["until"], "2026-11-28T15:01:30Z");
  // Only the key given changes.
  json sms_off = SetOutage(port, {{"sms", nullptr}});
  EXPECT_TRUE(sms_off["sms"].is_null());
  EXPECT_EQ(sms_off["skipTrace"]["mode"], "error");
  // A time-boxed outage ends when the engine's clock gets there.
  Advance(port, 90, 30);
  EXPECT_TRUE(
      Call(port, "GET", "/api/sandbox/outage", kAdmin, nullptr, 200)["skipTrace"].is_null());
  SetOutage(port, {{"sms", {{"mode", "lost_response"}, {"count", 5}}}});
  json off = Call(port, "DELETE", "/api/sandbox/outage", kAdmin, nullptr, 200);
  EXPECT_TRUE(off["sms"].is_null());
  EXPECT_TRUE(off["skipTrace"].is_null());
  EXPECT_EQ(p.Terminate(), 0) << p.output();
}

// HTTP 500s for 30 s of business time from the moment the first batch goes out: every send of
// both batches fails, then the retries (backoff on the engine's clock) get them all through.
TEST(FaultsServeTest, FiveHundredsDuringTheBatchesAreRetriedWithBackoffUntilAllAreSentOnce) {
  nextier::testing::TempDir dir;
  ServeProcess p(Args(dir));
  ASSERT_GT(p.port(), 0) << p.output();
  const uint16_t port = p.port();
  const int enriched = ImportAndSkipTrace(port, 300);
  ASSERT_GT(enriched, 250) << "two batches are wanted";
  const std::string id = StartCampaign(port);

  SetOutage(port, {{"sms", {{"mode", "error"}, {"seconds", 30}}}});
  Advance(port, 2);  // the first batch: 250 intents, every send answered 500
  EXPECT_EQ(SandboxOutbox(port).size(), 0u);
  auto m = Metrics(port);
  EXPECT_EQ(m.at("nextier_outbox_waiting"), 250);
  EXPECT_GE(m.at("nextier_outbox_retries_total"), 250);
  EXPECT_EQ(m.at("nextier_outbox_sent_total"), 0);
  json c = Call(port, "GET", "/api/campaigns/" + id, kOps, nullptr, 200);
  EXPECT_EQ(c["counts"]["sent"], 0);
  EXPECT_EQ(c["counts"]["failed"], 0);  // waiting is not failing

  // The second batch (5 s later) meets the outage too; the retries back off (1, 2, 4... s);
  // the outage ends at 30 s and the next retry of each send gets it through.
  Advance(port, 28);
  EXPECT_EQ(SandboxOutbox(port).size(), 0u);
  m = Metrics(port);
  EXPECT_EQ(m.at("nextier_outbox_waiting"), enriched);
  const double retries_in_outage = m.at("nextier_outbox_retries_total");
  // Backoff: about five attempts each in 30 s, not one per second.
  EXPECT_GE(retries_in_outage, 3.0 * enriched);
  EXPECT_LE(retries_in_outage, 7.0 * enriched);
  const json outage = Call(port, "GET", "/api/sandbox/outage", kAdmin, nullptr, 200);
  EXPECT_TRUE(outage["sms"].is_null()) << "it ended with the clock";
  EXPECT_EQ(outage["failures"]["sms"], retries_in_outage);

  Advance(port, 90);
  ExpectEveryLeadTextedOnce(port, id, enriched);
  m = Metrics(port);
  EXPECT_EQ(m.at("nextier_outbox_sent_total"), enriched);
  EXPECT_EQ(m.at("nextier_outbox_retries_total"), retries_in_outage);
  EXPECT_EQ(m.at("nextier_outbox_reconciled_total"), 0);
  EXPECT_EQ(p.Terminate(), 0) << p.output();
}

// Time-outs: each failing call is held before it fails; nothing was stored, so the look-up
// finds nothing and the send goes out once.
TEST(FaultsServeTest, TimeoutsDuringABatchAreLookedUpThenSentOnce) {
  nextier::testing::TempDir dir;
  ServeProcess p(Args(dir));
  ASSERT_GT(p.port(), 0) << p.output();
  const uint16_t port = p.port();
  const int enriched = ImportAndSkipTrace(port, 120);
  const std::string id = StartCampaign(port);

  SetOutage(port, {{"sms", {{"mode", "timeout"}, {"count", 40}, {"delayMs", 30}}}});
  Advance(port, 2);
  auto m = Metrics(port);
  EXPECT_EQ(m.at("nextier_outbox_waiting"), 40);
  EXPECT_EQ(SandboxOutbox(port).size(), static_cast<size_t>(enriched - 40));
  Advance(port, 10);
  ExpectEveryLeadTextedOnce(port, id, enriched);
  m = Metrics(port);
  EXPECT_EQ(m.at("nextier_outbox_retries_total"), 40);
  EXPECT_EQ(m.at("nextier_outbox_sent_total"), enriched);
  EXPECT_EQ(m.at("nextier_outbox_reconciled_total"), 0);
  EXPECT_EQ(p.Terminate(), 0) << p.output();
}

// Lost answers: the SMS IS sent but the engine hears nothing. It must learn that by looking the
// send up by its key, never by sending again.
TEST(FaultsServeTest, LostAnswersAreReconciledByLookUpNeverBySendingAgain) {
  nextier::testing::TempDir dir;
  ServeProcess p(Args(dir));
  ASSERT_GT(p.port(), 0) << p.output();
  const uint16_t port = p.port();
  const int enriched = ImportAndSkipTrace(port, 120);
  const std::string id = StartCampaign(port);

  SetOutage(port, {{"sms", {{"mode", "lost_response"}, {"count", 50}}}});
  Advance(port, 2);
  // Every send reached the sandbox; 50 answers were lost and wait for their look-up.
  EXPECT_EQ(SandboxOutbox(port).size(), static_cast<size_t>(enriched));
  auto m = Metrics(port);
  EXPECT_EQ(m.at("nextier_outbox_waiting"), 50);
  EXPECT_EQ(m.at("nextier_outbox_sent_total"), enriched - 50);
  json c = Call(port, "GET", "/api/campaigns/" + id, kOps, nullptr, 200);
  EXPECT_EQ(c["counts"]["sent"], enriched - 50);
  Advance(port, 4);
  ExpectEveryLeadTextedOnce(port, id, enriched);
  m = Metrics(port);
  EXPECT_EQ(m.at("nextier_outbox_reconciled_total"), 50);
  EXPECT_EQ(m.at("nextier_outbox_retries_total"), 50);
  // The lead's history says how its opener's outcome was learned.
  json sent = Call(port, "GET", "/api/leads?status=sent&limit=1000", kOps, nullptr, 200);
  int reconciled = 0;
  for (const auto& lead : sent["items"]) {
    json h =
        Call(port, "GET", "/api/leads/" + std::string(lead["id"]) + "/history", kOps, nullptr, 200);
    for (const auto& e : h["events"]) {
      if (e["type"] == "SmsSent" && e["data"].value("reconciled", false)) ++reconciled;
    }
  }
  EXPECT_EQ(reconciled, 50);
  EXPECT_EQ(p.Terminate(), 0) << p.output();
}

// kill -9 while every send of a batch waits for its retry (some were really sent, their answers
// lost; the others were refused): after the restart the outbox looks each one up and sends only
// those the provider never got.
TEST(FaultsServeTest, KillNineWhileSendsWaitForTheirRetryNeitherDoublesNorLosesAny) {
  nextier::testing::TempDir dir;
  int enriched = 0;
  std::string id;
  {
    ServeProcess p(Args(dir));
    ASSERT_GT(p.port(), 0) << p.output();
    enriched = ImportAndSkipTrace(p.port(), 120);
    id = StartCampaign(p.port());
    SetOutage(p.port(), {{"sms", {{"mode", "lost_response"}, {"count", 30}}}});
    Advance(p.port(), 2);
    EXPECT_EQ(Metrics(p.port()).at("nextier_outbox_waiting"), 30);
    // The sandbox now refuses everything; the 30 lost answers wait for a look-up that fails.
    SetOutage(p.port(), {{"sms", {{"mode", "error"}, {"seconds", 600}}}});
    p.Kill();
  }
  ServeProcess p(Args(dir));
  ASSERT_GT(p.port(), 0) << p.output();
  Advance(p.port(), 4);
  ExpectEveryLeadTextedOnce(p.port(), id, enriched);
  EXPECT_EQ(Metrics(p.port()).at("nextier_outbox_reconciled_total"), 30);
  EXPECT_EQ(p.Terminate(), 0) << p.output();
}

// A provider down for longer than the outbox waits (15 minutes of business time): the sends are
// not made late, out of the hours they were meant for. While the provider cannot even be asked
// they wait; once it answers that it never got them, each lead fails, visibly, and none is
// texted.
TEST(FaultsServeTest, AProviderDownTooLongFailsTheSendsInsteadOfTextingLate) {
  nextier::testing::TempDir dir;
  ServeProcess p(Args(dir));
  ASSERT_GT(p.port(), 0) << p.output();
  const uint16_t port = p.port();
  const int enriched = ImportAndSkipTrace(port, 60);
  const std::string id = StartCampaign(port);
  SetOutage(port, {{"sms", {{"mode", "error"}, {"seconds", 20 * 60}}}});
  Advance(port, 2);
  Advance(port, 14 * 60, 60);
  EXPECT_EQ(Metrics(port).at("nextier_outbox_waiting"), enriched) << "still trying at 14 min";
  Advance(port, 4 * 60, 60);
  EXPECT_EQ(Metrics(port).at("nextier_outbox_waiting"), enriched) << "cannot ask yet at 18 min";
  Advance(port, 5 * 60, 60);
  EXPECT_EQ(SandboxOutbox(port).size(), 0u) << SandboxOutbox(port).dump();
  const auto m = Metrics(port);
  EXPECT_EQ(m.at("nextier_outbox_waiting"), 0);
  EXPECT_EQ(m.at("nextier_outbox_given_up_total"), enriched);
  EXPECT_EQ(m.at("nextier_outbox_failed_total"), enriched);
  json c = Call(port, "GET", "/api/campaigns/" + id, kOps, nullptr, 200);
  EXPECT_EQ(c["counts"]["failed"], enriched) << c.dump();
  EXPECT_EQ(c["counts"]["sent"], 0) << c.dump();
  json failed = Call(port, "GET", "/api/leads?status=failed&limit=1000", kOps, nullptr, 200);
  ASSERT_EQ(failed["items"].size(), static_cast<size_t>(enriched));
  json h = Call(port, "GET", "/api/leads/" + std::string(failed["items"][0]["id"]) + "/history",
                kOps, nullptr, 200);
  bool given_up = false;
  for (const auto& e : h["events"]) {
    if (e["type"] == "SmsSendFailed")
      given_up = e["data"].value("code", "") == "provider_unavailable";
  }
  EXPECT_TRUE(given_up) << h.dump();
  EXPECT_EQ(p.Terminate(), 0) << p.output();
}

// The skip-trace sandbox fails too: the job retries each lead with backoff; a lead whose
// attempts all fail stays raw (nothing charged), and a second job enriches it once the
// provider is back.
TEST(FaultsServeTest, SkipTraceOutageLeavesLeadsRawForTheNextJob) {
  nextier::testing::TempDir dir;
  ServeProcess p(Args(dir));
  ASSERT_GT(p.port(), 0) << p.output();
  const uint16_t port = p.port();
  const std::string up = Upload(port, Csv(40));
  ASSERT_EQ(StatusOf(up), 202) << up;
  // Each lead is tried up to four times: 8 failures cost the first two leads their attempts.
  SetOutage(port, {{"skipTrace", {{"mode", "error"}, {"count", 8}}}});
  json job = Call(port, "POST", "/api/skip-trace/start", kOps, json::object(), 202)["job"];
  job = SkipTraceJob(port, job["id"]);
  EXPECT_EQ(job["status"], "done") << job.dump();
  EXPECT_EQ(job["failed"], 2) << job.dump();
  const int first = job.value("enriched", 0) + job.value("noHit", 0);
  EXPECT_EQ(first, 38) << job.dump();
  json again = Call(port, "POST", "/api/skip-trace/start", kOps, json::object(), 202)["job"];
  again = SkipTraceJob(port, again["id"]);
  EXPECT_EQ(again["failed"], 0) << again.dump();
  EXPECT_EQ(again.value("enriched", 0) + again.value("noHit", 0), 2) << again.dump();
  EXPECT_EQ(Call(port, "GET", "/api/sandbox/outage", kAdmin, nullptr, 200)["failures"]["skipTrace"],
            8);
  EXPECT_EQ(p.Terminate(), 0) << p.output();
}

}  // namespace
}  // namespace nextier
