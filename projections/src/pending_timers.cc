#include "nextier/projections/pending_timers.h"

#include <limits>

namespace nextier::projections {

namespace {

using Which = eventstore::schema::Event::Payload::Which;

std::string_view ViewOf(capnp::Text::Reader t) { return std::string_view(t.cStr(), t.size()); }

std::string DueKey(int64_t due_at, std::string_view timer_id) {
  std::string k = Be64(OrderedFromSigned(due_at));
  k.append(timer_id);
  return k;
}

void PutStr(std::string& out, std::string_view s) {
  const auto n = static_cast<uint32_t>(s.size());
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<char>(n >> shift));
  out.append(s);
}

bool GetStr(std::string_view& in, std::string* out) {
  if (in.size() < 4) return false;
  uint32_t n = 0;
  for (int i = 0; i < 4; ++i) n = (n << 8) | static_cast<uint8_t>(in[i]);
  in.remove_prefix(4);
  if (in.size() < n) return false;
  out->assign(in.substr(0, n));
  in.remove_prefix(n);
  return true;
}

Status DecodeDue(std::string_view key, std::string_view value, PendingTimer* t) {
  if (key.size() < 9 || value.size() < 8) {
    return Status::Corruption("read models: timers.by_due row is too short");
  }
  t->due_at = SignedFromOrdered(GetBe64(key.data()));
  t->timer_id.assign(key.substr(8));
  t->scheduled_seq = GetBe64(value.data());
  value.remove_prefix(8);
  if (!GetStr(value, &t->kind) || !GetStr(value, &t->target) || !GetStr(value, &t->args) ||
      !GetStr(value, &t->correlation_id)) {
    return Status::Corruption("read models: timers.by_due row for " + t->timer_id +
                              " does not decode");
  }
  return Status::Ok();
}

bool ValidId(std::string_view id) { return !id.empty() && id.size() <= kMaxTimerIdSize; }

}  // namespace

Result<std::unique_ptr<PendingTimers>> PendingTimers::Open(ReadModelStore& store) {
  std::unique_ptr<PendingTimers> p(new PendingTimers(store));
  auto by_due = store.OpenTable("timers.by_due");
  if (!by_due.ok()) return by_due.status();
  auto by_id = store.OpenTable("timers.by_id");
  if (!by_id.ok()) return by_id.status();
  auto done = store.OpenTable("timers.done");
  if (!done.ok()) return done.status();
  p->by_due_ = *by_due;
  p->by_id_ = *by_id;
  p->done_ = *done;
  return p;
}

Status PendingTimers::RemovePending(Txn& txn, std::string_view timer_id) {
  std::string_view due;
  Status s = txn.Get(by_id_, timer_id, &due);
  if (s.code() == StatusCode::kNotFound) return Status::Ok();
  NEXTIER_RETURN_IF_ERROR(s);
  if (due.size() != 8) return Status::Corruption("read models: timers.by_id row is not 8 bytes");
  std::string key(due);
  key.append(timer_id);
  NEXTIER_RETURN_IF_ERROR(txn.Delete(by_due_, key));
  return txn.Delete(by_id_, timer_id);
}

Status PendingTimers::Apply(Txn& txn, const eventstore::EventView& event) {
  const auto ev = event.event();
  const auto payload = ev.getPayload();
  switch (payload.which()) {
    case Which::TIMER_SCHEDULED: {
      const auto t = payload.getTimerScheduled();
      const std::string_view id = ViewOf(t.getTimerId());
      if (!ValidId(id)) return Status::Ok();
      std::string_view ignored;
      Status done = txn.Get(done_, id, &ignored);
      if (done.ok()) return Status::Ok();  // ids are used once
      if (done.code() != StatusCode::kNotFound) return done;
      NEXTIER_RETURN_IF_ERROR(RemovePending(txn, id));  // a reschedule
      std::string value = Be64(event.seq());
      PutStr(value, ViewOf(t.getKind()));
      PutStr(value, ViewOf(t.getTarget()));
      PutStr(value, ViewOf(t.getArgs()));
      PutStr(value, ViewOf(ev.getCorrelationId()));
      NEXTIER_RETURN_IF_ERROR(txn.Put(by_due_, DueKey(t.getDueAt(), id), value));
      return txn.Put(by_id_, id, Be64(OrderedFromSigned(t.getDueAt())));
    }
    case Which::TIMER_FIRED:
    case Which::TIMER_CANCELLED: {
      const bool fired = payload.which() == Which::TIMER_FIRED;
      const std::string_view id = fired ? ViewOf(payload.getTimerFired().getTimerId())
                                        : ViewOf(payload.getTimerCancelled().getTimerId());
      if (!ValidId(id)) return Status::Ok();
      NEXTIER_RETURN_IF_ERROR(RemovePending(txn, id));
      std::string_view existing;
      Status s = txn.Get(done_, id, &existing);
      if (s.ok()) return Status::Ok();  // the first ending counts
      if (s.code() != StatusCode::kNotFound) return s;
      std::string value(1, fired ? 'F' : 'C');
      value += Be64(event.seq());
      return txn.Put(done_, id, value);
    }
    default:
      return Status::Ok();
  }
}

Status PendingTimers::Earliest(const Txn& txn, int64_t at_or_before, size_t max,
                               std::vector<PendingTimer>* out) const {
  if (max == 0) return Status::Ok();
  // Every key due at or before `at_or_before` sorts before the 8-byte prefix of the next
  // microsecond.
  std::string to;
  if (at_or_before != std::numeric_limits<int64_t>::max()) {
    to = Be64(OrderedFromSigned(at_or_before + 1));
  }
  Status decode;
  NEXTIER_RETURN_IF_ERROR(txn.Scan(by_due_, {}, to, [&](std::string_view k, std::string_view v) {
    PendingTimer t;
    decode = DecodeDue(k, v, &t);
    if (!decode.ok()) return false;
    out->push_back(std::move(t));
    return out->size() < max;
  }));
  return decode;
}

Result<std::vector<PendingTimer>> PendingTimers::Earliest(int64_t at_or_before, size_t max) const {
  auto txn = store_.BeginRead();
  if (!txn.ok()) return txn.status();
  std::vector<PendingTimer> out;
  NEXTIER_RETURN_IF_ERROR(Earliest(*txn, at_or_before, max, &out));
  return out;
}

Result<std::optional<PendingTimer>> PendingTimers::Get(std::string_view timer_id) const {
  auto txn = store_.BeginRead();
  if (!txn.ok()) return txn.status();
  std::string_view due;
  Status s = txn->Get(by_id_, timer_id, &due);
  if (s.code() == StatusCode::kNotFound) return std::optional<PendingTimer>();
  NEXTIER_RETURN_IF_ERROR(s);
  std::string key(due);
  key.append(timer_id);
  std::string_view value;
  s = txn->Get(by_due_, key, &value);
  if (s.code() == StatusCode::kNotFound) {
    return Status::Corruption("read models: timer " + std::string(timer_id) +
                              " is in timers.by_id but not in timers.by_due");
  }
  NEXTIER_RETURN_IF_ERROR(s);
  PendingTimer t;
  NEXTIER_RETURN_IF_ERROR(DecodeDue(key, value, &t));
  return std::optional<PendingTimer>(std::move(t));
}

Result<TimerState> PendingTimers::State(std::string_view timer_id) const {
  auto txn = store_.BeginRead();
  if (!txn.ok()) return txn.status();
  std::string_view v;
  Status s = txn->Get(by_id_, timer_id, &v);
  if (s.ok()) return TimerState::kPending;
  if (s.code() != StatusCode::kNotFound) return s;
  s = txn->Get(done_, timer_id, &v);
  if (s.code() == StatusCode::kNotFound) return TimerState::kUnknown;
  NEXTIER_RETURN_IF_ERROR(s);
  return v.empty() || v[0] != 'C' ? TimerState::kFired : TimerState::kCancelled;
}

Result<uint64_t> PendingTimers::Count() const {
  auto txn = store_.BeginRead();
  if (!txn.ok()) return txn.status();
  return txn->Count(by_id_);
}

}  // namespace nextier::projections
