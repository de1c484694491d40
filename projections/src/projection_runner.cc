#include <kj/exception.h>

#include <algorithm>
#include <chrono>
#include <exception>
#include <limits>
#include <utility>

#include "nextier/projections/projection.h"

namespace nextier::projections {

namespace {

constexpr std::string_view kCheckpointTable = "_checkpoints";

std::string EncodeCheckpoint(uint64_t seq, uint32_t version) {
  std::string v = Be64(seq);
  for (int shift = 24; shift >= 0; shift -= 8) v.push_back(static_cast<char>(version >> shift));
  return v;
}

struct Checkpoint {
  uint64_t seq = 0;
  uint32_t version = 0;
};

bool DecodeCheckpoint(std::string_view v, Checkpoint* out) {
  if (v.size() != 12) return false;
  out->seq = GetBe64(v.data());
  out->version = 0;
  for (size_t i = 8; i < 12; ++i) out->version = (out->version << 8) | static_cast<uint8_t>(v[i]);
  return true;
}

// Runs a projection's Apply or Flush: third-party throws (a malformed message) become a Status
// at this boundary.
template <typename F>
Status Guarded(F&& fn) {
  try {
    return fn();
  } catch (const kj::Exception& e) {
    return Status::Corruption(e.getDescription().cStr());
  } catch (const std::exception& e) {
    return Status::Internal(e.what());
  }
}

}  // namespace

ProjectionRunner::ProjectionRunner(eventstore::EventStore& log, ReadModelStore& store,
                                   RunnerOptions options)
    : log_(log), store_(store), options_(options) {}

ProjectionRunner::~ProjectionRunner() { Stop(); }

Status ProjectionRunner::Add(Projection& projection) {
  std::lock_guard apply(apply_mu_);
  if (!checkpoints_.valid()) {
    auto t = store_.OpenTable(kCheckpointTable);
    if (!t.ok()) return t.status();
    checkpoints_ = *t;
  }
  const std::string name(projection.name());
  if (name.empty()) return Status::InvalidArgument("a projection needs a name", "name");
  for (const auto& e : entries_) {
    if (e->name == name) {
      return Status::InvalidArgument("projection " + name + " is already registered", "name");
    }
  }
  Checkpoint cp;
  bool found = false;
  {
    auto txn = store_.BeginRead();
    if (!txn.ok()) return txn.status();
    std::string_view v;
    Status s = txn->Get(checkpoints_, name, &v);
    if (s.ok()) {
      if (!DecodeCheckpoint(v, &cp)) {
        return Status::Corruption("read models: checkpoint of " + name + " is unreadable");
      }
      found = true;
    } else if (s.code() != StatusCode::kNotFound) {
      return s;
    }
  }
  auto entry = std::make_unique<Entry>();
  entry->projection = &projection;
  entry->name = name;
  entry->checkpoint = cp.seq;
  if (!found || cp.version != projection.version()) {
    // New, or its layout changed: start it from an empty state.
    NEXTIER_RETURN_IF_ERROR(ResetLocked({entry.get()}));
  }
  {
    std::lock_guard lock(entries_mu_);
    entries_.push_back(std::move(entry));
    empty_ = false;
  }
  RecomputePositionLocked();
  return Status::Ok();
}

Status ProjectionRunner::ResetLocked(const std::vector<Entry*>& entries) {
  auto txn = store_.BeginWrite();
  if (!txn.ok()) return txn.status();
  for (Entry* e : entries) {
    for (Table t : e->projection->tables()) NEXTIER_RETURN_IF_ERROR(txn->Clear(t));
    NEXTIER_RETURN_IF_ERROR(
        txn->Put(checkpoints_, e->name, EncodeCheckpoint(0, e->projection->version())));
  }
  NEXTIER_RETURN_IF_ERROR(txn->Commit());
  for (Entry* e : entries) e->checkpoint = 0;
  return Status::Ok();
}

void ProjectionRunner::RecomputePositionLocked() {
  uint64_t min = std::numeric_limits<uint64_t>::max();
  for (const auto& e : entries_) min = std::min(min, e->checkpoint.load());
  if (entries_.empty()) min = 0;
  position_.store(min, std::memory_order_release);
  Notify(min);
}

Status ProjectionRunner::ApplyBatchLocked(bool* progressed) {
  *progressed = false;
  {
    std::lock_guard lock(state_mu_);
    if (!status_.ok()) return status_;
  }
  if (entries_.empty()) return Status::Ok();
  const uint64_t from = position_.load() + 1;
  if (log_.Head() < from) return Status::Ok();

  auto txn = store_.BeginWrite();
  if (!txn.ok()) return txn.status();
  std::vector<uint64_t> cps;
  cps.reserve(entries_.size());
  for (const auto& e : entries_) {
    cps.push_back(e->checkpoint.load());
    e->projection->Discard();
  }

  Status apply_status;
  uint64_t last = 0;
  Status rs = log_.ReadAll(from, options_.max_batch_events, [&](const eventstore::EventView& ev) {
    const uint64_t seq = ev.seq();
    for (size_t i = 0; i < entries_.size(); ++i) {
      if (cps[i] >= seq) continue;
      Status s = Guarded([&] { return entries_[i]->projection->Apply(*txn, ev); });
      if (!s.ok()) {
        apply_status = Status(s.code(), "projection " + entries_[i]->name + " at event " +
                                            std::to_string(seq) + ": " + s.message());
        return false;
      }
      cps[i] = seq;
    }
    last = seq;
    return true;
  });
  NEXTIER_RETURN_IF_ERROR(rs);
  NEXTIER_RETURN_IF_ERROR(apply_status);
  if (last == 0) return Status::Ok();
  for (size_t i = 0; i < entries_.size(); ++i) {
    if (cps[i] == entries_[i]->checkpoint.load()) continue;
    Status s = Guarded([&] { return entries_[i]->projection->Flush(*txn); });
    if (!s.ok()) {
      return Status(s.code(), "projection " + entries_[i]->name + " at event " +
                                  std::to_string(cps[i]) + ": " + s.message());
    }
    NEXTIER_RETURN_IF_ERROR(txn->Put(checkpoints_, entries_[i]->name,
                                     EncodeCheckpoint(cps[i], entries_[i]->projection->version())));
  }
  NEXTIER_RETURN_IF_ERROR(txn->Commit());
  {
    std::lock_guard lock(state_mu_);
    full_ = Status::Ok();
  }
  for (size_t i = 0; i < entries_.size(); ++i) entries_[i]->checkpoint.store(cps[i]);
  *progressed = true;
  RecomputePositionLocked();
  return Status::Ok();
}

void ProjectionRunner::Fail(const Status& s) {
  {
    std::lock_guard lock(state_mu_);
    if (status_.ok()) status_ = s;
  }
  state_cv_.notify_all();
}

bool ProjectionRunner::WaitOut(const Status& s) {
  if (!s.retryable()) return false;
  {
    std::lock_guard lock(state_mu_);
    full_ = s;
  }
  state_cv_.notify_all();
  return true;
}

void ProjectionRunner::Notify(uint64_t position) {
  {
    // Taking the lock orders this notification after a waiter's predicate check.
    std::lock_guard lock(state_mu_);
  }
  state_cv_.notify_all();
  std::lock_guard lock(listeners_mu_);
  for (auto& [id, fn] : listeners_) fn(position);
}

Status ProjectionRunner::Start() {
  if (running_) return Status::Conflict("the projection runner is already running");
  if (thread_.joinable()) thread_.join();  // it stopped on an error
  stop_ = false;
  running_ = true;
  thread_ = std::thread([this] {
    Run();
    running_ = false;
  });
  return Status::Ok();
}

void ProjectionRunner::Stop() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

void ProjectionRunner::Run() {
  // A full disk or map (or a store failing for a while: retryable errors) is waited out:
  // nothing of the batch was committed, and the same batch is tried again, after pauses growing
  // to 2 s, until room returns.
  auto pause = std::chrono::milliseconds(0);
  while (!stop_) {
    bool progressed = false;
    bool full = false;
    uint64_t applied = 0;
    {
      std::lock_guard apply(apply_mu_);
      const uint64_t before = position_.load();
      Status s = ApplyBatchLocked(&progressed);
      applied = position_.load() - before;
      if (!s.ok()) {
        if (!WaitOut(s)) {
          Fail(s);
          return;
        }
        full = true;
      }
    }
    if (full) {
      pause = std::clamp(pause * 2, std::chrono::milliseconds(50), std::chrono::milliseconds(2000));
      const auto until = std::chrono::steady_clock::now() + pause;
      while (!stop_ && std::chrono::steady_clock::now() < until) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
      continue;
    }
    pause = std::chrono::milliseconds(0);
    if (!progressed) {
      log_.WaitForHead(position_.load(), options_.poll);
    } else if (options_.busy_batch_events > 0 && applied >= options_.busy_batch_events &&
               applied < options_.max_batch_events) {
      // Busy but caught up: rest (outside apply_mu_, so WaitFor can apply meanwhile).
      const auto until = std::chrono::steady_clock::now() + options_.busy_pause;
      while (!stop_ && std::chrono::steady_clock::now() < until) {
        std::this_thread::sleep_for(std::min(options_.busy_pause, std::chrono::milliseconds(5)));
      }
    }
  }
}

Status ProjectionRunner::CatchUp() {
  const uint64_t target = log_.Head();
  std::lock_guard apply(apply_mu_);
  while (!entries_.empty() && position_.load() < target) {
    bool progressed = false;
    Status s = ApplyBatchLocked(&progressed);
    if (!s.ok()) {
      if (!WaitOut(s)) Fail(s);
      return s;
    }
    if (!progressed) break;
  }
  return Status::Ok();
}

Status ProjectionRunner::WaitFor(uint64_t seq, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    if (position() >= seq) return Status::Ok();
    Status full;
    {
      std::lock_guard lock(state_mu_);
      if (!status_.ok()) return status_;
      full = full_;
    }
    const auto now = std::chrono::steady_clock::now();
    if (now >= deadline) {
      return Status::Unavailable("read models have not reached event " + std::to_string(seq) +
                                 " (at " + std::to_string(position()) + ")");
    }
    const auto slice = std::min<std::chrono::steady_clock::duration>(deadline - now, options_.poll);
    std::unique_lock apply(apply_mu_, std::try_to_lock);
    if (apply.owns_lock()) {
      // The runner is idle: help.
      if (log_.Head() > position_.load()) {
        bool progressed = false;
        Status s = ApplyBatchLocked(&progressed);
        if (!s.ok()) {
          if (!WaitOut(s)) Fail(s);
          return s;
        }
        continue;
      }
      apply.unlock();
      log_.WaitForHead(position_.load(),
                       std::chrono::duration_cast<std::chrono::milliseconds>(slice) +
                           std::chrono::milliseconds(1));
      continue;
    }
    // The runner is applying; while the disk is full, say so at once instead of waiting.
    if (!full.ok()) return full;
    std::unique_lock lock(state_mu_);
    state_cv_.wait_for(lock, slice, [&] { return position() >= seq || !status_.ok(); });
  }
}

uint64_t ProjectionRunner::position() const {
  if (empty_.load()) return log_.Head();
  return position_.load(std::memory_order_acquire);
}

Result<uint64_t> ProjectionRunner::checkpoint(std::string_view projection) const {
  std::lock_guard lock(entries_mu_);
  for (const auto& e : entries_) {
    if (e->name == projection) return e->checkpoint.load();
  }
  return Status::NotFound("no projection " + std::string(projection));
}

uint64_t ProjectionRunner::lag() const {
  const uint64_t head = log_.Head();
  const uint64_t pos = position();
  return head > pos ? head - pos : 0;
}

Status ProjectionRunner::status() const {
  std::lock_guard lock(state_mu_);
  return status_;
}

Status ProjectionRunner::Rebuild() {
  const uint64_t target = log_.Head();
  std::lock_guard apply(apply_mu_);
  {
    std::lock_guard lock(state_mu_);
    status_ = Status::Ok();
  }
  std::vector<Entry*> all;
  for (auto& e : entries_) all.push_back(e.get());
  NEXTIER_RETURN_IF_ERROR(ResetLocked(all));
  RecomputePositionLocked();
  while (!entries_.empty() && position_.load() < target) {
    bool progressed = false;
    Status s = ApplyBatchLocked(&progressed);
    if (!s.ok()) {
      if (!WaitOut(s)) Fail(s);
      return s;
    }
    if (!progressed) break;
  }
  return Status::Ok();
}

uint64_t ProjectionRunner::AddListener(std::function<void(uint64_t)> fn) {
  std::lock_guard lock(listeners_mu_);
  const uint64_t id = next_listener_++;
  listeners_.emplace_back(id, std::move(fn));
  return id;
}

void ProjectionRunner::RemoveListener(uint64_t id) {
  std::lock_guard lock(listeners_mu_);
  std::erase_if(listeners_, [id](const auto& l) { return l.first == id; });
}

}  // namespace nextier::projections
