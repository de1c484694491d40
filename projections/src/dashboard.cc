#include "nextier/projections/dashboard.h"

#include <array>

#include "record_codec.h"

namespace nextier::projections {

namespace {
using Which = eventstore::schema::Event::Payload::Which;
using codec::ViewOf;

// Stage bits; the order is that of the counters in the "funnel" row.
enum Stage : int {
  kRaw = 0,
  kEnriched,
  kQueued,
  kSent,
  kDelivered,
  kResponded,
  kGold,
  kCalled,
  kBooked,
  kOptedOut,
  kRejected,
  kStageCount,
};
constexpr int kPositiveBit = 11;
constexpr char kFunnelKey[] = "funnel";

// The stage plus every stage it implies (see dashboard.h).
uint16_t WithImplied(Stage stage) {
  const uint16_t bit = static_cast<uint16_t>(1u << stage);
  auto chain_to = [](Stage last) {
    uint16_t m = 0;
    for (int s = kRaw; s <= last; ++s) m = static_cast<uint16_t>(m | (1u << s));
    return m;
  };
  switch (stage) {
    case kRaw:
    case kEnriched:
    case kQueued:
    case kSent:
    case kDelivered:
    case kResponded:
      return chain_to(stage);
    case kGold:
    case kCalled:
    case kBooked:
      return static_cast<uint16_t>(bit | chain_to(kResponded));
    default:
      return bit;
  }
}

// Counters of the "funnel" row: seq, the 11 stages, positive leads, replies.
struct Totals {
  std::array<uint64_t, kStageCount + 3> v{};
  uint64_t& seq() { return v[0]; }
  uint64_t& stage(int s) { return v[1 + s]; }
  uint64_t& positive() { return v[1 + kStageCount]; }
  uint64_t& replies() { return v[2 + kStageCount]; }
  std::string Encode() const {
    std::string out;
    for (uint64_t x : v) codec::PutU64(out, x);
    return out;
  }
  bool Decode(std::string_view in) {
    codec::Reader r(in);
    for (uint64_t& x : v) x = r.U64();
    return r.ok();
  }
};

bool IsPositive(std::string_view classification) {
  return classification == "POSITIVE" || classification == "EMAIL";
}

}  // namespace

Result<std::unique_ptr<DashboardProjection>> DashboardProjection::Open(ReadModelStore& store) {
  std::unique_ptr<DashboardProjection> p(new DashboardProjection(store));
  auto totals = store.OpenTable("dashboard.totals");
  if (!totals.ok()) return totals.status();
  auto leads = store.OpenTable("dashboard.leads");
  if (!leads.ok()) return leads.status();
  p->totals_ = *totals;
  p->leads_ = *leads;
  return p;
}

Status DashboardProjection::Apply(Txn& txn, const eventstore::EventView& event) {
  const auto ev = event.event();
  const auto payload = ev.getPayload();
  const std::string_view lead = codec::IdFromStream(ViewOf(ev.getStreamId()), "lead-");

  int stage = -1;
  bool positive = false;
  std::string_view reply_class;
  bool reply = false;
  switch (payload.which()) {
    case Which::LEAD_IMPORTED:
      stage = kRaw;
      break;
    case Which::LEAD_ENRICHED:
      stage = kEnriched;
      break;
    case Which::LEAD_QUEUED:
      stage = kQueued;
      break;
    case Which::SMS_SENT:
      if (ViewOf(payload.getSmsSent().getKind()) == "opener") stage = kSent;
      break;
    case Which::SMS_DELIVERED:
      stage = kDelivered;
      break;
    case Which::LEAD_RESPONDED:
      stage = kResponded;
      break;
    case Which::REPLY_RECEIVED:
      reply = true;
      reply_class = ViewOf(payload.getReplyReceived().getClassification());
      stage = kResponded;  // only when on a lead's stream (checked below)
      positive = IsPositive(reply_class);
      break;
    case Which::LEAD_GOLD_LABELED:
      stage = kGold;
      break;
    case Which::CALL_COMPLETED:
      stage = kCalled;
      break;
    case Which::MEETING_BOOKED:
      stage = kBooked;
      break;
    case Which::LEAD_OPTED_OUT:
      stage = kOptedOut;
      break;
    case Which::LEAD_REJECTED:
      stage = kRejected;
      break;
    default:
      return Status::Ok();
  }
  if (stage < 0 && !reply) return Status::Ok();

  // The lead's flags, and which bits this event sets for the first time.
  const bool lead_ok = !lead.empty() && lead.size() <= 400;
  uint16_t fresh = 0;
  uint16_t flags = 0;
  if (lead_ok && stage >= 0) {
    std::string_view v;
    Status s = txn.Get(leads_, lead, &v);
    if (s.ok() && v.size() == 2) {
      flags = static_cast<uint16_t>((static_cast<uint8_t>(v[0]) << 8) | static_cast<uint8_t>(v[1]));
    } else if (!s.ok() && s.code() != StatusCode::kNotFound) {
      return s;
    }
    uint16_t want = WithImplied(static_cast<Stage>(stage));
    if (positive) want = static_cast<uint16_t>(want | (1u << kPositiveBit));
    fresh = static_cast<uint16_t>(want & ~flags);
  }
  if (fresh == 0 && !reply) return Status::Ok();

  Totals t;
  std::string_view v;
  Status s = txn.Get(totals_, kFunnelKey, &v);
  if (s.ok()) {
    if (!t.Decode(v))
      return Status::Corruption("read models: dashboard.totals row does not decode");
  } else if (s.code() != StatusCode::kNotFound) {
    return s;
  }
  for (int b = 0; b < kStageCount; ++b) {
    if ((fresh & (1u << b)) != 0) ++t.stage(b);
  }
  if ((fresh & (1u << kPositiveBit)) != 0) ++t.positive();
  if (reply) {
    ++t.replies();
    if (!reply_class.empty() && reply_class.size() < 64) {
      const std::string key = "c" + std::string(reply_class);
      uint64_t n = 0;
      std::string_view c;
      Status cs = txn.Get(totals_, key, &c);
      if (cs.ok() && c.size() == 8) {
        n = GetBe64(c.data());
      } else if (!cs.ok() && cs.code() != StatusCode::kNotFound) {
        return cs;
      }
      NEXTIER_RETURN_IF_ERROR(txn.Put(totals_, key, Be64(n + 1)));
    }
  }
  t.seq() = event.seq();
  if (fresh != 0) {
    flags = static_cast<uint16_t>(flags | fresh);
    const char bytes[2] = {static_cast<char>(flags >> 8), static_cast<char>(flags & 0xff)};
    NEXTIER_RETURN_IF_ERROR(txn.Put(leads_, lead, std::string_view(bytes, 2)));
  }
  return txn.Put(totals_, kFunnelKey, t.Encode());
}

Result<DashboardCounts> DashboardProjection::Read() const {
  auto txn = store_.BeginRead();
  if (!txn.ok()) return txn.status();
  DashboardCounts out;
  std::string_view v;
  Status s = txn->Get(totals_, kFunnelKey, &v);
  if (s.code() == StatusCode::kNotFound) return out;
  NEXTIER_RETURN_IF_ERROR(s);
  Totals t;
  if (!t.Decode(v)) return Status::Corruption("read models: dashboard.totals row does not decode");
  out.seq = t.seq();
  uint64_t* fields[kStageCount] = {&out.raw,       &out.enriched,  &out.queued,  &out.sent,
                                   &out.delivered, &out.responded, &out.gold,    &out.called,
                                   &out.booked,    &out.opted_out, &out.rejected};
  for (int b = 0; b < kStageCount; ++b) *fields[b] = t.stage(b);
  out.positive_leads = t.positive();
  out.replies = t.replies();
  NEXTIER_RETURN_IF_ERROR(
      txn->ScanPrefix(totals_, "c", [&](std::string_view k, std::string_view c) {
        if (k.size() > 1 && c.size() == 8)
          out.replies_by_class[std::string(k.substr(1))] = GetBe64(c.data());
        return true;
      }));
  return out;
}

}  // namespace nextier::projections
