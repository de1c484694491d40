// The right to be forgotten through a real `nextier serve --provider sandbox --sim-clock`: a lead
// that replied with its email (a gold label, a call-queue entry, a booked meeting) is forgotten
// over HTTP, a lead that opted out is forgotten with `nextier forget` on the stopped server,
// and then no read endpoint (leads, responses, gold labels, call queue, meetings, history, the
// audit export, `nextier history`) shows a name, number, email or text of either; the log still
// verifies; `nextier rebuild` keeps them erased; and the same person in a new file is imported
// again but never texted at the number that opted out.
#include <gtest/gtest.h>

#include <chrono>
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

using nextier::testing::Advance;
using nextier::testing::BodyOf;
using nextier::testing::Call;
using nextier::testing::CliRun;
using nextier::testing::HttpCall;
using nextier::testing::RunCli;
using nextier::testing::StatusOf;
using nextier::testing::WaitForReadModels;
using nlohmann::json;

constexpr const char* kOps = nextier::testing::kOpsKey;
constexpr const char* kAgent = nextier::testing::kAgentKey;
constexpr const char* kAuditor = nextier::testing::kAuditorKey;
constexpr const char* kAdmin = nextier::testing::kAdminKey;
constexpr char kFrom[] = "+15164079249";
constexpr char kSecret[] = "test-webhook-secret";
constexpr char kGoldEmail[] = "owner.zero@shop-zero.com";
constexpr char kGoldText[] = "Yes please, write to owner.zero@shop-zero.com";
constexpr char kStopText[] = "STOP texting me";
constexpr char kNegativeText[] = "Not interested, my partner Bartholomew decides";

class ServeProcess : public nextier::testing::ServeProcess {
 public:
  explicit ServeProcess(const std::string& data)
      : nextier::testing::ServeProcess(NEXTIER_BINARY,
                                       "--data " + data + " --sim-clock 2026-11-28T15:00:00Z") {}
};

const char* kFirst[] = {"Johanna", "Maryanne", "Ahmedou", "Lucinda",
                        "Weiming", "Olgierd",  "Kwamena", "Inesita"};

// Owners in New York; row i is "Shop i" run by kFirst[i] Ownerlast<i>.
std::string Row(int i) {
  return "Shop " + std::to_string(i) + "," + std::to_string(i + 1) + " Bleecker St,New York,NY," +
         "10001," + kFirst[i % 8] + ",Ownerlast" + std::to_string(i) + ",Owner\n";
}
std::string Csv(const std::vector<int>& rows) {
  std::string csv = "Company Name,Address,City,State,Zip,Contact First,Contact Last,Title\n";
  for (int i : rows) csv += Row(i);
  return csv;
}

std::string Upload(uint16_t port, const std::string& name, const std::string& csv) {
  const std::string up = nextier::testing::UploadCsv(port, name, csv);
  EXPECT_EQ(StatusOf(up), 202) << up;
  return json::parse(BodyOf(up), nullptr, false)["file"].value("id", "");
}

void SkipTrace(uint16_t port, const std::string& file) {
  json job = Call(port, "POST", "/api/skip-trace/start", kOps, {{"fileId", file}}, 202)["job"];
  for (int i = 0; i < 300 && job["status"] != "done"; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    job = Call(port, "GET", "/api/skip-trace/status/" + std::string(job["id"]), kOps, nullptr, 200);
  }
  ASSERT_EQ(job["status"], "done") << job.dump();
}

void StartCampaign(uint16_t port, const std::string& name) {
  json c = Call(port, "POST", "/api/campaigns/create", kOps,
                {{"name", name}, {"workflow", "business-owners"}, {"fromNumber", kFrom}},
                201)["campaign"];
  Call(port, "POST", "/api/campaigns/" + std::string(c["id"]) + "/start", kOps, nullptr, 200);
  Advance(port, 2);
}

json Outbox(uint16_t port) {
  return Call(port, "GET", "/api/sandbox/outbox?limit=1000", kOps, nullptr, 200)["items"];
}

json Reply(uint16_t port, const std::string& id, const std::string& from, const std::string& text) {
  const std::string res = nextier::testing::PostSignedWebhook(
      port, kSecret, nextier::testing::ReplyEvent(id, from, kFrom, text), "d-" + id);
  EXPECT_EQ(StatusOf(res), 200) << res;
  return json::parse(BodyOf(res), nullptr, false);
}

// What identifies a lead's person in the API: its name, numbers, email, street.
struct Person {
  std::string lead_id;
  std::vector<std::string> marks;
};

Person PersonOf(uint16_t port, const std::string& lead_id) {
  json l = Call(port, "GET", "/api/leads/" + lead_id, kOps, nullptr, 200);
  Person p{lead_id, {}};
  for (const char* f : {"firstName", "lastName", "email"}) {
    if (l[f].is_string()) p.marks.push_back(l[f]);
  }
  for (const auto& ph : l["phones"]) p.marks.push_back(ph);
  if (l["address"].is_object() && l["address"]["street"].is_string()) {
    p.marks.push_back(l["address"]["street"]);
  }
  return p;
}

// Every read endpoint that could show a person's data, as path -> body.
std::map<std::string, std::string> ReadEverything(uint16_t port,
                                                  const std::vector<std::string>& lead_ids) {
  std::map<std::string, std::string> out;
  auto get = [&](const std::string& path, const char* key) {
    const std::string res = HttpCall(port, "GET", path, key);
    EXPECT_EQ(StatusOf(res), 200) << path << ": " << res;
    out[path] = BodyOf(res);
  };
  get("/api/leads?limit=1000", kOps);
  get("/api/leads/enriched?limit=1000", kOps);
  get("/api/responses?limit=1000", kOps);
  get("/api/responses/gold-labels?limit=1000", kOps);
  get("/api/call-queue?limit=1000", kAgent);
  get("/api/meetings?limit=1000", kAgent);
  get("/api/audit/export", kAuditor);
  for (const auto& id : lead_ids) {
    get("/api/leads/" + id, kOps);
    get("/api/leads/" + id + "/history", kAuditor);
  }
  return out;
}

// EXPECTs none of `people`'s marks (nor `texts`) anywhere in `bodies`.
void ExpectErased(const std::map<std::string, std::string>& bodies,
                  const std::vector<Person>& people, const std::vector<std::string>& texts) {
  for (const auto& [path, body] : bodies) {
    for (const auto& p : people) {
      for (const auto& m : p.marks) {
        EXPECT_EQ(body.find(m), std::string::npos)
            << "lead " << p.lead_id << ": \"" << m << "\" still in " << path << ": " << body;
      }
    }
    for (const auto& t : texts) {
      EXPECT_EQ(body.find(t), std::string::npos) << "\"" << t << "\" still in " << path;
    }
  }
}

// The checks that hold after forgetting, live and after a rebuild.
void ExpectForgotten(uint16_t port, const std::vector<Person>& people,
                     const std::string& gold_entry, const std::string& meeting) {
  WaitForReadModels(port);
  std::vector<std::string> ids;
  for (const auto& p : people) ids.push_back(p.lead_id);
  const auto bodies = ReadEverything(port, ids);
  ExpectErased(bodies, people, {kGoldEmail, kGoldText, kStopText});
  // A lead that is not forgotten keeps its reply readable, but never in clear in the log.
  EXPECT_EQ(bodies.at("/api/audit/export").find("Bartholomew"), std::string::npos);
  for (const auto& p : people) {
    json l = Call(port, "GET", "/api/leads/" + p.lead_id, kOps, nullptr, 200);
    EXPECT_EQ(l["forgotten"], true);
    EXPECT_TRUE(l["firstName"].is_null()) << l.dump();
    EXPECT_TRUE(l["phones"].empty()) << l.dump();
    // The history is all there, and reads as erased where it was personal.
    json h = Call(port, "GET", "/api/leads/" + p.lead_id + "/history", kAuditor, nullptr, 200);
    int erased = 0, forgotten = 0;
    for (const auto& e : h["events"]) {
      erased += e["data"].is_object() && e["data"].value("personal", json()) == "[erased]";
      forgotten += e["type"] == "LeadForgotten";
    }
    EXPECT_GE(erased, 3) << h.dump();  // the import, the skip trace, the reply at least
    EXPECT_EQ(forgotten, 1);
  }
  // The gold lead's call-queue entry was closed, its meeting's reminders cancelled.
  bool entry_seen = false;
  const json queue = Call(port, "GET", "/api/call-queue?limit=1000", kAgent, nullptr, 200);
  for (const auto& e : queue["items"]) {
    if (e["id"] != gold_entry) continue;
    entry_seen = true;
    EXPECT_EQ(e["status"], "completed") << e.dump();
  }
  EXPECT_TRUE(entry_seen);
  json m = Call(port, "GET", "/api/meetings?limit=1000", kAgent, nullptr, 200);
  bool meeting_seen = false;
  for (const auto& x : m["items"]) {
    if (x["id"] != meeting) continue;
    meeting_seen = true;
    for (const auto& r : x["reminders"]) EXPECT_EQ(r["status"], "cancelled") << x.dump();
  }
  EXPECT_TRUE(meeting_seen);
  // The hash chain covers ciphertext only: destroying keys leaves it intact.
  json v = Call(port, "GET", "/api/audit/verify", kAuditor, nullptr, 200);
  EXPECT_EQ(v["ok"], true) << v.dump();
}

class ForgetServeTest : public ::testing::Test {
 protected:
  void SetUp() override { setenv("NEXTIER_WEBHOOK_SECRET", kSecret, 1); }
  void TearDown() override { unsetenv("NEXTIER_WEBHOOK_SECRET"); }
  std::string data() const { return dir_.str() + "/data"; }
  nextier::testing::TempDir dir_;
};

TEST_F(ForgetServeTest, AForgottenLeadReadsAsErasedEverywhereAndItsOptedOutNumberStaysSuppressed) {
  std::string gold_lead, stop_lead, stop_phone, gold_entry, meeting;
  std::vector<Person> people;
  std::map<std::string, std::string> row_of;  // lead id -> its CSV row index
  size_t texts_before = 0;
  {
    ServeProcess p(data());
    ASSERT_GT(p.port(), 0) << p.output();
    const uint16_t port = p.port();
    const std::string file = Upload(port, "owners.csv", Csv({0, 1, 2, 3, 4, 5, 6, 7}));
    SkipTrace(port, file);
    StartCampaign(port, "Owners");
    std::map<std::string, std::string> texted;  // lead id -> number
    for (const auto& m : Outbox(port)) texted[m["leadId"]] = m["to"];
    ASSERT_GE(texted.size(), 3u);
    auto it = texted.begin();
    gold_lead = it->first;
    const std::string gold_phone = (it++)->second;
    stop_lead = it->first;
    stop_phone = (it++)->second;
    const std::string negative_phone = it->second;
    for (const auto& [id, phone] : texted) {
      row_of[id] = id.substr(id.rfind('-') + 1);  // "<file>-<row>", row 2 is index 0
    }

    // The gold lead writes its email: a gold label, an auto-reply to that address, a call.
    json r = Reply(port, "in-gold", gold_phone, kGoldText);
    ASSERT_EQ(r["goldLabel"], true) << r.dump();
    EXPECT_EQ(Reply(port, "in-stop", stop_phone, kStopText)["classification"], "OPT_OUT");
    EXPECT_EQ(Reply(port, "in-neg", negative_phone, kNegativeText)["classification"], "NEGATIVE");
    Advance(port, 1);  // the auto-reply and the opt-out confirmation go out
    bool autoreply_names_email = false;
    for (const auto& m : Outbox(port)) {
      if (m["kind"] == "autoreply" && m["to"] == gold_phone) {
        autoreply_names_email = std::string(m["body"]).find(kGoldEmail) != std::string::npos;
      }
    }
    EXPECT_TRUE(autoreply_names_email) << "the {email} of the auto-reply comes from the reply";
    WaitForReadModels(port);
    json queue = Call(port, "GET", "/api/call-queue?status=pending", kAgent, nullptr, 200);
    ASSERT_EQ(queue["items"].size(), 1u) << queue.dump();
    gold_entry = queue["items"][0]["id"];
    EXPECT_EQ(queue["items"][0]["lead"]["email"], kGoldEmail);
    meeting = Call(port, "POST", "/api/meetings/book", kAgent,
                   {{"leadId", gold_lead},
                    {"startsAt", "2026-11-30T16:00:00Z"},
                    {"agent", "ana"},
                    {"link", "https://meet.example/abc"}},
                   201)["meeting"]["id"];
    Advance(port, 1);  // the confirmation
    WaitForReadModels(port);

    // Nothing personal is ever stored in clear, forgotten or not: the export (personal data
    // sealed) names neither the email (not even in the auto-reply's request) nor a reply's text.
    const std::string export_before = BodyOf(HttpCall(port, "GET", "/api/audit/export", kAuditor));
    for (const char* clear : {kGoldEmail, kGoldText, kStopText, "Bartholomew"}) {
      EXPECT_EQ(export_before.find(clear), std::string::npos) << clear;
    }
    for (const auto& id : {gold_lead, stop_lead}) people.push_back(PersonOf(port, id));
    ASSERT_GE(people[0].marks.size(), 5u);  // names, number, email, street
    // Before: the reply's sender and text are there to read.
    const std::string responses = BodyOf(HttpCall(port, "GET", "/api/responses", kOps));
    ASSERT_NE(responses.find(kGoldText), std::string::npos);

    // Only an admin may forget; an unknown lead is 404.
    EXPECT_EQ(StatusOf(HttpCall(port, "POST", "/api/leads/" + gold_lead + "/forget", "")), 401);
    EXPECT_EQ(StatusOf(HttpCall(port, "POST", "/api/leads/" + gold_lead + "/forget", kOps)), 403);
    EXPECT_EQ(StatusOf(HttpCall(port, "POST", "/api/leads/" + gold_lead + "/forget", kAuditor)),
              403);
    Call(port, "POST", "/api/leads/no-such-lead/forget", kAdmin, nullptr, 404);
    // The CLI refuses while the server holds the folder.
    const CliRun busy = RunCli(NEXTIER_BINARY, "forget " + stop_lead + " --data " + data());
    EXPECT_EQ(busy.exit_code, 1) << busy.out;

    const std::string now =
        Call(port, "POST", "/api/test/clock/advance", kAdmin, {{"seconds", 0}}, 200)["now"];
    json f = Call(port, "POST", "/api/leads/" + gold_lead + "/forget", kAdmin, nullptr, 200);
    EXPECT_EQ(f["leadId"], gold_lead);
    EXPECT_EQ(f["forgotten"], true);
    EXPECT_EQ(f["at"], now);
    EXPECT_EQ(f["alreadyForgotten"], false);
    // Straight after the answer the lead reads as forgotten.
    json l = Call(port, "GET", "/api/leads/" + gold_lead, kOps, nullptr, 200);
    EXPECT_EQ(l["forgotten"], true);
    EXPECT_TRUE(l["email"].is_null()) << l.dump();
    json h = Call(port, "GET", "/api/leads/" + gold_lead + "/history", kAuditor, nullptr, 200);
    const size_t events = h["events"].size();
    EXPECT_TRUE(h["events"].back()["actor"].get<std::string>().starts_with("admin:"));
    // Idempotent: the same answer, nothing appended.
    Advance(port, 60);
    json again = Call(port, "POST", "/api/leads/" + gold_lead + "/forget", kAdmin, nullptr, 200);
    EXPECT_EQ(again["at"], f["at"]);
    EXPECT_EQ(again["alreadyForgotten"], true);
    EXPECT_EQ(
        Call(port, "GET", "/api/leads/" + gold_lead + "/history", kAuditor, nullptr, 200)["events"]
            .size(),
        events);
    texts_before = Outbox(port).size();
    EXPECT_EQ(p.Terminate(), 0) << p.output();
  }

  // The opted-out lead, from the command line on the stopped server.
  const CliRun forgot = RunCli(NEXTIER_BINARY, "forget " + stop_lead + " --data " + data());
  ASSERT_EQ(forgot.exit_code, 0) << forgot.out;
  EXPECT_NE(forgot.out.find("forgotten: lead " + stop_lead), std::string::npos) << forgot.out;
  const CliRun repeat = RunCli(NEXTIER_BINARY, "forget " + stop_lead + " --data " + data());
  EXPECT_EQ(repeat.exit_code, 0) << repeat.out;
  EXPECT_NE(repeat.out.find("already forgotten"), std::string::npos) << repeat.out;
  EXPECT_EQ(RunCli(NEXTIER_BINARY, "forget nope --data " + data()).exit_code, 1);
  EXPECT_EQ(RunCli(NEXTIER_BINARY, "forget --data " + data()).exit_code, 2);
  for (const auto& args : {"history " + stop_lead + " --data " + data(),
                           "history " + stop_lead + " --json --data " + data(),
                           "history " + gold_lead + " --json --data " + data()}) {
    const CliRun h = RunCli(NEXTIER_BINARY, args);
    EXPECT_EQ(h.exit_code, 0) << h.out;
    ExpectErased({{args, h.out}}, people, {kGoldEmail, kGoldText, kStopText});
    EXPECT_NE(h.out.find("LeadForgotten"), std::string::npos) << h.out;
  }
  const CliRun stop_history =
      RunCli(NEXTIER_BINARY, "history " + stop_lead + " --json --data " + data());
  EXPECT_NE(stop_history.out.find("\"cli:"), std::string::npos) << "the CLI's actor";
  const CliRun verified = RunCli(NEXTIER_BINARY, "verify --data " + data());
  EXPECT_EQ(verified.exit_code, 0) << verified.out;

  {
    ServeProcess p(data());
    ASSERT_GT(p.port(), 0) << p.output();
    ExpectForgotten(p.port(), people, gold_entry, meeting);
    EXPECT_EQ(p.Terminate(), 0) << p.output();
  }
  const CliRun rebuilt = RunCli(NEXTIER_BINARY, "rebuild --data " + data());
  ASSERT_EQ(rebuilt.exit_code, 0) << rebuilt.out;

  ServeProcess p(data());
  ASSERT_GT(p.port(), 0) << p.output();
  const uint16_t port = p.port();
  ExpectForgotten(port, people, gold_entry, meeting);

  // The opted-out person turns up again in a new file, beside two newcomers: imported as a new
  // lead (forgetting let go of them) and skip-traced to the same number, but the suppression
  // list still holds that number's blind index, so the campaign texts only the newcomers.
  const int stop_row = std::stoi(row_of[stop_lead]) - 2;
  const std::string file = Upload(port, "again.csv", Csv({stop_row, 8, 9, 10, 11}));
  SkipTrace(port, file);
  json leads = Call(port, "GET", "/api/leads?limit=1000", kOps, nullptr, 200)["items"];
  std::string again_lead;
  for (const auto& l : leads) {
    if (l["fileId"] == file && l["phone"] == stop_phone) again_lead = l["id"];
  }
  ASSERT_FALSE(again_lead.empty()) << "the person is a new lead with the same number";
  StartCampaign(port, "Owners again");
  // `nextier forget` stamped the real time, and the simulated clock resumed from it: it may be
  // night in New York now. A day of simulated time covers the sending window (and follow-ups,
  // which must not reach the forgotten leads either).
  auto newcomers_texted = [&] {
    const json all = Outbox(port);
    for (size_t i = texts_before; i < all.size(); ++i) {
      if (all[i]["kind"] == "opener") return true;
    }
    return false;
  };
  for (int h = 0; h < 24 && !newcomers_texted(); ++h) Advance(port, 3600);
  Advance(port, 3600);
  ASSERT_TRUE(newcomers_texted())
      << Call(port, "GET", "/api/leads?limit=1000", kOps, nullptr, 200).dump();
  const json outbox = Outbox(port);
  for (size_t i = texts_before; i < outbox.size(); ++i) {
    EXPECT_NE(outbox[i]["to"], stop_phone) << outbox[i].dump();
    EXPECT_NE(outbox[i]["leadId"], again_lead);
    EXPECT_NE(outbox[i]["leadId"], gold_lead);
    EXPECT_NE(outbox[i]["leadId"], stop_lead);
  }
  EXPECT_EQ(Call(port, "GET", "/api/leads/" + again_lead, kOps, nullptr, 200)["state"], "enriched");

  // A reply from a forgotten lead's number is stored as an orphan, not an error.
  json orphan = Reply(port, "in-after", stop_phone, "who is this?");
  EXPECT_TRUE(orphan["leadId"].is_null()) << orphan.dump();
  EXPECT_EQ(p.Terminate(), 0) << p.output();
}

}  // namespace
}  // namespace nextier
