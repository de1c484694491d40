#include "engine_fixture.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <set>
#include <thread>

#include "nextier/engine/clock.h"

namespace nextier::fuzz {
namespace {

namespace fs = std::filesystem;

constexpr char kSimStart[] = "2026-12-01T17:00:00Z";  // noon in New York, 09:00 in California
constexpr char kOwnersFrom[] = "+12125550190";
constexpr char kAgentsFrom[] = "+15164079249";

[[noreturn]] void SetupFailed(const std::string& what, const Status& s) {
  std::fprintf(stderr, "fuzz engine: %s: %s\n", what.c_str(), s.ToString().c_str());
  std::abort();
}

// A few USBizData rows, every contact a person in a state whose hours include kSimStart.
void WriteCsv(const fs::path& path, bool agents) {
  std::ofstream out(path);
  out << "Company Name,Contact First,Contact Last,Title,Address,City,State,Zip,County,SIC Code,"
         "Employee Range,Annual Sales,Website\n";
  static constexpr const char* kRows[][6] = {
      {"James", "Okafor", "New York", "NY", "10001", "New York"},
      {"Maria", "Lopez", "Houston", "TX", "77002", "Harris"},
      {"Wei", "Chen", "Miami", "FL", "33130", "Miami-Dade"},
      {"Priya", "Patel", "Chicago", "IL", "60601", "Cook"},
      {"Daniel", "Novak", "Austin", "TX", "78701", "Travis"},
      {"Grace", "Walsh", "Brooklyn", "NY", "11201", "Kings"},
  };
  int i = 0;
  for (const auto& r : kRows) {
    const std::string last = std::string(r[1]) + (agents ? "-Reyes" : "");
    const std::string company = agents ? last + " Realty" : last + " Plumbing";
    out << company << "," << r[0] << "," << last << "," << (agents ? "Broker Owner" : "Owner")
        << "," << 100 + i++ << " Main St," << r[2] << "," << r[3] << "," << r[4] << "," << r[5]
        << "," << (agents ? "6531" : "1711") << ",1-4,$500K-$1M,www.example" << i << ".com\n";
  }
}

Status Advance(app::Engine& e, std::chrono::microseconds d) {
  NEXTIER_RETURN_IF_ERROR(e.timer_service->AdvanceBy(d));
  NEXTIER_RETURN_IF_ERROR(e.outbox->Drain());
  return e.runner->CatchUp();
}

// Import -> skip trace -> campaign -> every batch sent: the leads a reply can belong to.
void Seed(FuzzEngine& f) {
  app::Engine& e = *f.engine;
  std::vector<std::string> campaign_ids;
  for (const auto& [workflow, from, agents] :
       {std::tuple{"business-owners", kOwnersFrom, false},
        std::tuple{"real-estate-agents", kAgentsFrom, true}}) {
    const fs::path csv = fs::path(f.data_dir) / (std::string(workflow) + ".csv");
    WriteCsv(csv, agents);
    adapters::ImportOptions options;
    options.name = csv.filename().string();
    options.source = adapters::LeadSource::kUsBizData;
    options.workflow_id = workflow;
    options.actor = "cli:fuzz";
    auto imported = e.data_hub->ImportFile(csv.string(), options);
    if (!imported.ok()) SetupFailed("import", imported.status());
    if (imported->status != "done") SetupFailed("import", Status::Internal(imported->failure));

    engine::SkipTraceRequest request;
    request.file_id = imported->file_id;
    request.actor = "ops:fuzz";
    auto job = e.skip_trace->Start(request);
    if (!job.ok()) SetupFailed("skip trace", job.status());
    if (Status s = e.skip_trace->WaitForJob(job->id, std::chrono::minutes(2)); !s.ok()) {
      SetupFailed("skip trace", s);
    }
    if (Status s = e.runner->CatchUp(); !s.ok()) SetupFailed("read models", s);

    engine::CreateCampaign create;
    create.name = std::string("fuzz ") + workflow;
    create.workflow = workflow;
    create.from_number = from;
    create.actor = "ops:fuzz";
    auto c = e.campaigns->Create(create);
    if (!c.ok()) SetupFailed("campaign", c.status());
    auto started = e.campaigns->Start(c->id, "ops:fuzz");
    if (!started.ok()) SetupFailed("campaign start", started.status());
    campaign_ids.push_back(c->id);
  }
  for (int step = 0;; ++step) {
    if (Status s = Advance(e, std::chrono::seconds(5)); !s.ok()) SetupFailed("advance", s);
    bool done = true;
    for (const auto& id : campaign_ids) {
      auto c = e.campaigns->Get(id);
      if (!c.ok()) SetupFailed("campaign", c.status());
      for (const auto& b : c->blocks) done = done && b.done();
    }
    if (done) break;
    if (step > 500) SetupFailed("batches", Status::Internal("not dispatched after 500 steps"));
  }
  auto sent = e.sandbox_sms->List(0, 1000);
  if (!sent.ok()) SetupFailed("sandbox outbox", sent.status());
  // Alternating workflows, so that any few consecutive indexes reach both.
  std::vector<Conversation> by_workflow[2];
  for (const auto& m : *sent) {
    if (m.kind != "opener") continue;
    const bool owners = m.from == kOwnersFrom;
    by_workflow[owners ? 0 : 1].push_back(
        {m.lead_id, m.to, m.from, owners ? "business-owners" : "real-estate-agents", m.id});
  }
  for (size_t i = 0; i < std::max(by_workflow[0].size(), by_workflow[1].size()); ++i) {
    for (const auto& list : by_workflow) {
      if (i < list.size()) f.conversations.push_back(list[i]);
    }
  }
  for (const char* workflow : {"business-owners", "real-estate-agents"}) {
    if (std::none_of(f.conversations.begin(), f.conversations.end(),
                     [&](const Conversation& c) { return c.workflow_id == workflow; })) {
      SetupFailed("seeding", Status::Internal(std::string("no opener sent for ") + workflow));
    }
  }
  // The replies come an hour after the openers (inside everyone's sending hours).
  if (Status s = Advance(e, std::chrono::hours(1)); !s.ok()) SetupFailed("advance", s);
}

// Where the data folder goes: /dev/shm when it is a tmpfs with room (fsync there costs nothing,
// and the store syncs every commit: on a disk that is most of an input's time), else the system's
// temporary folder. A small /dev/shm (Docker gives 64 MiB) would fill up and fail appends.
fs::path DataParent() {
  struct statvfs st {};
  if (::statvfs("/dev/shm", &st) == 0 && ::access("/dev/shm", W_OK) == 0 &&
      static_cast<uint64_t>(st.f_bavail) * st.f_frsize >= (uint64_t{2} << 30)) {
    return "/dev/shm";
  }
  return fs::temp_directory_path();
}

// The folders of the engines alive, removed at a normal exit (the engines themselves are not
// destroyed then: their threads may still run while the process ends).
std::mutex folders_mu;
std::set<std::string>* folders = new std::set<std::string>;

}  // namespace

FuzzEngine::~FuzzEngine() {
  engine.reset();
  std::error_code ec;
  fs::remove_all(data_dir, ec);
  std::lock_guard lock(folders_mu);
  folders->erase(data_dir);
}

std::unique_ptr<FuzzEngine> OpenEngine() {
  static const bool cleanup = [] {
    std::atexit([] {
      std::lock_guard lock(folders_mu);
      for (const auto& dir : *folders) {
        std::error_code ec;
        fs::remove_all(dir, ec);
      }
    });
    return true;
  }();
  (void)cleanup;
  auto f = std::make_unique<FuzzEngine>();
  std::string tmpl = (DataParent() / "nextier-fuzz-XXXXXX").string();
  if (mkdtemp(tmpl.data()) == nullptr) {
    SetupFailed("temporary folder", Status::Unavailable(std::strerror(errno)));
  }
  f->data_dir = tmpl;
  {
    std::lock_guard lock(folders_mu);
    folders->insert(f->data_dir);
  }
  const auto t0 = std::chrono::steady_clock::now();
  app::EngineOptions options;
  options.data_dir = f->data_dir;
  options.workflows_dir = std::string(NEXTIER_SOURCE_DIR) + "/workflows";
  auto start = engine::ParseRfc3339(kSimStart);
  if (!start.ok()) SetupFailed("sim start", start.status());
  options.sim_start = *start;
  options.skip_trace.threads = 2;
  auto opened = app::Engine::Open(std::move(options));
  if (!opened.ok()) SetupFailed("open", opened.status());
  f->engine = std::move(*opened);
  if (Status s = f->engine->OpenReadModels(); !s.ok()) SetupFailed("read models", s);
  if (Status s = f->engine->Start(); !s.ok()) SetupFailed("start", s);
  Seed(*f);
  std::fprintf(stderr, "fuzz engine: %s, %zu leads texted, seeded in %.1f s\n", f->data_dir.c_str(),
               f->conversations.size(),
               std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  return f;
}

namespace {

// Waits up to 5 s for `events` on `fd`. False on timeout.
bool WaitFor(const char* target, int fd, short events) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    pollfd p{fd, events, 0};
    const int n = ::poll(&p, 1, static_cast<int>(left.count()));
    if (n > 0) return true;
    if (n < 0 && errno != EINTR) Fail(target, "poll() failed:", std::strerror(errno));
  }
}

}  // namespace

void Fail(const char* target, const char* what, std::string_view detail) {
  std::fprintf(stderr, "%s: %s\n%.*s\n", target, what, static_cast<int>(detail.size()),
               detail.data());
  std::abort();
}

std::string Exchange(const char* target, const adapters::Server& server, std::string_view bytes) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) Fail(target, "socket() failed:", std::strerror(errno));
  // The client closes first, so each connection leaves a TIME_WAIT socket behind for a minute;
  // at a thousand inputs a second one source address would run out of ports. Each exchange
  // therefore comes from the next address in 127.1.0.0/16 (all loopback).
  static uint32_t next_source = 0;
  sockaddr_in source{};
  source.sin_family = AF_INET;
  source.sin_addr.s_addr = htonl((127u << 24) | (1u << 16) | (next_source++ % 65534 + 1));
  if (::bind(fd, reinterpret_cast<sockaddr*>(&source), sizeof source) != 0) {
    Fail(target, "bind() to a loopback source address failed:", std::strerror(errno));
  }
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(server.port());
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  // libFuzzer's SIGALRM (its -timeout watchdog) interrupts system calls: every call below goes
  // on after EINTR. An interrupted connect() completes in the background.
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    if (errno != EINTR) Fail(target, "connect() failed:", std::strerror(errno));
    if (!WaitFor(target, fd, POLLOUT)) Fail(target, "connect() did not complete within 5 s");
    int error = 0;
    socklen_t len = sizeof error;
    ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &len);
    if (error != 0) Fail(target, "connect() failed:", std::strerror(error));
  }
  // At most -max_len bytes plus a few headers: they fit in the socket's buffer, so send() never
  // waits on the server.
  size_t sent = 0;
  while (sent < bytes.size()) {
    const ssize_t n = ::send(fd, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // the server may close early (413, 431, malformed): that is allowed
    sent += static_cast<size_t>(n);
  }
  ::shutdown(fd, SHUT_WR);
  std::string out;
  char buf[4096];
  for (;;) {
    if (!WaitFor(target, fd, POLLIN)) Fail(target, "no end of the answer within 5 s; got:", out);
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n > 0) {
      out.append(buf, static_cast<size_t>(n));
      continue;
    }
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    break;  // end of stream, or a reset after an early close
  }
  ::close(fd);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (server.open_connections() != 0) {
    if (std::chrono::steady_clock::now() > deadline) {
      Fail(target, "connection still open 5 s after the client closed; got:", out);
    }
    std::this_thread::sleep_for(std::chrono::microseconds(20));
  }
  return out;
}

std::vector<int> CheckResponses(const char* target, const std::string& out) {
  std::vector<int> codes;
  if (out.compare(0, std::min<size_t>(out.size(), 9), std::string_view("HTTP/1.1 ", 9), 0,
                  std::min<size_t>(out.size(), 9)) != 0) {
    Fail(target, "not an HTTP/1.1 response:", out);
  }
  size_t at = 0;
  while (at != std::string::npos) {
    // A reset may cut the last answer short: only whole status lines are judged.
    if (out.size() < at + 13) break;
    const char* code = out.data() + at + 9;
    if (code[0] < '1' || code[0] > '5' || code[1] < '0' || code[1] > '9' || code[2] < '0' ||
        code[2] > '9' || code[3] != ' ') {
      Fail(target, "bad status line:", out);
    }
    if (code[0] == '5') Fail(target, "the server answered 5xx:", out);
    codes.push_back((code[0] - '0') * 100 + (code[1] - '0') * 10 + (code[2] - '0'));
    // Bodies are JSON (no raw line break in them) or the UI's files (never "\nHTTP/1.1 ").
    at = out.find("\nHTTP/1.1 ", at + 1);
    if (at != std::string::npos) ++at;
  }
  return codes;
}

}  // namespace nextier::fuzz
