// SkipTraceService against a scripted provider on a real store: order, rejections before any
// provider call, the daily limit (exact, across restarts, per day), human LEAD IDs under two
// threads, retries with backoff, 429 pauses, and a job interrupted mid-way that resumes after a
// reopen with every lead processed exactly once.
#include "nextier/engine/skip_trace.h"

#include <capnp/message.h>
#include <capnp/serialize.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "nextier/engine/clock.h"
#include "nextier/engine/lead.h"
#include "nextier/eventstore/event_store.h"
#include "nextier/projections/lead_pools.h"
#include "nextier/projections/leads.h"
#include "nextier/projections/projection.h"
#include "testing/testing.h"

namespace nextier::engine {
namespace {

namespace es = eventstore;
namespace pj = projections;
using Which = es::schema::Event::Payload::Which;
using namespace std::chrono_literals;

// Answers from a script keyed by last name; counts every call.
class FakeProvider final : public SkipTraceProvider {
 public:
  // Returns the answer for the `call`-th lookup (1-based) of `last_name`.
  using Script = std::function<Result<SkipTraceAnswer>(const std::string& last_name, int call)>;

  std::string_view name() const override { return "fake"; }

  Result<SkipTraceAnswer> Lookup(const SkipTraceQuery& query) override {
    int call = 0;
    Script script;
    {
      std::lock_guard lock(mu_);
      call = ++calls_[query.last_name];
      order_.push_back(query.last_name);
      script = script_;
      if (query.is_entity) ++entity_calls_;
    }
    if (delay_.count() > 0) std::this_thread::sleep_for(delay_);
    if (script) return script(query.last_name, call);
    return Hit(query.last_name);
  }

  static SkipTraceAnswer Hit(const std::string& last_name) {
    SkipTraceAnswer a;
    const std::string digits = std::to_string(1000 + std::hash<std::string>()(last_name) % 9000);
    a.phones.push_back({"+1212555" + digits.substr(0, 4), "landline", true, false});
    a.phones.push_back({"+1917555" + digits.substr(0, 4), "mobile", true, false});
    a.emails.push_back(last_name + "@example.com");
    return a;
  }

  void set_script(Script s) {
    std::lock_guard lock(mu_);
    script_ = std::move(s);
  }
  void set_delay(std::chrono::milliseconds d) { delay_ = d; }
  int total() const {
    std::lock_guard lock(mu_);
    return static_cast<int>(order_.size());
  }
  int calls(const std::string& last_name) const {
    std::lock_guard lock(mu_);
    auto it = calls_.find(last_name);
    return it == calls_.end() ? 0 : it->second;
  }
  std::map<std::string, int> per_name() const {
    std::lock_guard lock(mu_);
    return calls_;
  }
  std::vector<std::string> order() const {
    std::lock_guard lock(mu_);
    return order_;
  }
  int entity_calls() const {
    std::lock_guard lock(mu_);
    return entity_calls_;
  }

 private:
  mutable std::mutex mu_;
  std::map<std::string, int> calls_;
  std::vector<std::string> order_;
  int entity_calls_ = 0;
  Script script_;
  std::chrono::milliseconds delay_{0};
};

struct Person {
  std::string id;
  int score = 50;
  std::string last;  // default "L" + id
  std::string first = "Ann";
  std::string state = "NY";
  std::string zip = "10001";
  bool entity = false;
  std::string full;
  std::string file = "f1";

  // Chained setters (designated initializers would warn about the fields left out).
  Person& Score(int v) { return score = v, *this; }
  Person& Last(std::string v) { return last = std::move(v), *this; }
  Person& First(std::string v) { return first = std::move(v), *this; }
  Person& State(std::string v) { return state = std::move(v), *this; }
  Person& Zip(std::string v) { return zip = std::move(v), *this; }
  Person& Entity() { return entity = true, *this; }
  Person& Full(std::string v) { return full = std::move(v), *this; }
  Person& File(std::string v) { return file = std::move(v), *this; }
};

Person P(std::string id) {
  Person p;
  p.id = std::move(id);
  return p;
}

class SkipTraceTest : public ::testing::Test {
 protected:
  SkipTraceTest() : clock_(*ParseRfc3339("2026-11-28T14:00:00Z")) {}
  ~SkipTraceTest() override { Close(); }

  void SetUp() override { OpenStores(); }

  void OpenStores() {
    es::LmdbOptions lo;
    lo.path = dir_.str() + "/log";
    lo.sync = false;
    log_ = es::OpenLmdbEventStore(lo).value();
    pj::ReadModelOptions ro;
    ro.path = dir_.str() + "/projections";
    ro.sync = false;
    store_ = pj::ReadModelStore::Open(ro).value();
    leads_ = pj::LeadsProjection::Open(*store_, log_->keys()).value();
    pools_ = pj::LeadPoolsProjection::Open(*store_).value();
    runner_ = std::make_unique<pj::ProjectionRunner>(*log_, *store_);
    ASSERT_OK(runner_->Add(*leads_));
    ASSERT_OK(runner_->Add(*pools_));
  }

  static SkipTraceOptions FastOptions(int daily_limit = 2000, int threads = 1) {
    SkipTraceOptions o;
    o.daily_limit = daily_limit;
    o.threads = threads;
    o.backoff_base = 1ms;
    o.backoff_cap = 4ms;
    o.pause_on_429 = 5ms;
    return o;
  }

  void StartService(SkipTraceOptions options) {
    service_ = std::make_unique<SkipTraceService>(*log_, clock_, *runner_, *pools_, *leads_,
                                                  provider_, std::move(options));
    ASSERT_OK(service_->resume_status());
  }

  void Close() {
    service_.reset();
    runner_.reset();
    pools_.reset();
    leads_.reset();
    store_.reset();
    log_.reset();
  }

  void Import(Person p) {
    if (p.last.empty() && p.full.empty()) p.last = "L" + p.id;
    const std::string stream = "lead-" + p.id;
    capnp::MallocMessageBuilder m;
    auto personal = m.initRoot<es::schema::Personal>();
    personal.setFirstName(p.first);
    personal.setLastName(p.last);
    personal.setFullName(p.full.empty() ? p.first + " " + p.last : p.full);
    personal.setStreet("1 Main St");
    personal.setCity("Springfield");
    personal.setState(p.state);
    personal.setZip(p.zip);
    auto words = capnp::messageToFlatArray(m);
    auto bytes = words.asBytes();
    auto sealed = log_->keys().Seal(
        stream, std::string(reinterpret_cast<const char*>(bytes.begin()), bytes.size()));
    ASSERT_OK(sealed);
    es::NewEvent e;
    auto b = e.builder();
    b.setKeySubject(stream);
    b.setRecordedAt(clock_.Now());
    auto li = b.getPayload().initLeadImported();
    li.setLeadId(p.id);
    li.setFileId(p.file);
    li.setRoleScore(p.score);
    li.setIsEntity(p.entity);
    li.setPersonal(
        capnp::Data::Reader(reinterpret_cast<const kj::byte*>(sealed->data()), sealed->size()));
    std::vector<es::NewEvent> v;
    v.push_back(std::move(e));
    ASSERT_OK(log_->Append(stream, es::ExpectedVersion::NoStream(), std::move(v)));
  }

  // The file stream an upload opens (what a fileId names).
  void Upload(const std::string& file_id) {
    es::NewEvent e;
    e.builder().setRecordedAt(clock_.Now());
    e.builder().getPayload().initFileUploaded().setFileId(file_id);
    std::vector<es::NewEvent> v;
    v.push_back(std::move(e));
    ASSERT_OK(log_->Append("file-" + file_id, es::ExpectedVersion::NoStream(), std::move(v)));
  }

  void ImportMany(int n, int first = 1) {
    for (int i = first; i < first + n; ++i) Import(P("p" + std::to_string(i)));
  }

  SkipTraceJob StartJob(SkipTraceRequest request = {}) {
    auto job = service_->Start(request);
    EXPECT_OK(job);
    if (!job.ok()) return {};
    EXPECT_OK(service_->WaitForJob(job->id, 20s));
    return *job;
  }

  SkipTraceJobStatus StatusOf(const std::string& job_id) {
    auto s = service_->Status(job_id);
    EXPECT_OK(s);
    return s.ok() ? *s : SkipTraceJobStatus{};
  }

  Lead LoadOf(const std::string& id) {
    auto l = LoadLead(*log_, id);
    EXPECT_OK(l);
    return l.ok() ? *l : Lead{};
  }

  // The events of `stream` with payload `which`, as their readers would see them, counted.
  int CountEvents(const std::string& stream, Which which) {
    int n = 0;
    EXPECT_OK(log_->ReadStream(stream, 1, SIZE_MAX, [&](const es::EventView& v) {
      n += v.event().getPayload().which() == which ? 1 : 0;
      return true;
    }));
    return n;
  }

  nextier::testing::TempDir dir_;
  SimulatedClock clock_;
  FakeProvider provider_;
  std::unique_ptr<es::EventStore> log_;
  std::unique_ptr<pj::ReadModelStore> store_;
  std::unique_ptr<pj::LeadsProjection> leads_;
  std::unique_ptr<pj::LeadPoolsProjection> pools_;
  std::unique_ptr<pj::ProjectionRunner> runner_;
  std::unique_ptr<SkipTraceService> service_;
};

TEST_F(SkipTraceTest, TakesBestRoleScoreFirstAndEnrichesWithALeadId) {
  Import(P("a").Score(10));
  Import(P("b").Score(90));
  Import(P("c").Score(50));
  Import(P("d").Score(90));
  Import(P("e").Score(70));
  StartService(FastOptions());
  SkipTraceRequest request;
  request.limit = 3;
  request.actor = "ops:alice";
  const SkipTraceJob job = StartJob(request);
  EXPECT_EQ(job.status, "queued");
  EXPECT_EQ(job.requested, 3u);
  EXPECT_EQ(provider_.order(), (std::vector<std::string>{"Lb", "Ld", "Le"}));

  const auto s = StatusOf(job.id);
  EXPECT_EQ(s.status, "done");
  EXPECT_EQ(s.requested, 3u);
  EXPECT_EQ(s.processed, 3u);
  EXPECT_EQ(s.enriched, 3u);
  EXPECT_EQ(s.daily_used, 3u);
  EXPECT_EQ(s.daily_limit, 2000u);
  EXPECT_NE(s.finished_at, 0);

  EXPECT_EQ(LoadOf("b").human_id, "NXT-000001");
  EXPECT_EQ(LoadOf("d").human_id, "NXT-000002");
  EXPECT_EQ(LoadOf("e").human_id, "NXT-000003");
  EXPECT_EQ(LoadOf("b").state, LeadState::kEnriched);
  EXPECT_EQ(LoadOf("a").state, LeadState::kRaw);
  // The read models: the found mobile opens first, the pools moved.
  ASSERT_OK(runner_->CatchUp());
  auto view = leads_->Get("b");
  ASSERT_OK(view);
  EXPECT_EQ(view->state, "enriched");
  EXPECT_EQ(view->human_id, "NXT-000001");
  ASSERT_FALSE(view->phones.empty());
  EXPECT_EQ(view->phones[0].substr(0, 5), "+1917");  // the mobile, not the landline listed first
  EXPECT_EQ(view->email, "Lb@example.com");
  EXPECT_EQ(*pools_->List(pj::LeadPoolsProjection::Pool::kEnriched, "", 10),
            (std::vector<std::string>{"b", "d", "e"}));
  EXPECT_EQ(*pools_->List(pj::LeadPoolsProjection::Pool::kRaw, "", 10),
            (std::vector<std::string>{"c", "a"}));
  EXPECT_EQ(*log_->StreamVersion("lead-ids"), 3u);
}

TEST_F(SkipTraceTest, RejectsEntitiesAndUnusableLeadsBeforeAnyProviderCall) {
  Import(P("llc").Score(100).Last("Holdings LLC").Entity());
  Import(P("noname").Score(95).First("").Full("Madonna"));
  Import(P("noplace").Score(90).State("").Zip(""));
  Import(P("good1").Score(80));
  Import(P("fullname").Score(70).First("").Full("Grace Hopper"));
  Import(P("later").Score(10));
  Import(P("trust").Score(5).Last("Family Trust").Entity());
  // A slow provider: the rejections must already be stored when Start returns.
  provider_.set_delay(20ms);
  StartService(FastOptions());
  SkipTraceRequest request;
  request.limit = 2;
  auto job = service_->Start(request);
  ASSERT_OK(job);
  EXPECT_EQ(LoadOf("llc").state, LeadState::kRejected);
  EXPECT_EQ(LoadOf("llc").rejection_code, "entity");
  EXPECT_EQ(LoadOf("noname").rejection_code, "invalid");
  EXPECT_EQ(LoadOf("noplace").rejection_code, "invalid");
  ASSERT_OK(service_->WaitForJob(job->id, 20s));

  // Two usable leads taken (the limit), the entities and unusable ones met on the way rejected;
  // the trust comes after the limit was reached, so it waits for a later job.
  EXPECT_EQ(provider_.entity_calls(), 0);
  EXPECT_EQ(provider_.order(), (std::vector<std::string>{"Lgood1", "Hopper"}));
  EXPECT_EQ(LoadOf("fullname").state, LeadState::kEnriched);
  EXPECT_EQ(LoadOf("trust").state, LeadState::kRaw);
  const auto s = StatusOf(job->id);
  EXPECT_EQ(s.requested, 5u);
  EXPECT_EQ(s.processed, 5u);
  EXPECT_EQ(s.rejected_entity, 1u);
  EXPECT_EQ(s.rejected_invalid, 2u);
  EXPECT_EQ(s.enriched, 2u);
  EXPECT_EQ(s.daily_used, 2u);  // rejections do not count

  // A job of entities only calls nobody and counts nothing.
  SkipTraceRequest only;
  only.lead_ids = {"trust", "good1", "nope"};
  const SkipTraceJob second = StartJob(only);
  EXPECT_EQ(provider_.total(), 2);
  const auto s2 = StatusOf(second.id);
  EXPECT_EQ(s2.rejected_entity, 1u);
  EXPECT_EQ(s2.skipped, 2u);  // good1 is no longer raw, nope does not exist
  EXPECT_EQ(s2.status, "done");
  EXPECT_EQ(*service_->DailyUsed(), 2u);
}

TEST_F(SkipTraceTest, DailyLimitIsExactAndThenStartIsRefused) {
  ImportMany(8);
  // Every third person has no textable phone: a miss counts against the day too.
  provider_.set_script([](const std::string& last, int) -> Result<SkipTraceAnswer> {
    if (last == "Lp3" || last == "Lp6") {
      SkipTraceAnswer a;
      a.phones.push_back({"+12125550000", "landline", true, false});
      return a;
    }
    return FakeProvider::Hit(last);
  });
  StartService(FastOptions(/*daily_limit=*/5, /*threads=*/2));
  const SkipTraceJob job = StartJob();
  EXPECT_EQ(job.requested, 5u);
  EXPECT_EQ(provider_.total(), 5);
  const auto s = StatusOf(job.id);
  EXPECT_EQ(s.enriched + s.no_hit, 5u);
  EXPECT_EQ(s.no_hit, 1u);  // p3 (p6 was never taken)
  EXPECT_EQ(LoadOf("p3").state, LeadState::kNoHit);
  EXPECT_EQ(*service_->DailyUsed(), 5u);
  EXPECT_EQ(*service_->DailyRemaining(), 0u);

  auto again = service_->Start({});
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.status().code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(again.status().message(), "daily skip-trace limit of 5 reached; 0 remaining");
  EXPECT_EQ(provider_.total(), 5);
  for (const char* id : {"p6", "p7", "p8"}) EXPECT_EQ(LoadOf(id).state, LeadState::kRaw) << id;

  SkipTraceRequest bad;
  bad.limit = 0;
  EXPECT_EQ(service_->Start(bad).status().code(), StatusCode::kInvalidArgument);
}

TEST_F(SkipTraceTest, AJobRunsOutOfAllowanceMidWayWhenAnotherJobUsedIt) {
  ImportMany(6);
  provider_.set_delay(5ms);
  StartService(FastOptions(/*daily_limit=*/4));
  // Two jobs started back to back share the allowance: the second gets what the first left.
  SkipTraceRequest first;
  first.limit = 3;
  auto a = service_->Start(first);
  ASSERT_OK(a);
  auto b = service_->Start({});
  ASSERT_OK(b);
  EXPECT_EQ(b->requested, 1u);
  ASSERT_OK(service_->WaitForJob(a->id, 20s));
  ASSERT_OK(service_->WaitForJob(b->id, 20s));
  EXPECT_EQ(provider_.total(), 4);
  EXPECT_EQ(*service_->DailyUsed(), 4u);
  auto per_name = provider_.per_name();
  for (const auto& [name, n] : per_name) EXPECT_EQ(n, 1) << name;
}

TEST_F(SkipTraceTest, LimitSurvivesARestartAndResetsTheNextDay) {
  ImportMany(5);
  StartService(FastOptions(/*daily_limit=*/3));
  StartJob();
  EXPECT_EQ(provider_.total(), 3);

  Close();
  OpenStores();
  StartService(FastOptions(/*daily_limit=*/3));
  EXPECT_EQ(*service_->DailyUsed(), 3u);
  auto refused = service_->Start({});
  EXPECT_EQ(refused.status().code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(provider_.total(), 3);

  clock_.AdvanceTo(*ParseRfc3339("2026-11-29T00:00:01Z"));
  EXPECT_EQ(*service_->DailyUsed(), 0u);
  const SkipTraceJob next = StartJob();
  EXPECT_EQ(next.requested, 2u);
  EXPECT_EQ(provider_.total(), 5);
  EXPECT_EQ(*log_->StreamVersion("skiptrace-day-2026-11-28"), 3u);
  EXPECT_EQ(*log_->StreamVersion("skiptrace-day-2026-11-29"), 2u);
  EXPECT_EQ(LoadOf("p5").human_id, "NXT-000005");  // the id counter is not per day
}

TEST_F(SkipTraceTest, HumanIdsIncreaseAndStayUniqueUnderTwoThreads) {
  constexpr int kLeads = 40;
  ImportMany(kLeads);
  provider_.set_delay(1ms);
  StartService(FastOptions(2000, /*threads=*/2));
  const SkipTraceJob job = StartJob();
  EXPECT_EQ(StatusOf(job.id).enriched, static_cast<uint64_t>(kLeads));
  std::set<std::string> ids;
  for (int i = 1; i <= kLeads; ++i) {
    const Lead l = LoadOf("p" + std::to_string(i));
    EXPECT_EQ(l.state, LeadState::kEnriched);
    ids.insert(l.human_id);
    EXPECT_EQ(CountEvents(l.stream, Which::LEAD_ENRICHED), 1);
  }
  ASSERT_EQ(ids.size(), static_cast<size_t>(kLeads));
  EXPECT_EQ(*ids.begin(), "NXT-000001");
  EXPECT_EQ(*ids.rbegin(), "NXT-000040");
  EXPECT_EQ(*log_->StreamVersion("lead-ids"), static_cast<uint64_t>(kLeads));
  // The counter stream names each id once, in order.
  uint64_t expected = 0;
  ASSERT_OK(log_->ReadStream("lead-ids", 1, SIZE_MAX, [&](const es::EventView& v) {
    auto a = v.event().getPayload().getLeadIdAssigned();
    char want[16];
    std::snprintf(want, sizeof want, "NXT-%06llu", static_cast<unsigned long long>(++expected));
    EXPECT_EQ(std::string(a.getHumanId().cStr()), want);
    EXPECT_EQ(LoadOf(a.getLeadId().cStr()).human_id, want);
    return true;
  }));
}

TEST_F(SkipTraceTest, RetriesWithBackoffThenRecordsTheFinalFailure) {
  Import(P("down").Score(90));
  Import(P("flaky").Score(80));
  Import(P("fine").Score(70));
  provider_.set_script([](const std::string& last, int call) -> Result<SkipTraceAnswer> {
    if (last == "Ldown") return Status::Unavailable("provider answered 503");
    if (last == "Lflaky" && call <= 2) return Status::Internal("malformed answer");
    return FakeProvider::Hit(last);
  });
  SkipTraceOptions options = FastOptions();
  options.max_attempts = 3;
  StartService(options);
  const auto started = std::chrono::steady_clock::now();
  const SkipTraceJob job = StartJob();
  // Backoffs of 1 + 2 ms (down) and 1 + 2 ms (flaky) at least.
  EXPECT_GE(std::chrono::steady_clock::now() - started, 6ms);

  EXPECT_EQ(provider_.calls("Ldown"), 3);
  EXPECT_EQ(provider_.calls("Lflaky"), 3);
  EXPECT_EQ(LoadOf("down").state, LeadState::kRaw);
  EXPECT_EQ(LoadOf("flaky").state, LeadState::kEnriched);
  std::vector<std::pair<uint32_t, bool>> attempts;
  ASSERT_OK(log_->ReadStream("lead-down", 1, SIZE_MAX, [&](const es::EventView& v) {
    auto p = v.event().getPayload();
    if (p.which() == Which::SKIP_TRACE_ATTEMPT_FAILED) {
      auto f = p.getSkipTraceAttemptFailed();
      attempts.emplace_back(f.getAttempt(), f.getFinal());
      EXPECT_EQ(std::string(f.getJobId().cStr()), job.id);
      EXPECT_NE(std::string(f.getReason().cStr()).find("503"), std::string::npos);
    }
    return true;
  }));
  EXPECT_EQ(attempts, (std::vector<std::pair<uint32_t, bool>>{{1, false}, {2, false}, {3, true}}));
  EXPECT_EQ(CountEvents("lead-flaky", Which::SKIP_TRACE_ATTEMPT_FAILED), 2);
  const auto s = StatusOf(job.id);
  EXPECT_EQ(s.failed, 1u);
  EXPECT_EQ(s.enriched, 2u);
  EXPECT_EQ(s.processed, 3u);
  EXPECT_EQ(s.status, "done");
  EXPECT_EQ(s.daily_used, 2u);  // the failure does not count against the day
}

TEST_F(SkipTraceTest, PausesOn429ThenGoesOnWithTheSameLead) {
  Import(P("a").Score(90));
  Import(P("b").Score(80));
  provider_.set_script([](const std::string& last, int call) -> Result<SkipTraceAnswer> {
    if (last == "La" && call <= 2) return Status::ResourceExhausted("429 too many requests");
    return FakeProvider::Hit(last);
  });
  SkipTraceOptions options = FastOptions();
  options.max_attempts = 1;  // a pause is not an attempt: one attempt is enough
  options.pause_on_429 = 10ms;
  StartService(options);
  const auto started = std::chrono::steady_clock::now();
  const SkipTraceJob job = StartJob();
  EXPECT_GE(std::chrono::steady_clock::now() - started, 20ms);
  EXPECT_EQ(provider_.order(), (std::vector<std::string>{"La", "La", "La", "Lb"}));
  EXPECT_EQ(LoadOf("a").state, LeadState::kEnriched);
  EXPECT_EQ(CountEvents("lead-a", Which::SKIP_TRACE_ATTEMPT_FAILED), 0);
  EXPECT_EQ(StatusOf(job.id).enriched, 2u);
  EXPECT_EQ(*service_->DailyUsed(), 2u);
}

TEST_F(SkipTraceTest, InterruptedJobResumesAfterReopenAndProcessesEachLeadOnce) {
  constexpr int kLeads = 12;
  ImportMany(kLeads);
  provider_.set_script([](const std::string& last, int) -> Result<SkipTraceAnswer> {
    if (last == "Lp4") return SkipTraceAnswer{};  // a miss
    return FakeProvider::Hit(last);
  });
  provider_.set_delay(15ms);
  StartService(FastOptions(2000, /*threads=*/2));
  auto job = service_->Start({});
  ASSERT_OK(job);
  // Let it get part of the way, then shut down in the middle.
  for (int i = 0; i < 2000 && *log_->StreamVersion("skiptrace-day-2026-11-28") < 3; ++i) {
    std::this_thread::sleep_for(1ms);
  }
  service_.reset();
  const uint64_t before = *log_->StreamVersion("skiptrace-day-2026-11-28");
  EXPECT_GE(before, 3u);
  EXPECT_LT(before, static_cast<uint64_t>(kLeads));
  EXPECT_EQ(CountEvents("skiptrace-" + job->id, Which::SKIP_TRACE_JOB_FINISHED), 0);

  Close();
  OpenStores();
  provider_.set_delay(0ms);
  StartService(FastOptions(2000, /*threads=*/2));  // resumes on construction
  ASSERT_OK(service_->WaitForJob(job->id, 20s));

  const auto s = StatusOf(job->id);
  EXPECT_EQ(s.status, "done");
  EXPECT_EQ(s.requested, static_cast<uint64_t>(kLeads));
  EXPECT_EQ(s.processed, static_cast<uint64_t>(kLeads));
  EXPECT_EQ(s.enriched, static_cast<uint64_t>(kLeads - 1));
  EXPECT_EQ(s.no_hit, 1u);
  EXPECT_EQ(provider_.total(), kLeads);
  for (const auto& [name, n] : provider_.per_name()) EXPECT_EQ(n, 1) << name;
  std::set<std::string> human_ids;
  for (int i = 1; i <= kLeads; ++i) {
    const std::string stream = "lead-p" + std::to_string(i);
    EXPECT_EQ(CountEvents(stream, Which::LEAD_ENRICHED) + CountEvents(stream, Which::LEAD_NO_HIT),
              1)
        << stream;
    const Lead l = LoadOf("p" + std::to_string(i));
    if (!l.human_id.empty()) human_ids.insert(l.human_id);
  }
  EXPECT_EQ(human_ids.size(), static_cast<size_t>(kLeads - 1));
  EXPECT_EQ(*log_->StreamVersion("skiptrace-day-2026-11-28"), static_cast<uint64_t>(kLeads));
  ASSERT_OK(runner_->CatchUp());
  EXPECT_TRUE(pools_->UnfinishedSkipTraceJobs()->empty());
}

TEST_F(SkipTraceTest, StatusOfAnUnknownJobIsNotFound) {
  StartService(FastOptions());
  EXPECT_EQ(service_->Status("st-nope").status().code(), StatusCode::kNotFound);
}

TEST_F(SkipTraceTest, FileFilterTakesOnlyThatFile) {
  Upload("fx");
  Upload("fy");
  Import(P("x1").Score(10).File("fx"));
  Import(P("y1").Score(99).File("fy"));
  Import(P("x2").Score(20).File("fx"));
  StartService(FastOptions());
  SkipTraceRequest request;
  request.file_id = "fx";
  const SkipTraceJob job = StartJob(request);
  EXPECT_EQ(provider_.order(), (std::vector<std::string>{"Lx2", "Lx1"}));
  EXPECT_EQ(StatusOf(job.id).file_id, "fx");
  EXPECT_EQ(LoadOf("y1").state, LeadState::kRaw);
}

TEST_F(SkipTraceTest, AFileIdNobodyUploadedIsNotFound) {
  Import(P("x1").Score(10).File("fx"));  // a lead naming the file is not an upload
  StartService(FastOptions());
  const uint64_t head = log_->Head();
  SkipTraceRequest request;
  request.file_id = "fx";
  auto job = service_->Start(request);
  ASSERT_FALSE(job.ok());
  EXPECT_EQ(job.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(job.status().field(), "fileId");
  EXPECT_NE(job.status().message().find("'fx'"), std::string::npos) << job.status().message();
  EXPECT_EQ(log_->Head(), head);  // no job stored, nothing looked up
  EXPECT_TRUE(provider_.order().empty());
}

TEST(UtcDayKeyTest, FormatsTheUtcDate) {
  EXPECT_EQ(UtcDayKey(*ParseRfc3339("2026-11-28T23:59:59Z")), "2026-11-28");
  EXPECT_EQ(UtcDayKey(*ParseRfc3339("2026-11-29T00:00:00Z")), "2026-11-29");
  EXPECT_EQ(UtcDayKey(*ParseRfc3339("2024-02-29T12:00:00Z")), "2024-02-29");
  EXPECT_EQ(UtcDayKey(0), "1970-01-01");
  EXPECT_EQ(UtcDayKey(-1), "1969-12-31");
}

}  // namespace
}  // namespace nextier::engine
