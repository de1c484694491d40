#include "nextier/projections/forgotten.h"

#include "record_codec.h"

namespace nextier::projections {

namespace {
using Which = eventstore::schema::Event::Payload::Which;
using codec::ViewOf;

constexpr std::string_view kOrphanSubjectPrefix = "orphan:";

Status Destroy(eventstore::KeyRing& keys, std::string_view subject) {
  if (keys.IsForgotten(subject)) return Status::Ok();
  Status s = keys.Forget(subject);
  if (s.ok()) return s;
  return Status(s.code(), "forgotten: cannot destroy the key of " + std::string(subject) +
                              " named by a LeadForgotten: " + s.message());
}
}  // namespace

Result<std::unique_ptr<ForgottenProjection>> ForgottenProjection::Open(ReadModelStore& store,
                                                                       eventstore::KeyRing& keys) {
  std::unique_ptr<ForgottenProjection> p(new ForgottenProjection(store, keys));
  auto t = store.OpenTable("forgotten.leads");
  if (!t.ok()) return t.status();
  p->leads_ = *t;
  return p;
}

Status ForgottenProjection::Apply(Txn& txn, const eventstore::EventView& event) {
  const auto ev = event.event();
  if (ev.getPayload().which() != Which::LEAD_FORGOTTEN) return Status::Ok();
  const std::string_view stream = ViewOf(ev.getStreamId());
  const std::string_view id = codec::IdFromStream(stream, "lead-");
  if (id.empty() || id.size() > 400) return Status::Ok();
  // The keys first: the checkpoint commits with the row, after this returns.
  NEXTIER_RETURN_IF_ERROR(Destroy(keys_, stream));
  for (auto s : ev.getPayload().getLeadForgotten().getSubjects()) {
    const std::string_view subject = ViewOf(s);
    if (subject.size() > kOrphanSubjectPrefix.size() &&
        subject.substr(0, kOrphanSubjectPrefix.size()) == kOrphanSubjectPrefix) {
      NEXTIER_RETURN_IF_ERROR(Destroy(keys_, subject));
    }
  }
  std::string_view existing;
  if (txn.Get(leads_, id, &existing).ok()) return Status::Ok();  // the first one stays
  std::string value;
  codec::PutU64(value, event.seq());
  codec::PutU64(value, static_cast<uint64_t>(ev.getRecordedAt()));
  codec::PutStr(value, ViewOf(ev.getActor()));
  return txn.Put(leads_, id, value);
}

Result<std::optional<ForgottenLead>> ForgottenProjection::Get(std::string_view lead_id) const {
  if (lead_id.empty() || lead_id.size() > 400) return std::optional<ForgottenLead>();
  auto txn = store_.BeginRead();
  if (!txn.ok()) return txn.status();
  std::string_view v;
  Status s = txn->Get(leads_, lead_id, &v);
  if (s.code() == StatusCode::kNotFound) return std::optional<ForgottenLead>();
  NEXTIER_RETURN_IF_ERROR(s);
  codec::Reader r(v);
  ForgottenLead f;
  f.lead_id = std::string(lead_id);
  f.seq = r.U64();
  f.at = static_cast<int64_t>(r.U64());
  f.actor = r.Str();
  if (!r.ok()) return Status::Corruption("read models: forgotten.leads row does not decode");
  return std::optional<ForgottenLead>(std::move(f));
}

Result<uint64_t> ForgottenProjection::Count() const {
  auto txn = store_.BeginRead();
  if (!txn.ok()) return txn.status();
  return txn->Count(leads_);
}

}  // namespace nextier::projections
