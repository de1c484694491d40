#include "nextier/projections/leads.h"

#include "personal.h"
#include "record_codec.h"

namespace nextier::projections {

namespace {
using Which = eventstore::schema::Event::Payload::Which;
using codec::ViewOf;

std::string IndexKey(std::string_view prefix, uint64_t seq, std::string_view id) {
  std::string k(prefix);
  k.push_back('\0');
  k += Be64(seq);
  k.append(id);
  return k;
}

}  // namespace

struct LeadsProjection::Row : LeadFacts {
  uint64_t order_seq = 0;
  std::string key_subject;
  std::string personal;           // sealed, from LeadImported
  std::string enriched_personal;  // sealed, from LeadEnriched
  std::string opener_key;         // the messageKey of the opener's SmsSendIntended
  std::string gold_personal;      // sealed, from LeadGoldLabeled: the email the lead gave

  std::string Encode() const {
    std::string out;
    codec::PutStr(out, id);
    codec::PutStr(out, human_id);
    codec::PutStr(out, state);
    codec::PutStr(out, file_id);
    codec::PutU64(out, row);
    codec::PutStr(out, source);
    codec::PutStr(out, company);
    codec::PutStr(out, title);
    codec::PutU64(out, static_cast<uint64_t>(static_cast<int64_t>(role_score)));
    codec::PutU64(out, is_entity ? 1 : 0);
    codec::PutStr(out, campaign_id);
    codec::PutU64(out, block);
    codec::PutU64(out, batch);
    codec::PutStr(out, initial_message_id);
    codec::PutU64(out, static_cast<uint64_t>(gold_labeled_at));
    codec::PutU64(out, static_cast<uint64_t>(created_at));
    codec::PutU64(out, static_cast<uint64_t>(updated_at));
    codec::PutU64(out, forgotten ? 1 : 0);
    codec::PutU64(out, order_seq);
    codec::PutStr(out, key_subject);
    codec::PutStr(out, personal);
    codec::PutStr(out, enriched_personal);
    codec::PutStr(out, opener_key);
    codec::PutStr(out, gold_personal);
    return out;
  }
  bool Decode(std::string_view in) {
    codec::Reader r(in);
    id = r.Str();
    human_id = r.Str();
    state = r.Str();
    file_id = r.Str();
    row = r.U64();
    source = r.Str();
    company = r.Str();
    title = r.Str();
    role_score = static_cast<int32_t>(static_cast<int64_t>(r.U64()));
    is_entity = r.U64() != 0;
    campaign_id = r.Str();
    block = static_cast<uint32_t>(r.U64());
    batch = static_cast<uint32_t>(r.U64());
    initial_message_id = r.Str();
    gold_labeled_at = static_cast<int64_t>(r.U64());
    created_at = static_cast<int64_t>(r.U64());
    updated_at = static_cast<int64_t>(r.U64());
    forgotten = r.U64() != 0;
    order_seq = r.U64();
    key_subject = r.Str();
    personal = r.Str();
    enriched_personal = r.Str();
    opener_key = r.Str();
    gold_personal = r.Str();
    return r.ok();
  }
};

Result<std::unique_ptr<LeadsProjection>> LeadsProjection::Open(ReadModelStore& store,
                                                               eventstore::KeyRing& keys) {
  std::unique_ptr<LeadsProjection> p(new LeadsProjection(store, keys));
  Table* tables[] = {&p->by_id_, &p->order_, &p->by_state_, &p->by_campaign_};
  const char* names[] = {"leads.by_id", "leads.order", "leads.by_state", "leads.by_campaign"};
  for (int i = 0; i < 4; ++i) {
    auto t = store.OpenTable(names[i]);
    if (!t.ok()) return t.status();
    *tables[i] = *t;
  }
  return p;
}

Status LeadsProjection::Load(const Txn& txn, std::string_view id, Row* row, bool* found) const {
  *found = false;
  if (id.empty() || id.size() > 400) return Status::Ok();
  std::string_view v;
  Status s = txn.Get(by_id_, id, &v);
  if (s.code() == StatusCode::kNotFound) return Status::Ok();
  NEXTIER_RETURN_IF_ERROR(s);
  if (!row->Decode(v)) return Status::Corruption("read models: leads.by_id row does not decode");
  *found = true;
  return Status::Ok();
}

Status LeadsProjection::Apply(Txn& txn, const eventstore::EventView& event) {
  const auto ev = event.event();
  const std::string_view stream = ViewOf(ev.getStreamId());
  const std::string_view id = codec::IdFromStream(stream, "lead-");
  if (id.empty() || id.size() > 400) return Status::Ok();
  const auto payload = ev.getPayload();
  Row row;
  bool found = false;
  if (payload.which() == Which::LEAD_IMPORTED) {
    NEXTIER_RETURN_IF_ERROR(Load(txn, id, &row, &found));
    if (found) return Status::Ok();  // a lead is imported once
    const auto li = payload.getLeadImported();
    row.id = id;
    row.state = "raw";
    row.file_id = ViewOf(li.getFileId());
    row.row = li.getRow();
    row.source = ViewOf(li.getSource());
    row.company = ViewOf(li.getCompany());
    row.title = ViewOf(li.getTitle());
    row.role_score = li.getRoleScore();
    row.is_entity = li.getIsEntity();
    row.created_at = row.updated_at = ev.getRecordedAt();
    row.order_seq = event.seq();
    row.key_subject = ViewOf(ev.getKeySubject());
    row.personal = ViewOf(li.getPersonal());
    NEXTIER_RETURN_IF_ERROR(txn.Put(order_, Be64(row.order_seq) + row.id, ""));
    NEXTIER_RETURN_IF_ERROR(txn.Put(by_state_, IndexKey(row.state, row.order_seq, row.id), ""));
    return txn.Put(by_id_, row.id, row.Encode());
  }
  NEXTIER_RETURN_IF_ERROR(Load(txn, id, &row, &found));
  if (!found) return Status::Ok();
  const std::string old_state = row.state;
  const std::string old_campaign = row.campaign_id;
  switch (payload.which()) {
    case Which::LEAD_REJECTED:
      row.state = "rejected";
      break;
    case Which::LEAD_ENRICHED: {
      const auto e = payload.getLeadEnriched();
      row.state = "enriched";
      row.human_id = ViewOf(e.getHumanId());
      row.enriched_personal = ViewOf(e.getPersonal());
      if (row.key_subject.empty()) row.key_subject = ViewOf(ev.getKeySubject());
      break;
    }
    case Which::LEAD_NO_HIT:
      row.state = "no_hit";
      break;
    case Which::LEAD_QUEUED: {
      const auto q = payload.getLeadQueued();
      row.state = "queued";
      row.campaign_id = ViewOf(q.getCampaignId());
      row.block = q.getBlockNumber();
      row.batch = q.getBatchNumber();
      break;
    }
    case Which::LEAD_OPTED_OUT:
      row.state = "opted_out";
      break;
    case Which::SMS_SEND_INTENDED: {
      const auto i = payload.getSmsSendIntended();
      if (row.opener_key.empty() && ViewOf(i.getKind()) == "opener") {
        row.opener_key = ViewOf(i.getMessageKey());
      }
      break;
    }
    case Which::SMS_SENT: {
      const auto m = payload.getSmsSent();
      if (!row.opener_key.empty() && ViewOf(m.getMessageKey()) == row.opener_key) {
        row.initial_message_id = ViewOf(m.getProviderMessageId());
        if (row.state == "queued") row.state = "sent";
      }
      break;
    }
    case Which::SMS_SEND_FAILED: {
      const auto f = payload.getSmsSendFailed();
      if (f.getPermanent() && !row.opener_key.empty() &&
          ViewOf(f.getMessageKey()) == row.opener_key && row.state == "queued") {
        row.state = "failed";
      }
      break;
    }
    case Which::SMS_DELIVERY_FAILED:
      if (!row.initial_message_id.empty() &&
          ViewOf(payload.getSmsDeliveryFailed().getProviderMessageId()) == row.initial_message_id &&
          (row.state == "queued" || row.state == "sent")) {
        row.state = "failed";
      }
      break;
    case Which::LEAD_RESPONDED:
      if (row.state == "sent") row.state = "responded";
      break;
    case Which::LEAD_GOLD_LABELED:
      row.gold_labeled_at = payload.getLeadGoldLabeled().getGoldLabeledAt();
      row.gold_personal = ViewOf(payload.getLeadGoldLabeled().getPersonal());
      if (row.state == "sent" || row.state == "responded") row.state = "gold";
      break;
    case Which::LEAD_NOT_INTERESTED:
      if (row.state != "opted_out") row.state = "not_interested";
      break;
    case Which::CALL_COMPLETED:
      if (row.state == "gold") row.state = "called";
      break;
    case Which::MEETING_BOOKED:
      if (row.state == "gold" || row.state == "called") row.state = "booked";
      break;
    case Which::MEETING_CANCELLED:
      if (row.state == "booked") row.state = "called";
      break;
    case Which::MEETING_OUTCOME_RECORDED:
      if (payload.getMeetingOutcomeRecorded().getOutcome() == "no_show" && row.state == "booked") {
        row.state = "called";
      }
      break;
    case Which::LEAD_FORGOTTEN:
      row.forgotten = true;
      row.personal.clear();
      row.enriched_personal.clear();
      row.gold_personal.clear();
      break;
    default:
      break;
  }
  row.updated_at = ev.getRecordedAt();
  if (row.state != old_state) {
    NEXTIER_RETURN_IF_ERROR(txn.Delete(by_state_, IndexKey(old_state, row.order_seq, row.id)));
    NEXTIER_RETURN_IF_ERROR(txn.Put(by_state_, IndexKey(row.state, row.order_seq, row.id), ""));
  }
  if (row.campaign_id != old_campaign) {
    if (!old_campaign.empty()) {
      NEXTIER_RETURN_IF_ERROR(
          txn.Delete(by_campaign_, IndexKey(old_campaign, row.order_seq, row.id)));
    }
    if (!row.campaign_id.empty() && row.campaign_id.size() < 400) {
      NEXTIER_RETURN_IF_ERROR(
          txn.Put(by_campaign_, IndexKey(row.campaign_id, row.order_seq, row.id), ""));
    }
  }
  return txn.Put(by_id_, row.id, row.Encode());
}

LeadView LeadsProjection::View(const Row& row) const {
  LeadView v;
  static_cast<LeadFacts&>(v) = row;
  if (row.forgotten) return v;
  personal::Open(keys_, row.key_subject, row.enriched_personal,
                 [&](eventstore::schema::Personal::Reader p) {
                   for (auto ph : p.getPhones()) v.phones.emplace_back(ViewOf(ph));
                   if (p.getEmail().size() > 0) v.email = ViewOf(p.getEmail());
                 });
  personal::Open(keys_, row.key_subject, row.personal, [&](eventstore::schema::Personal::Reader p) {
    v.first_name = ViewOf(p.getFirstName());
    v.last_name = ViewOf(p.getLastName());
    v.full_name = ViewOf(p.getFullName());
    for (auto ph : p.getPhones()) {
      std::string s(ViewOf(ph));
      bool seen = false;
      for (const auto& have : v.phones) seen = seen || have == s;
      if (!seen) v.phones.push_back(std::move(s));
    }
    if (v.email.empty()) v.email = ViewOf(p.getEmail());
    v.street = ViewOf(p.getStreet());
    v.city = ViewOf(p.getCity());
    v.state_code = ViewOf(p.getState());
    v.zip = ViewOf(p.getZip());
    v.mailing_address = ViewOf(p.getMailingAddress());
    v.property_address = ViewOf(p.getPropertyAddress());
  });
  // The email the lead gave in a reply beats any found or listed in the file.
  personal::Open(keys_, row.key_subject, row.gold_personal,
                 [&](eventstore::schema::Personal::Reader p) {
                   if (p.getEmail().size() > 0) v.email = ViewOf(p.getEmail());
                 });
  return v;
}

Result<LeadView> LeadsProjection::Get(std::string_view lead_id) const {
  auto txn = store_.BeginRead();
  if (!txn.ok()) return txn.status();
  Row row;
  bool found = false;
  NEXTIER_RETURN_IF_ERROR(Load(*txn, lead_id, &row, &found));
  if (!found) return Status::NotFound("no lead " + std::string(lead_id));
  return View(row);
}

Result<LeadPage> LeadsProjection::List(const LeadFilter& filter, size_t limit,
                                       std::string_view cursor) const {
  Table table = order_;
  std::string prefix;
  if (!filter.campaign.empty()) {
    table = by_campaign_;
    prefix = filter.campaign;
    prefix.push_back('\0');
  } else if (!filter.state.empty()) {
    table = by_state_;
    prefix = filter.state;
    prefix.push_back('\0');
  }
  std::string from = prefix;
  if (!cursor.empty()) {
    std::string key;
    if (!codec::ParseHexCursor(cursor, &key) || key.substr(0, prefix.size()) != prefix) {
      return Status::InvalidArgument("the cursor is not one this list handed out", "cursor");
    }
    from = key;
    from.push_back('\0');
  }
  std::string to;
  if (!prefix.empty()) {
    to = prefix;
    to.back() = '\x01';
  }
  auto txn = store_.BeginRead();
  if (!txn.ok()) return txn.status();
  LeadPage page;
  std::string last;
  bool more = false;
  Status inner;
  NEXTIER_RETURN_IF_ERROR(txn->Scan(table, from, to, [&](std::string_view k, std::string_view) {
    if (page.items.size() == limit) {
      more = true;
      return false;
    }
    if (k.size() < prefix.size() + 8) return true;
    const std::string_view id = k.substr(prefix.size() + 8);
    Row row;
    bool found = false;
    inner = Load(*txn, id, &row, &found);
    if (!inner.ok()) return false;
    last.assign(k);
    if (!found) return true;
    if (!filter.state.empty() && row.state != filter.state) return true;
    page.items.push_back(View(row));
    return true;
  }));
  NEXTIER_RETURN_IF_ERROR(inner);
  if (more) page.next = codec::HexCursor(last);
  return page;
}

}  // namespace nextier::projections
