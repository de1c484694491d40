#include "nextier/projections/responses.h"

#include "personal.h"
#include "record_codec.h"

namespace nextier::projections {

namespace {
using Which = eventstore::schema::Event::Payload::Which;
using codec::ViewOf;

struct Row {
  std::string id, lead_id, classification, key_subject, sealed, campaign_id;
  bool gold = false;
  int64_t at = 0;
  std::string Encode() const {
    std::string out;
    for (const std::string* s :
         {&id, &lead_id, &classification, &key_subject, &sealed, &campaign_id}) {
      codec::PutStr(out, *s);
    }
    codec::PutU64(out, gold ? 1 : 0);
    codec::PutU64(out, static_cast<uint64_t>(at));
    return out;
  }
  bool Decode(std::string_view in) {
    codec::Reader r(in);
    for (std::string* s : {&id, &lead_id, &classification, &key_subject, &sealed, &campaign_id}) {
      *s = r.Str();
    }
    gold = r.U64() != 0;
    at = static_cast<int64_t>(r.U64());
    return r.ok();
  }
};

std::string Prefixed(std::string_view prefix, uint64_t seq) {
  std::string k(prefix);
  k.push_back('\0');
  k += Be64(seq);
  return k;
}

}  // namespace

Result<std::unique_ptr<ResponsesProjection>> ResponsesProjection::Open(ReadModelStore& store,
                                                                       eventstore::KeyRing& keys) {
  std::unique_ptr<ResponsesProjection> p(new ResponsesProjection(store, keys));
  Table* tables[] = {&p->rows_, &p->by_class_, &p->by_campaign_, &p->gold_, &p->campaign_};
  const char* names[] = {"responses.rows", "responses.by_class", "responses.by_camp",
                         "responses.gold", "responses.campaign"};
  for (int i = 0; i < 5; ++i) {
    auto t = store.OpenTable(names[i]);
    if (!t.ok()) return t.status();
    *tables[i] = *t;
  }
  return p;
}

Status ResponsesProjection::Apply(Txn& txn, const eventstore::EventView& event) {
  const auto ev = event.event();
  const auto payload = ev.getPayload();
  const std::string_view lead = codec::IdFromStream(ViewOf(ev.getStreamId()), "lead-");
  auto campaign_of = [&](std::string_view id) {
    std::string_view v;
    if (!id.empty() && txn.Get(campaign_, id, &v).ok()) return std::string(v);
    return std::string();
  };
  switch (payload.which()) {
    case Which::LEAD_QUEUED: {
      const std::string_view c = ViewOf(payload.getLeadQueued().getCampaignId());
      if (lead.empty() || c.empty() || c.size() > 400) return Status::Ok();
      return txn.Put(campaign_, lead, c);
    }
    case Which::REPLY_RECEIVED: {
      const auto r = payload.getReplyReceived();
      Row row;
      row.id = ViewOf(r.getProviderMessageId());
      row.lead_id = ViewOf(r.getLeadId());
      row.classification = ViewOf(r.getClassification());
      row.key_subject = ViewOf(ev.getKeySubject());
      row.sealed = ViewOf(r.getPersonal());
      row.gold = r.getGoldLabel();
      row.at = ev.getRecordedAt();
      row.campaign_id = campaign_of(row.lead_id);
      NEXTIER_RETURN_IF_ERROR(txn.Put(rows_, Be64(event.seq()), row.Encode()));
      if (!row.classification.empty() && row.classification.size() < 100) {
        NEXTIER_RETURN_IF_ERROR(txn.Put(by_class_, Prefixed(row.classification, event.seq()), ""));
      }
      if (!row.campaign_id.empty()) {
        NEXTIER_RETURN_IF_ERROR(txn.Put(by_campaign_, Prefixed(row.campaign_id, event.seq()), ""));
      }
      return Status::Ok();
    }
    case Which::LEAD_GOLD_LABELED: {
      if (lead.empty()) return Status::Ok();
      const auto g = payload.getLeadGoldLabeled();
      Row row;
      row.id = ViewOf(g.getProviderMessageId());
      row.lead_id = lead;
      row.key_subject = ViewOf(ev.getKeySubject());
      row.sealed = ViewOf(g.getPersonal());
      row.gold = g.getPhoneVerified();
      row.at = g.getGoldLabeledAt() != 0 ? g.getGoldLabeledAt() : ev.getRecordedAt();
      row.campaign_id = campaign_of(lead);
      return txn.Put(gold_, Be64(event.seq()), row.Encode());
    }
    default:
      return Status::Ok();
  }
}

Result<std::vector<ResponseView>> ResponsesProjection::List(
    const ResponseFilter& filter, size_t limit, std::string_view cursor,
    std::optional<std::string>* next) const {
  next->reset();
  uint64_t after = 0;
  if (!cursor.empty()) {
    const std::string text(cursor);  // alive while `end` points into it
    char* end = nullptr;
    after = std::strtoull(text.c_str(), &end, 10);
    if (end == nullptr || *end != '\0') {
      return Status::InvalidArgument("the cursor is not one this list handed out", "cursor");
    }
  }
  auto txn = store_.BeginRead();
  if (!txn.ok()) return txn.status();
  // Walk the narrowest index; check the other filter on the row.
  Table index = rows_;
  std::string prefix;
  if (!filter.classification.empty()) {
    index = by_class_;
    prefix = filter.classification + std::string(1, '\0');
  } else if (!filter.campaign.empty()) {
    index = by_campaign_;
    prefix = filter.campaign + std::string(1, '\0');
  }
  std::string from = prefix + Be64(after + 1);
  std::string to;
  if (!prefix.empty()) {
    to = prefix;
    to.back() = '\x01';
  }
  std::vector<ResponseView> items;
  Status inner;
  NEXTIER_RETURN_IF_ERROR(txn->Scan(index, from, to, [&](std::string_view k, std::string_view v) {
    if (k.size() < prefix.size() + 8) return true;
    const uint64_t seq = GetBe64(k.data() + prefix.size());
    if (items.size() == limit) {
      *next = std::to_string(seq - 1);
      return false;
    }
    std::string_view value = v;
    if (!prefix.empty()) {
      inner = txn->Get(rows_, Be64(seq), &value);
      if (!inner.ok()) return false;
    }
    Row row;
    if (!row.Decode(value)) {
      inner = Status::Corruption("read models: responses.rows row does not decode");
      return false;
    }
    if (!filter.campaign.empty() && row.campaign_id != filter.campaign) return true;
    ResponseView r;
    r.id = row.id;
    r.lead_id = row.lead_id;
    r.classification = row.classification;
    r.gold_label = row.gold;
    r.campaign_id = row.campaign_id;
    r.received_at = row.at;
    personal::Open(keys_, row.key_subject, row.sealed, [&](eventstore::schema::Personal::Reader p) {
      r.from = ViewOf(p.getFromNumber());
      r.body = ViewOf(p.getBody());
      r.email = ViewOf(p.getEmail());
    });
    items.push_back(std::move(r));
    return true;
  }));
  NEXTIER_RETURN_IF_ERROR(inner);
  return items;
}

Result<std::vector<GoldLabelView>> ResponsesProjection::GoldLabels(
    size_t limit, std::string_view cursor, std::optional<std::string>* next) const {
  next->reset();
  uint64_t after = 0;
  if (!cursor.empty()) {
    const std::string text(cursor);  // alive while `end` points into it
    char* end = nullptr;
    after = std::strtoull(text.c_str(), &end, 10);
    if (end == nullptr || *end != '\0') {
      return Status::InvalidArgument("the cursor is not one this list handed out", "cursor");
    }
  }
  auto txn = store_.BeginRead();
  if (!txn.ok()) return txn.status();
  std::vector<GoldLabelView> items;
  Status inner;
  NEXTIER_RETURN_IF_ERROR(
      txn->Scan(gold_, Be64(after + 1), {}, [&](std::string_view k, std::string_view v) {
        const uint64_t seq = GetBe64(k.data());
        if (items.size() == limit) {
          *next = std::to_string(seq - 1);
          return false;
        }
        Row row;
        if (!row.Decode(v)) {
          inner = Status::Corruption("read models: responses.gold row does not decode");
          return false;
        }
        GoldLabelView g;
        g.lead_id = row.lead_id;
        g.phone_verified = row.gold;
        g.gold_labeled_at = row.at;
        g.campaign_id = row.campaign_id;
        g.message_id = row.id;
        personal::Open(keys_, row.key_subject, row.sealed,
                       [&](eventstore::schema::Personal::Reader p) {
                         g.email = ViewOf(p.getEmail());
                         if (p.getPhones().size() > 0) g.phone = ViewOf(p.getPhones()[0]);
                       });
        items.push_back(std::move(g));
        return true;
      }));
  NEXTIER_RETURN_IF_ERROR(inner);
  return items;
}

}  // namespace nextier::projections
