// A full store against a real `nextier serve`: a capped map (`--max-store-mb`) and, as root, a
// real full disk (a small tmpfs). Requests that must store answer 503 storage_full, reads keep
// working, nothing acknowledged is lost (`nextier verify` is clean and every accepted upload is
// there after a restart), and service resumes without repair when room returns: a bigger cap
// after a restart, or the filesystem growing under the running server.
#include <gtest/gtest.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
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

std::string Args(const std::string& data) {
  return "--data " + data +
         " --provider sandbox --sim-clock 2026-11-28T15:00:00Z --log-level error";
}

// `rows` owners in New York, named from `first` on so that no two files share a person.
std::string Csv(int rows, int first) {
  std::string csv = "Company Name,Address,City,State,Zip,Contact First,Contact Last,Title\n";
  static const char* kFirst[] = {"John", "Mary", "Ahmed", "Lucia", "Wei", "Olga", "Kwame", "Ines"};
  for (int i = first; i < first + rows; ++i) {
    csv += "Shop " + std::to_string(i) + "," + std::to_string(i + 1) + " Broadway,New York,NY," +
           "10001," + kFirst[i % 8] + ",Owner" + std::to_string(i) + ",Owner\n";
  }
  return csv;
}

std::string Upload(uint16_t port, const std::string& csv) {
  const std::string raw =
      "POST /api/data-hub/upload?name=owners.csv HTTP/1.1\r\nHost: localhost\r\n"
      "Authorization: Bearer ops-key-0001\r\nContent-Type: text/csv\r\nContent-Length: " +
      std::to_string(csv.size()) + "\r\nConnection: close\r\n\r\n" + csv;
  return RawRequest(port, raw);
}

json Call(uint16_t port, const std::string& method, const std::string& path, const std::string& key,
          const json& body, int expect) {
  const std::string res = HttpCall(port, method, path, key, body.is_null() ? "" : body.dump());
  EXPECT_EQ(StatusOf(res), expect) << method << " " << path << ": " << res;
  return json::parse(BodyOf(res), nullptr, false);
}

// Uploads files of 400, then 40, then 4 rows until each size is refused, so that the store ends
// up with hardly any room. Returns the files acknowledged (id -> rows imported) and fills
// `refusal` with the last refused answer (its status must be 503).
std::map<std::string, int> FillUntilRefused(uint16_t port, int* next_row, json* refusal) {
  std::map<std::string, int> acked;
  for (int rows : {400, 40, 4}) {
    for (int i = 0; i < 400; ++i) {
      const std::string res = Upload(port, Csv(rows, *next_row));
      *next_row += rows;
      if (StatusOf(res) == 202) {
        const json file = json::parse(BodyOf(res))["file"];
        EXPECT_EQ(file["imported"], rows) << file.dump();
        acked[file["id"]] = file["imported"];
        continue;
      }
      EXPECT_EQ(StatusOf(res), 503) << res;
      *refusal = json::parse(BodyOf(res), nullptr, false);
      break;
    }
  }
  return acked;
}

// Every acknowledged file is listed, done, with the rows it acknowledged (the read models may
// trail the log for a moment after room returns: up to 10 s).
void ExpectFilesKept(uint16_t port, const std::map<std::string, int>& acked) {
  std::map<std::string, json> listed;
  for (int attempt = 0; attempt < 100; ++attempt) {
    listed.clear();
    const json files = Call(port, "GET", "/api/data-hub/files?limit=1000", kOps, nullptr, 200);
    for (const auto& f : files["items"]) listed[f["id"]] = f;
    bool all = true;
    for (const auto& [id, rows] : acked) all = all && listed.count(id) > 0;
    if (all) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  for (const auto& [id, rows] : acked) {
    ASSERT_EQ(listed.count(id), 1u) << "acknowledged file " << id << " is gone";
    EXPECT_EQ(listed[id]["status"], "done") << listed[id].dump();
    EXPECT_EQ(listed[id]["imported"], rows) << listed[id].dump();
  }
}

// `nextier verify` on the folder: its exit status and what it printed.
int Verify(const std::string& data, std::string* out) {
  const std::string cmd = std::string(NEXTIER_BINARY) + " verify --data " + data + " 2>&1";
  FILE* f = popen(cmd.c_str(), "r");
  if (f == nullptr) return -1;
  char buf[512];
  while (fgets(buf, sizeof buf, f) != nullptr) *out += buf;
  const int status = pclose(f);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

TEST(DiskFullServeTest, ACappedStoreAnswers503KeepsWhatItAcknowledgedAndResumesWithMoreRoom) {
  nextier::testing::TempDir dir;
  const std::string data = (dir.path() / "data").string();
  std::map<std::string, int> acked;
  int next_row = 0;
  {
    ServeProcess p(Args(data) + " --max-store-mb 4");
    ASSERT_GT(p.port(), 0) << p.output();
    json refusal;
    acked = FillUntilRefused(p.port(), &next_row, &refusal);
    ASSERT_GE(acked.size(), 3u) << "the store should take a few files before it is full";
    EXPECT_EQ(refusal["error"]["code"], "storage_full") << refusal.dump();
    EXPECT_NE(std::string(refusal["error"].value("message", "")).find("full"), std::string::npos)
        << refusal.dump();
    // Reads and health go on.
    EXPECT_EQ(StatusOf(HttpCall(p.port(), "GET", "/healthz")), 200);
    ExpectFilesKept(p.port(), acked);
    // Whatever must be stored is refused the same way while the store is full.
    const std::string again = Upload(p.port(), Csv(400, next_row));
    next_row += 400;
    EXPECT_EQ(StatusOf(again), 503) << again;
    EXPECT_EQ(json::parse(BodyOf(again))["error"]["code"], "storage_full");
    EXPECT_EQ(p.Terminate(), 0) << p.output();
  }
  std::string report;
  EXPECT_EQ(Verify(data, &report), 0) << report;
  {
    // Still full: it starts, serves what it holds, and refuses to store.
    ServeProcess p(Args(data) + " --max-store-mb 4");
    ASSERT_GT(p.port(), 0) << p.output();
    ExpectFilesKept(p.port(), acked);
    const std::string res = Upload(p.port(), Csv(400, next_row));
    next_row += 400;
    EXPECT_EQ(StatusOf(res), 503) << res;
    EXPECT_EQ(p.Terminate(), 0) << p.output();
  }
  {
    // Room returns: no repair, the next upload is taken.
    ServeProcess p(Args(data) + " --max-store-mb 64");
    ASSERT_GT(p.port(), 0) << p.output();
    ExpectFilesKept(p.port(), acked);
    const std::string res = Upload(p.port(), Csv(400, next_row));
    ASSERT_EQ(StatusOf(res), 202) << res;
    EXPECT_EQ(json::parse(BodyOf(res))["file"]["imported"], 400);
    EXPECT_EQ(p.Terminate(), 0) << p.output();
  }
  report.clear();
  EXPECT_EQ(Verify(data, &report), 0) << report;
}

// A tmpfs mounted for the test (root only), unmounted (lazily) at the end.
class Tmpfs {
 public:
  Tmpfs(const std::filesystem::path& dir, int mb) : dir_(dir) {
    std::filesystem::create_directories(dir_);
    const std::string opts = "size=" + std::to_string(mb) + "m";
    if (mount("tmpfs", dir_.c_str(), "tmpfs", 0, opts.c_str()) != 0) {
      error_ = std::strerror(errno);
    } else {
      mounted_ = true;
    }
  }
  ~Tmpfs() {
    if (mounted_) umount2(dir_.c_str(), MNT_DETACH);
  }
  Tmpfs(const Tmpfs&) = delete;
  Tmpfs& operator=(const Tmpfs&) = delete;
  bool mounted() const { return mounted_; }
  const std::string& error() const { return error_; }
  bool Resize(int mb) { return ResizeKb(mb * 1024); }
  bool ResizeKb(int kb) {
    const std::string opts = "size=" + std::to_string(kb) + "k";
    return mount("tmpfs", dir_.c_str(), "tmpfs", MS_REMOUNT, opts.c_str()) == 0;
  }

 private:
  std::filesystem::path dir_;
  bool mounted_ = false;
  std::string error_;
};

TEST(DiskFullServeTest, AFullDiskAnswers503AndServiceResumesByItselfWhenRoomReturns) {
  if (geteuid() != 0) {
    GTEST_SKIP() << "needs root to mount a small tmpfs (a real full disk); the capped-map test "
                    "covers the same answers without root";
  }
  nextier::testing::TempDir dir;
  Tmpfs disk(dir.path() / "disk", 8);
  if (!disk.mounted()) {
    GTEST_SKIP() << "cannot mount a tmpfs at " << (dir.path() / "disk") << ": " << disk.error();
  }
  const std::string data = (dir.path() / "disk" / "data").string();
  std::map<std::string, int> acked;
  {
    ServeProcess p(Args(data));
    ASSERT_GT(p.port(), 0) << p.output();
    const uint16_t port = p.port();
    // A campaign ready to send before the disk fills up.
    ASSERT_EQ(StatusOf(Upload(port, Csv(60, 1'000'000))), 202);
    json job = Call(port, "POST", "/api/skip-trace/start", kOps, json::object(), 202)["job"];
    for (int i = 0; i < 300 && job["status"] != "done"; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      job =
          Call(port, "GET", "/api/skip-trace/status/" + std::string(job["id"]), kOps, nullptr, 200);
    }
    ASSERT_EQ(job["status"], "done") << job.dump();
    const int enriched = job["enriched"];
    json c = Call(port, "POST", "/api/campaigns/create", kOps,
                  {{"name", "Owners"}, {"workflow", "business-owners"}, {"fromNumber", kFrom}},
                  201)["campaign"];
    const std::string campaign = c["id"];
    Call(port, "POST", "/api/campaigns/" + campaign + "/start", kOps, nullptr, 200);

    int next_row = 0;
    json refusal;
    acked = FillUntilRefused(port, &next_row, &refusal);
    ASSERT_FALSE(acked.empty());
    EXPECT_EQ(refusal["error"]["code"], "storage_full") << refusal.dump();
    EXPECT_EQ(StatusOf(HttpCall(port, "GET", "/healthz")), 200);
    // The batch's timer cannot store its sends: the clock answers 503 (or, when the little
    // room left took them, 200); either way the timer stays due and nothing is lost.
    const std::string adv =
        HttpCall(port, "POST", "/api/test/clock/advance", kAdmin, R"({"seconds": 2})");
    EXPECT_TRUE(StatusOf(adv) == 503 || StatusOf(adv) == 200) << adv;
    if (StatusOf(adv) == 503) {
      EXPECT_EQ(json::parse(BodyOf(adv))["error"]["code"], "storage_full") << adv;
    }

    // Room returns under the running server; it resumes by itself.
    ASSERT_TRUE(disk.Resize(64)) << std::strerror(errno);
    std::string res;
    for (int i = 0; i < 100; ++i) {
      res = Upload(port, Csv(4, next_row));
      next_row += 4;
      if (StatusOf(res) == 202) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    ASSERT_EQ(StatusOf(res), 202) << res;
    const json file = json::parse(BodyOf(res))["file"];
    acked[file["id"]] = file["imported"];
    for (int s = 0; s < 20; s += 2) {
      Call(port, "POST", "/api/test/clock/advance", kAdmin, {{"seconds", 2}}, 200);
    }
    ExpectFilesKept(port, acked);
    // Every enriched lead texted exactly once.
    json outbox = Call(port, "GET", "/api/sandbox/outbox?limit=1000", kOps, nullptr, 200);
    std::map<std::string, int> texts;
    for (const auto& m : outbox["items"]) ++texts[m["to"]];
    for (const auto& [number, n] : texts) EXPECT_EQ(n, 1) << number << " texted " << n << " times";
    EXPECT_EQ(texts.size(), static_cast<size_t>(enriched));
    c = Call(port, "GET", "/api/campaigns/" + campaign, kOps, nullptr, 200);
    EXPECT_EQ(c["counts"]["sent"], enriched) << c.dump();
    EXPECT_EQ(p.Terminate(), 0) << p.output();
  }
  std::string report;
  EXPECT_EQ(Verify(data, &report), 0) << report;
  {
    ServeProcess p(Args(data));
    ASSERT_GT(p.port(), 0) << p.output();
    ExpectFilesKept(p.port(), acked);
    EXPECT_EQ(p.Terminate(), 0) << p.output();
  }
}

// The sandbox provider's own store on a disk of its own that fills up in the middle of a batch:
// the sends it cannot store are not sent (ResourceExhausted: the outbox retries them without a
// look-up), the server keeps going, and once room returns every lead is texted exactly once.
TEST(DiskFullServeTest, TheSandboxStoreFillingUpHoldsSendsBackUntilRoomReturns) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root to mount a small tmpfs";
  nextier::testing::TempDir dir;
  const std::string data = (dir.path() / "data").string();
  Tmpfs sandbox_disk(dir.path() / "data" / "sandbox", 1);
  if (!sandbox_disk.mounted()) GTEST_SKIP() << "cannot mount a tmpfs: " << sandbox_disk.error();
  ServeProcess p(Args(data));
  ASSERT_GT(p.port(), 0) << p.output();
  const uint16_t port = p.port();
  ASSERT_EQ(StatusOf(Upload(port, Csv(120, 0))), 202);
  json job = Call(port, "POST", "/api/skip-trace/start", kOps, json::object(), 202)["job"];
  for (int i = 0; i < 300 && job["status"] != "done"; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    job = Call(port, "GET", "/api/skip-trace/status/" + std::string(job["id"]), kOps, nullptr, 200);
  }
  ASSERT_EQ(job["status"], "done") << job.dump();
  const int enriched = job["enriched"];
  json c = Call(port, "POST", "/api/campaigns/create", kOps,
                {{"name", "Owners"}, {"workflow", "business-owners"}, {"fromNumber", kFrom}},
                201)["campaign"];
  const std::string campaign = c["id"];
  Call(port, "POST", "/api/campaigns/" + campaign + "/start", kOps, nullptr, 200);

  // Room for a few dozen messages at most.
  ASSERT_TRUE(sandbox_disk.ResizeKb(48)) << std::strerror(errno);
  Call(port, "POST", "/api/test/clock/advance", kAdmin, {{"seconds", 2}}, 200);
  json outbox = Call(port, "GET", "/api/sandbox/outbox?limit=1000", kOps, nullptr, 200);
  const size_t stored = outbox["items"].size();
  EXPECT_LT(stored, static_cast<size_t>(enriched)) << "the sandbox's disk never filled up";
  c = Call(port, "GET", "/api/campaigns/" + campaign, kOps, nullptr, 200);
  EXPECT_EQ(c["counts"]["sent"], stored) << c.dump();
  EXPECT_EQ(c["counts"]["failed"], 0) << c.dump();

  ASSERT_TRUE(sandbox_disk.Resize(8)) << std::strerror(errno);
  for (int s = 0; s < 120; s += 2) {
    Call(port, "POST", "/api/test/clock/advance", kAdmin, {{"seconds", 2}}, 200);
  }
  outbox = Call(port, "GET", "/api/sandbox/outbox?limit=1000", kOps, nullptr, 200);
  std::map<std::string, int> texts;
  for (const auto& m : outbox["items"]) ++texts[m["to"]];
  for (const auto& [number, n] : texts) EXPECT_EQ(n, 1) << number << " texted " << n << " times";
  EXPECT_EQ(texts.size(), static_cast<size_t>(enriched));
  c = Call(port, "GET", "/api/campaigns/" + campaign, kOps, nullptr, 200);
  EXPECT_EQ(c["counts"]["sent"], enriched) << c.dump();
  EXPECT_EQ(c["status"], "completed") << c.dump();
  EXPECT_EQ(p.Terminate(), 0) << p.output();
}

}  // namespace
}  // namespace nextier
