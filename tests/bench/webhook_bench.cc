// webhook_bench: signed inbound replies posted by `wrk` over loopback keep-alive connections to
// a running `nextier serve --provider sandbox --sim-clock ...`, against `nginx` answering the
// same POSTs with a static 200 (the ceiling of HTTP on this machine), in the same run.
//
// Every request is a distinct reply: its own identifier and delivery id, signed beforehand
// (HMAC-SHA256 of "timestamp.body" under NEXTIER_WEBHOOK_SECRET, timestamp = now) and read by
// wrk's Lua script one line per request from a file per wrk thread. So every 200 from serve
// stands for a reply signature-checked, classified and durably stored.
//
// Runs, in this order:
//   nginx    static 200 for the same POSTs
//   orphans  replies from numbers no lead has (stored on "orphan-replies")
//   leads    replies from the numbers of real leads: imported through the data hub, skip
//            traced, a campaign started, the openers sent (sandbox outbox) — so each reply is
//            matched, classified by the lead's workflow and its effects stored with it
// Prints requests/s, p50/p99 latency, non-2xx counts, events stored and serve/nginx ratios.
// Asserts nothing.
//
//   webhook_bench [-t THREADS] [-c CONNECTIONS] [-d SECONDS] [--leads N] [--replies N]
//                 [--ids sequential|random] [--only nginx,orphans,leads]
//   (defaults: -t 2 -c 64 -d 10 --leads 500 --replies 300000 per wrk thread --ids sequential;
//   random ids are a provider's: their idempotency keys fall on random pages of the log)
// Needs `wrk` and `nginx` (scripts/install-deps.sh) on PATH or in /usr/sbin.
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "nextier/adapters/api_webhooks.h"
#include "testing/http_client.h"
#include "testing/serve_process.h"

namespace {

namespace fs = std::filesystem;
using nextier::testing::BodyOf;
using nextier::testing::HttpCall;
using nextier::testing::RawRequest;
using nextier::testing::StatusOf;
using nlohmann::json;

constexpr char kSecret[] = "bench-webhook-secret";
constexpr char kOps[] = "ops-key-0001";
constexpr char kAdmin[] = "admin-key-0001";
constexpr char kCampaignNumber[] = "+15164079249";
constexpr char kPath[] = "/api/webhooks/sms-response";

// A realistic mix of replies: every class, a few with (obfuscated) addresses.
const char* kTexts[] = {
    "Yes I'm interested, send it to john.smith@gmail.com",
    "Who is this?",
    "Not interested, thanks",
    "Sounds good, what's the price?",
    "Wrong number, I sold the business last year",
    "ok \xf0\x9f\x91\x8d",
    "HELP",
    "sure, email me at mary [at] outlook [dot] com",
    "I'm driving right now, will get back to you",
    "Call me tomorrow afternoon, I'd like to hear more",
    "where did you get my number",
    "STOP",
};

struct Options {
  int threads = 2;
  int connections = 64;
  int seconds = 10;
  int leads = 500;
  size_t replies_per_thread = 300000;
  // "random": message and delivery ids start with 16 random-looking hex digits, as a provider's
  // ids do, so their idempotency keys land on random pages of the log's B-tree; "sequential"
  // (the default, as in earlier figures): they share the last pages.
  bool random_ids = false;
  std::set<std::string> only = {"nginx", "orphans", "leads"};
};

struct WrkResult {
  bool ok = false;
  uint64_t requests = 0;
  double seconds = 0;
  double p50_ms = 0;
  double p99_ms = 0;
  double max_ms = 0;
  uint64_t non2xx = 0;
  uint64_t socket_errors = 0;
  uint64_t wrapped = 0;  // times a thread ran out of distinct replies and started over
  double Rate() const { return seconds > 0 ? static_cast<double>(requests) / seconds : 0; }
};

int64_t NowMillis() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string Run(const std::string& cmd) {
  std::string out;
  FILE* p = popen(cmd.c_str(), "r");
  if (p == nullptr) return out;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  pclose(p);
  return out;
}

std::string FindTool(const std::string& name) {
  for (const char* dir : {"/usr/bin/", "/usr/sbin/", "/usr/local/bin/", "/usr/local/sbin/"}) {
    const std::string path = std::string(dir) + name;
    if (access(path.c_str(), X_OK) == 0) return path;
  }
  return {};
}

uint16_t FreePort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  socklen_t len = sizeof a;
  uint16_t port = 0;
  if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
      getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0) {
    port = ntohs(a.sin_port);
  }
  close(fd);
  return port;
}

bool WaitListening(uint16_t port) {
  for (int i = 0; i < 500; ++i) {
    const int fd = nextier::testing::Connect(port);
    if (fd >= 0) {
      close(fd);
      return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}

std::string Reply(const std::string& id, const std::string& from, const std::string& text) {
  return json{{"event", "MESSAGE_RECEIVED"},
              {"identifier", id},
              {"timestamp", "2026-11-28T15:10:00Z"},
              {"metaData",
               {{"Message",
                 {{"direction", "INBOUND"},
                  {"senderPhoneNumber", from},
                  {"recipientPhoneNumber", kCampaignNumber},
                  {"messageBody", text}}}}}}
      .dump();
}

// Writes PREFIX<t>.txt for each wrk thread: lines "timestamp\tsignature\tdelivery\tbody", each a
// distinct reply from one of `senders`, signed now.
void SignReplies(const std::string& prefix, const std::string& run, int threads, size_t per_thread,
                 const std::vector<std::string>& senders, bool random_ids) {
  const std::string ts = std::to_string(NowMillis());
  size_t k = 0;
  for (int t = 0; t < threads; ++t) {
    std::ofstream out(prefix + std::to_string(t) + ".txt", std::ios::binary | std::ios::trunc);
    std::string line;
    for (size_t i = 0; i < per_thread; ++i, ++k) {
      std::string id = run + "-" + std::to_string(t) + "-" + std::to_string(i);
      if (random_ids) {
        uint64_t x = k + 0x9E3779B97F4A7C15ull;  // splitmix64 of the reply's number
        x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
        x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
        x ^= x >> 31;
        char hex[17];
        std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(x));
        id = hex + ("-" + id);
      }
      const std::string body =
          Reply("msg-" + id, senders[k % senders.size()], kTexts[k % std::size(kTexts)]);
      line.clear();
      line += ts;
      line += '\t';
      line += nextier::adapters::WebhookSignature(kSecret, ts, body);
      line += "\tdlv-";
      line += id;
      line += '\t';
      line += body;
      line += '\n';
      out << line;
    }
  }
}

void WriteScript(const std::string& path, const std::string& prefix) {
  std::ofstream out(path, std::ios::trunc);
  out << R"LUA(-- Each request is the next pre-signed reply of this thread's file.
local prefix = ")LUA"
      << prefix << R"LUA("
local counter = 0
local threads = {}
function setup(thread)
  thread:set("tid", counter)
  thread:set("wrapped", 0)
  table.insert(threads, thread)
  counter = counter + 1
end
function init(args)
  f = assert(io.open(prefix .. tid .. ".txt", "r"))
  wrapped = 0
end
function request()
  local line = f:read("*l")
  if line == nil then
    f:seek("set", 0)
    wrapped = wrapped + 1
    line = f:read("*l")
  end
  local ts, sig, dlv, body = line:match("^([^\t]*)\t([^\t]*)\t([^\t]*)\t(.*)$")
  return wrk.format("POST", ")LUA"
      << kPath << R"LUA(", {
    ["Content-Type"] = "application/json",
    ["X-SignalHouse-Timestamp"] = ts,
    ["X-SignalHouse-Signature"] = sig,
    ["X-SignalHouse-Delivery-Id"] = dlv,
  }, body)
end
function done(summary, latency, requests)
  local w = 0
  for _, t in ipairs(threads) do w = w + (t:get("wrapped") or 0) end
  local e = summary.errors
  io.write(string.format(
    "NXBENCH requests=%d duration_us=%d p50_us=%d p99_us=%d max_us=%d non2xx=%d sockerr=%d wrapped=%d\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    latency.max, e.status, e.connect + e.read + e.write + e.timeout, w))
end
)LUA";
}

WrkResult RunWrk(const std::string& wrk, const Options& o, const std::string& script,
                 uint16_t port) {
  const std::string cmd = wrk + " -t" + std::to_string(o.threads) + " -c" +
                          std::to_string(o.connections) + " -d" + std::to_string(o.seconds) +
                          "s --latency -s " + script + " http://127.0.0.1:" + std::to_string(port) +
                          kPath + " 2>&1";
  std::printf("  $ %s\n", cmd.c_str());
  const std::string out = Run(cmd);
  WrkResult r;
  std::istringstream lines(out);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.rfind("NXBENCH ", 0) != 0) {
      std::printf("  | %s\n", line.c_str());
      continue;
    }
    unsigned long long req = 0, dur = 0, p50 = 0, p99 = 0, mx = 0, non2xx = 0, sock = 0, wr = 0;
    if (std::sscanf(line.c_str(),
                    "NXBENCH requests=%llu duration_us=%llu p50_us=%llu p99_us=%llu max_us=%llu "
                    "non2xx=%llu sockerr=%llu wrapped=%llu",
                    &req, &dur, &p50, &p99, &mx, &non2xx, &sock, &wr) == 8) {
      r.ok = true;
      r.requests = req;
      r.seconds = static_cast<double>(dur) / 1e6;
      r.p50_ms = static_cast<double>(p50) / 1e3;
      r.p99_ms = static_cast<double>(p99) / 1e3;
      r.max_ms = static_cast<double>(mx) / 1e3;
      r.non2xx = non2xx;
      r.socket_errors = sock;
      r.wrapped = wr;
    }
  }
  std::fflush(stdout);
  return r;
}

void PrintResult(const char* name, const WrkResult& r) {
  if (!r.ok) {
    std::printf("%-8s wrk gave no result\n", name);
    return;
  }
  std::printf(
      "%-8s %10.0f req/s  p50 %7.2f ms  p99 %7.2f ms  max %7.2f ms  (%llu requests in "
      "%.2f s, %llu non-2xx, %llu socket errors%s)\n",
      name, r.Rate(), r.p50_ms, r.p99_ms, r.max_ms, static_cast<unsigned long long>(r.requests),
      r.seconds, static_cast<unsigned long long>(r.non2xx),
      static_cast<unsigned long long>(r.socket_errors),
      r.wrapped > 0 ? ", RAN OUT OF DISTINCT REPLIES: raise --replies" : "");
  std::fflush(stdout);
}

// nginx in the foreground with its own prefix; answers every request with a static 200.
class Nginx {
 public:
  Nginx(const std::string& binary, const fs::path& dir, uint16_t port, int workers) {
    fs::create_directories(dir);
    fs::permissions(dir, fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                             fs::perms::others_read | fs::perms::others_exec);
    const std::string d = dir.string();
    std::ofstream conf(dir / "nginx.conf", std::ios::trunc);
    conf << "daemon off;\nmaster_process on;\nworker_processes " << workers << ";\n"
         << "pid " << d << "/nginx.pid;\nerror_log " << d << "/error.log warn;\n"
         << "events { worker_connections 4096; }\n"
         << "http {\n  access_log off;\n  keepalive_requests 100000000;\n"
         << "  keepalive_timeout 60s;\n"
         << "  client_body_temp_path " << d << "/body;\n  proxy_temp_path " << d << "/proxy;\n"
         << "  fastcgi_temp_path " << d << "/fastcgi;\n  uwsgi_temp_path " << d << "/uwsgi;\n"
         << "  scgi_temp_path " << d << "/scgi;\n"
         << "  server {\n    listen 127.0.0.1:" << port << ";\n"
         << "    location / {\n      default_type application/json;\n"
         << "      return 200 '{\"ok\":true}';\n    }\n  }\n}\n";
    conf.close();
    pid_ = fork();
    if (pid_ == 0) {
      const std::string conf_path = (dir / "nginx.conf").string();
      execl(binary.c_str(), binary.c_str(), "-p", d.c_str(), "-c", conf_path.c_str(), nullptr);
      _exit(127);
    }
    ready_ = pid_ > 0 && WaitListening(port);
  }
  ~Nginx() {
    if (pid_ <= 0) return;
    kill(pid_, SIGTERM);
    waitpid(pid_, nullptr, 0);
  }
  bool ready() const { return ready_; }

 private:
  pid_t pid_ = -1;
  bool ready_ = false;
};

json Call(uint16_t port, const std::string& method, const std::string& path, const std::string& key,
          const json& body = nullptr) {
  const std::string res = HttpCall(port, method, path, key, body.is_null() ? "" : body.dump());
  return json::parse(BodyOf(res), nullptr, false);
}

uint64_t Head(uint16_t port) {
  const json h = Call(port, "GET", "/healthz", "");
  return h.is_object() && h.contains("head") ? h["head"].get<uint64_t>() : 0;
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

// Imports `rows` owners, skip-traces them, starts a campaign and advances the simulated clock
// until the openers stop coming. Returns the numbers that were texted.
std::vector<std::string> TextedNumbers(uint16_t port, int rows) {
  const std::string csv = Csv(rows);
  const std::string up =
      RawRequest(port,
                 "POST /api/data-hub/upload?name=bench.csv HTTP/1.1\r\nHost: localhost\r\n"
                 "Authorization: Bearer " +
                     std::string(kOps) + "\r\nContent-Type: text/csv\r\nContent-Length: " +
                     std::to_string(csv.size()) + "\r\nConnection: close\r\n\r\n" + csv);
  if (StatusOf(up) != 202) {
    std::printf("  upload failed: %s\n", up.c_str());
    return {};
  }
  json job = Call(port, "POST", "/api/skip-trace/start", kOps, json::object())["job"];
  for (int i = 0; i < 600 && job.is_object() && job["status"] != "done"; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    job = Call(port, "GET", "/api/skip-trace/status/" + std::string(job["id"]), kOps);
    if (!job.is_object()) break;
  }
  const json c = Call(port, "POST", "/api/campaigns/create", kOps,
                      {{"name", "Bench"},
                       {"workflow", "business-owners"},
                       {"fromNumber", kCampaignNumber}})["campaign"];
  if (!c.is_object()) {
    std::printf("  campaign create failed\n");
    return {};
  }
  Call(port, "POST", "/api/campaigns/" + std::string(c["id"]) + "/start", kOps);
  std::set<std::string> numbers;
  size_t last = 0;
  int still = 0;
  for (int step = 0; step < 200 && still < 3; ++step) {
    Call(port, "POST", "/api/test/clock/advance", kAdmin, {{"seconds", 6}});
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    std::string cursor;
    for (;;) {
      const json page = Call(
          port, "GET",
          "/api/sandbox/outbox?limit=1000" + (cursor.empty() ? std::string() : "&cursor=" + cursor),
          kOps);
      if (!page.is_object()) break;
      for (const auto& m : page["items"]) {
        if (m["leadId"].is_string() && !m["leadId"].get<std::string>().empty()) {
          numbers.insert(m["to"].get<std::string>());
        }
      }
      if (page["next"].is_null()) break;
      cursor = page["next"].get<std::string>();
    }
    still = numbers.size() == last ? still + 1 : 0;
    last = numbers.size();
    if (static_cast<int>(numbers.size()) >= rows) break;
  }
  return {numbers.begin(), numbers.end()};
}

std::string SimClockNow() {
  // Today at 15:00 UTC: inside the workflows' sending hours for US recipients.
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT15:00:00Z", &tm);
  return buf;
}

// One serve run: a fresh data folder, `prepare` gives the senders, then wrk.
WrkResult ServeRun(const std::string& name, const std::string& wrk, const Options& o,
                   const fs::path& dir, bool real_leads) {
  const fs::path data = dir / ("data-" + name);
  nextier::testing::ServeProcess serve(
      NEXTIER_BINARY,
      "--data " + data.string() + " --provider sandbox --sim-clock " + SimClockNow());
  if (serve.port() == 0) {
    std::printf("  serve did not start: %s\n", serve.output().c_str());
    return {};
  }
  std::vector<std::string> senders;
  if (real_leads) {
    const auto t0 = std::chrono::steady_clock::now();
    senders = TextedNumbers(serve.port(), o.leads);
    std::printf("  %zu leads imported, skip traced and texted in %.1f s\n", senders.size(),
                std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    if (senders.empty()) return {};
  } else {
    for (int i = 0; i < 100000; ++i) {
      char n[16];
      std::snprintf(n, sizeof n, "+1646%07d", i);  // no lead was ever texted at these
      senders.emplace_back(n);
    }
  }
  const std::string prefix = (dir / ("replies-" + name + "-")).string();
  const auto t0 = std::chrono::steady_clock::now();
  SignReplies(prefix, name, o.threads, o.replies_per_thread, senders, o.random_ids);
  std::printf("  %zu distinct replies signed in %.1f s\n",
              o.replies_per_thread * static_cast<size_t>(o.threads),
              std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  const std::string script = (dir / ("webhook-" + name + ".lua")).string();
  WriteScript(script, prefix);
  const uint64_t head_before = Head(serve.port());
  WrkResult r = RunWrk(wrk, o, script, serve.port());
  std::this_thread::sleep_for(std::chrono::milliseconds(500));  // the last in-flight replies
  const uint64_t head_after = Head(serve.port());
  std::printf("  events stored during the run: %llu (for %llu 2xx answers)\n",
              static_cast<unsigned long long>(head_after - head_before),
              static_cast<unsigned long long>(r.requests - r.non2xx));
  const json sample = Call(serve.port(), "GET", "/api/responses?limit=3", kOps);
  if (sample.is_object() && sample.contains("items")) {
    for (const auto& it : sample["items"]) {
      std::printf("  stored: %s -> %s (lead %s)\n", it["body"].dump().c_str(),
                  it["classification"].get<std::string>().c_str(), it["leadId"].dump().c_str());
    }
  }
  serve.Terminate();
  for (int t = 0; t < o.threads; ++t) fs::remove(prefix + std::to_string(t) + ".txt");
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    const char* v = i + 1 < argc ? argv[i + 1] : nullptr;
    if (v == nullptr) {
      std::fprintf(stderr, "webhook_bench: %s needs a value\n", a.c_str());
      return 2;
    }
    ++i;
    if (a == "-t") {
      o.threads = std::atoi(v);
    } else if (a == "-c") {
      o.connections = std::atoi(v);
    } else if (a == "-d") {
      o.seconds = std::atoi(v);
    } else if (a == "--leads") {
      o.leads = std::atoi(v);
    } else if (a == "--replies") {
      o.replies_per_thread = static_cast<size_t>(std::atoll(v));
    } else if (a == "--ids" &&
               (std::string_view(v) == "random" || std::string_view(v) == "sequential")) {
      o.random_ids = std::string_view(v) == "random";
    } else if (a == "--only") {
      o.only.clear();
      std::stringstream ss(v);
      std::string item;
      while (std::getline(ss, item, ',')) o.only.insert(item);
    } else {
      std::fprintf(stderr,
                   "usage: webhook_bench [-t THREADS] [-c CONNECTIONS] [-d SECONDS] [--leads N] "
                   "[--replies N] [--ids sequential|random] [--only nginx,orphans,leads]\n");
      return 2;
    }
  }
  const std::string wrk = FindTool("wrk");
  const std::string nginx = FindTool("nginx");
  if (wrk.empty() || nginx.empty()) {
    std::fprintf(stderr, "webhook_bench: needs wrk and nginx (scripts/install-deps.sh)\n");
    return 1;
  }
  setenv("NEXTIER_WEBHOOK_SECRET", kSecret, 1);
  const unsigned cores = std::thread::hardware_concurrency();
  std::printf(
      "webhook_bench: %u cores (shared by wrk, the server and its writer); wrk -t%d "
      "-c%d -d%ds keep-alive; %zu distinct pre-signed replies per wrk thread\n",
      cores, o.threads, o.connections, o.seconds, o.replies_per_thread);
  std::printf("  %s", Run(wrk + " --version 2>&1 | head -1").c_str());
  std::printf("  %s", Run(nginx + " -v 2>&1").c_str());
  std::fflush(stdout);

  const fs::path dir =
      fs::temp_directory_path() / ("nextier-webhook-bench-" + std::to_string(getpid()));
  fs::create_directories(dir);
  fs::permissions(dir, fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                           fs::perms::others_read | fs::perms::others_exec);

  std::map<std::string, WrkResult> results;
  if (o.only.count("nginx")) {
    std::printf("\n[nginx] static 200 for the same POSTs, %u worker processes\n", cores);
    const uint16_t port = FreePort();
    Nginx server(nginx, dir / "nginx", port, static_cast<int>(cores));
    if (!server.ready()) {
      std::printf("  nginx did not start (see %s)\n", (dir / "nginx/error.log").c_str());
    } else {
      const std::string prefix = (dir / "replies-nginx-").string();
      std::vector<std::string> senders = {"+16460000001"};
      // nginx ignores what it gets: fewer lines, repeated, are enough.
      SignReplies(prefix, "nginx", o.threads, 20000, senders, o.random_ids);
      const std::string script = (dir / "webhook-nginx.lua").string();
      WriteScript(script, prefix);
      results["nginx"] = RunWrk(wrk, o, script, port);
      results["nginx"].wrapped = 0;  // repeats do not matter to a static answer
    }
  }
  if (o.only.count("orphans")) {
    std::printf("\n[orphans] nextier serve: replies from unknown numbers\n");
    results["orphans"] = ServeRun("orphans", wrk, o, dir, false);
  }
  if (o.only.count("leads")) {
    std::printf("\n[leads] nextier serve: replies from %d real leads' numbers\n", o.leads);
    results["leads"] = ServeRun("leads", wrk, o, dir, true);
  }

  std::printf("\nsummary (%u cores, wrk -t%d -c%d -d%ds)\n", cores, o.threads, o.connections,
              o.seconds);
  for (const char* name : {"nginx", "orphans", "leads"}) {
    if (results.count(name)) PrintResult(name, results[name]);
  }
  if (results.count("nginx") && results["nginx"].ok) {
    const double ceiling = results["nginx"].Rate();
    for (const char* name : {"orphans", "leads"}) {
      if (results.count(name) && results[name].ok) {
        std::printf("%s / nginx = %.1f%% (goal >= 30%%)\n", name,
                    100.0 * results[name].Rate() / ceiling);
      }
    }
  }
  std::error_code ec;
  fs::remove_all(dir, ec);
  return 0;
}
