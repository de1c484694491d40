// import_bench: the data hub's full import path on 1,000,000 generated USBizData-style rows
// (fixed seed; about 8% duplicates written in other formats, 10% entity owners, quoted fields,
// varied titles): parse, clean, score, dedupe, durable events (fsync'd group commits). Prints
// rows/s and peak RSS, then times `sqlite3 :memory:` doing a bare `.import --csv` of the same
// file. Prints figures, asserts nothing.
//
//   import_bench [ROWS] [DIR] [--import-only]   (defaults: 1000000, a fresh folder under /tmp;
//   --import-only skips the read models catching up and sqlite, for A/B runs of the import;
//   NEXTIER_BENCH_KEEP=1 then keeps DIR, for inspecting the store, e.g. with mdb_stat)
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "nextier/adapters/data_hub.h"
#include "nextier/engine/clock.h"
#include "nextier/engine/workflow_registry.h"
#include "nextier/eventstore/event_store.h"
#include "nextier/projections/files.h"
#include "nextier/projections/lead_index.h"
#include "nextier/projections/leads.h"
#include "nextier/projections/projection.h"
#include "nextier/projections/read_model_store.h"

namespace {

namespace fs = std::filesystem;
using namespace nextier;
using Clock = std::chrono::steady_clock;

const char* kFirst[] = {"James",   "Mary",  "John",    "Patricia",  "Robert", "Jennifer",
                        "Michael", "Linda", "William", "Elizabeth", "David",  "Barbara",
                        "Richard", "Susan", "Joseph",  "Jessica",   "Thomas", "Sarah",
                        "Charles", "Karen", "Sean",    "Maria",     "Liam",   "Aisha",
                        "Chen",    "Priya", "Diego",   "Olga"};
const char* kLast[] = {"Smith",    "Johnson", "Williams",  "Brown",    "Jones",     "Garcia",
                       "Miller",   "Davis",   "Rodriguez", "Martinez", "Hernandez", "Lopez",
                       "Gonzalez", "Wilson",  "Anderson",  "Thomas",   "Taylor",    "Moore",
                       "Jackson",  "Martin",  "McDonald",  "O'Brien",  "Nguyen",    "Kim",
                       "Patel",    "Stone",   "Church"};
const char* kTitles[] = {
    "Owner",           "CEO",       "President",       "Vice President",
    "V.P. Sales",      "Manager",   "Office Manager",  "Owner/CEO",
    "Founder",         "Principal", "Broker Owner",    "Agent",
    "Realtor",         "Assistant", "Managing Member", "Chief Executive Officer",
    "Sales Associate", ""};
const char* kStates[] = {"NY", "CA", "TX", "FL",         "IL", "PA",   "OH",
                         "GA", "NC", "MI", "New Jersey", "wa", "Mass."};
const int kAreas[] = {212, 310, 512, 305, 312, 215, 614, 404, 704, 313, 201, 206, 617, 516, 718};
const char* kCompanyWords[] = {"Realty",     "Homes",    "Properties", "Group", "Real Estate",
                               "Associates", "Partners", "Brokers",    "Land",  "Estates"};
const char* kEntityOwners[][2] = {{"Stone Family", "Trust"},  {"Acme Holdings", "LLC"},
                                  {"", "Estate of John Doe"}, {"Main Street Properties", "Inc"},
                                  {"Green Ventures", "LP"},   {"First Baptist", "Church of Tampa"}};

struct Row {
  std::string company, street, city, state, zip, phone_digits, first, last, title, email;
};

std::string Quote(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

std::string FormatPhone(const std::string& d, int style) {
  switch (style) {
    case 0:
      return "(" + d.substr(0, 3) + ") " + d.substr(3, 3) + "-" + d.substr(6);
    case 1:
      return d.substr(0, 3) + "-" + d.substr(3, 3) + "-" + d.substr(6);
    case 2:
      return "+1 " + d.substr(0, 3) + " " + d.substr(3, 3) + " " + d.substr(6);
    case 3:
      return d.substr(0, 3) + "." + d.substr(3, 3) + "." + d.substr(6);
    default:
      return d;
  }
}

std::string Upper(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

uint64_t Generate(const std::string& path, size_t rows) {
  std::mt19937_64 rng(20261128);
  auto pick = [&](size_t n) { return static_cast<size_t>(rng() % n); };
  std::ofstream out(path, std::ios::binary);
  out << "Company Name,Address,City,State,Zip,County,Phone,Contact First,Contact Last,Title,"
         "Direct Phone,Email,Website,Employee Range,Annual Sales,SIC Code,Industry\r\n";
  std::vector<Row> recent;  // the rows a duplicate may copy
  recent.reserve(4096);
  std::string line;
  for (size_t i = 0; i < rows; ++i) {
    Row r;
    int phone_style = static_cast<int>(pick(5));
    const bool dup = !recent.empty() && pick(100) < 8;
    if (dup) {
      r = recent[pick(recent.size())];
      switch (pick(3)) {
        case 0:  // same phone, another format and casing
          r.first = Upper(r.first);
          r.last = Upper(r.last);
          break;
        case 1:  // same email, other phone
          r.email = Upper(r.email);
          r.phone_digits.clear();
          break;
        default:  // same name + company + zip, no phone or email
          r.phone_digits.clear();
          r.email.clear();
          r.company = Upper(r.company);
          break;
      }
    } else {
      r.first = kFirst[pick(std::size(kFirst))];
      r.last = kLast[pick(std::size(kLast))];
      const size_t e = pick(100);
      if (e < 10) {
        const auto& o = kEntityOwners[pick(std::size(kEntityOwners))];
        r.first = o[0];
        r.last = o[1];
      }
      r.company = std::string(kLast[pick(std::size(kLast))]) + " " +
                  kCompanyWords[pick(std::size(kCompanyWords))];
      if (pick(4) == 0) r.company += ", LLC";  // quoted
      r.street = std::to_string(1 + pick(9999)) + " Main St";
      if (pick(5) == 0) r.street += ", Suite " + std::to_string(1 + pick(400));
      r.city = "Springfield";
      r.state = kStates[pick(std::size(kStates))];
      r.zip = std::to_string(1000 + pick(98000));  // some lose their leading zero
      // Unique numbers: area code + exchange 2xx-9xx + the row index.
      const int area = kAreas[pick(std::size(kAreas))];
      const size_t exchange = 200 + (i / 10000) % 800;
      char digits[16];
      std::snprintf(digits, sizeof digits, "%03d%03zu%04zu", area, exchange, i % 10000);
      r.phone_digits = digits;
      r.title = kTitles[pick(std::size(kTitles))];
      if (pick(3) != 0) {
        r.email = "contact" + std::to_string(i) + "@" + std::string(kLast[pick(std::size(kLast))]) +
                  "-realty.com";
        for (auto& c : r.email) {
          if (c == '\'') c = 'x';
        }
      }
      if (recent.size() < 4096) {
        recent.push_back(r);
      } else {
        recent[pick(recent.size())] = r;
      }
    }
    line.clear();
    line += Quote(r.company) + "," + Quote(r.street) + "," + r.city + "," + r.state + "," + r.zip +
            ",County," + (r.phone_digits.empty() ? "" : FormatPhone(r.phone_digits, phone_style)) +
            "," + Quote(r.first) + "," + Quote(r.last) + "," + Quote(r.title) + ",," + r.email +
            ",www.example.com,1-4,\"$500,000\",6531,Real Estate\r\n";
    out << line;
  }
  out.flush();
  return static_cast<uint64_t>(fs::file_size(path));
}

long PeakRssKb() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_maxrss;
}

// Resident memory now, split into heap/anonymous and file-backed pages (LMDB's memory maps of
// the log and the read models count as the latter), from /proc/self/status.
std::string RssSplit() {
  std::ifstream in("/proc/self/status");
  std::string line, out;
  while (std::getline(in, line)) {
    if (line.rfind("RssAnon:", 0) == 0 || line.rfind("RssFile:", 0) == 0) {
      std::string compact;
      for (char c : line) {
        if (c != ' ' && c != '\t') compact += c;
      }
      out += (out.empty() ? "" : ", ") + compact;
    }
  }
  return out;
}

}  // namespace

// CPU seconds (user + system) used so far by this process (or its waited-for children).
double CpuSeconds(int who) {
  rusage u{};
  getrusage(who, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

int main(int argc, char** argv) {
  const size_t rows = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 1'000'000;
  std::string dir =
      argc > 2 ? argv[2] : (fs::temp_directory_path() / "nextier_import_bench").string();
  fs::remove_all(dir);
  fs::create_directories(dir);
  const std::string csv = dir + "/usbizdata.csv";

  auto t0 = Clock::now();
  const uint64_t bytes = Generate(csv, rows);
  std::printf("generated %zu rows, %.1f MB in %.1f s (seed 20261128)\n", rows, bytes / 1e6,
              std::chrono::duration<double>(Clock::now() - t0).count());
  std::fflush(stdout);

  eventstore::LmdbOptions lo;
  lo.path = dir + "/data/eventstore";
  auto store = eventstore::OpenLmdbEventStore(lo);
  if (!store.ok()) {
    std::fprintf(stderr, "%s\n", store.status().ToString().c_str());
    return 1;
  }
  engine::RealClock clock;
  engine::WorkflowRegistry registry(**store, clock);
  if (Status s = registry.LoadLogAndDirectory(NEXTIER_DEFAULT_WORKFLOWS_DIR); !s.ok()) {
    std::fprintf(stderr, "%s\n", s.ToString().c_str());
    return 1;
  }
  projections::ReadModelOptions ro;
  ro.path = dir + "/data/projections";
  auto models = projections::ReadModelStore::Open(ro);
  auto index = projections::LeadIndexProjection::Open(**models);
  projections::ProjectionRunner runner(**store, **models);
  auto files = projections::FilesProjection::Open(**models);
  auto leads = projections::LeadsProjection::Open(**models, (*store)->keys());
  (void)runner.Add(**index);
  (void)runner.Add(**files);
  (void)runner.Add(**leads);
  adapters::DataHub hub(**store, clock, registry, runner, **index);

  const long rss_before = PeakRssKb();
  adapters::ImportOptions options;
  options.name = "usbizdata.csv";
  options.size_bytes = bytes;
  t0 = Clock::now();
  const double cpu0 = CpuSeconds(RUSAGE_SELF);
  auto result = hub.ImportFile(csv, options);
  const double secs = std::chrono::duration<double>(Clock::now() - t0).count();
  const double cpu = CpuSeconds(RUSAGE_SELF) - cpu0;
  if (!result.ok() || result->status != "done") {
    std::fprintf(stderr, "import failed: %s\n",
                 result.ok() ? result->failure.c_str() : result.status().ToString().c_str());
    return 1;
  }
  const auto& c = result->counts;
  std::printf(
      "nextier import: %llu rows in %.2f s = %.0f rows/s (%.1f MB/s); imported %llu, "
      "duplicates %llu (%.1f%%), rejected %llu, entities %llu (%.1f%% of imported)\n",
      static_cast<unsigned long long>(c.rows), secs, c.rows / secs, bytes / 1e6 / secs,
      static_cast<unsigned long long>(c.imported), static_cast<unsigned long long>(c.duplicates),
      100.0 * c.duplicates / c.rows, static_cast<unsigned long long>(c.rejected),
      static_cast<unsigned long long>(c.entities), 100.0 * c.entities / c.imported);
  // CPU per row is steadier than the wall clock on a shared machine (fsync times vary).
  std::printf("CPU: %.2f s = %.2f us per row, %.2f cores busy on average\n", cpu,
              1e6 * cpu / static_cast<double>(c.rows), cpu / secs);
  std::printf("peak RSS: %.0f MiB (%.0f MiB before the import); now %s\n", PeakRssKb() / 1024.0,
              rss_before / 1024.0, RssSplit().c_str());
  std::printf("events: %llu, log map %.0f MB\n", static_cast<unsigned long long>((*store)->Head()),
              (*store)->Stats().used_bytes / 1e6);
  std::fflush(stdout);
  // `--import-only` (third argument) stops here: for A/B runs of the import path alone.
  if (argc > 3 && std::string_view(argv[3]) == "--import-only") {
    if (std::getenv("NEXTIER_BENCH_KEEP") == nullptr) fs::remove_all(dir);
    return 0;
  }

  // Not part of the import: the read models (dedupe index, files, leads) catching up after it.
  t0 = Clock::now();
  const uint64_t head = (*store)->Head();
  if (Status s = runner.CatchUp(); !s.ok()) std::fprintf(stderr, "%s\n", s.ToString().c_str());
  const double apply_secs = std::chrono::duration<double>(Clock::now() - t0).count();
  std::printf(
      "projections (lead_index, files, leads) caught up on %llu events in %.2f s = %.0f "
      "events/s; peak RSS now %.0f MiB (%s)\n",
      static_cast<unsigned long long>(head), apply_secs, head / apply_secs, PeakRssKb() / 1024.0,
      RssSplit().c_str());
  std::fflush(stdout);

  t0 = Clock::now();
  const double child_cpu0 = CpuSeconds(RUSAGE_CHILDREN);
  const std::string cmd =
      "sqlite3 :memory: '.import --csv " + csv + " t' 'select count(*) from t;'";
  std::FILE* p = popen(cmd.c_str(), "r");
  char out[128] = {};
  if (p != nullptr) {
    (void)std::fgets(out, sizeof out, p);
    pclose(p);
  }
  const double sqlite_secs = std::chrono::duration<double>(Clock::now() - t0).count();
  const double sqlite_cpu = CpuSeconds(RUSAGE_CHILDREN) - child_cpu0;
  std::printf(
      "sqlite3 :memory: .import --csv: %s rows in %.2f s = %.0f rows/s; CPU %.2f us per row\n",
      std::string(out, strcspn(out, "\n")).c_str(), sqlite_secs, rows / sqlite_secs,
      1e6 * sqlite_cpu / static_cast<double>(rows));
  std::printf("ratio: nextier %.2fx sqlite's speed\n", sqlite_secs / secs);
  fs::remove_all(dir);
  return 0;
}
