// `nextier demo`: generated USBizData-style leads through the whole engine, in this process,
// on the components serve wires (engine_wiring.h) with the sandbox providers and a simulated
// clock. The services are called directly (no HTTP): import through the data hub, skip trace,
// the two shipped campaigns and their batches, delivery receipts and replies of every class
// through InboundService (as the webhook would), an agent working the call queue, bookings, and
// two simulated days so the reminders fire. Everything is deterministic but the ids.
#include "demo.h"

#include <stdlib.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "engine_wiring.h"

namespace nextier::app {
namespace {

namespace fs = std::filesystem;
using SteadyClock = std::chrono::steady_clock;

constexpr char kSimStart[] = "2026-12-01T17:00:00Z";  // noon in New York, 09:00 in California
constexpr char kOwnersFrom[] = "+12125550190";
constexpr char kAgentsFrom[] = "+15164079249";
constexpr int kThreads = 8;  // concurrent webhook-like calls: they share the store's commits

// ---- sample data ---------------------------------------------------------------------------

struct Place {
  const char* city;
  const char* state;
  const char* zip;
  const char* county;
};
constexpr Place kPlaces[] = {
    {"New York", "NY", "10001", "New York"},    {"Brooklyn", "NY", "11201", "Kings"},
    {"Buffalo", "NY", "14202", "Erie"},         {"Los Angeles", "CA", "90012", "Los Angeles"},
    {"San Diego", "CA", "92101", "San Diego"},  {"San Jose", "CA", "95113", "Santa Clara"},
    {"Houston", "TX", "77002", "Harris"},       {"Dallas", "TX", "75201", "Dallas"},
    {"Austin", "TX", "78701", "Travis"},        {"Miami", "FL", "33130", "Miami-Dade"},
    {"Orlando", "FL", "32801", "Orange"},       {"Tampa", "FL", "33602", "Hillsborough"},
    {"Chicago", "IL", "60601", "Cook"},         {"Naperville", "IL", "60540", "DuPage"},
    {"Springfield", "IL", "62701", "Sangamon"},
};
constexpr const char* kFirst[] = {
    "James", "Mary",  "Robert", "Patricia", "John",   "Jennifer", "Michael", "Linda",
    "David", "Maria", "Carlos", "Aisha",    "Wei",    "Priya",    "Ahmed",   "Olga",
    "Kwame", "Ines",  "Daniel", "Sofia",    "Thomas", "Grace",    "Luis",    "Hannah",
    "Omar",  "Chloe", "Ethan",  "Fatima",   "Noah",   "Elena",    "Samuel",  "Yuki"};
constexpr const char* kLast[] = {
    "Smith",  "Johnson", "Garcia",  "Nguyen",   "Patel",   "Brown",  "Rodriguez", "Kim",
    "Miller", "Davis",   "Lopez",   "Wilson",   "Okafor",  "Cohen",  "Martinez",  "Chen",
    "Novak",  "Rossi",   "Schmidt", "Anderson", "Khan",    "Murphy", "Silva",     "Park",
    "Turner", "Hughes",  "Reyes",   "Foster",   "Ibrahim", "Walsh",  "Moreno",    "Bauer"};
constexpr const char* kTrades[] = {"Plumbing",    "Bakery",       "Auto Repair",  "Dental Care",
                                   "Landscaping", "Printing",     "HVAC",         "Catering",
                                   "Fitness",     "Machine Shop", "Pet Grooming", "Roofing"};
constexpr const char* kOwnerTitles[] = {"Owner",     "President",       "CEO",
                                        "Founder",   "General Manager", "Vice President",
                                        "Principal", "Office Manager",  "Owner"};
constexpr const char* kAgentTitles[] = {"Broker Owner", "Realtor",           "Managing Broker",
                                        "Team Lead",    "Real Estate Agent", "Associate Broker",
                                        "Owner"};
constexpr const char* kBrokerages[] = {"Keller Williams", "Coldwell Banker", "RE/MAX", "Compass",
                                       "Century 21"};
constexpr const char* kEntitySuffix[] = {"Family Trust", "Holdings LLC", "Properties Inc",
                                         "Revocable Trust"};

struct Generated {
  std::string path;
  int rows = 0;
  int duplicates = 0;
  int entities = 0;
};

// A USBizData-style CSV of `rows` rows: ~8% repeat an earlier row, ~10% name an entity as the
// contact. `agents` picks real-estate offices instead of small businesses.
Generated WriteCsv(const fs::path& path, int rows, bool agents, std::mt19937& rng) {
  auto pick = [&rng](size_t n) { return static_cast<size_t>(rng() % n); };
  Generated g;
  g.path = path.string();
  g.rows = rows;
  std::ofstream out(path);
  out << "Company Name,Contact First,Contact Last,Title,Address,City,State,Zip,County,"
         "SIC Code,Employee Range,Annual Sales,Website\n";
  std::vector<std::string> written;
  std::set<std::string> keys;
  for (int i = 0; i < rows; ++i) {
    if (!written.empty() && pick(100) < 8) {
      out << written[pick(written.size())] << "\n";
      ++g.duplicates;
      continue;
    }
    std::string line;
    for (int attempt = 0; attempt < 50; ++attempt) {
      const Place& p = kPlaces[pick(std::size(kPlaces))];
      const std::string last = kLast[pick(std::size(kLast))];
      const std::string company_name = kLast[pick(std::size(kLast))];
      std::string first = kFirst[pick(std::size(kFirst))];
      std::string contact_last = last;
      const bool entity = pick(100) < 10;
      if (entity) {
        first = "";
        contact_last = last + " " + kEntitySuffix[pick(std::size(kEntitySuffix))];
      }
      std::string company, title, sic, domain;
      if (agents) {
        company = pick(2) == 0
                      ? company_name + " Realty"
                      : std::string(kBrokerages[pick(std::size(kBrokerages))]) + " " + p.city;
        title = kAgentTitles[pick(std::size(kAgentTitles))];
        sic = "6531";
      } else {
        company = company_name + " " + kTrades[pick(std::size(kTrades))];
        title = kOwnerTitles[pick(std::size(kOwnerTitles))];
        sic = std::to_string(1700 + pick(6000));
      }
      if (!keys.insert(first + "|" + contact_last + "|" + company + "|" + p.zip).second) continue;
      for (char c : company) {
        if (std::isalnum(static_cast<unsigned char>(c))) {
          domain += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        }
      }
      line = company + "," + first + "," + contact_last + "," + title + "," +
             std::to_string(10 + pick(9000)) + " Main St," + p.city + "," + p.state + "," + p.zip +
             "," + p.county + "," + sic + "," + (pick(2) == 0 ? "1-4" : "5-9") + "," +
             (pick(2) == 0 ? "$500K-$1M" : "$1M-$2.5M") + ",www." + domain + ".com";
      g.entities += entity;
      break;
    }
    if (line.empty()) continue;  // the name space ran out: a smaller file
    written.push_back(line);
    out << line << "\n";
  }
  return g;
}

// ---- helpers ---------------------------------------------------------------------------------

// Runs fn(i) for i in [0, n) on `threads` threads; the first error wins.
template <typename Fn>
Status ParallelFor(size_t n, Fn fn) {
  std::mutex mu;
  Status first;
  size_t next = 0;
  std::vector<std::thread> pool;
  for (int t = 0; t < kThreads; ++t) {
    pool.emplace_back([&] {
      for (;;) {
        size_t i;
        {
          std::lock_guard lock(mu);
          if (next >= n || !first.ok()) return;
          i = next++;
        }
        Status s = fn(i);
        if (!s.ok()) {
          std::lock_guard lock(mu);
          if (first.ok()) first = s;
        }
      }
    });
  }
  for (auto& t : pool) t.join();
  return first;
}

class Demo {
 public:
  Demo(Engine& e, std::string data_dir, int rows)
      : e_(e), data_dir_(std::move(data_dir)), rows_(rows), rng_(20261201) {}

  Status Run();

 private:
  // Prints "[n] name  text" and the wall time since the previous stage.
  void Print(const char* name, const std::string& text) {
    const auto now = SteadyClock::now();
    const double ms = std::chrono::duration<double, std::milli>(now - last_).count();
    last_ = now;
    std::printf("[%2d] %-10s %s  (%.0f ms)\n", ++stage_, name, text.c_str(), ms);
    std::fflush(stdout);
  }
  std::string SimNow() const { return engine::FormatRfc3339(e_.clock->Now()); }
  Result<std::vector<adapters::SandboxMessage>> Sent(const std::string& kind);
  Status Advance(std::chrono::microseconds d);
  Result<adapters::ImportResult> Import(const Generated& g, const char* workflow);
  Result<engine::SkipTraceJobStatus> SkipTrace(const std::string& file_id);
  Result<engine::Campaign> StartCampaign(const std::string& name, const char* workflow,
                                         const char* from);

  Engine& e_;
  std::string data_dir_;
  int rows_;
  std::mt19937 rng_;
  int stage_ = 0;
  SteadyClock::time_point last_ = SteadyClock::now();
};

Result<std::vector<adapters::SandboxMessage>> Demo::Sent(const std::string& kind) {
  auto all = e_.sandbox_sms->List(0, 1'000'000);
  if (!all.ok()) return all.status();
  std::vector<adapters::SandboxMessage> out;
  for (auto& m : *all) {
    if (kind.empty() || m.kind == kind) out.push_back(std::move(m));
  }
  return out;
}

// Moves the simulated clock, firing the timers due on the way, and waits for the sends.
Status Demo::Advance(std::chrono::microseconds d) {
  NEXTIER_RETURN_IF_ERROR(e_.timer_service->AdvanceBy(d));
  NEXTIER_RETURN_IF_ERROR(e_.outbox->Drain());
  return e_.runner->CatchUp();
}

Result<adapters::ImportResult> Demo::Import(const Generated& g, const char* workflow) {
  adapters::ImportOptions options;
  options.name = fs::path(g.path).filename().string();
  options.source = adapters::LeadSource::kUsBizData;
  options.workflow_id = workflow;
  options.actor = "cli:demo";
  auto r = e_.data_hub->ImportFile(g.path, options);
  if (!r.ok()) return r.status();
  if (r->status != "done") return Status::Internal("import of " + g.path + ": " + r->failure);
  char line[256];
  std::snprintf(line, sizeof line,
                "%s -> %s: %llu rows, %llu imported, %llu duplicates, %llu rejected, %llu "
                "entities",
                r->name.c_str(), r->file_id.c_str(),
                static_cast<unsigned long long>(r->counts.rows),
                static_cast<unsigned long long>(r->counts.imported),
                static_cast<unsigned long long>(r->counts.duplicates),
                static_cast<unsigned long long>(r->counts.rejected),
                static_cast<unsigned long long>(r->counts.entities));
  Print("import", line);
  return r;
}

Result<engine::SkipTraceJobStatus> Demo::SkipTrace(const std::string& file_id) {
  engine::SkipTraceRequest request;
  request.file_id = file_id;
  request.actor = "ops:demo";
  auto job = e_.skip_trace->Start(request);
  if (!job.ok()) return job.status();
  NEXTIER_RETURN_IF_ERROR(e_.skip_trace->WaitForJob(job->id, std::chrono::minutes(5)));
  auto done = e_.skip_trace->Status(job->id);
  if (!done.ok()) return done.status();
  NEXTIER_RETURN_IF_ERROR(e_.runner->CatchUp());
  char line[256];
  std::snprintf(line, sizeof line,
                "%s: %llu requested, %llu enriched, %llu no hit, %llu entities rejected, %llu "
                "invalid (%s; today %llu/%llu)",
                file_id.c_str(), static_cast<unsigned long long>(done->requested),
                static_cast<unsigned long long>(done->enriched),
                static_cast<unsigned long long>(done->no_hit),
                static_cast<unsigned long long>(done->rejected_entity),
                static_cast<unsigned long long>(done->rejected_invalid), done->status.c_str(),
                static_cast<unsigned long long>(done->daily_used),
                static_cast<unsigned long long>(done->daily_limit));
  Print("skip trace", line);
  return done;
}

Result<engine::Campaign> Demo::StartCampaign(const std::string& name, const char* workflow,
                                             const char* from) {
  engine::CreateCampaign create;
  create.name = name;
  create.workflow = workflow;
  create.from_number = from;
  create.actor = "ops:demo";
  auto c = e_.campaigns->Create(create);
  if (!c.ok()) return c.status();
  auto started = e_.campaigns->Start(c->id, "ops:demo");
  if (!started.ok()) return started.status();
  const auto& block = started->blocks.back();
  char line[256];
  std::snprintf(line, sizeof line,
                "%s \"%s\" (%s, from %s): block %u of %zu leads in %zu batch%s of up to %u",
                started->id.c_str(), name.c_str(), workflow, from, block.number,
                block.lead_ids.size(), block.batches.size(), block.batches.size() == 1 ? "" : "es",
                block.batch_size);
  Print("campaign", line);
  return started;
}

Status Demo::Run() {
  // 1. Sample data: ~60% small-business owners, the rest real-estate offices.
  const int owner_rows = std::max(1, rows_ * 6 / 10);
  const Generated owners =
      WriteCsv(fs::path(data_dir_) / "demo-owners.csv", owner_rows, false, rng_);
  const Generated agents =
      WriteCsv(fs::path(data_dir_) / "demo-agents.csv", rows_ - owner_rows, true, rng_);
  Print("generate", std::to_string(owners.rows + agents.rows) + " USBizData rows in 2 files (" +
                        std::to_string(owners.duplicates + agents.duplicates) + " repeated, " +
                        std::to_string(owners.entities + agents.entities) + " entity owners) in " +
                        data_dir_);

  // 2. Import and dedupe through the data hub.
  auto owners_file = Import(owners, "business-owners");
  if (!owners_file.ok()) return owners_file.status();
  auto agents_file = Import(agents, "real-estate-agents");
  if (!agents_file.ok()) return agents_file.status();

  // 3. Skip trace and start each campaign on its own file's leads (a campaign draws every
  // enriched lead not yet in one).
  auto owners_job = SkipTrace(owners_file->file_id);
  if (!owners_job.ok()) return owners_job.status();
  auto owners_campaign = StartCampaign("Owners: exit or expansion", "business-owners", kOwnersFrom);
  if (!owners_campaign.ok()) return owners_campaign.status();
  auto agents_job = SkipTrace(agents_file->file_id);
  if (!agents_job.ok()) return agents_job.status();
  auto agents_campaign = StartCampaign("Agents: own your leads", "real-estate-agents", kAgentsFrom);
  if (!agents_campaign.ok()) return agents_campaign.status();

  // 4. The batches: the workflows space them a few seconds apart; advance until both blocks are
  // dispatched.
  int steps = 0;
  uint32_t batches = 0;
  for (;; ++steps) {
    NEXTIER_RETURN_IF_ERROR(Advance(std::chrono::seconds(5)));
    bool done = true;
    batches = 0;
    for (const auto* c : {&*owners_campaign, &*agents_campaign}) {
      auto now = e_.campaigns->Get(c->id);
      if (!now.ok()) return now.status();
      for (const auto& b : now->blocks) {
        done = done && b.done();
        for (const auto& batch : b.batches) batches += batch.dispatched;
      }
    }
    if (done || steps > 2000) break;
  }
  auto openers = Sent("opener");
  if (!openers.ok()) return openers.status();
  const auto out_stats = e_.outbox->stats();
  Print("batches", std::to_string(batches) + " batches dispatched by " + SimNow() + ": " +
                       std::to_string(openers->size()) + " openers sent, " +
                       std::to_string(out_stats.failed) + " failed");

  // 5. Delivery receipts, as SignalHouse would post them: ~3% never reach the handset.
  std::vector<bool> delivered(openers->size());
  for (size_t i = 0; i < delivered.size(); ++i) delivered[i] = rng_() % 100 >= 3;
  NEXTIER_RETURN_IF_ERROR(ParallelFor(openers->size(), [&](size_t i) -> Status {
    const auto& m = (*openers)[i];
    engine::DeliveryReceipt r;
    r.event = delivered[i] ? "MESSAGE_DELIVERED" : "MESSAGE_FAILED";
    r.message_id = m.id;
    r.delivery_id = "demo-receipt-" + m.id;
    r.segments = 1;
    r.status = delivered[i] ? "delivered" : "undelivered";
    if (!delivered[i]) r.reason = "30003 unreachable destination handset";
    return e_.inbound->Receipt(r).status();
  }));
  const size_t delivered_count =
      static_cast<size_t>(std::count(delivered.begin(), delivered.end(), true));
  Print("delivery", std::to_string(delivered_count) + " delivered, " +
                        std::to_string(openers->size() - delivered_count) + " failed");

  // 6. Replies of every class from ~45% of the delivered leads, from the number each was texted
  // at to the campaign's number, an hour later. Every tenth replier says yes first and gives
  // an email the next day (at noon in New York: inside every recipient's sending hours).
  NEXTIER_RETURN_IF_ERROR(Advance(std::chrono::hours(1)));
  struct Reply {
    std::string from, to, body;
  };
  static constexpr const char* kBodies[] = {
      "Yes, I'm interested. Tell me more",        // POSITIVE (then an email)
      "Sure, send it to {email}",                 // EMAIL
      "yes! {email}",                             // EMAIL
      "Not interested, thanks",                   // NEGATIVE
      "STOP",                                     // OPT_OUT
      "HELP",                                     // HELP
      "Who is this? How did you get my number?",  // QUESTION
      "Wrong number, no one by that name here",   // WRONG_NUMBER
      "ok",                                       // OTHER
      "Yes please, sounds interesting",           // POSITIVE
  };
  std::vector<Reply> replies;
  std::vector<Reply> later;  // the POSITIVE-then-EMAIL repliers' second text
  int picked = 0;
  for (size_t i = 0; i < openers->size(); ++i) {
    if (!delivered[i] || rng_() % 100 >= 45) continue;
    const auto& m = (*openers)[i];
    const std::string email = "lead" + m.lead_id.substr(m.lead_id.rfind('-') + 1) + "." +
                              std::to_string(i) + "@example.com";
    const int cls = picked++ % static_cast<int>(std::size(kBodies));
    std::string body = kBodies[cls];
    if (auto at = body.find("{email}"); at != std::string::npos) body.replace(at, 7, email);
    replies.push_back({m.to, m.from, body});
    if (cls == 0) later.push_back({m.to, m.from, "my email is " + email});
  }
  std::mutex mu;
  std::map<std::string, int> by_class;
  int gold = 0;
  auto receive = [&](const std::vector<Reply>& list, const std::string& prefix) {
    return ParallelFor(list.size(), [&](size_t i) -> Status {
      engine::InboundReply r;
      r.message_id = prefix + std::to_string(i);
      r.delivery_id = "demo-delivery-" + r.message_id;
      r.from = list[i].from;
      r.to = list[i].to;
      r.body = list[i].body;
      r.raw_body = "{\"demo\":true}";
      auto outcome = e_.inbound->Receive(r);
      if (!outcome.ok()) return outcome.status();
      std::lock_guard lock(mu);
      ++by_class[outcome->classification];
      gold += outcome->gold_label;
      return Status::Ok();
    });
  };
  NEXTIER_RETURN_IF_ERROR(receive(replies, "demo-in-"));
  NEXTIER_RETURN_IF_ERROR(Advance(std::chrono::hours(23)));  // the auto-replies; the next day
  NEXTIER_RETURN_IF_ERROR(receive(later, "demo-in2-"));
  NEXTIER_RETURN_IF_ERROR(Advance(std::chrono::minutes(30)));
  std::string classes;
  for (const auto& [cls, n] : by_class) classes += " " + cls + " " + std::to_string(n);
  Print("replies", std::to_string(replies.size() + later.size()) + " replies from " +
                       std::to_string(replies.size()) + " leads:" + classes + "; " +
                       std::to_string(gold) + " gold labels");
  auto autoreplies = Sent("autoreply");
  auto helps = Sent("help");
  auto optouts = Sent("optout");
  if (!autoreplies.ok() || !helps.ok() || !optouts.ok()) {
    return Status::Internal("cannot read the sandbox outbox");
  }
  Print("answers", std::to_string(autoreplies->size()) + " auto-replies, " +
                       std::to_string(helps->size()) + " HELP answers, " +
                       std::to_string(optouts->size()) + " opt-out confirmations sent");

  // 7. The call queue: two agents take the gold leads, best first; most calls end in a booking.
  auto queue = e_.call_queue->List({"pending", "", ""}, 1000, "");
  if (!queue.ok()) return queue.status();
  static constexpr const char* kAgents[] = {"ana", "ben"};
  static constexpr const char* kOutcomes[] = {"booked",         "booked", "no_answer", "booked",
                                              "voicemail",      "booked", "callback",  "booked",
                                              "not_interested", "booked"};
  std::map<std::string, int> dispositions;
  std::vector<std::pair<std::string, std::string>> to_book;  // lead, agent
  for (size_t k = 0; k < queue->items.size(); ++k) {
    const auto& entry = queue->items[k];
    const std::string agent = kAgents[k % 2];
    const std::string actor = "agent:" + agent;
    auto assigned = e_.calls->Assign(entry.id, agent, actor);
    if (!assigned.ok()) return assigned.status();
    const std::string disposition = kOutcomes[k % std::size(kOutcomes)];
    std::optional<engine::Micros> callback_at;
    if (disposition == "callback") {
      callback_at = e_.clock->Now() + 20 * 3600 * engine::kMicrosPerSecond;
    }
    auto done = e_.calls->Complete(entry.id, agent, disposition, "demo call", callback_at, actor);
    if (!done.ok()) return done.status();
    ++dispositions[disposition];
    if (disposition == "booked") to_book.emplace_back(entry.lead_id, agent);
  }
  std::string outcomes;
  for (const auto& [d, n] : dispositions) outcomes += " " + d + " " + std::to_string(n);
  Print("calls", std::to_string(queue->items.size()) + " gold leads called:" + outcomes);

  // 8. Meetings for the calls that ended in a booking: from 26 hours ahead, 30 minutes apart
  // per agent, so all three reminders are still ahead.
  std::map<std::string, int> slots;
  int booked = 0;
  const engine::Micros base = e_.clock->Now() + 26LL * 3600 * engine::kMicrosPerSecond;
  for (const auto& [lead, agent] : to_book) {
    engine::BookMeeting b;
    b.lead_id = lead;
    b.agent = agent;
    b.starts_at = base + slots[agent]++ * 30LL * 60 * engine::kMicrosPerSecond;
    b.actor = "agent:" + agent;
    auto m = e_.meeting_service->Book(b);
    if (!m.ok()) return m.status();
    ++booked;
  }
  NEXTIER_RETURN_IF_ERROR(Advance(std::chrono::minutes(1)));
  auto confirmations = Sent("confirmation");
  if (!confirmations.ok()) return confirmations.status();
  Print("meetings", std::to_string(booked) + " booked, " + std::to_string(confirmations->size()) +
                        " confirmations sent");

  // 9. Two days later: reminders 24 h, 1 h and 15 min before each meeting, callbacks requeued.
  NEXTIER_RETURN_IF_ERROR(Advance(std::chrono::hours(48)));
  auto reminders = Sent("reminder");
  auto followups = Sent("followup");
  if (!reminders.ok() || !followups.ok()) return Status::Internal("cannot read the sandbox");
  const auto timers = e_.timer_service->stats();
  Print("2 days on", "clock " + SimNow() + ": " + std::to_string(reminders->size()) +
                         " reminders, " + std::to_string(followups->size()) + " follow-ups sent; " +
                         std::to_string(timers.fired) + " timers fired");

  // The funnel, from the dashboard's counters (cumulative: a booked lead counts as sent, ...).
  NEXTIER_RETURN_IF_ERROR(e_.runner->CatchUp());
  auto f = e_.dashboard->Read();
  if (!f.ok()) return f.status();
  auto all = Sent("");
  std::printf(
      "funnel: raw=%llu enriched=%llu queued=%llu sent=%llu delivered=%llu responded=%llu "
      "gold=%llu called=%llu booked=%llu optedOut=%llu rejected=%llu\n",
      static_cast<unsigned long long>(f->raw), static_cast<unsigned long long>(f->enriched),
      static_cast<unsigned long long>(f->queued), static_cast<unsigned long long>(f->sent),
      static_cast<unsigned long long>(f->delivered), static_cast<unsigned long long>(f->responded),
      static_cast<unsigned long long>(f->gold), static_cast<unsigned long long>(f->called),
      static_cast<unsigned long long>(f->booked), static_cast<unsigned long long>(f->opted_out),
      static_cast<unsigned long long>(f->rejected));
  std::printf("log: %llu events, %zu SMS in the sandbox\n",
              static_cast<unsigned long long>(e_.store->Head()), all.ok() ? all->size() : 0);
  std::fflush(stdout);
  return Status::Ok();
}

}  // namespace

int RunDemo(const DemoOptions& o) {
  if (o.rows < 10 || o.rows > 1'000'000) {
    std::fprintf(stderr, "demo: --rows must be between 10 and 1000000, not %d\n", o.rows);
    return 2;
  }
  const auto started = SteadyClock::now();
  std::string data_dir = o.data_dir;
  if (data_dir.empty()) {
    std::string tmpl = (fs::temp_directory_path() / "nextier-demo-XXXXXX").string();
    if (mkdtemp(tmpl.data()) == nullptr) {
      std::fprintf(stderr, "demo: cannot make a folder in %s\n", fs::temp_directory_path().c_str());
      return 1;
    }
    data_dir = tmpl;
  } else if (std::error_code ec; fs::exists(fs::path(data_dir) / "eventstore", ec)) {
    std::fprintf(stderr, "demo: %s already holds an event store; give a new folder\n",
                 data_dir.c_str());
    return 1;
  }
  EngineOptions options;
  options.data_dir = data_dir;
  options.workflows_dir = o.workflows_dir;
  auto start = engine::ParseRfc3339(kSimStart);
  options.sim_start = *start;
  options.skip_trace.threads = 4;
  auto opened = Engine::Open(std::move(options));
  if (!opened.ok()) {
    std::fprintf(stderr, "demo: %s\n", opened.status().message().c_str());
    return 1;
  }
  Engine& engine = **opened;
  Status ready = engine.OpenReadModels();
  if (ready.ok()) ready = engine.Start();
  if (!ready.ok()) {
    std::fprintf(stderr, "demo: %s\n", ready.message().c_str());
    return 1;
  }
  std::printf("nextier demo: %d rows, data in %s, sandbox providers, simulated clock from %s\n",
              o.rows, data_dir.c_str(), kSimStart);
  std::fflush(stdout);
  Demo demo(engine, data_dir, o.rows);
  if (Status s = demo.Run(); !s.ok()) {
    std::fprintf(stderr, "demo: %s\n", s.ToString().c_str());
    return 1;
  }
  const double secs = std::chrono::duration<double>(SteadyClock::now() - started).count();
  std::printf("done in %.1f s; look around with: nextier serve --data %s --sim-clock %s\n", secs,
              data_dir.c_str(), kSimStart);
  return 0;
}

}  // namespace nextier::app
