// SkipTraceService: job selection, the per-lead outbox step (provider call, then one unit with
// its outcome and the day's count), retries, pauses and resume. See skip_trace.h.
#include "nextier/engine/skip_trace.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <map>
#include <mutex>
#include <random>
#include <thread>
#include <unordered_set>

#include "nextier/engine/lead.h"
#include "nextier/engine/lead_commands.h"
#include "nextier/projections/lead_index.h"

namespace nextier::engine {

namespace es = nextier::eventstore;
using Which = es::schema::Event::Payload::Which;
using Pool = projections::LeadPoolsProjection::Pool;

namespace {

constexpr char kLeadIdsStream[] = "lead-ids";
// Leads rejected in one unit by Start(): enough to keep fsyncs few, small enough for one commit.
constexpr size_t kRejectBatch = 256;
// Rounds of "re-read and try again" when another writer moved a stream under an append.
constexpr int kConflictRetries = 50;

std::string JobStream(std::string_view job_id) { return "skiptrace-" + std::string(job_id); }
std::string DayStream(std::string_view day) { return "skiptrace-day-" + std::string(day); }

capnp::Data::Reader Bytes(const std::string& s) {
  return capnp::Data::Reader(reinterpret_cast<const kj::byte*>(s.data()), s.size());
}
std::string Str(capnp::Text::Reader t) { return std::string(t.cStr(), t.size()); }

std::string HumanId(uint64_t n) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "NXT-%06llu", static_cast<unsigned long long>(n));
  return buf;
}

std::string LimitMessage(int limit) {
  return "daily skip-trace limit of " + std::to_string(limit) + " reached; 0 remaining";
}

// Why a lead cannot go to the provider, or "" when it can.
struct Verdict {
  std::string code;  // entity | invalid | ""
  std::string reason;
};

// A query from the LEAD read model; a missing last name is taken from a full name of two or more
// words (rows that had only a "name" column).
SkipTraceQuery QueryOf(const projections::LeadView& v) {
  SkipTraceQuery q;
  q.first_name = v.first_name;
  q.last_name = v.last_name;
  if (q.last_name.empty() && !v.full_name.empty()) {
    const size_t last_space = v.full_name.find_last_of(' ');
    if (last_space != std::string::npos && last_space + 1 < v.full_name.size()) {
      q.last_name = v.full_name.substr(last_space + 1);
      if (q.first_name.empty()) q.first_name = v.full_name.substr(0, v.full_name.find(' '));
    }
  }
  q.street = v.street;
  q.city = v.city;
  q.state = v.state_code;
  q.zip = v.zip;
  q.is_entity = v.is_entity;
  return q;
}

Verdict Judge(const projections::LeadView& v) {
  if (v.is_entity) return {"entity", "the owner is a company or trust"};
  const SkipTraceQuery q = QueryOf(v);
  if (q.last_name.empty()) return {"invalid", "no last name to look up"};
  if (q.state.empty() && q.zip.empty()) return {"invalid", "neither a state nor a ZIP to look up"};
  return {};
}

}  // namespace

std::string UtcDayKey(Micros t) {
  // Floor division so that times before 1970 land on the right day.
  constexpr int64_t kMicrosPerDay = int64_t{86400} * kMicrosPerSecond;
  int64_t days = t / kMicrosPerDay;
  if (t % kMicrosPerDay < 0) --days;
  // Howard Hinnant's civil_from_days.
  days += 719468;
  const int64_t era = (days >= 0 ? days : days - 146096) / 146097;
  const int64_t doe = days - era * 146097;
  const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const int64_t mp = (5 * doy + 2) / 153;
  const int64_t d = doy - (153 * mp + 2) / 5 + 1;
  const int64_t m = mp < 10 ? mp + 3 : mp - 9;
  const int64_t y = yoe + era * 400 + (m <= 2 ? 1 : 0);
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04lld-%02lld-%02lld", static_cast<long long>(y),
                static_cast<long long>(m), static_cast<long long>(d));
  return buf;
}

class SkipTraceService::Impl {
 public:
  // The enclosing class has a member function named Status; inside Impl the name is the type.
  using Status = ::nextier::Status;

  Impl(es::EventStore& store, const Clock& clock, projections::ProjectionRunner& runner,
       const projections::LeadPoolsProjection& pools, const projections::LeadsProjection& leads,
       SkipTraceProvider& provider, SkipTraceOptions options)
      : store_(store),
        clock_(clock),
        runner_(runner),
        pools_(pools),
        leads_(leads),
        provider_(provider),
        options_(std::move(options)) {
    if (!options_.day_key) options_.day_key = UtcDayKey;
    options_.max_attempts = std::max(1, options_.max_attempts);
    options_.daily_limit = std::max(0, options_.daily_limit);
    std::random_device rd;
    salt_ = (uint64_t{rd()} << 32) ^ rd();
    const int n = std::max(1, options_.threads);
    for (int i = 0; i < n; ++i) threads_.emplace_back([this] { Run(); });
    resume_status_ = Resume();
  }

  ~Impl() { Stop(); }

  void Stop() {
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
    }
    cv_.notify_all();
    done_cv_.notify_all();
    for (auto& t : threads_) {
      if (t.joinable()) t.join();
    }
  }

  Result<SkipTraceJob> Start(const SkipTraceRequest& request);
  Result<SkipTraceJobStatus> JobStatus(const std::string& job_id);
  Status Resume();
  Status resume_status() const {
    std::lock_guard lock(mu_);
    return resume_status_;
  }
  Status WaitForJob(const std::string& job_id, std::chrono::milliseconds timeout);

  Result<uint64_t> DailyUsed() { return store_.StreamVersion(DayStream(Today())); }
  Result<uint64_t> DailyRemaining() {
    std::lock_guard count_lock(count_mu_);
    return RemainingLocked(Today());
  }
  int daily_limit() const { return options_.daily_limit; }

 private:
  // A job being worked on by this service.
  struct Job {
    std::string id;
    std::string stream;
    std::string correlation_id;
    std::vector<std::string> leads;        // in the order they are worked on
    std::unordered_set<std::string> done;  // leads with an outcome on the job stream
    size_t next = 0;                       // the next index to hand out
    int in_flight = 0;
    bool picked = false;     // a worker has taken a lead: the job is running
    bool halted = false;     // no more leads are handed out
    bool failed = false;     // halted by an error rather than the daily limit
    bool finishing = false;  // a worker is appending SkipTraceJobFinished
    std::string reason;
  };

  // How one lead ended for the job.
  enum class Outcome { kDone, kLimit, kStopped };

  // One unit of the day's allowance held by a lead between the check before its provider call
  // and the append of its outcome. Released (under count_mu_) by the append or the destructor.
  class Reservation {
   public:
    Reservation(Impl& impl, std::string day) : impl_(impl), day_(std::move(day)) {}
    ~Reservation() {
      if (!held_) return;
      std::lock_guard lock(impl_.count_mu_);
      ReleaseLocked();
    }
    Reservation(const Reservation&) = delete;
    Reservation& operator=(const Reservation&) = delete;
    const std::string& day() const { return day_; }
    void ReleaseLocked() {
      if (!held_) return;
      held_ = false;
      if (--impl_.reserved_[day_] <= 0) impl_.reserved_.erase(day_);
    }

   private:
    Impl& impl_;
    std::string day_;
    bool held_ = true;
  };

  std::string Today() const { return options_.day_key(clock_.Now()); }

  // What remains of `day`'s allowance for new work: the limit less what is counted and what
  // running jobs still hold (their leads without an outcome; for a halted job, those in hand).
  // Exact because a counted outcome is appended and marked done under count_mu_, which the
  // caller holds. Leads a job will reject or fail are held until then: the error is on the safe
  // side.
  Result<uint64_t> RemainingLocked(const std::string& day) {
    auto used = store_.StreamVersion(DayStream(day));
    if (!used.ok()) return used.status();
    uint64_t taken = *used;
    {
      std::lock_guard lock(mu_);
      for (const auto& job : jobs_) {
        taken += job->halted ? static_cast<uint64_t>(job->in_flight)
                             : job->leads.size() - std::min(job->leads.size(), job->done.size());
      }
    }
    const auto limit = static_cast<uint64_t>(options_.daily_limit);
    return taken >= limit ? 0 : limit - taken;
  }

  // Takes one unit of today's allowance for a provider call; nullptr when none is left.
  Result<std::unique_ptr<Reservation>> Reserve() {
    const std::string day = Today();
    std::lock_guard count_lock(count_mu_);
    auto used = store_.StreamVersion(DayStream(day));
    if (!used.ok()) return used.status();
    int& reserved = reserved_[day];
    if (*used + static_cast<uint64_t>(reserved) >= static_cast<uint64_t>(options_.daily_limit)) {
      if (reserved == 0) reserved_.erase(day);
      return std::unique_ptr<Reservation>();
    }
    ++reserved;
    return std::make_unique<Reservation>(*this, day);
  }

  // Waits `d` in real time; false when Stop() came first.
  bool Sleep(std::chrono::milliseconds d) {
    std::unique_lock lock(mu_);
    return !cv_.wait_for(lock, d, [&] { return stopping_; });
  }

  std::chrono::milliseconds BackoffFor(int attempt) const {
    auto d = options_.backoff_base;
    for (int i = 1; i < attempt && d < options_.backoff_cap; ++i) d *= 2;
    return std::min(d, options_.backoff_cap);
  }

  void Stamp(es::schema::Event::Builder b, const Job& job, Micros now,
             const std::string& actor) const {
    b.setRecordedAt(now);
    b.setCorrelationId(job.correlation_id);
    b.setCausationId(job.stream);
    b.setActor(actor);
  }

  es::NewEvent Counted(const Job& job, const std::string& lead_id, const std::string& outcome,
                       Micros now, const std::string& actor) const {
    es::NewEvent e;
    Stamp(e.builder(), job, now, actor);
    auto c = e.builder().getPayload().initSkipTraceCounted();
    c.setJobId(job.id);
    c.setLeadId(lead_id);
    c.setOutcome(outcome);
    return e;
  }

  LeadCommand CommandFor(const Job& job, const std::string& lead_id,
                         std::optional<LeadTrigger> trigger, LeadEventBuilder build,
                         const std::string& actor) const {
    LeadCommand c;
    c.lead_id = lead_id;
    c.trigger = trigger;
    c.build = std::move(build);
    c.correlation_id = job.correlation_id;
    c.causation_id = job.stream;
    c.actor = actor;
    return c;
  }

  Status AppendToJob(const Job& job, std::vector<es::NewEvent> events) {
    auto r = store_.Append(job.stream, es::ExpectedVersion::Any(), std::move(events));
    return r.ok() ? Status::Ok() : r.status();
  }

  Status RejectLeads(const Job& job, const std::vector<std::pair<std::string, Verdict>>& leads,
                     const std::string& actor);
  Result<Outcome> ProcessLead(Job& job, const std::string& lead_id);
  Result<Outcome> RecordAnswer(Job& job, const std::string& lead_id, Reservation& slot,
                               const SkipTraceAnswer& answer);
  Status RecordFailure(const Job& job, const std::string& lead_id, int attempt,
                       const std::string& reason, bool final);
  Status Skip(const Job& job, const std::string& lead_id) {
    std::vector<es::NewEvent> v;
    v.push_back(Counted(job, lead_id, "skipped", clock_.Now(), options_.actor));
    return AppendToJob(job, std::move(v));
  }
  void FinishJob(const std::shared_ptr<Job>& job);
  void Register(std::shared_ptr<Job> job);
  void Run();

  es::EventStore& store_;
  const Clock& clock_;
  projections::ProjectionRunner& runner_;
  const projections::LeadPoolsProjection& pools_;
  const projections::LeadsProjection& leads_;
  SkipTraceProvider& provider_;
  SkipTraceOptions options_;
  uint64_t salt_ = 0;
  std::atomic<uint64_t> job_counter_{0};

  // Serialises Start and Resume: selection must see the leads the previous job claimed.
  std::mutex start_mu_;
  // Guards reserved_ and is held across each counted append, so that "counted + reserved" is
  // always exact and a reservation turns into a count atomically. Taken before mu_, never after.
  std::mutex count_mu_;
  std::map<std::string, int> reserved_;  // day -> leads in hand

  mutable std::mutex mu_;
  std::condition_variable cv_;       // work to do, or stopping
  std::condition_variable done_cv_;  // a job finished
  bool stopping_ = false;
  std::deque<std::shared_ptr<Job>> jobs_;    // being worked on, oldest first
  std::unordered_set<std::string> claimed_;  // leads of those jobs without an outcome
  Status resume_status_;
  std::vector<std::thread> threads_;
};

// --- Start ------------------------------------------------------------------------------------

Result<SkipTraceJob> SkipTraceService::Impl::Start(const SkipTraceRequest& request) {
  if (request.limit && *request.limit < 1) {
    return Status::InvalidArgument("limit must be at least 1", "limit");
  }
  std::lock_guard start_lock(start_mu_);
  {
    std::lock_guard lock(mu_);
    if (stopping_) return Status::Unavailable("the skip-trace service is stopping");
  }
  // The pools and the LEAD model must include every event so far (imports, enrichments).
  NEXTIER_RETURN_IF_ERROR(runner_.WaitFor(store_.Head(), options_.read_model_wait));
  if (!request.file_id.empty() && request.lead_ids.empty()) {
    // A file id nobody uploaded picks nothing: say so rather than start an empty job.
    auto version = store_.StreamVersion("file-" + request.file_id);
    if (!version.ok()) return version.status();
    if (*version == 0) {
      return Status(StatusCode::kNotFound, "no uploaded file has the id '" + request.file_id + "'",
                    "fileId");
    }
  }

  const std::string day = Today();
  uint64_t remaining = 0;
  {
    std::lock_guard count_lock(count_mu_);
    auto r = RemainingLocked(day);
    if (!r.ok()) return r.status();
    remaining = *r;
  }
  if (remaining == 0) return Status::ResourceExhausted(LimitMessage(options_.daily_limit));
  uint64_t cap = remaining;
  if (request.limit) cap = std::min(cap, static_cast<uint64_t>(*request.limit));

  // Choose: usable leads up to `cap`, and every entity or unusable lead met on the way.
  std::vector<std::string> chosen;  // in order, rejected ones included
  std::vector<std::pair<std::string, Verdict>> rejects;
  uint64_t taken = 0;
  uint64_t skipped = 0;
  auto is_claimed = [&](std::string_view id) {
    std::lock_guard lock(mu_);
    return claimed_.count(std::string(id)) > 0;
  };
  // Returns false once the cap is reached.
  auto consider = [&](const projections::LeadView& v) {
    Verdict verdict = Judge(v);
    if (!verdict.code.empty()) {
      chosen.push_back(v.id);
      rejects.emplace_back(v.id, std::move(verdict));
      return true;
    }
    if (taken >= cap) return false;
    chosen.push_back(v.id);
    ++taken;
    return true;
  };
  if (!request.lead_ids.empty()) {
    std::vector<projections::LeadView> views;
    std::unordered_set<std::string> seen;
    for (const auto& id : request.lead_ids) {
      if (!seen.insert(id).second) continue;
      auto v = leads_.Get(id);
      if (!v.ok() && v.status().code() != StatusCode::kNotFound) return v.status();
      if (!v.ok() || v->state != "raw" || v->forgotten || is_claimed(id)) {
        ++skipped;
        continue;
      }
      views.push_back(std::move(*v));
    }
    // Best role score first; the caller's order among equals.
    std::stable_sort(views.begin(), views.end(),
                     [](const auto& a, const auto& b) { return a.role_score > b.role_score; });
    for (size_t i = 0; i < views.size(); ++i) {
      if (!consider(views[i])) {
        skipped += views.size() - i;
        break;
      }
    }
  } else {
    Status inner;
    NEXTIER_RETURN_IF_ERROR(pools_.Visit(Pool::kRaw, request.file_id, [&](std::string_view id) {
      if (is_claimed(id)) return true;
      auto v = leads_.Get(id);
      if (!v.ok()) {
        // The pools may be a step ahead of the LEAD model only if a projection failed.
        if (v.status().code() == StatusCode::kNotFound) return true;
        inner = v.status();
        return false;
      }
      if (v->state != "raw" || v->forgotten) return true;
      return consider(*v);
    }));
    NEXTIER_RETURN_IF_ERROR(inner);
  }

  // The job stream must be new: a clash (another process, a reused id) picks another id.
  auto job = std::make_shared<Job>();
  const std::string actor = request.actor.empty() ? options_.actor : request.actor;
  const Micros now = clock_.Now();
  for (int tries = 0;; ++tries) {
    const uint64_t n = job_counter_.fetch_add(1) + 1;
    char buf[64];
    std::snprintf(buf, sizeof buf, "st-%llx-%llx-%llu", static_cast<unsigned long long>(now / 1000),
                  static_cast<unsigned long long>((salt_ >> (tries % 4 * 16)) & 0xffff),
                  static_cast<unsigned long long>(n));
    job->id = buf;
    job->stream = JobStream(job->id);
    job->correlation_id = request.correlation_id.empty() ? job->id : request.correlation_id;
    job->leads = chosen;
    es::NewEvent e;
    Stamp(e.builder(), *job, now, actor);
    auto s = e.builder().getPayload().initSkipTraceJobStarted();
    s.setJobId(job->id);
    s.setFileId(request.lead_ids.empty() ? request.file_id : "");
    auto ids = s.initLeadIds(static_cast<unsigned>(chosen.size()));
    for (size_t i = 0; i < chosen.size(); ++i) ids.set(static_cast<unsigned>(i), chosen[i]);
    s.setLimit(request.limit ? static_cast<uint64_t>(*request.limit) : 0);
    s.setProvider(std::string(provider_.name()));
    s.setSkipped(skipped);
    std::vector<es::NewEvent> v;
    v.push_back(std::move(e));
    auto r = store_.Append(job->stream, es::ExpectedVersion::NoStream(), std::move(v));
    if (r.ok()) break;
    if (r.status().code() != StatusCode::kConflict || tries >= 8) return r.status();
  }

  // Rejections before any provider call, and before the workers see the job.
  for (size_t i = 0; i < rejects.size(); i += kRejectBatch) {
    std::vector<std::pair<std::string, Verdict>> batch(
        rejects.begin() + static_cast<ptrdiff_t>(i),
        rejects.begin() + static_cast<ptrdiff_t>(std::min(rejects.size(), i + kRejectBatch)));
    if (Status s = RejectLeads(*job, batch, actor); !s.ok()) {
      // The job is stored: let the workers go on with it (they judge each lead again).
      Register(job);
      return s;
    }
    for (const auto& [id, verdict] : batch) job->done.insert(id);
  }
  auto status = JobStatus(job->id);
  Register(job);
  if (!status.ok()) return status.status();
  status->status = "queued";
  return status;
}

Status SkipTraceService::Impl::RejectLeads(
    const Job& job, const std::vector<std::pair<std::string, Verdict>>& leads,
    const std::string& actor) {
  for (int tries = 0;; ++tries) {
    const Micros now = clock_.Now();
    std::vector<es::StreamAppend> unit;
    std::vector<es::NewEvent> job_events;
    for (const auto& [id, verdict] : leads) {
      auto lead = LoadLead(store_, id);
      if (!lead.ok() && lead.status().code() != StatusCode::kNotFound) return lead.status();
      if (!lead.ok() || lead->state != LeadState::kRaw) {
        job_events.push_back(Counted(job, id, "skipped", now, actor));
        continue;
      }
      const std::string code = verdict.code, reason = verdict.reason;
      LeadEventBuilder build = [&code, &reason](const Lead&, LeadEvents& out) {
        auto r = out.Add().getPayload().initLeadRejected();
        r.setCode(code);
        r.setReason(reason);
        return Status::Ok();
      };
      auto events = PrepareLeadEvents(
          *lead, CommandFor(job, id, LeadTrigger::kReject, std::move(build), actor), store_.keys(),
          now);
      if (!events.ok()) return events.status();
      unit.push_back(
          {lead->stream, es::ExpectedVersion::Exactly(lead->version), std::move(events).value()});
      job_events.push_back(Counted(job, id, code, now, actor));
    }
    unit.push_back({job.stream, es::ExpectedVersion::Any(), std::move(job_events)});
    auto r = store_.AppendUnit(std::move(unit), {});
    if (r.ok()) return Status::Ok();
    if (r.status().code() != StatusCode::kConflict || tries >= kConflictRetries) return r.status();
  }
}

// --- the workers ------------------------------------------------------------------------------

void SkipTraceService::Impl::Register(std::shared_ptr<Job> job) {
  {
    std::lock_guard lock(mu_);
    for (const auto& id : job->leads) {
      if (!job->done.count(id)) claimed_.insert(id);
    }
    jobs_.push_back(std::move(job));
  }
  cv_.notify_all();
}

void SkipTraceService::Impl::Run() {
  std::unique_lock lock(mu_);
  while (true) {
    std::shared_ptr<Job> job;
    std::string lead_id;
    bool finish = false;
    cv_.wait(lock, [&] {
      if (stopping_) return true;
      for (const auto& j : jobs_) {
        if (j->finishing) continue;
        while (!j->halted && j->next < j->leads.size() && j->done.count(j->leads[j->next])) {
          ++j->next;
        }
        if (!j->halted && j->next < j->leads.size()) {
          job = j;
          lead_id = j->leads[j->next++];
          ++j->in_flight;
          j->picked = true;
          return true;
        }
        if (j->in_flight == 0) {
          job = j;
          j->finishing = true;
          finish = true;
          return true;
        }
      }
      return false;
    });
    if (stopping_) return;  // the predicate takes nothing when stopping
    lock.unlock();
    if (finish) {
      FinishJob(job);
      lock.lock();
      continue;
    }
    Result<Outcome> outcome = ProcessLead(*job, lead_id);
    lock.lock();
    --job->in_flight;
    if (!outcome.ok()) {
      if (!job->halted) {
        job->halted = job->failed = true;
        job->reason = "lead " + lead_id + ": " + outcome.status().ToString();
      }
    } else if (*outcome == Outcome::kDone) {
      job->done.insert(lead_id);
      claimed_.erase(lead_id);
    } else if (*outcome == Outcome::kLimit) {
      if (!job->halted) {
        job->halted = true;
        job->reason = LimitMessage(options_.daily_limit) + ": the job's other leads stay raw";
      }
    }
    // kStopped: the lead stays claimed and without an outcome; resumed next time.
    cv_.notify_all();
  }
}

Result<SkipTraceService::Impl::Outcome> SkipTraceService::Impl::ProcessLead(
    Job& job, const std::string& lead_id) {
  {
    std::lock_guard lock(mu_);
    if (stopping_) return Outcome::kStopped;
  }
  auto lead = LoadLead(store_, lead_id);
  if (!lead.ok() && lead.status().code() != StatusCode::kNotFound) return lead.status();
  if (!lead.ok() || lead->state != LeadState::kRaw || lead->forgotten) {
    NEXTIER_RETURN_IF_ERROR(Skip(job, lead_id));
    return Outcome::kDone;
  }
  auto view = leads_.Get(lead_id);
  if (!view.ok() && view.status().code() == StatusCode::kNotFound) {
    NEXTIER_RETURN_IF_ERROR(runner_.WaitFor(store_.Head(), options_.read_model_wait));
    view = leads_.Get(lead_id);
  }
  if (!view.ok()) return view.status();
  // Entities and unusable rows never reach the provider (a resumed job may still hold some).
  if (Verdict verdict = Judge(*view); !verdict.code.empty()) {
    NEXTIER_RETURN_IF_ERROR(RejectLeads(job, {{lead_id, verdict}}, options_.actor));
    return Outcome::kDone;
  }
  const SkipTraceQuery query = QueryOf(*view);

  auto slot = Reserve();
  if (!slot.ok()) return slot.status();
  if (!*slot) return Outcome::kLimit;

  int attempt = 1;
  while (true) {
    Result<SkipTraceAnswer> answer = provider_.Lookup(query);
    if (answer.ok()) return RecordAnswer(job, lead_id, **slot, *answer);
    const Status& error = answer.status();
    if (error.code() == StatusCode::kResourceExhausted) {
      // The provider asks us to slow down: pause the job, then ask again for the same lead.
      if (!Sleep(options_.pause_on_429)) return Outcome::kStopped;
      continue;
    }
    const bool final =
        attempt >= options_.max_attempts || error.code() == StatusCode::kInvalidArgument;
    NEXTIER_RETURN_IF_ERROR(RecordFailure(job, lead_id, attempt, error.ToString(), final));
    if (final) return Outcome::kDone;
    if (!Sleep(BackoffFor(attempt))) return Outcome::kStopped;
    ++attempt;
  }
}

Result<SkipTraceService::Impl::Outcome> SkipTraceService::Impl::RecordAnswer(
    Job& job, const std::string& lead_id, Reservation& slot, const SkipTraceAnswer& answer) {
  const std::optional<SkipTracePhone> phone = ChooseSkipTracePhone(answer);
  const std::string day_stream = DayStream(slot.day());
  const std::string provider(provider_.name());
  // The chosen phone first, then the other numbers that may be used; never do-not-call or
  // disconnected ones.
  std::vector<std::string> phones;
  if (phone) phones.push_back(phone->number);
  for (const auto& p : answer.phones) {
    if (p.do_not_call || !p.connected || p.number.empty()) continue;
    if (std::find(phones.begin(), phones.end(), p.number) == phones.end()) {
      phones.push_back(p.number);
    }
  }
  const std::string phone_hash =
      phone ? store_.keys().BlindIndex(
                  projections::LeadKeyPurpose(projections::LeadKeyKind::kPhone), phone->number)
            : std::string();

  for (int tries = 0;; ++tries) {
    auto lead = LoadLead(store_, lead_id);
    if (!lead.ok() && lead.status().code() != StatusCode::kNotFound) return lead.status();
    if (!lead.ok() || lead->state != LeadState::kRaw || lead->forgotten) {
      // Someone else settled the lead meanwhile: the answer is dropped and nothing counts.
      NEXTIER_RETURN_IF_ERROR(Skip(job, lead_id));
      return Outcome::kDone;
    }
    std::unique_lock count_lock(count_mu_);
    auto used = store_.StreamVersion(day_stream);
    if (!used.ok()) return used.status();
    // Only another process can have counted past our reservation.
    if (*used >= static_cast<uint64_t>(options_.daily_limit)) return Outcome::kLimit;
    uint64_t ids_version = 0;
    if (phone) {
      auto v = store_.StreamVersion(kLeadIdsStream);
      if (!v.ok()) return v.status();
      ids_version = *v;
    }
    const std::string human_id = phone ? HumanId(ids_version + 1) : std::string();
    const Micros now = clock_.Now();
    LeadEventBuilder build;
    if (phone) {
      build = [&](const Lead&, LeadEvents& out) -> Status {
        auto b = out.Add();
        auto sealed = out.SealPersonal(b, [&](es::schema::Personal::Builder p) {
          auto list = p.initPhones(static_cast<unsigned>(phones.size()));
          for (size_t i = 0; i < phones.size(); ++i) list.set(static_cast<unsigned>(i), phones[i]);
          if (!answer.emails.empty()) p.setEmail(answer.emails.front());
          auto emails = p.initEmails(static_cast<unsigned>(answer.emails.size()));
          for (size_t i = 0; i < answer.emails.size(); ++i) {
            emails.set(static_cast<unsigned>(i), answer.emails[i]);
          }
        });
        if (!sealed.ok()) return sealed.status();
        auto e = b.getPayload().initLeadEnriched();
        e.setJobId(job.id);
        e.setHumanId(human_id);
        e.setPersonal(Bytes(*sealed));
        e.setPhoneType(phone->type);
        e.setProvider(provider);
        e.setDayKey(slot.day());
        e.setPhoneHash(Bytes(phone_hash));
        return Status::Ok();
      };
    } else {
      build = [&](const Lead&, LeadEvents& out) -> Status {
        auto e = out.Add().getPayload().initLeadNoHit();
        e.setJobId(job.id);
        e.setReason(answer.phones.empty() ? "the provider found no phone"
                                          : "no phone that can take a text");
        e.setDayKey(slot.day());
        return Status::Ok();
      };
    }
    auto events = PrepareLeadEvents(
        *lead,
        CommandFor(job, lead_id, phone ? LeadTrigger::kEnrich : LeadTrigger::kNoHit,
                   std::move(build), options_.actor),
        store_.keys(), now);
    if (!events.ok()) {
      count_lock.unlock();
      if (events.status().code() != StatusCode::kConflict &&
          events.status().code() != StatusCode::kNotFound) {
        return events.status();
      }
      NEXTIER_RETURN_IF_ERROR(Skip(job, lead_id));  // no longer raw, or forgotten
      return Outcome::kDone;
    }
    const std::string outcome = phone ? "enriched" : "no_hit";
    std::vector<es::StreamAppend> unit;
    unit.push_back(
        {lead->stream, es::ExpectedVersion::Exactly(lead->version), std::move(events).value()});
    if (phone) {
      es::NewEvent e;
      Stamp(e.builder(), job, now, options_.actor);
      auto a = e.builder().getPayload().initLeadIdAssigned();
      a.setLeadId(lead_id);
      a.setHumanId(human_id);
      std::vector<es::NewEvent> v;
      v.push_back(std::move(e));
      unit.push_back({kLeadIdsStream, es::ExpectedVersion::Exactly(ids_version), std::move(v)});
    }
    {
      std::vector<es::NewEvent> v;
      v.push_back(Counted(job, lead_id, outcome, now, options_.actor));
      unit.push_back({day_stream, es::ExpectedVersion::Exactly(*used), std::move(v)});
    }
    {
      std::vector<es::NewEvent> v;
      v.push_back(Counted(job, lead_id, outcome, now, options_.actor));
      unit.push_back({job.stream, es::ExpectedVersion::Any(), std::move(v)});
    }
    auto r = store_.AppendUnit(std::move(unit), "skiptrace:" + job.id + ":" + lead_id);
    if (r.ok()) {
      // Now counted: the reservation and the job's hold become the day's count atomically.
      slot.ReleaseLocked();
      std::lock_guard lock(mu_);
      job.done.insert(lead_id);
      claimed_.erase(lead_id);
      return Outcome::kDone;
    }
    if (r.status().code() != StatusCode::kConflict || tries >= kConflictRetries) {
      return r.status();
    }
    // Another writer moved the lead, the id counter or the day: read again and decide again.
  }
}

Status SkipTraceService::Impl::RecordFailure(const Job& job, const std::string& lead_id,
                                             int attempt, const std::string& reason, bool final) {
  for (int tries = 0;; ++tries) {
    auto lead = LoadLead(store_, lead_id);
    if (!lead.ok()) return lead.status();
    const Micros now = clock_.Now();
    LeadEventBuilder build = [&](const Lead&, LeadEvents& out) {
      auto f = out.Add().getPayload().initSkipTraceAttemptFailed();
      f.setJobId(job.id);
      f.setAttempt(static_cast<uint32_t>(attempt));
      f.setReason(reason);
      f.setFinal(final);
      return Status::Ok();
    };
    auto events = PrepareLeadEvents(
        *lead, CommandFor(job, lead_id, std::nullopt, std::move(build), options_.actor),
        store_.keys(), now);
    if (!events.ok()) return events.status();
    std::vector<es::StreamAppend> unit;
    unit.push_back(
        {lead->stream, es::ExpectedVersion::Exactly(lead->version), std::move(events).value()});
    if (final) {
      std::vector<es::NewEvent> v;
      v.push_back(Counted(job, lead_id, "failed", now, options_.actor));
      unit.push_back({job.stream, es::ExpectedVersion::Any(), std::move(v)});
    }
    auto r = store_.AppendUnit(std::move(unit), {});
    if (r.ok()) return Status::Ok();
    if (r.status().code() != StatusCode::kConflict || tries >= kConflictRetries) return r.status();
  }
}

void SkipTraceService::Impl::FinishJob(const std::shared_ptr<Job>& job) {
  std::string reason;
  bool failed = false;
  {
    std::lock_guard lock(mu_);
    reason = job->reason;
    failed = job->failed;
  }
  auto folded = JobStatus(job->id);
  Status appended = folded.status();
  if (folded.ok()) {
    es::NewEvent e;
    Stamp(e.builder(), *job, clock_.Now(), options_.actor);
    auto f = e.builder().getPayload().initSkipTraceJobFinished();
    f.setJobId(job->id);
    f.setStatus(failed ? "failed" : "done");
    f.setReason(reason);
    auto c = f.initCounts();
    c.setRequested(folded->requested);
    c.setProcessed(folded->processed);
    c.setEnriched(folded->enriched);
    c.setNoHit(folded->no_hit);
    c.setRejectedEntity(folded->rejected_entity);
    c.setRejectedInvalid(folded->rejected_invalid);
    c.setFailed(folded->failed);
    c.setSkipped(folded->skipped);
    std::vector<es::NewEvent> v;
    v.push_back(std::move(e));
    appended = AppendToJob(*job, std::move(v));
  }
  {
    std::lock_guard lock(mu_);
    // Whether or not the end was stored, this process is done with the job; an unstored end
    // leaves it unfinished on disk, so the next Resume() finishes it.
    for (const auto& id : job->leads) {
      if (!job->done.count(id)) claimed_.erase(id);
    }
    jobs_.erase(std::remove(jobs_.begin(), jobs_.end(), job), jobs_.end());
    if (!appended.ok() && resume_status_.ok()) resume_status_ = appended;
  }
  done_cv_.notify_all();
}

// --- status and resume ------------------------------------------------------------------------

Result<SkipTraceJobStatus> SkipTraceService::Impl::JobStatus(const std::string& job_id) {
  SkipTraceJobStatus s;
  s.id = job_id;
  s.daily_limit = static_cast<uint64_t>(options_.daily_limit);
  bool started = false;
  bool finished = false;
  uint64_t skipped_at_start = 0;
  NEXTIER_RETURN_IF_ERROR(
      store_.ReadStream(JobStream(job_id), 1, SIZE_MAX, [&](const es::EventView& view) {
        const auto ev = view.event();
        const auto p = ev.getPayload();
        switch (p.which()) {
          case Which::SKIP_TRACE_JOB_STARTED: {
            const auto x = p.getSkipTraceJobStarted();
            started = true;
            s.requested = x.getLeadIds().size();
            s.file_id = Str(x.getFileId());
            skipped_at_start = x.getSkipped();
            s.started_at = ev.getRecordedAt();
            break;
          }
          case Which::SKIP_TRACE_COUNTED: {
            const auto outcome = p.getSkipTraceCounted().getOutcome();
            ++s.processed;
            if (outcome == "enriched") {
              ++s.enriched;
            } else if (outcome == "no_hit") {
              ++s.no_hit;
            } else if (outcome == "entity") {
              ++s.rejected_entity;
            } else if (outcome == "invalid") {
              ++s.rejected_invalid;
            } else if (outcome == "failed") {
              ++s.failed;
            } else if (outcome == "skipped") {
              ++s.skipped;
            }
            break;
          }
          case Which::SKIP_TRACE_JOB_FINISHED: {
            const auto x = p.getSkipTraceJobFinished();
            finished = true;
            s.status = Str(x.getStatus());
            s.reason = Str(x.getReason());
            s.finished_at = ev.getRecordedAt();
            break;
          }
          default:
            break;
        }
        return true;
      }));
  if (!started) return Status::NotFound("no skip-trace job " + job_id);
  s.skipped += skipped_at_start;
  if (!finished) {
    std::lock_guard lock(mu_);
    s.status = "queued";
    for (const auto& j : jobs_) {
      if (j->id != job_id) continue;
      if (j->picked) s.status = "running";
      s.reason = j->reason;
    }
  }
  auto used = DailyUsed();
  if (!used.ok()) return used.status();
  s.daily_used = *used;
  return s;
}

Status SkipTraceService::Impl::Resume() {
  std::lock_guard start_lock(start_mu_);
  NEXTIER_RETURN_IF_ERROR(runner_.WaitFor(store_.Head(), options_.read_model_wait));
  auto ids = pools_.UnfinishedSkipTraceJobs();
  if (!ids.ok()) return ids.status();
  for (const auto& id : *ids) {
    {
      std::lock_guard lock(mu_);
      if (stopping_) return Status::Unavailable("the skip-trace service is stopping");
      bool active = false;
      for (const auto& j : jobs_) active = active || j->id == id;
      if (active) continue;
    }
    auto job = std::make_shared<Job>();
    job->id = id;
    job->stream = JobStream(id);
    bool started = false, finished = false;
    NEXTIER_RETURN_IF_ERROR(
        store_.ReadStream(job->stream, 1, SIZE_MAX, [&](const es::EventView& view) {
          const auto ev = view.event();
          const auto p = ev.getPayload();
          if (p.which() == Which::SKIP_TRACE_JOB_STARTED) {
            started = true;
            job->correlation_id = Str(ev.getCorrelationId());
            for (auto l : p.getSkipTraceJobStarted().getLeadIds()) job->leads.push_back(Str(l));
          } else if (p.which() == Which::SKIP_TRACE_COUNTED) {
            job->done.insert(Str(p.getSkipTraceCounted().getLeadId()));
          } else if (p.which() == Which::SKIP_TRACE_JOB_FINISHED) {
            finished = true;
          }
          return true;
        }));
    if (!started || finished) continue;  // the read model is behind the log, or a stray entry
    if (job->correlation_id.empty()) job->correlation_id = id;
    Register(std::move(job));
  }
  return Status::Ok();
}

Status SkipTraceService::Impl::WaitForJob(const std::string& job_id,
                                          std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    auto s = JobStatus(job_id);
    if (!s.ok()) return s.status();
    if (s->finished_at != 0) return Status::Ok();
    std::unique_lock lock(mu_);
    if (stopping_) return Status::Unavailable("the skip-trace service stopped");
    if (std::chrono::steady_clock::now() >= deadline) {
      return Status::Unavailable("skip-trace job " + job_id + " did not finish in time");
    }
    done_cv_.wait_for(lock, std::chrono::milliseconds(20));
  }
}

// --- the public face --------------------------------------------------------------------------

SkipTraceService::SkipTraceService(es::EventStore& store, const Clock& clock,
                                   projections::ProjectionRunner& runner,
                                   const projections::LeadPoolsProjection& pools,
                                   const projections::LeadsProjection& leads,
                                   SkipTraceProvider& provider, SkipTraceOptions options)
    : impl_(std::make_unique<Impl>(store, clock, runner, pools, leads, provider,
                                   std::move(options))) {}

SkipTraceService::~SkipTraceService() { Stop(); }

Result<SkipTraceJob> SkipTraceService::Start(const SkipTraceRequest& request) {
  return impl_->Start(request);
}
Result<SkipTraceJobStatus> SkipTraceService::Status(const std::string& job_id) {
  return impl_->JobStatus(job_id);
}
Result<uint64_t> SkipTraceService::DailyUsed() { return impl_->DailyUsed(); }
Result<uint64_t> SkipTraceService::DailyRemaining() { return impl_->DailyRemaining(); }
int SkipTraceService::daily_limit() const { return impl_->daily_limit(); }
::nextier::Status SkipTraceService::Resume() {
  ::nextier::Status s = impl_->Resume();
  return s;
}
::nextier::Status SkipTraceService::resume_status() const { return impl_->resume_status(); }
::nextier::Status SkipTraceService::WaitForJob(const std::string& job_id,
                                               std::chrono::milliseconds timeout) {
  return impl_->WaitForJob(job_id, timeout);
}
void SkipTraceService::Stop() { impl_->Stop(); }

}  // namespace nextier::engine
