// Lead commands: load, check, build, stamp, append, retry.
#include "nextier/engine/lead_commands.h"

#include <capnp/message.h>

#include <chrono>
#include <functional>
#include <mutex>
#include <random>
#include <thread>
#include <unordered_map>

#include "nextier/eventstore/personal.h"

namespace nextier::engine {

namespace es = nextier::eventstore;
using Payload = es::schema::Event::Payload;

// --- LeadEvents --------------------------------------------------------------------------

LeadEvents::LeadEvents(es::KeyRing& keys, std::string stream, Micros now)
    : keys_(keys), stream_(std::move(stream)), now_(now) {}

es::schema::Event::Builder LeadEvents::Add() {
  events_.emplace_back();
  return events_.back().builder();
}

Result<std::string> LeadEvents::SealPersonal(
    es::schema::Event::Builder event,
    const std::function<void(es::schema::Personal::Builder)>& fill) {
  capnp::MallocMessageBuilder message;
  fill(message.initRoot<es::schema::Personal>());
  auto sealed = keys_.Seal(stream_, es::EncodePersonal(message));
  if (sealed.ok()) event.setKeySubject(stream_);
  return sealed;
}

// --- per-lead locks -----------------------------------------------------------------------

// One mutex per lead that has a command in flight; an entry lives while someone holds or waits
// for it, so the map stays as small as the number of leads being worked on.
class LeadCommandHandler::LeadLocks {
  struct Entry {
    std::mutex mu;
    int users = 0;  // guarded by LeadLocks::mu_
  };

 public:
  class Guard {
   public:
    Guard(LeadLocks& locks, const std::string& stream) : locks_(locks) {
      {
        std::lock_guard lock(locks_.mu_);
        it_ = locks_.entries_.try_emplace(stream).first;
        ++it_->second.users;
      }
      it_->second.mu.lock();
    }
    ~Guard() {
      it_->second.mu.unlock();
      std::lock_guard lock(locks_.mu_);
      if (--it_->second.users == 0) locks_.entries_.erase(it_);
    }
    Guard(const Guard&) = delete;
    Guard& operator=(const Guard&) = delete;

   private:
    LeadLocks& locks_;
    std::unordered_map<std::string, Entry>::iterator it_;
  };

 private:
  std::mutex mu_;
  std::unordered_map<std::string, Entry> entries_;  // node-based: entries never move
};

// --- the handler ---------------------------------------------------------------------------

namespace {

// The lead as folded, and the original result when the command's key is already on its stream.
struct Loaded {
  Lead lead;
  std::optional<es::AppendResult> original;
};

Status LoadForCommand(es::EventStore& store, const std::string& lead_id, const std::string& stream,
                      const std::string& key, Loaded* out) {
  out->lead.id = lead_id;
  out->lead.stream = stream;
  return store.ReadStream(stream, 1, SIZE_MAX, [&](const es::EventView& ev) {
    auto e = ev.event();
    Apply(out->lead, e);
    if (!key.empty() && e.getCommandId().size() == key.size() &&
        std::string_view(e.getCommandId().cStr(), key.size()) == key) {
      // One command's events are one append: contiguous in the stream and in the log.
      if (!out->original) {
        es::AppendResult r;
        r.first_seq = ev.seq();
        r.streams.push_back({stream, e.getStreamVersion(), 0});
        r.duplicate = true;
        out->original = std::move(r);
      }
      out->original->last_seq = ev.seq();
      out->original->streams[0].last_version = e.getStreamVersion();
    }
    return true;
  });
}

void Backoff(int attempt) {
  thread_local std::minstd_rand rng(
      static_cast<uint32_t>(std::hash<std::thread::id>()(std::this_thread::get_id())));
  std::uniform_int_distribution<int> micros(0, 100 * attempt);
  std::this_thread::sleep_for(std::chrono::microseconds(micros(rng)));
}

}  // namespace

LeadCommandHandler::LeadCommandHandler(es::EventStore& store, const Clock& clock,
                                       LeadCommandOptions options)
    : store_(store), clock_(clock), options_(options), locks_(std::make_unique<LeadLocks>()) {}

LeadCommandHandler::~LeadCommandHandler() = default;

LeadCommandHandler::Stats LeadCommandHandler::stats() const {
  Stats s;
  s.appended = appended_.load(std::memory_order_relaxed);
  s.duplicates = duplicates_.load(std::memory_order_relaxed);
  s.rejected = rejected_.load(std::memory_order_relaxed);
  s.version_retries = version_retries_.load(std::memory_order_relaxed);
  return s;
}

Result<es::AppendResult> LeadCommandHandler::Execute(const LeadCommand& command) {
  return Run(command, /*create=*/false);
}

Result<es::AppendResult> LeadCommandHandler::Create(const LeadCommand& command) {
  if (command.trigger) {
    return Status::InvalidArgument("creating a lead takes no trigger", "trigger");
  }
  return Run(command, /*create=*/true);
}

Result<std::vector<es::NewEvent>> PrepareLeadEvents(const Lead& lead, const LeadCommand& command,
                                                    es::KeyRing& keys, Micros now) {
  if (!command.build) return Status::InvalidArgument("a command needs a builder", "build");
  const std::string stream = lead.stream.empty() ? LeadStreamId(command.lead_id) : lead.stream;
  const std::string who = "lead " + stream;
  const bool create = lead.version == 0;
  if (command.trigger) {
    if (create) return Status::InvalidArgument("creating a lead takes no trigger", "trigger");
    if (!IsLegal(lead.state, *command.trigger)) {
      return Status::Conflict(IllegalTriggerMessage(who, lead.state, *command.trigger));
    }
  }
  LeadEvents out(keys, stream, now);
  NEXTIER_RETURN_IF_ERROR(command.build(lead, out));

  // Stamp the envelope, then check each event's own transition on a copy of the lead, in order
  // (a call completed, then a meeting booked: gold -> called -> booked).
  Lead next = lead;
  next.stream = stream;
  for (size_t i = 0; i < out.events().size(); ++i) {
    auto b = out.events()[i].builder();
    auto payload = b.getPayload();
    if (create && i == 0) {
      if (payload.which() != Payload::LEAD_IMPORTED) {
        return Status::InvalidArgument("creating " + who +
                                           ": the first event must be LeadImported, not " +
                                           std::string(es::PayloadTypeName(payload.which())),
                                       "events");
      }
      auto imported = payload.getLeadImported();
      if (imported.getLeadId().size() == 0) {
        imported.setLeadId(command.lead_id);
      } else if (imported.getLeadId() != command.lead_id.c_str()) {
        return Status::InvalidArgument("creating " + who + ": LeadImported names lead " +
                                           std::string(imported.getLeadId().cStr()),
                                       "leadId");
      }
    }
    b.setRecordedAt(now);
    if (!command.correlation_id.empty()) b.setCorrelationId(command.correlation_id);
    if (!command.causation_id.empty()) b.setCausationId(command.causation_id);
    if (!command.actor.empty()) b.setActor(command.actor);
    if (!command.workflow_id.empty()) {
      b.setWorkflowId(command.workflow_id);
      b.setWorkflowVersion(command.workflow_version);
    }
    if (!command.idempotency_key.empty()) b.setCommandId(command.idempotency_key);
    NEXTIER_RETURN_IF_ERROR(ApplyChecked(next, b.asReader()));
  }
  return std::move(out.events());
}

Result<es::AppendResult> LeadCommandHandler::Run(const LeadCommand& command, bool create) {
  if (command.lead_id.empty()) return Status::InvalidArgument("a lead id is required", "leadId");
  if (!command.build) return Status::InvalidArgument("a command needs a builder", "build");
  const std::string stream = LeadStreamId(command.lead_id);
  const std::string who = "lead " + stream;
  const std::string& key = command.idempotency_key;
  const int attempts = std::max(1, options_.max_attempts);

  LeadLocks::Guard guard(*locks_, stream);
  for (int attempt = 1; attempt <= attempts; ++attempt) {
    Loaded loaded;
    NEXTIER_RETURN_IF_ERROR(LoadForCommand(store_, command.lead_id, stream, key, &loaded));
    // The key first: a repeat gets the original answer whatever the state is now.
    if (loaded.original) {
      duplicates_.fetch_add(1, std::memory_order_relaxed);
      return std::move(*loaded.original);
    }
    const Lead& lead = loaded.lead;
    if (create && lead.version > 0) return Status::Conflict(who + " already exists");
    if (!create && lead.version == 0) return Status::NotFound(who + " does not exist");

    auto events = PrepareLeadEvents(lead, command, store_.keys(), clock_.Now());
    if (!events.ok()) {
      if (events.status().code() == StatusCode::kConflict) {
        rejected_.fetch_add(1, std::memory_order_relaxed);
      }
      return events.status();
    }
    if (events->empty()) return es::AppendResult{};

    const es::ExpectedVersion expected =
        create ? es::ExpectedVersion::NoStream() : es::ExpectedVersion::Exactly(lead.version);
    auto r = store_.Append(stream, expected, std::move(events).value(), key);
    if (r.ok()) {
      (r->duplicate ? duplicates_ : appended_).fetch_add(1, std::memory_order_relaxed);
      return r;
    }
    // Anything but a version conflict is final. A conflict means another writer appended
    // since the fold: load again and decide again (for Create, that finds it exists).
    if (r.status().code() != StatusCode::kConflict) return r;
    if (attempt < attempts) {
      version_retries_.fetch_add(1, std::memory_order_relaxed);
      Backoff(attempt);
    }
  }
  return Status::Conflict(who + ": its stream kept changing under the command; gave up after " +
                          std::to_string(attempts) + " attempts");
}

}  // namespace nextier::engine
