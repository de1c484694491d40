// The crash test of issue 8: a real `nextier serve` under mixed load — uploads, signed webhook
// replies, a campaign sending, timers firing as the simulated clock moves, agents completing
// calls — is killed with SIGKILL at a random moment, 20 rounds. After every kill:
//   - `nextier verify` is clean;
//   - every request that was acknowledged has its effect after the restart (the file with its
//     counts, the reply with its classification, the call completed);
//   - `nextier rebuild` gives read models that answer exactly like the live ones;
//   - the sandbox provider's outbox holds no SMS sent twice.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "testing/http_client.h"
#include "testing/journey.h"
#include "testing/serve_process.h"
#include "testing/testing.h"

namespace nextier {
namespace {

using nextier::testing::BodyOf;
using nextier::testing::Call;
using nextier::testing::HttpCall;
using nextier::testing::RunCli;
using nextier::testing::StatusOf;
using nlohmann::json;

constexpr const char* kOps = nextier::testing::kOpsKey;
constexpr const char* kAgent = nextier::testing::kAgentKey;
constexpr const char* kAdmin = nextier::testing::kAdminKey;
constexpr char kFrom[] = "+12125550190";
constexpr char kSecret[] = "crash-test-webhook-secret";
constexpr int kRounds = 20;

class ServeProcess : public nextier::testing::ServeProcess {
 public:
  explicit ServeProcess(const std::string& args)
      : nextier::testing::ServeProcess(NEXTIER_BINARY, args) {}
};

// Owners in four states; `tag` keeps each file's people distinct from every other file's.
std::string Csv(const std::string& tag, int rows) {
  std::string csv = "Company Name,Address,City,State,Zip,Contact First,Contact Last,Title\n";
  static const char* kFirst[] = {"John", "Mary", "Ahmed", "Lucia", "Wei", "Olga", "Kwame", "Ines"};
  static const char* kPlaces[] = {"New York,NY,10001", "Chicago,IL,60601", "Houston,TX,77002",
                                  "Miami,FL,33130"};
  for (int i = 0; i < rows; ++i) {
    csv += "Shop " + tag + "x" + std::to_string(i) + "," + std::to_string(i + 1) + " Main St," +
           kPlaces[i % 4] + "," + kFirst[i % 8] + "," + "Owner" + tag + "x" + std::to_string(i) +
           ",Owner\n";
  }
  return csv;
}

// Every item of a paged list.
json ListAll(uint16_t port, const std::string& path, const std::string& key) {
  json all = json::array();
  std::string cursor;
  const char sep = path.find('?') == std::string::npos ? '?' : '&';
  for (int page = 0; page < 1000; ++page) {
    json body =
        Call(port, "GET", path + sep + "limit=1000" + (cursor.empty() ? "" : "&cursor=" + cursor),
             key, nullptr, 200);
    if (!body.is_object()) break;
    for (auto& item : body["items"]) all.push_back(item);
    if (body["next"].is_null()) break;
    cursor = body["next"];
  }
  return all;
}

// What the clients were told, to be found again after every restart.
struct Acked {
  std::mutex mu;
  std::map<std::string, json> files;             // file id -> FILE as acknowledged
  std::map<std::string, std::string> replies;    // message id -> classification
  std::map<std::string, std::string> completed;  // call-queue entry -> disposition
  std::set<std::string> replied_numbers;         // senders already used (one reply each)
  // The reply each sender sends: once tried, a number always sends the same message (id, text,
  // delivery id), as SignalHouse redelivers a webhook it got no answer for. A reply stored just
  // before a kill but never acknowledged is then a redelivery, not a second, different reply
  // (which would rightly get a second auto-reply).
  std::map<std::string, int> reply_of;
};

// Replies of several classes; the email ones make gold leads for the agents to call.
std::string ReplyText(int n) {
  static const char* kTexts[] = {"Sure, send it to pat%d@example.com",
                                 "Yes, how much is it?",
                                 "Not interested, thanks",
                                 "STOP",
                                 "who is this?",
                                 "email me at lee%d@example.org",
                                 "ok"};
  char buf[96];
  std::snprintf(buf, sizeof buf, kTexts[n % 7], n);
  return buf;
}

// One round of load against `port` until `stop`; records what was acknowledged.
void Load(uint16_t port, int round, Acked& acked, const std::atomic<bool>& stop) {
  std::vector<std::thread> clients;
  // Uploads: small files of new people.
  clients.emplace_back([&, port, round] {
    for (int i = 0; !stop.load(); ++i) {
      const std::string tag = "r" + std::to_string(round) + "f" + std::to_string(i);
      const std::string res = nextier::testing::UploadCsv(port, tag + ".csv", Csv(tag, 6));
      if (StatusOf(res) != 202) continue;  // killed mid-request: not acknowledged
      json file = json::parse(BodyOf(res), nullptr, false)["file"];
      std::lock_guard lock(acked.mu);
      acked.files[file["id"]] = file;
    }
  });
  // Webhooks: each texted number replies once.
  clients.emplace_back([&, port, round] {
    const std::string outbox_res = HttpCall(port, "GET", "/api/sandbox/outbox?limit=1000", kOps);
    if (StatusOf(outbox_res) != 200) return;
    const json outbox = json::parse(BodyOf(outbox_res), nullptr, false);
    int n = round * 1000;
    for (const auto& m : outbox["items"]) {
      if (stop.load()) return;
      if (m["kind"] != "opener") continue;
      const std::string to = m["to"];
      int r = 0;
      {
        std::lock_guard lock(acked.mu);
        if (!acked.replied_numbers.insert(to).second) continue;
        auto [it, fresh] = acked.reply_of.try_emplace(to, n);
        if (fresh) ++n;
        r = it->second;
      }
      const std::string id = "m-" + std::to_string(r);
      const std::string res = nextier::testing::PostSignedWebhook(
          port, kSecret, nextier::testing::ReplyEvent(id, to, m["from"], ReplyText(r)),
          "d-" + std::to_string(r));
      if (StatusOf(res) != 200) {
        // Not acknowledged: the number may reply again in a later round.
        std::lock_guard lock(acked.mu);
        acked.replied_numbers.erase(to);
        continue;
      }
      const json body = json::parse(BodyOf(res), nullptr, false);
      std::lock_guard lock(acked.mu);
      acked.replies[id] = body["classification"];
    }
  });
  // The clock: batches, follow-ups, callbacks and reminders fall due.
  clients.emplace_back([&, port] {
    while (!stop.load()) {
      (void)HttpCall(port, "POST", "/api/test/clock/advance", kAdmin, R"({"seconds": 30})");
    }
  });
  // An agent working the queue.
  clients.emplace_back([&, port, round] {
    static const char* kDispositions[] = {"no_answer", "voicemail", "not_interested", "booked"};
    int n = round;
    while (!stop.load()) {
      const std::string q = HttpCall(port, "GET", "/api/call-queue?status=pending&limit=5", kAgent);
      if (StatusOf(q) != 200) {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        continue;
      }
      const json items = json::parse(BodyOf(q), nullptr, false)["items"];
      if (items.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(50));
      for (const auto& e : items) {
        if (stop.load()) return;
        const std::string id = e["id"];
        const std::string base = "/api/call-queue/" + id;
        if (StatusOf(HttpCall(port, "PUT", base + "/assign", kAgent, R"({"agent":"ana"})")) != 200)
          continue;
        const std::string d = kDispositions[n++ % 4];
        const std::string res = HttpCall(port, "PUT", base + "/complete", kAgent,
                                         json{{"disposition", d}, {"notes", "crash round"}}.dump());
        if (StatusOf(res) != 200) continue;
        std::lock_guard lock(acked.mu);
        acked.completed[id] = d;
      }
    }
  });
  for (auto& c : clients) c.join();
}

// Every acknowledged effect is in the read models of a restarted server.
void ExpectAcknowledgedEffects(uint16_t port, Acked& acked, int round) {
  std::lock_guard lock(acked.mu);
  for (const auto& [id, file] : acked.files) {
    json got = Call(port, "GET", "/api/data-hub/files/" + id, kOps, nullptr, 200);
    EXPECT_EQ(got["status"], "done") << "round " << round << " file " << id;
    for (const char* k : {"rows", "imported", "duplicates", "rejected", "entities"}) {
      EXPECT_EQ(got[k], file[k]) << "round " << round << " file " << id << " " << k;
    }
  }
  std::map<std::string, std::string> stored;
  for (const auto& r : ListAll(port, "/api/responses", kOps)) stored[r["id"]] = r["classification"];
  for (const auto& [id, cls] : acked.replies) {
    auto it = stored.find(id);
    ASSERT_NE(it, stored.end()) << "round " << round << ": acknowledged reply " << id << " lost";
    EXPECT_EQ(it->second, cls) << "round " << round << " reply " << id;
  }
  std::map<std::string, json> entries;
  for (const auto& e : ListAll(port, "/api/call-queue", kAgent)) entries[e["id"]] = e;
  for (const auto& [id, disposition] : acked.completed) {
    auto it = entries.find(id);
    ASSERT_NE(it, entries.end()) << "round " << round << ": call-queue entry " << id << " lost";
    EXPECT_EQ(it->second["disposition"], disposition) << "round " << round << " entry " << id;
  }
}

// No SMS was sent twice: one opener per number; at most one opt-out confirmation, one HELP text
// and one email-asking auto-reply per number (the test spans less than a simulated day).
void ExpectNothingSentTwice(uint16_t port, int round) {
  std::map<std::pair<std::string, std::string>, int> per_kind;
  std::set<std::string> ids;
  for (const auto& m : ListAll(port, "/api/sandbox/outbox", kOps)) {
    EXPECT_TRUE(ids.insert(m["id"]).second) << "round " << round << ": id " << m["id"] << " twice";
    const std::string kind = m["kind"];
    if (kind == "opener" || kind == "optout" || kind == "help" || kind == "autoreply") {
      const int n = ++per_kind[{m["to"], kind}];
      EXPECT_EQ(n, 1) << "round " << round << ": " << kind << " to " << m["to"] << " sent " << n
                      << " times";
    }
  }
}

TEST(CrashMixedLoadTest, TwentyKillNinesUnderMixedLoadLoseNothingAcknowledged) {
  setenv("NEXTIER_WEBHOOK_SECRET", kSecret, 1);
  nextier::testing::TempDir dir;
  const std::string data = dir.str() + "/data";
  const std::string args =
      "--data " + data + " --provider sandbox --sim-clock 2026-11-30T16:00:00Z";
  std::string campaign;
  auto p = std::make_unique<ServeProcess>(args);
  ASSERT_GT(p->port(), 0) << p->output();
  {
    // A campaign under way: 160 owners skip-traced, the first batch out.
    const uint16_t port = p->port();
    const std::string up = nextier::testing::UploadCsv(port, "owners.csv", Csv("base", 160));
    ASSERT_EQ(StatusOf(up), 202) << up;
    json job = Call(port, "POST", "/api/skip-trace/start", kOps, json::object(), 202)["job"];
    for (int i = 0; i < 300 && job["status"] != "done"; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      job = Call(port, "GET", "/api/skip-trace/status/" + job["id"].get<std::string>(), kOps,
                 nullptr, 200);
    }
    ASSERT_EQ(job["status"], "done") << job.dump();
    json c = Call(port, "POST", "/api/campaigns/create", kOps,
                  {{"name", "crash"}, {"workflow", "business-owners"}, {"fromNumber", kFrom}},
                  201)["campaign"];
    campaign = c["id"];
    Call(port, "POST", "/api/campaigns/" + campaign + "/start", kOps, nullptr, 200);
    nextier::testing::Advance(port, 10);
  }

  Acked acked;
  std::mt19937 rng(20261129);
  for (int round = 0; round < kRounds; ++round) {
    std::atomic<bool> stop{false};
    std::thread load([&, port = p->port(), round] { Load(port, round, acked, stop); });
    std::this_thread::sleep_for(std::chrono::milliseconds(300 + rng() % 1200));
    p->Kill();
    stop = true;
    load.join();
    p.reset();

    const auto verify = RunCli(NEXTIER_BINARY, "verify --data " + data);
    ASSERT_EQ(verify.exit_code, 0) << "round " << round << ": " << verify.out;

    p = std::make_unique<ServeProcess>(args);
    ASSERT_GT(p->port(), 0) << "round " << round << ": " << p->output();
    nextier::testing::WaitForReadModels(p->port());
    ExpectAcknowledgedEffects(p->port(), acked, round);
    ExpectNothingSentTwice(p->port(), round);
    const auto live = nextier::testing::SnapshotReadModels(p->port(), {campaign});
    ASSERT_EQ(p->Terminate(), 0) << p->output();

    const auto rebuilt = RunCli(NEXTIER_BINARY, "rebuild --data " + data);
    ASSERT_EQ(rebuilt.exit_code, 0) << "round " << round << ": " << rebuilt.out;
    p = std::make_unique<ServeProcess>(args);
    ASSERT_GT(p->port(), 0) << "round " << round << ": " << p->output();
    nextier::testing::WaitForReadModels(p->port());
    nextier::testing::ExpectSameSnapshots(
        live, nextier::testing::SnapshotReadModels(p->port(), {campaign}));
    if (::testing::Test::HasFatalFailure()) return;
  }
  // The load did reach every part of the engine over the rounds.
  std::lock_guard lock(acked.mu);
  EXPECT_GE(acked.files.size(), 5u);
  EXPECT_GE(acked.replies.size(), 20u);
  EXPECT_GE(acked.completed.size(), 3u);
  EXPECT_EQ(p->Terminate(), 0) << p->output();
  unsetenv("NEXTIER_WEBHOOK_SECRET");
}

}  // namespace
}  // namespace nextier
