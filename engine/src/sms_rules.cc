#include "sms_rules.h"

#include "nextier/engine/campaigns.h"
#include "nextier/engine/send_window.h"
#include "nextier/workflows/segments.h"

namespace nextier::engine::internal {

namespace es = nextier::eventstore;

namespace {
capnp::Data::Reader DataOf(const std::string& s) {
  return capnp::Data::Reader(reinterpret_cast<const capnp::byte*>(s.data()), s.size());
}
}  // namespace

Result<std::string> SuppressionReason(const projections::SuppressionProjection& suppression,
                                      std::string_view lead_id, std::string_view hash,
                                      bool opener) {
  auto opted = suppression.IsOptedOut(hash);
  if (!opted.ok()) return opted.status();
  if (*opted) return std::string("opted_out");
  auto wrong = suppression.IsWrongNumberFor(hash, lead_id);
  if (!wrong.ok()) return wrong.status();
  if (*wrong) return std::string("wrong_number");
  if (opener) {
    auto first = suppression.OpenerLead(hash);
    if (!first.ok()) return first.status();
    if (first->has_value() && **first != lead_id) return std::string("duplicate_number");
  }
  return std::string();
}

Status CapTally::Begin(es::EventStore& store, std::string_view from_number, Micros now) {
  day_ = CarrierDayKey(now);
  stream_ = SmsCapStreamId(from_number, day_);
  events_.clear();
  auto v = store.StreamVersion(stream_);
  if (!v.ok()) return v.status();
  used_ = *v;
  return Status::Ok();
}

void CapTally::Count(std::string_view message_key, std::string_view lead_id,
                     std::string_view kind) {
  es::NewEvent e;
  auto c = e.builder().getPayload().initSmsCapCounted();
  c.setMessageKey(std::string(message_key));
  c.setLeadId(std::string(lead_id));
  c.setKind(std::string(kind));
  events_.push_back(std::move(e));
}

void CapTally::AppendTo(std::vector<es::StreamAppend>& unit) {
  if (events_.empty()) return;
  unit.push_back(
      es::StreamAppend{stream_, es::ExpectedVersion::Exactly(used_), std::move(events_)});
  events_.clear();
}

void FillIntent(es::schema::SmsSendIntended::Builder intent, const IntentFields& f,
                const std::string& sealed) {
  const workflows::SegmentInfo seg = workflows::CountSegments(f.body);
  intent.setMessageKey(f.key);
  intent.setKind(f.kind);
  intent.setCampaignId(f.campaign_id);
  intent.setFromNumber(f.from);
  intent.setPersonal(DataOf(sealed));
  intent.setTemplate(f.template_name);
  intent.setSegments(static_cast<uint32_t>(seg.segments));
  intent.setEncoding(std::string(workflows::SmsEncodingName(seg.encoding)));
  intent.setToHash(DataOf(f.to_hash));
  intent.setDayKey(f.day);
}

}  // namespace nextier::engine::internal
