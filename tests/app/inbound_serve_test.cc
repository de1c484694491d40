// Inbound replies through a real `nextier serve --provider sandbox --sim-clock`: the webhook's
// signature, classification and its effects, the gold label and the call queue, 1,000
// concurrent deliveries with duplicates, and the whole journey from import to a booked
// meeting with its three reminders — only through the HTTP API.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "nextier/adapters/api_webhooks.h"
#include "nextier/eventstore/event_store.h"
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
constexpr char kAgent[] = "agent-key-0001";
constexpr char kAdmin[] = "admin-key-0001";
constexpr char kFrom[] = "+15164079249";
constexpr char kSecret[] = "test-webhook-secret";

class ServeProcess : public nextier::testing::ServeProcess {
 public:
  explicit ServeProcess(const std::string& args)
      : nextier::testing::ServeProcess(NEXTIER_BINARY, args) {}
};

json Call(uint16_t port, const std::string& method, const std::string& path, const std::string& key,
          const json& body, int expect) {
  const std::string res = HttpCall(port, method, path, key, body.is_null() ? "" : body.dump());
  EXPECT_EQ(StatusOf(res), expect) << method << " " << path << ": " << res;
  return json::parse(BodyOf(res), nullptr, false);
}

// GET `path` until `done` holds (the read models follow the log a moment after a webhook is
// acknowledged, which is as soon as it is durable), at most 10 s; returns the last answer.
template <typename Pred>
json GetUntil(uint16_t port, const std::string& path, const std::string& key, Pred done) {
  json last;
  for (int i = 0; i < 200; ++i) {
    last = json::parse(BodyOf(HttpCall(port, "GET", path, key)), nullptr, false);
    if (done(last)) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return last;
}
size_t ItemCount(const json& j) { return j.contains("items") ? j["items"].size() : 0; }

int64_t NowMillis() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Posts `body` to the webhook signed with `secret` at `ts`; `skip` leaves a header out.
std::string PostWebhook(uint16_t port, const std::string& body, const std::string& delivery,
                        const std::string& secret = kSecret, int64_t ts = NowMillis(),
                        const std::string& skip = {}) {
  const std::string stamp = std::to_string(ts);
  std::string headers;
  if (skip != "timestamp") headers += "X-SignalHouse-Timestamp: " + stamp + "\r\n";
  if (skip != "signature") {
    headers +=
        "X-SignalHouse-Signature: " + adapters::WebhookSignature(secret, stamp, body) + "\r\n";
  }
  if (skip != "delivery") headers += "X-SignalHouse-Delivery-Id: " + delivery + "\r\n";
  return RawRequest(port, "POST /api/webhooks/sms-response HTTP/1.1\r\nHost: localhost\r\n" +
                              headers + "Content-Type: application/json\r\nContent-Length: " +
                              std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body);
}

std::string Reply(const std::string& id, const std::string& from, const std::string& text) {
  return json{{"event", "MESSAGE_RECEIVED"},
              {"identifier", id},
              {"timestamp", "2026-11-28T15:10:00Z"},
              {"metaData",
               {{"Message",
                 {{"direction", "INBOUND"},
                  {"senderPhoneNumber", from},
                  {"recipientPhoneNumber", kFrom},
                  {"messageBody", text}}}}}}
      .dump();
}

std::string Csv(int rows) {
  std::string csv = "Company Name,Address,City,State,Zip,Contact First,Contact Last,Title\n";
  static const char* kFirst[] = {"John", "Mary", "Ahmed", "Lucia", "Wei", "Olga", "Kwame", "Ines"};
  for (int i = 0; i < rows; ++i) {
    csv += "Shop " + std::to_string(i) + "," + std::to_string(i + 1) + " Broadway,New York,NY," +
           "10001," + kFirst[i % 8] + ",Owner" + std::to_string(i) + ",Owner\n";
  }
  return csv;
}

void Advance(uint16_t port, int seconds) {
  Call(port, "POST", "/api/test/clock/advance", kAdmin, {{"seconds", seconds}}, 200);
}

// Imports `rows` owners, skip-traces them, starts a campaign and sends the openers. Returns
// lead id -> the number it was texted at.
std::map<std::string, std::string> TextedLeads(uint16_t port, int rows) {
  const std::string csv = Csv(rows);
  const std::string up = RawRequest(
      port,
      "POST /api/data-hub/upload?name=o.csv HTTP/1.1\r\nHost: localhost\r\n"
      "Authorization: Bearer ops-key-0001\r\nContent-Type: text/csv\r\nContent-Length: " +
          std::to_string(csv.size()) + "\r\nConnection: close\r\n\r\n" + csv);
  EXPECT_EQ(StatusOf(up), 202) << up;
  json job = Call(port, "POST", "/api/skip-trace/start", kOps, json::object(), 202)["job"];
  for (int i = 0; i < 300 && job["status"] != "done"; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    job = Call(port, "GET", "/api/skip-trace/status/" + std::string(job["id"]), kOps, nullptr, 200);
  }
  json c = Call(port, "POST", "/api/campaigns/create", kOps,
                {{"name", "Owners"}, {"workflow", "business-owners"}, {"fromNumber", kFrom}},
                201)["campaign"];
  Call(port, "POST", "/api/campaigns/" + std::string(c["id"]) + "/start", kOps, nullptr, 200);
  Advance(port, 2);
  std::map<std::string, std::string> texted;
  json outbox = Call(port, "GET", "/api/sandbox/outbox?limit=1000", kOps, nullptr, 200);
  for (const auto& m : outbox["items"]) texted[m["leadId"]] = m["to"];
  return texted;
}

std::vector<json> OutboxOfKind(uint16_t port, const std::string& kind) {
  std::vector<json> out;
  json outbox = Call(port, "GET", "/api/sandbox/outbox?limit=1000", kOps, nullptr, 200);
  for (const auto& m : outbox["items"]) {
    if (m["kind"] == kind) out.push_back(m);
  }
  return out;
}

class InboundServeTest : public ::testing::Test {
 protected:
  void SetUp() override { setenv("NEXTIER_WEBHOOK_SECRET", kSecret, 1); }
  void TearDown() override { unsetenv("NEXTIER_WEBHOOK_SECRET"); }
  nextier::testing::TempDir dir_;
};

TEST_F(InboundServeTest, BadSignaturesAreRefusedAndStoreNothing) {
  ServeProcess p("--data " + dir_.str() + " --sim-clock 2026-11-28T15:00:00Z");
  ASSERT_GT(p.port(), 0) << p.output();
  const std::string body = Reply("in-1", "+12125550100", "yes please");
  EXPECT_EQ(StatusOf(PostWebhook(p.port(), body, "d-1", "wrong-secret")), 401);
  EXPECT_EQ(StatusOf(PostWebhook(p.port(), body, "d-1", kSecret, NowMillis() - 6 * 60 * 1000)),
            401);
  EXPECT_EQ(StatusOf(PostWebhook(p.port(), body, "d-1", kSecret, NowMillis() + 6 * 60 * 1000)),
            401);
  for (const char* skip : {"timestamp", "signature", "delivery"}) {
    EXPECT_EQ(StatusOf(PostWebhook(p.port(), body, "d-1", kSecret, NowMillis(), skip)), 401)
        << skip;
  }
  // A body altered after signing.
  const std::string stamp = std::to_string(NowMillis());
  const std::string sig = adapters::WebhookSignature(kSecret, stamp, body);
  std::string altered = body;
  altered.replace(altered.find("yes please"), 10, "STOP STOP!");
  const std::string res = RawRequest(
      p.port(), "POST /api/webhooks/signalhouse HTTP/1.1\r\nHost: x\r\nX-SignalHouse-Timestamp: " +
                    stamp + "\r\nX-SignalHouse-Signature: " + sig +
                    "\r\nX-SignalHouse-Delivery-Id: d-1\r\nContent-Length: " +
                    std::to_string(altered.size()) + "\r\nConnection: close\r\n\r\n" + altered);
  EXPECT_EQ(StatusOf(res), 401) << res;
  json list = Call(p.port(), "GET", "/api/responses", kOps, nullptr, 200);
  EXPECT_EQ(list["items"].size(), 0u);

  // The same reply, signed: an orphan (nobody was texted), stored, never an error.
  const std::string ok = PostWebhook(p.port(), body, "d-1");
  ASSERT_EQ(StatusOf(ok), 200) << ok;
  json r = json::parse(BodyOf(ok));
  EXPECT_TRUE(r["leadId"].is_null());
  EXPECT_EQ(r["classification"], "POSITIVE");
  EXPECT_FALSE(r["goldLabel"]);
  list =
      GetUntil(p.port(), "/api/responses", kAgent, [](const json& j) { return ItemCount(j) == 1; });
  ASSERT_EQ(list["items"].size(), 1u);
  EXPECT_EQ(list["items"][0]["from"], "+12125550100");
  EXPECT_EQ(list["items"][0]["body"], "yes please");
  EXPECT_TRUE(list["items"][0]["leadId"].is_null());
  // A second orphan, then the log: each is sealed under its own new subject, ordered by time
  // ("orphan:" + 16 hex digits of microseconds + ":" + the message id), its key stored with it.
  ASSERT_EQ(StatusOf(PostWebhook(p.port(), Reply("in-0", "+12125550101", "who is this"), "d-0")),
            200);
  EXPECT_EQ(p.Terminate(), 0) << p.output();
  eventstore::LmdbOptions o;
  o.path = dir_.str() + "/eventstore";
  o.read_only = true;
  auto store = eventstore::OpenLmdbEventStore(o);
  ASSERT_OK(store);
  std::vector<std::string> subjects;
  std::vector<std::string> problems;
  const Status read = (*store)->ReadAll(1, SIZE_MAX, [&](const eventstore::EventView& v) {
    const auto e = v.event();
    if (e.getPayload().which() != eventstore::schema::Event::Payload::REPLY_RECEIVED) return true;
    subjects.emplace_back(e.getKeySubject().cStr());
    const auto sealed = e.getPayload().getReplyReceived().getPersonal();
    auto opened = (*store)->keys().Open(
        subjects.back(),
        std::string_view(reinterpret_cast<const char*>(sealed.begin()), sealed.size()));
    if (!opened.ok()) problems.push_back(subjects.back() + ": " + opened.status().ToString());
    return true;
  });
  ASSERT_OK(read);
  EXPECT_TRUE(problems.empty()) << problems.front();
  ASSERT_EQ(subjects.size(), 2u);
  const std::regex shape("orphan:[0-9a-f]{16}:in-[01]");
  EXPECT_TRUE(std::regex_match(subjects[0], shape)) << subjects[0];
  EXPECT_TRUE(std::regex_match(subjects[1], shape)) << subjects[1];
  EXPECT_TRUE(subjects[0].ends_with(":in-1") && subjects[1].ends_with(":in-0"));
  EXPECT_LT(subjects[0], subjects[1]) << "the later orphan's subject sorts after";
}

TEST_F(InboundServeTest, EachClassHasItsEffectAndARedeliveryIsProcessedOnce) {
  ServeProcess p("--data " + dir_.str() + " --sim-clock 2026-11-28T15:00:00Z");
  ASSERT_GT(p.port(), 0) << p.output();
  const auto texted = TextedLeads(p.port(), 12);
  ASSERT_GE(texted.size(), 6u);
  auto it = texted.begin();
  const auto [gold_lead, gold_phone] = *it++;
  const auto [stop_lead, stop_phone] = *it++;
  const auto [positive_lead, positive_phone] = *it++;
  const auto [negative_lead, negative_phone] = *it++;
  const auto [help_lead, help_phone] = *it++;

  // EMAIL: the gold label, twice delivered, processed once.
  for (int i = 0; i < 2; ++i) {
    json r = json::parse(BodyOf(PostWebhook(
        p.port(), Reply("in-gold", gold_phone, "Sure, send it to Pat.Smith at Gmail dot com"),
        "d-gold")));
    EXPECT_EQ(r["ok"], true);
    EXPECT_EQ(r["leadId"], gold_lead);
    EXPECT_EQ(r["classification"], "EMAIL");
    EXPECT_EQ(r["goldLabel"], true);
  }
  // The same delivery id again, even under another message id: the original answer.
  json again = json::parse(BodyOf(
      PostWebhook(p.port(), Reply("in-gold-resent", gold_phone, "pat.smith@gmail.com"), "d-gold")));
  EXPECT_EQ(again["classification"], "EMAIL");
  EXPECT_EQ(again["duplicate"], true);
  json lead = GetUntil(p.port(), "/api/leads/" + gold_lead, kOps,
                       [](const json& j) { return j.value("state", "") == "gold"; });
  EXPECT_EQ(lead["state"], "gold");
  json gold = GetUntil(p.port(), "/api/responses/gold-labels", kOps,
                       [](const json& j) { return ItemCount(j) > 0; });
  ASSERT_EQ(gold["items"].size(), 1u);
  EXPECT_EQ(gold["items"][0]["leadId"], gold_lead);
  EXPECT_EQ(gold["items"][0]["email"], "pat.smith@gmail.com");
  EXPECT_EQ(gold["items"][0]["phone"], gold_phone);
  EXPECT_EQ(gold["items"][0]["phoneVerified"], true);
  json queue =
      GetUntil(p.port(), "/api/call-queue", kAgent, [](const json& j) { return ItemCount(j) > 0; });
  ASSERT_EQ(queue["items"].size(), 1u);
  EXPECT_EQ(queue["items"][0]["leadId"], gold_lead);
  EXPECT_EQ(queue["items"][0]["status"], "pending");

  // OPT_OUT: opted out, one confirmation however many STOPs.
  for (const char* id : {"in-stop-1", "in-stop-2"}) {
    json r = json::parse(
        BodyOf(PostWebhook(p.port(), Reply(id, stop_phone, "STOP"), std::string("d-") + id)));
    EXPECT_EQ(r["classification"], "OPT_OUT");
  }
  // POSITIVE, NEGATIVE, HELP.
  EXPECT_EQ(json::parse(BodyOf(PostWebhook(
                p.port(), Reply("in-pos", positive_phone, "Yes, I'm interested. How much?"),
                "d-pos")))["classification"],
            "POSITIVE");
  EXPECT_EQ(json::parse(BodyOf(
                PostWebhook(p.port(), Reply("in-neg", negative_phone, "Not interested, thanks"),
                            "d-neg")))["classification"],
            "NEGATIVE");
  EXPECT_EQ(json::parse(BodyOf(PostWebhook(p.port(), Reply("in-help", help_phone, "HELP"),
                                           "d-help")))["classification"],
            "HELP");
  Advance(p.port(), 1);  // the answers go out through the SMS queue

  EXPECT_EQ(Call(p.port(), "GET", "/api/leads/" + stop_lead, kOps, nullptr, 200)["state"],
            "opted_out");
  EXPECT_EQ(Call(p.port(), "GET", "/api/leads/" + negative_lead, kOps, nullptr, 200)["state"],
            "not_interested");
  EXPECT_EQ(Call(p.port(), "GET", "/api/leads/" + positive_lead, kOps, nullptr, 200)["state"],
            "responded");
  const auto optouts = OutboxOfKind(p.port(), "optout");
  ASSERT_EQ(optouts.size(), 1u);
  EXPECT_EQ(optouts[0]["to"], stop_phone);
  const auto autoreplies = OutboxOfKind(p.port(), "autoreply");
  std::set<std::string> autoreplied;
  for (const auto& m : autoreplies) autoreplied.insert(m["to"]);
  EXPECT_TRUE(autoreplied.count(positive_phone)) << json(autoreplies).dump();
  EXPECT_TRUE(autoreplied.count(gold_phone));
  EXPECT_EQ(OutboxOfKind(p.port(), "help").size(), 1u);

  // A second positive reply the same day gets no second auto-reply.
  PostWebhook(p.port(), Reply("in-pos-2", positive_phone, "yes"), "d-pos-2");
  Advance(p.port(), 1);
  int to_positive = 0;
  for (const auto& m : OutboxOfKind(p.port(), "autoreply"))
    to_positive += m["to"] == positive_phone;
  EXPECT_EQ(to_positive, 1);

  // The opted-out number never gets anything again, follow-ups included.
  Advance(p.port(), 8 * 24 * 3600);
  int to_stop = 0;
  const json all = Call(p.port(), "GET", "/api/sandbox/outbox?limit=1000", kOps, nullptr, 200);
  for (const auto& m : all["items"]) {
    to_stop += m["to"] == stop_phone && m["kind"] != "opener" && m["kind"] != "optout";
  }
  EXPECT_EQ(to_stop, 0);
  // Follow-ups went to leads that stayed silent, and only to them.
  for (const auto& m : OutboxOfKind(p.port(), "followup")) {
    EXPECT_NE(m["to"], gold_phone);
    EXPECT_NE(m["to"], positive_phone);
    EXPECT_NE(m["to"], negative_phone);
  }
  EXPECT_FALSE(OutboxOfKind(p.port(), "followup").empty());

  json responses =
      Call(p.port(), "GET", "/api/responses?classification=OPT_OUT", kOps, nullptr, 200);
  EXPECT_EQ(responses["items"].size(), 2u);
  json emails = Call(p.port(), "GET", "/api/responses?classification=EMAIL", kOps, nullptr, 200);
  EXPECT_EQ(emails["items"].size(), 1u);  // the redeliveries stored nothing
  json lower = Call(p.port(), "GET", "/api/responses?classification=email", kOps, nullptr, 200);
  EXPECT_EQ(lower["items"].size(), 1u);
  EXPECT_EQ(p.Terminate(), 0) << p.output();
}

// A reply is classified by the workflow version its lead's campaign pins, also once the
// campaign has been migrated after earlier replies (the service folds campaigns and leads
// incrementally between replies, so this checks the fold still sees the migration).
TEST_F(InboundServeTest, RepliesFollowTheCampaignsWorkflowAcrossAMigration) {
  ServeProcess p("--data " + dir_.str() + " --provider sandbox --sim-clock 2026-11-28T15:00:00Z");
  ASSERT_GT(p.port(), 0) << p.output();
  const auto texted = TextedLeads(p.port(), 2);
  ASSERT_EQ(texted.size(), 2u);
  const std::string first = texted.begin()->second;
  const std::string second = std::next(texted.begin())->second;
  auto classify = [&](const std::string& id, const std::string& from) {
    const std::string r = PostWebhook(p.port(), Reply(id, from, "pineapple"), "d-" + id);
    EXPECT_EQ(StatusOf(r), 200) << r;
    return json::parse(BodyOf(r), nullptr, false).value("classification", "");
  };
  EXPECT_EQ(classify("mig-1", first), "OTHER");

  json wf = Call(p.port(), "GET", "/api/workflows/business-owners", kOps, nullptr, 200);
  wf.erase("version");
  wf.erase("updatedAt");
  wf["classification"]["rules"]["POSITIVE"]["keywords"].push_back("pineapple");
  const std::string version =
      Call(p.port(), "PUT", "/api/workflows/business-owners", kOps, wf, 201)["version"];
  json campaigns = Call(p.port(), "GET", "/api/campaigns", kOps, nullptr, 200);
  ASSERT_EQ(campaigns["items"].size(), 1u) << campaigns;
  const std::string id = campaigns["items"][0]["id"];
  Call(p.port(), "POST", "/api/campaigns/" + id + "/migrate", kOps, {{"version", version}}, 200);

  EXPECT_EQ(classify("mig-2", first), "POSITIVE");   // a lead seen before the migration
  EXPECT_EQ(classify("mig-3", second), "POSITIVE");  // and one seen for the first time
  EXPECT_EQ(p.Terminate(), 0) << p.output();
}

TEST_F(InboundServeTest, AThousandConcurrentDeliveriesWithDuplicatesAreEachProcessedOnce) {
  ServeProcess p("--data " + dir_.str() + " --sim-clock 2026-11-28T15:00:00Z");
  ASSERT_GT(p.port(), 0) << p.output();
  const auto texted = TextedLeads(p.port(), 20);
  ASSERT_FALSE(texted.empty());
  std::vector<std::string> phones;
  for (const auto& [lead, phone] : texted) phones.push_back(phone);
  // 1,000 deliveries of 700 distinct messages, sent from 8 threads at once.
  std::atomic<int> ok{0};
  std::mutex failed_mu;
  std::vector<std::string> failed;  // what a delivery got instead of a 200
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = t; i < 1000; i += 8) {
        const int id = i % 700;
        const std::string res = PostWebhook(
            p.port(), Reply("m-" + std::to_string(id), phones[id % phones.size()], "ok 👍"),
            "d-" + std::to_string(id));
        if (StatusOf(res) == 200) {
          ++ok;
        } else {
          std::lock_guard lock(failed_mu);
          failed.push_back("m-" + std::to_string(id) + ": " + res);
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 1000) << (failed.empty() ? std::string() : failed.front());
  size_t stored = 0;
  std::string cursor;
  std::set<std::string> ids;
  for (;;) {
    json page = Call(p.port(), "GET",
                     "/api/responses?limit=1000" + (cursor.empty() ? "" : "&cursor=" + cursor),
                     kOps, nullptr, 200);
    for (const auto& r : page["items"]) {
      ++stored;
      ids.insert(r["id"]);
    }
    if (page["next"].is_null()) break;
    cursor = page["next"];
  }
  EXPECT_EQ(stored, 700u);
  EXPECT_EQ(ids.size(), 700u);
  EXPECT_EQ(p.Terminate(), 0) << p.output();
}

TEST_F(InboundServeTest, TheWholeJourneyEndsInABookedMeetingWithThreeReminders) {
  ServeProcess p("--data " + dir_.str() + " --sim-clock 2026-11-28T15:00:00Z");
  ASSERT_GT(p.port(), 0) << p.output();
  const auto texted = TextedLeads(p.port(), 8);
  ASSERT_FALSE(texted.empty());
  const auto& [lead, phone] = *texted.begin();
  json r = json::parse(
      BodyOf(PostWebhook(p.port(), Reply("in-1", phone, "yes! owner@shop-one.com"), "d-1")));
  ASSERT_EQ(r["goldLabel"], true) << r.dump();

  json queue = GetUntil(p.port(), "/api/call-queue?status=pending", kAgent,
                        [](const json& j) { return ItemCount(j) > 0; });
  ASSERT_EQ(queue["items"].size(), 1u);
  const std::string entry = queue["items"][0]["id"];
  EXPECT_EQ(queue["items"][0]["lead"]["email"], "owner@shop-one.com");
  Call(p.port(), "PUT", "/api/call-queue/" + entry + "/assign", kAgent, {{"agent", "ana"}}, 200);
  Call(p.port(), "PUT", "/api/call-queue/" + entry + "/assign", kAgent, {{"agent", "bob"}}, 409);
  Call(p.port(), "PUT", "/api/call-queue/" + entry + "/complete", kAgent,
       {{"disposition", "booked"}, {"notes", "wants a valuation"}}, 200);
  EXPECT_EQ(Call(p.port(), "GET", "/api/leads/" + lead, kOps, nullptr, 200)["state"], "called");

  // Book for 2026-11-30 16:00Z (11:00 in New York): all three reminders are ahead.
  json m = Call(p.port(), "POST", "/api/meetings/book", kAgent,
                {{"leadId", lead},
                 {"startsAt", "2026-11-30T16:00:00Z"},
                 {"agent", "ana"},
                 {"link", "https://meet.example/abc"}},
                201)["meeting"];
  EXPECT_EQ(m["status"], "booked");
  EXPECT_EQ(m["endsAt"], "2026-11-30T16:15:00Z");
  ASSERT_EQ(m["reminders"].size(), 3u);
  Call(p.port(), "POST", "/api/meetings/book", kAgent,
       {{"leadId", lead}, {"startsAt", "2026-11-30T16:05:00Z"}, {"agent", "ana"}}, 409);
  Call(p.port(), "POST", "/api/meetings/book", kAgent,
       {{"leadId", lead}, {"startsAt", "2026-11-01T16:00:00Z"}, {"agent", "ana"}}, 400);
  EXPECT_EQ(Call(p.port(), "GET", "/api/leads/" + lead, kOps, nullptr, 200)["state"], "booked");

  for (int h = 0; h < 50; ++h) Advance(p.port(), 3600);
  EXPECT_EQ(OutboxOfKind(p.port(), "confirmation").size(), 1u);
  const auto reminders = OutboxOfKind(p.port(), "reminder");
  ASSERT_EQ(reminders.size(), 3u);
  std::set<std::string> at;
  for (const auto& x : reminders) at.insert(x["at"]);
  EXPECT_TRUE(at.count("2026-11-29T16:00:00Z")) << json(reminders).dump();
  EXPECT_TRUE(at.count("2026-11-30T15:00:00Z"));
  EXPECT_TRUE(at.count("2026-11-30T15:45:00Z"));
  bool link = false;
  for (const auto& x : reminders) {
    link = link || std::string(x["body"]).find("https://meet.example/abc") != std::string::npos;
  }
  EXPECT_TRUE(link);
  // The dashboard counts the journey cumulatively: the booked lead was also sent, responded...
  json overview = GetUntil(p.port(), "/api/dashboard/overview", kOps, [](const json& j) {
    return j.contains("funnel") && j["funnel"].value("booked", 0) == 1;
  });
  EXPECT_EQ(overview["funnel"]["booked"], 1);
  EXPECT_EQ(overview["funnel"]["gold"], 1);
  EXPECT_EQ(overview["funnel"]["called"], 1);
  EXPECT_EQ(overview["funnel"]["sent"], texted.size());
  EXPECT_GE(overview["funnel"]["responded"], 1);
  EXPECT_EQ(overview["campaigns"].size(), 1u);
  EXPECT_GT(overview["today"]["smsSent"].get<int>(), 0);
  EXPECT_EQ(overview["today"]["skipTraceLimit"], 2000);
  json meetings = Call(p.port(), "GET", "/api/meetings?agent=ana", kAgent, nullptr, 200);
  ASSERT_EQ(meetings["items"].size(), 1u);
  for (const auto& rem : meetings["items"][0]["reminders"]) EXPECT_EQ(rem["status"], "sent");
  // The meeting has taken place: the agent records it.
  const std::string outcome = "/api/meetings/" + std::string(m["id"]) + "/outcome";
  Call(p.port(), "POST", outcome, kAgent, {{"status", "held"}}, 400);
  EXPECT_EQ(
      Call(p.port(), "POST", outcome, kAgent, {{"status", "completed"}}, 200)["meeting"]["status"],
      "completed");
  Call(p.port(), "POST", outcome, kAgent, {{"status", "no_show"}}, 409);
  meetings = Call(p.port(), "GET", "/api/meetings?agent=ana", kAgent, nullptr, 200);
  EXPECT_EQ(meetings["items"][0]["status"], "completed");
  EXPECT_EQ(Call(p.port(), "GET", "/api/leads/" + lead, kOps, nullptr, 200)["state"], "booked");
  EXPECT_EQ(p.Terminate(), 0) << p.output();
}

}  // namespace
}  // namespace nextier
