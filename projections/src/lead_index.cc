#include "nextier/projections/lead_index.h"

#include <string>
#include <vector>

#include "record_codec.h"

namespace nextier::projections {

namespace {
using Which = eventstore::schema::Event::Payload::Which;
using codec::ViewOf;

std::string Key(LeadKeyKind kind, std::string_view hash) {
  std::string k(1, static_cast<char>(kind));
  k.append(hash);
  return k;
}

std::string LeadPrefix(std::string_view lead_id) {
  std::string k(lead_id);
  k.push_back('\0');
  return k;
}
}  // namespace

std::string_view LeadKeyKindName(LeadKeyKind kind) {
  switch (kind) {
    case LeadKeyKind::kPhone:
      return "phone";
    case LeadKeyKind::kEmail:
      return "email";
    case LeadKeyKind::kNameCompanyZip:
      return "name_company_zip";
  }
  return "unknown";
}

std::string_view LeadKeyPurpose(LeadKeyKind kind) {
  switch (kind) {
    case LeadKeyKind::kPhone:
      return "lead.phone";
    case LeadKeyKind::kEmail:
      return "lead.email";
    case LeadKeyKind::kNameCompanyZip:
      return "lead.name_key";
  }
  return "lead.unknown";
}

Result<std::unique_ptr<LeadIndexProjection>> LeadIndexProjection::Open(ReadModelStore& store) {
  std::unique_ptr<LeadIndexProjection> p(new LeadIndexProjection(store));
  auto keys = store.OpenTable("lead_index.keys");
  if (!keys.ok()) return keys.status();
  p->keys_ = *keys;
  auto by_lead = store.OpenTable("lead_index.by_lead");
  if (!by_lead.ok()) return by_lead.status();
  p->by_lead_ = *by_lead;
  return p;
}

Status LeadIndexProjection::PutFirst(Txn& txn, LeadKeyKind kind, std::string_view hash,
                                     std::string_view lead_id) {
  if (hash.empty() || lead_id.empty() || hash.size() > 500) return Status::Ok();
  const std::string key = Key(kind, hash);
  std::string_view existing;
  Status s = txn.Get(keys_, key, &existing);
  if (s.ok()) return Status::Ok();  // first writer wins
  if (s.code() != StatusCode::kNotFound) return s;
  NEXTIER_RETURN_IF_ERROR(txn.Put(keys_, key, lead_id));
  // The reverse entry, when it fits in a key (lead ids are short; a longer one is simply not
  // dropped on forgetting, which only means its hashes stay claimed).
  const std::string reverse = LeadPrefix(lead_id) + key;
  if (reverse.size() > 511) return Status::Ok();
  return txn.Put(by_lead_, reverse, "");
}

Status LeadIndexProjection::DropLead(Txn& txn, std::string_view lead_id) {
  if (lead_id.empty()) return Status::Ok();
  const std::string prefix = LeadPrefix(lead_id);
  std::vector<std::string> held;
  NEXTIER_RETURN_IF_ERROR(
      txn.ScanPrefix(by_lead_, prefix, [&](std::string_view k, std::string_view) {
        held.emplace_back(k);
        return true;
      }));
  for (const auto& reverse : held) {
    const std::string key = reverse.substr(prefix.size());
    std::string_view owner;
    Status s = txn.Get(keys_, key, &owner);
    if (s.ok() && owner == lead_id) {
      NEXTIER_RETURN_IF_ERROR(txn.Delete(keys_, key));
    } else if (!s.ok() && s.code() != StatusCode::kNotFound) {
      return s;
    }
    NEXTIER_RETURN_IF_ERROR(txn.Delete(by_lead_, reverse));
  }
  return Status::Ok();
}

Status LeadIndexProjection::Apply(Txn& txn, const eventstore::EventView& event) {
  const auto ev = event.event();
  const auto payload = ev.getPayload();
  switch (payload.which()) {
    case Which::LEAD_IMPORTED: {
      const auto li = payload.getLeadImported();
      std::string_view id = ViewOf(li.getLeadId());
      if (id.empty()) id = codec::IdFromStream(ViewOf(ev.getStreamId()), "lead-");
      for (auto h : li.getPhoneHashes()) {
        NEXTIER_RETURN_IF_ERROR(PutFirst(txn, LeadKeyKind::kPhone, ViewOf(h), id));
      }
      NEXTIER_RETURN_IF_ERROR(PutFirst(txn, LeadKeyKind::kEmail, ViewOf(li.getEmailHash()), id));
      return PutFirst(txn, LeadKeyKind::kNameCompanyZip, ViewOf(li.getNameKeyHash()), id);
    }
    case Which::LEAD_ENRICHED: {
      const std::string_view id = codec::IdFromStream(ViewOf(ev.getStreamId()), "lead-");
      return PutFirst(txn, LeadKeyKind::kPhone, ViewOf(payload.getLeadEnriched().getPhoneHash()),
                      id);
    }
    case Which::LEAD_FORGOTTEN:
      return DropLead(txn, codec::IdFromStream(ViewOf(ev.getStreamId()), "lead-"));
    default:
      return Status::Ok();
  }
}

Result<std::optional<std::string>> LeadIndexProjection::Find(const Txn& txn, LeadKeyKind kind,
                                                             std::string_view hash) const {
  if (hash.empty()) return std::optional<std::string>();
  std::string_view v;
  Status s = txn.Get(keys_, Key(kind, hash), &v);
  if (s.code() == StatusCode::kNotFound) return std::optional<std::string>();
  if (!s.ok()) return s;
  return std::optional<std::string>(std::string(v));
}

Result<std::optional<std::string>> LeadIndexProjection::Find(LeadKeyKind kind,
                                                             std::string_view hash) const {
  auto txn = store_.BeginRead();
  if (!txn.ok()) return txn.status();
  return Find(*txn, kind, hash);
}

}  // namespace nextier::projections
