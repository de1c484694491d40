#include "nextier/projections/lead_index.h"

#include <algorithm>
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

void LeadIndexProjection::PutFirst(LeadKeyKind kind, std::string_view hash,
                                   std::string_view lead_id) {
  if (hash.empty() || lead_id.empty() || hash.size() > 500) return;
  pending_.push_back(Pending{Key(kind, hash), std::string(lead_id)});
}

Status LeadIndexProjection::Flush(Txn& txn) {
  if (pending_.empty()) return Status::Ok();
  // Sorted, consecutive keys share their leaf and the path to it; a stable sort keeps, for one
  // key, the order of the events, so the first writer still wins.
  std::stable_sort(pending_.begin(), pending_.end(),
                   [](const Pending& a, const Pending& b) { return a.key < b.key; });
  std::vector<Txn::Item> items;
  items.reserve(pending_.size());
  for (const Pending& p : pending_) items.emplace_back(p.key, p.lead_id);
  std::vector<bool> inserted;
  NEXTIER_RETURN_IF_ERROR(txn.InsertSorted(keys_, items, &inserted));
  // The reverse entries of the keys this batch claimed, when they fit in a key (lead ids are
  // short; a longer one is simply not dropped on forgetting, which only means its hashes stay
  // claimed).
  std::vector<std::string> reverse;
  for (size_t i = 0; i < pending_.size(); ++i) {
    if (!inserted[i]) continue;
    std::string r = LeadPrefix(pending_[i].lead_id) + pending_[i].key;
    if (r.size() <= 511) reverse.push_back(std::move(r));
  }
  pending_.clear();
  std::sort(reverse.begin(), reverse.end());
  items.clear();
  for (const std::string& r : reverse) items.emplace_back(r, std::string_view());
  return txn.InsertSorted(by_lead_, items);
}

Status LeadIndexProjection::DropLead(Txn& txn, std::string_view lead_id) {
  if (lead_id.empty()) return Status::Ok();
  NEXTIER_RETURN_IF_ERROR(Flush(txn));  // the lead's keys from this batch, too
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
      for (auto h : li.getPhoneHashes()) PutFirst(LeadKeyKind::kPhone, ViewOf(h), id);
      PutFirst(LeadKeyKind::kEmail, ViewOf(li.getEmailHash()), id);
      PutFirst(LeadKeyKind::kNameCompanyZip, ViewOf(li.getNameKeyHash()), id);
      return Status::Ok();
    }
    case Which::LEAD_ENRICHED: {
      const std::string_view id = codec::IdFromStream(ViewOf(ev.getStreamId()), "lead-");
      PutFirst(LeadKeyKind::kPhone, ViewOf(payload.getLeadEnriched().getPhoneHash()), id);
      return Status::Ok();
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
