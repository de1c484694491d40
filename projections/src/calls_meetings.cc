// The call-queue and meetings read models (see calls_meetings.h).
#include "nextier/projections/calls_meetings.h"

#include <cmath>
#include <cstring>

#include "record_codec.h"

namespace nextier::projections {

namespace {

using Which = eventstore::schema::Event::Payload::Which;
using codec::ViewOf;

constexpr int64_t kMinute = int64_t{60} * 1'000'000;

template <typename P>
Result<std::unique_ptr<P>> OpenTables(std::unique_ptr<P> p, ReadModelStore& store,
                                      std::initializer_list<std::pair<Table*, const char*>> ts) {
  for (const auto& [table, name] : ts) {
    auto t = store.OpenTable(name);
    if (!t.ok()) return t.status();
    *table = *t;
  }
  return p;
}

std::string LeadOfEvent(const eventstore::schema::Event::Reader& ev) {
  return std::string(codec::IdFromStream(ViewOf(ev.getStreamId()), "lead-"));
}

// Doubles as bytewise-ordered integers: flip the sign bit of positives, every bit of negatives.
uint64_t OrderedDouble(double d) {
  if (!std::isfinite(d)) d = 0;
  uint64_t bits = 0;
  std::memcpy(&bits, &d, sizeof bits);
  return (bits >> 63) != 0 ? ~bits : bits | (uint64_t{1} << 63);
}

// Highest priority first (the complement of the ascending code), then oldest, then id.
std::string OrderKey(const CallEntry& e) {
  std::string k = Be64(~OrderedDouble(e.priority));
  k += Be64(OrderedFromSigned(e.created_at));
  k += e.id;
  return k;
}

std::string StatusKey(const CallEntry& e) {
  std::string k = e.status;
  k.push_back('\0');
  k += OrderKey(e);
  return k;
}

std::string EncodeCall(const CallEntry& e) {
  std::string out;
  uint64_t bits = 0;
  std::memcpy(&bits, &e.priority, sizeof bits);
  codec::PutStr(out, e.id);
  codec::PutStr(out, e.lead_id);
  codec::PutU64(out, bits);
  codec::PutStr(out, e.status);
  codec::PutStr(out, e.assigned_to);
  codec::PutStr(out, e.disposition);
  codec::PutU64(out, static_cast<uint64_t>(e.callback_at));
  codec::PutStr(out, e.campaign_id);
  codec::PutStr(out, e.reason);
  codec::PutStr(out, e.closed_reason);
  codec::PutU64(out, static_cast<uint64_t>(e.created_at));
  codec::PutU64(out, static_cast<uint64_t>(e.updated_at));
  return out;
}

Result<CallEntry> DecodeCall(std::string_view in) {
  codec::Reader r(in);
  CallEntry e;
  e.id = r.Str();
  e.lead_id = r.Str();
  const uint64_t bits = r.U64();
  std::memcpy(&e.priority, &bits, sizeof bits);
  e.status = r.Str();
  e.assigned_to = r.Str();
  e.disposition = r.Str();
  e.callback_at = static_cast<int64_t>(r.U64());
  e.campaign_id = r.Str();
  e.reason = r.Str();
  e.closed_reason = r.Str();
  e.created_at = static_cast<int64_t>(r.U64());
  e.updated_at = static_cast<int64_t>(r.U64());
  if (!r.ok()) return Status::Corruption("call_queue: bad row for entry '" + e.id + "'");
  return e;
}

std::string StartKey(int64_t starts_at, std::string_view id) {
  return Be64(OrderedFromSigned(starts_at)) + std::string(id);
}

std::string AgentKey(std::string_view agent, int64_t starts_at, std::string_view id) {
  std::string k(agent);
  k.push_back('\0');
  k += StartKey(starts_at, id);
  return k;
}

std::string EncodeMeeting(const Meeting& m) {
  std::string out;
  codec::PutStr(out, m.id);
  codec::PutStr(out, m.lead_id);
  codec::PutU64(out, static_cast<uint64_t>(m.starts_at));
  codec::PutU64(out, static_cast<uint64_t>(m.ends_at));
  codec::PutU64(out, m.duration_minutes);
  codec::PutStr(out, m.agent);
  codec::PutStr(out, m.link);
  codec::PutStr(out, m.status);
  codec::PutU64(out, m.reminders.size());
  for (const auto& r : m.reminders) {
    codec::PutStr(out, r.offset);
    codec::PutU64(out, static_cast<uint64_t>(r.due_at));
    codec::PutStr(out, r.status);
  }
  codec::PutU64(out, static_cast<uint64_t>(m.created_at));
  codec::PutU64(out, static_cast<uint64_t>(m.updated_at));
  return out;
}

Result<Meeting> DecodeMeeting(std::string_view in) {
  codec::Reader r(in);
  Meeting m;
  m.id = r.Str();
  m.lead_id = r.Str();
  m.starts_at = static_cast<int64_t>(r.U64());
  m.ends_at = static_cast<int64_t>(r.U64());
  m.duration_minutes = static_cast<uint32_t>(r.U64());
  m.agent = r.Str();
  m.link = r.Str();
  m.status = r.Str();
  const uint64_t n = r.U64();
  for (uint64_t i = 0; i < n && i < 16 && r.ok(); ++i) {
    MeetingReminder rem;
    rem.offset = r.Str();
    rem.due_at = static_cast<int64_t>(r.U64());
    rem.status = r.Str();
    m.reminders.push_back(std::move(rem));
  }
  m.created_at = static_cast<int64_t>(r.U64());
  m.updated_at = static_cast<int64_t>(r.U64());
  if (!r.ok()) return Status::Corruption("meetings: bad row for meeting '" + m.id + "'");
  return m;
}

// Every reminder pending again, due before the (new) start.
void ResetReminders(Meeting& m) {
  m.reminders.clear();
  for (std::string_view off : kReminderOffsets) {
    m.reminders.push_back(
        MeetingReminder{std::string(off), m.starts_at - ReminderOffsetMicros(off), "pending"});
  }
}

void SetReminder(Meeting& m, std::string_view offset, const char* status) {
  for (auto& r : m.reminders) {
    if (r.offset == offset) r.status = status;
  }
}

bool ParseCursor(std::string_view cursor, std::string* key) {
  if (cursor.empty()) {
    key->clear();
    return true;
  }
  return codec::ParseHexCursor(cursor, key);
}

}  // namespace

// ---- folds -----------------------------------------------------------------------------------

bool ApplyCallEvent(CallEntry& e, const eventstore::schema::Event::Reader& ev) {
  const auto p = ev.getPayload();
  const int64_t at = ev.getRecordedAt();
  switch (p.which()) {
    case Which::CALL_QUEUED: {
      const auto x = p.getCallQueued();
      if (ViewOf(x.getEntryId()) != e.id) return false;
      e.lead_id = LeadOfEvent(ev);
      e.priority = x.getPriority();
      e.campaign_id = ViewOf(x.getCampaignId());
      e.reason = ViewOf(x.getReason());
      e.status = "pending";
      e.assigned_to.clear();
      e.created_at = at;
      break;
    }
    case Which::CALL_ASSIGNED: {
      const auto x = p.getCallAssigned();
      if (ViewOf(x.getEntryId()) != e.id || e.status.empty()) return false;
      e.status = "assigned";
      e.assigned_to = ViewOf(x.getAgent());
      break;
    }
    case Which::CALL_COMPLETED: {
      const auto x = p.getCallCompleted();
      if (ViewOf(x.getEntryId()) != e.id || e.status.empty()) return false;
      e.status = "completed";
      if (x.getAgent().size() > 0) e.assigned_to = ViewOf(x.getAgent());
      e.disposition = ViewOf(x.getDisposition());
      e.callback_at = x.getCallbackAt();
      break;
    }
    case Which::CALL_REQUEUED: {
      const auto x = p.getCallRequeued();
      if (ViewOf(x.getEntryId()) != e.id || e.status.empty()) return false;
      e.status = "pending";
      e.assigned_to.clear();
      break;
    }
    case Which::CALL_CLOSED: {
      const auto x = p.getCallClosed();
      if (ViewOf(x.getEntryId()) != e.id || e.status.empty()) return false;
      e.status = "completed";
      e.closed_reason = ViewOf(x.getReason());
      break;
    }
    default:
      return false;
  }
  e.updated_at = at;
  return true;
}

int64_t ReminderOffsetMicros(std::string_view offset) {
  if (offset == "24h") return 24 * 60 * kMinute;
  if (offset == "1h") return 60 * kMinute;
  if (offset == "15m") return 15 * kMinute;
  return 0;
}

bool ApplyMeetingEvent(Meeting& m, const eventstore::schema::Event::Reader& ev) {
  const auto p = ev.getPayload();
  const int64_t at = ev.getRecordedAt();
  switch (p.which()) {
    case Which::MEETING_BOOKED: {
      const auto x = p.getMeetingBooked();
      if (ViewOf(x.getMeetingId()) != m.id) return false;
      m.lead_id = LeadOfEvent(ev);
      m.starts_at = x.getStartsAt();
      m.duration_minutes = x.getDurationMinutes();
      m.ends_at = m.starts_at + int64_t{m.duration_minutes} * kMinute;
      m.agent = ViewOf(x.getAgent());
      m.link = ViewOf(x.getLink());
      m.status = "booked";
      m.created_at = at;
      ResetReminders(m);
      break;
    }
    case Which::MEETING_CANCELLED: {
      if (ViewOf(p.getMeetingCancelled().getMeetingId()) != m.id || m.status.empty()) {
        return false;
      }
      m.status = "cancelled";
      for (auto& r : m.reminders) {
        if (r.status == "pending") r.status = "cancelled";
      }
      break;
    }
    case Which::MEETING_OUTCOME_RECORDED: {
      const auto x = p.getMeetingOutcomeRecorded();
      if (ViewOf(x.getMeetingId()) != m.id || m.status.empty()) return false;
      m.status = ViewOf(x.getOutcome());
      for (auto& r : m.reminders) {
        if (r.status == "pending") r.status = "cancelled";
      }
      break;
    }
    case Which::MEETING_RESCHEDULED: {
      const auto x = p.getMeetingRescheduled();
      if (ViewOf(x.getMeetingId()) != m.id || m.status.empty()) return false;
      m.starts_at = x.getStartsAt();
      m.ends_at = m.starts_at + int64_t{m.duration_minutes} * kMinute;
      // The engine writes a ReminderSkipped right after for each offset already past.
      ResetReminders(m);
      break;
    }
    case Which::REMINDER_SENT: {
      const auto x = p.getReminderSent();
      if (ViewOf(x.getMeetingId()) != m.id || m.status.empty()) return false;
      SetReminder(m, ViewOf(x.getOffset()), "sent");
      break;
    }
    case Which::REMINDER_SKIPPED: {
      const auto x = p.getReminderSkipped();
      if (ViewOf(x.getMeetingId()) != m.id || m.status.empty()) return false;
      SetReminder(m, ViewOf(x.getOffset()), "skipped");
      break;
    }
    case Which::LEAD_OPTED_OUT:
    case Which::LEAD_FORGOTTEN: {  // the lead's timers are cancelled with it
      if (m.status != "booked") return false;
      for (auto& r : m.reminders) {
        if (r.status == "pending") r.status = "cancelled";
      }
      break;
    }
    default:
      return false;
  }
  m.updated_at = at;
  return true;
}

// ---- call queue ------------------------------------------------------------------------------

Result<std::unique_ptr<CallQueueProjection>> CallQueueProjection::Open(ReadModelStore& store) {
  std::unique_ptr<CallQueueProjection> p(new CallQueueProjection(store));
  auto* raw = p.get();
  return OpenTables(std::move(p), store,
                    {{&raw->by_id_, "calls.by_id"},
                     {&raw->all_, "calls.all"},
                     {&raw->by_status_, "calls.by_status"}});
}

Status CallQueueProjection::Apply(Txn& txn, const eventstore::EventView& event) {
  const auto ev = event.event();
  const auto p = ev.getPayload();
  std::string_view id;
  switch (p.which()) {
    case Which::CALL_QUEUED:
      id = ViewOf(p.getCallQueued().getEntryId());
      break;
    case Which::CALL_ASSIGNED:
      id = ViewOf(p.getCallAssigned().getEntryId());
      break;
    case Which::CALL_COMPLETED:
      id = ViewOf(p.getCallCompleted().getEntryId());
      break;
    case Which::CALL_REQUEUED:
      id = ViewOf(p.getCallRequeued().getEntryId());
      break;
    case Which::CALL_CLOSED:
      id = ViewOf(p.getCallClosed().getEntryId());
      break;
    default:
      return Status::Ok();
  }
  if (id.empty() || id.size() > 400) return Status::Ok();
  CallEntry entry;
  entry.id = id;
  bool existed = false;
  std::string_view stored;
  Status s = txn.Get(by_id_, id, &stored);
  if (s.ok()) {
    auto decoded = DecodeCall(stored);
    if (!decoded.ok()) return decoded.status();
    entry = std::move(*decoded);
    existed = true;
  } else if (s.code() != StatusCode::kNotFound) {
    return s;
  }
  if (existed) {
    NEXTIER_RETURN_IF_ERROR(txn.Delete(all_, OrderKey(entry)));
    NEXTIER_RETURN_IF_ERROR(txn.Delete(by_status_, StatusKey(entry)));
  }
  ApplyCallEvent(entry, ev);
  if (entry.status.empty()) return Status::Ok();  // an event about an entry never queued
  NEXTIER_RETURN_IF_ERROR(txn.Put(by_id_, entry.id, EncodeCall(entry)));
  NEXTIER_RETURN_IF_ERROR(txn.Put(all_, OrderKey(entry), ""));
  return txn.Put(by_status_, StatusKey(entry), "");
}

Result<CallEntry> CallQueueProjection::Get(std::string_view entry_id) const {
  auto txn = store_.BeginRead();
  if (!txn.ok()) return txn.status();
  std::string_view v;
  Status s = txn->Get(by_id_, entry_id, &v);
  if (s.code() == StatusCode::kNotFound) {
    return Status::NotFound("no call-queue entry '" + std::string(entry_id) + "'");
  }
  NEXTIER_RETURN_IF_ERROR(s);
  return DecodeCall(v);
}

Result<CallQueuePage> CallQueueProjection::List(const CallQueueFilter& filter, size_t limit,
                                                std::string_view cursor) const {
  if (!filter.status.empty() && filter.status != "pending" && filter.status != "assigned" &&
      filter.status != "completed") {
    return Status::InvalidArgument(
        "status must be pending, assigned or completed, not '" + filter.status + "'", "status");
  }
  std::string after;
  if (!ParseCursor(cursor, &after)) {
    return Status::InvalidArgument("this cursor was not handed out by this list", "cursor");
  }
  const Table index = filter.status.empty() ? all_ : by_status_;
  std::string prefix;
  if (!filter.status.empty()) {
    prefix = filter.status;
    prefix.push_back('\0');
  }
  if (!after.empty() && after.compare(0, prefix.size(), prefix) != 0) {
    return Status::InvalidArgument("this cursor belongs to another query", "cursor");
  }
  auto txn = store_.BeginRead();
  if (!txn.ok()) return txn.status();
  CallQueuePage page;
  Status inner;
  std::string last;
  bool more = false;
  // Start just after the cursor's key (the key plus a NUL is its immediate successor).
  const std::string from = after.empty() ? prefix : after + std::string(1, '\0');
  NEXTIER_RETURN_IF_ERROR(txn->Scan(index, from, {}, [&](std::string_view k, std::string_view) {
    if (k.compare(0, prefix.size(), prefix) != 0) return false;
    if (page.items.size() >= limit) {
      more = true;
      return false;
    }
    const std::string_view id = k.substr(prefix.size() + 16);
    std::string_view row;
    inner = txn->Get(by_id_, id, &row);
    if (!inner.ok()) return false;
    auto e = DecodeCall(row);
    if (!e.ok()) {
      inner = e.status();
      return false;
    }
    last.assign(k);
    if (!filter.agent.empty() && e->assigned_to != filter.agent) return true;
    if (!filter.campaign.empty() && e->campaign_id != filter.campaign) return true;
    page.items.push_back(std::move(*e));
    return true;
  }));
  NEXTIER_RETURN_IF_ERROR(inner);
  if (more) page.next = codec::HexCursor(last);
  return page;
}

// ---- meetings --------------------------------------------------------------------------------

Result<std::unique_ptr<MeetingsProjection>> MeetingsProjection::Open(ReadModelStore& store) {
  std::unique_ptr<MeetingsProjection> p(new MeetingsProjection(store));
  auto* raw = p.get();
  return OpenTables(std::move(p), store,
                    {{&raw->by_id_, "meetings.by_id"},
                     {&raw->by_start_, "meetings.by_start"},
                     {&raw->by_agent_, "meetings.by_agent"},
                     {&raw->by_lead_, "meetings.by_lead"}});
}

Status MeetingsProjection::Apply(Txn& txn, const eventstore::EventView& event) {
  const auto ev = event.event();
  const auto p = ev.getPayload();
  std::string id;
  switch (p.which()) {
    case Which::MEETING_BOOKED:
      id = ViewOf(p.getMeetingBooked().getMeetingId());
      break;
    case Which::MEETING_CANCELLED:
      id = ViewOf(p.getMeetingCancelled().getMeetingId());
      break;
    case Which::MEETING_RESCHEDULED:
      id = ViewOf(p.getMeetingRescheduled().getMeetingId());
      break;
    case Which::MEETING_OUTCOME_RECORDED:
      id = ViewOf(p.getMeetingOutcomeRecorded().getMeetingId());
      break;
    case Which::REMINDER_SENT:
      id = ViewOf(p.getReminderSent().getMeetingId());
      break;
    case Which::REMINDER_SKIPPED:
      id = ViewOf(p.getReminderSkipped().getMeetingId());
      break;
    case Which::LEAD_OPTED_OUT:
    case Which::LEAD_FORGOTTEN: {
      const std::string lead = LeadOfEvent(ev);
      if (lead.empty()) return Status::Ok();
      std::string_view v;
      Status s = txn.Get(by_lead_, lead, &v);
      if (s.code() == StatusCode::kNotFound) return Status::Ok();
      NEXTIER_RETURN_IF_ERROR(s);
      id = v;
      break;
    }
    default:
      return Status::Ok();
  }
  if (id.empty() || id.size() > 400) return Status::Ok();
  Meeting m;
  m.id = id;
  std::string_view stored;
  Status s = txn.Get(by_id_, id, &stored);
  if (s.ok()) {
    auto decoded = DecodeMeeting(stored);
    if (!decoded.ok()) return decoded.status();
    m = std::move(*decoded);
  } else if (s.code() != StatusCode::kNotFound) {
    return s;
  }
  const bool existed = !m.status.empty();
  const Meeting before = m;
  if (!ApplyMeetingEvent(m, ev) || m.status.empty()) return Status::Ok();
  if (existed) {
    NEXTIER_RETURN_IF_ERROR(txn.Delete(by_start_, StartKey(before.starts_at, id)));
    NEXTIER_RETURN_IF_ERROR(txn.Delete(by_agent_, AgentKey(before.agent, before.starts_at, id)));
  }
  NEXTIER_RETURN_IF_ERROR(txn.Put(by_id_, id, EncodeMeeting(m)));
  NEXTIER_RETURN_IF_ERROR(txn.Put(by_start_, StartKey(m.starts_at, id), ""));
  NEXTIER_RETURN_IF_ERROR(txn.Put(by_agent_, AgentKey(m.agent, m.starts_at, id), ""));
  if (p.which() == Which::MEETING_BOOKED && !m.lead_id.empty()) {
    NEXTIER_RETURN_IF_ERROR(txn.Put(by_lead_, m.lead_id, id));
  }
  return Status::Ok();
}

Result<Meeting> MeetingsProjection::Get(std::string_view meeting_id) const {
  auto txn = store_.BeginRead();
  if (!txn.ok()) return txn.status();
  std::string_view v;
  Status s = txn->Get(by_id_, meeting_id, &v);
  if (s.code() == StatusCode::kNotFound) {
    return Status::NotFound("no meeting '" + std::string(meeting_id) + "'");
  }
  NEXTIER_RETURN_IF_ERROR(s);
  return DecodeMeeting(v);
}

Result<MeetingPage> MeetingsProjection::List(const MeetingFilter& filter, size_t limit,
                                             std::string_view cursor) const {
  std::string after;
  if (!ParseCursor(cursor, &after)) {
    return Status::InvalidArgument("this cursor was not handed out by this list", "cursor");
  }
  const Table index = filter.agent.empty() ? by_start_ : by_agent_;
  std::string prefix;
  if (!filter.agent.empty()) {
    prefix = filter.agent;
    prefix.push_back('\0');
  }
  if (!after.empty() && after.compare(0, prefix.size(), prefix) != 0) {
    return Status::InvalidArgument("this cursor belongs to another query", "cursor");
  }
  std::string from = prefix + Be64(OrderedFromSigned(filter.from));
  if (!after.empty() && after >= from) from = after + std::string(1, '\0');
  auto txn = store_.BeginRead();
  if (!txn.ok()) return txn.status();
  MeetingPage page;
  Status inner;
  std::string last;
  bool more = false;
  NEXTIER_RETURN_IF_ERROR(txn->Scan(index, from, {}, [&](std::string_view k, std::string_view) {
    if (k.size() < prefix.size() + 8 || k.compare(0, prefix.size(), prefix) != 0) return false;
    const int64_t starts = SignedFromOrdered(GetBe64(k.data() + prefix.size()));
    if (starts >= filter.to) return false;
    if (page.items.size() >= limit) {
      more = true;
      return false;
    }
    std::string_view row;
    inner = txn->Get(by_id_, k.substr(prefix.size() + 8), &row);
    if (!inner.ok()) return false;
    auto m = DecodeMeeting(row);
    if (!m.ok()) {
      inner = m.status();
      return false;
    }
    last.assign(k);
    page.items.push_back(std::move(*m));
    return true;
  }));
  NEXTIER_RETURN_IF_ERROR(inner);
  if (more) page.next = codec::HexCursor(last);
  return page;
}

Result<std::vector<Meeting>> MeetingsProjection::Overlapping(std::string_view agent,
                                                             int64_t starts_at, int64_t ends_at,
                                                             std::string_view except_id) const {
  std::vector<Meeting> out;
  if (agent.empty()) return out;
  std::string prefix(agent);
  prefix.push_back('\0');
  // No meeting is longer than kMaxMeetingMinutes, so one that starts earlier than that before
  // `starts_at` has ended by then.
  const std::string from =
      prefix + Be64(OrderedFromSigned(starts_at - int64_t{kMaxMeetingMinutes} * kMinute));
  const std::string to = prefix + Be64(OrderedFromSigned(ends_at));
  auto txn = store_.BeginRead();
  if (!txn.ok()) return txn.status();
  Status inner;
  NEXTIER_RETURN_IF_ERROR(txn->Scan(by_agent_, from, to, [&](std::string_view k, std::string_view) {
    const std::string_view id = k.substr(prefix.size() + 8);
    if (id == except_id) return true;
    std::string_view row;
    inner = txn->Get(by_id_, id, &row);
    if (!inner.ok()) return false;
    auto m = DecodeMeeting(row);
    if (!m.ok()) {
      inner = m.status();
      return false;
    }
    if (m->status == "booked" && m->starts_at < ends_at && m->ends_at > starts_at) {
      out.push_back(std::move(*m));
    }
    return true;
  }));
  NEXTIER_RETURN_IF_ERROR(inner);
  return out;
}

}  // namespace nextier::projections
