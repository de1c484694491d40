#include "nextier/projections/sending.h"

#include "record_codec.h"

namespace nextier::projections {

namespace {
using Which = eventstore::schema::Event::Payload::Which;
using codec::ViewOf;

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

uint64_t ReadBe64(std::string_view s) {
  uint64_t v = 0;
  for (size_t i = 0; i < 8 && i < s.size(); ++i) v = (v << 8) | static_cast<uint8_t>(s[i]);
  return v;
}

}  // namespace

// ---- Outbox ----------------------------------------------------------------------------------

Result<std::unique_ptr<OutboxProjection>> OutboxProjection::Open(ReadModelStore& store) {
  std::unique_ptr<OutboxProjection> p(new OutboxProjection(store));
  auto* raw = p.get();
  return OpenTables(std::move(p), store,
                    {{&raw->pending_, "outbox.pending"}, {&raw->keys_, "outbox.keys"}});
}

Status OutboxProjection::Apply(Txn& txn, const eventstore::EventView& event) {
  const auto ev = event.event();
  const auto payload = ev.getPayload();
  std::string_view key;
  switch (payload.which()) {
    case Which::SMS_SEND_INTENDED: {
      key = ViewOf(payload.getSmsSendIntended().getMessageKey());
      if (key.empty() || key.size() > 400) return Status::Ok();
      std::string_view existing;
      if (txn.Get(keys_, key, &existing).ok()) return Status::Ok();  // intended once
      std::string value(key);
      value.push_back('\0');
      value.append(ViewOf(ev.getStreamId()));
      NEXTIER_RETURN_IF_ERROR(txn.Put(pending_, Be64(event.seq()), value));
      return txn.Put(keys_, key, Be64(event.seq()));
    }
    case Which::SMS_SENT:
      key = ViewOf(payload.getSmsSent().getMessageKey());
      break;
    case Which::SMS_SEND_FAILED:
      key = ViewOf(payload.getSmsSendFailed().getMessageKey());
      break;
    case Which::SMS_SEND_UNKNOWN:
      key = ViewOf(payload.getSmsSendUnknown().getMessageKey());
      break;
    default:
      return Status::Ok();
  }
  if (key.empty() || key.size() > 400) return Status::Ok();
  std::string_view seq;
  Status s = txn.Get(keys_, key, &seq);
  if (s.code() == StatusCode::kNotFound) return Status::Ok();
  NEXTIER_RETURN_IF_ERROR(s);
  // The key stays (with an empty value) so that a late repeat of the intent is not re-listed.
  NEXTIER_RETURN_IF_ERROR(txn.Delete(pending_, std::string(seq)));
  return txn.Put(keys_, key, "");
}

Result<std::vector<PendingSend>> OutboxProjection::List(uint64_t after_seq, size_t limit) const {
  auto txn = store_.BeginRead();
  if (!txn.ok()) return txn.status();
  std::vector<PendingSend> out;
  NEXTIER_RETURN_IF_ERROR(
      txn->Scan(pending_, Be64(after_seq + 1), {}, [&](std::string_view k, std::string_view v) {
        if (out.size() >= limit) return false;
        PendingSend p;
        p.seq = ReadBe64(k);
        const size_t nul = v.find('\0');
        if (nul == std::string_view::npos) return true;
        p.message_key.assign(v.substr(0, nul));
        p.stream.assign(v.substr(nul + 1));
        out.push_back(std::move(p));
        return true;
      }));
  return out;
}

Result<uint64_t> OutboxProjection::Count() const {
  auto txn = store_.BeginRead();
  if (!txn.ok()) return txn.status();
  return txn->Count(pending_);
}

// ---- Suppression -----------------------------------------------------------------------------

Result<std::unique_ptr<SuppressionProjection>> SuppressionProjection::Open(ReadModelStore& store) {
  std::unique_ptr<SuppressionProjection> p(new SuppressionProjection(store));
  auto* raw = p.get();
  return OpenTables(std::move(p), store, {{&raw->keys_, "suppression.keys"}});
}

Status SuppressionProjection::Apply(Txn& txn, const eventstore::EventView& event) {
  const auto ev = event.event();
  const auto payload = ev.getPayload();
  const std::string_view lead = codec::IdFromStream(ViewOf(ev.getStreamId()), "lead-");
  switch (payload.which()) {
    case Which::LEAD_OPTED_OUT: {
      const auto o = payload.getLeadOptedOut();
      const std::string_view hash = ViewOf(o.getPhoneHash());
      if (hash.empty()) return Status::Ok();
      std::string source(ViewOf(o.getSource()));
      if (source.empty()) source = "reply";
      return txn.Put(keys_, "o" + std::string(hash), source);
    }
    case Which::NUMBER_SUPPRESSED: {
      const auto n = payload.getNumberSuppressed();
      const std::string_view hash = ViewOf(n.getPhoneHash());
      if (hash.empty()) return Status::Ok();
      if (ViewOf(n.getReason()) == "opt_out") return txn.Put(keys_, "o" + std::string(hash), "api");
      if (lead.empty()) return Status::Ok();
      return txn.Put(keys_, "w" + std::string(hash) + std::string(lead), "");
    }
    case Which::SMS_SEND_INTENDED: {
      const auto i = payload.getSmsSendIntended();
      const std::string_view hash = ViewOf(i.getToHash());
      if (hash.empty() || ViewOf(i.getKind()) != "opener") return Status::Ok();
      const std::string key = "f" + std::string(hash);
      std::string_view existing;
      if (txn.Get(keys_, key, &existing).ok()) return Status::Ok();  // the first one stays
      return txn.Put(keys_, key, lead);
    }
    default:
      return Status::Ok();
  }
}

Result<bool> SuppressionProjection::IsOptedOut(std::string_view hash) const {
  auto txn = store_.BeginRead();
  if (!txn.ok()) return txn.status();
  std::string_view v;
  Status s = txn->Get(keys_, "o" + std::string(hash), &v);
  if (s.code() == StatusCode::kNotFound) return false;
  NEXTIER_RETURN_IF_ERROR(s);
  return true;
}

Result<bool> SuppressionProjection::IsWrongNumberFor(std::string_view hash,
                                                     std::string_view lead_id) const {
  auto txn = store_.BeginRead();
  if (!txn.ok()) return txn.status();
  std::string_view v;
  Status s = txn->Get(keys_, "w" + std::string(hash) + std::string(lead_id), &v);
  if (s.code() == StatusCode::kNotFound) return false;
  NEXTIER_RETURN_IF_ERROR(s);
  return true;
}

Result<std::optional<std::string>> SuppressionProjection::OpenerLead(std::string_view hash) const {
  auto txn = store_.BeginRead();
  if (!txn.ok()) return txn.status();
  std::string_view v;
  Status s = txn->Get(keys_, "f" + std::string(hash), &v);
  if (s.code() == StatusCode::kNotFound) return std::optional<std::string>();
  NEXTIER_RETURN_IF_ERROR(s);
  return std::optional<std::string>(std::string(v));
}

Result<uint64_t> SuppressionProjection::OptedOutCount() const {
  auto txn = store_.BeginRead();
  if (!txn.ok()) return txn.status();
  uint64_t n = 0;
  NEXTIER_RETURN_IF_ERROR(txn->ScanPrefix(keys_, "o", [&](std::string_view, std::string_view) {
    ++n;
    return true;
  }));
  return n;
}

// ---- Campaigns -------------------------------------------------------------------------------

namespace {

// Stage flags of a lead within its campaign, so that each lead counts once per stage.
enum : uint8_t {
  kSentFlag = 1,
  kDeliveredFlag = 2,
  kFailedFlag = 4,
  kRespondedFlag = 8,
  kGoldFlag = 16,
  kOptedOutFlag = 32,
};

struct CountsRow {
  uint64_t seq = 0;
  CampaignCounts c;
  std::string Encode() const {
    std::string out;
    for (uint64_t v :
         {seq, c.queued, c.sent, c.delivered, c.failed, c.responded, c.gold, c.opted_out}) {
      codec::PutU64(out, v);
    }
    return out;
  }
  bool Decode(std::string_view in) {
    codec::Reader r(in);
    for (uint64_t* v :
         {&seq, &c.queued, &c.sent, &c.delivered, &c.failed, &c.responded, &c.gold, &c.opted_out}) {
      *v = r.U64();
    }
    return r.ok();
  }
};

}  // namespace

Result<std::unique_ptr<CampaignsProjection>> CampaignsProjection::Open(ReadModelStore& store) {
  std::unique_ptr<CampaignsProjection> p(new CampaignsProjection(store));
  auto* raw = p.get();
  return OpenTables(std::move(p), store,
                    {{&raw->order_, "campaigns.order"},
                     {&raw->counts_, "campaigns.counts"},
                     {&raw->leads_, "campaigns.leads"}});
}

Status CampaignsProjection::Apply(Txn& txn, const eventstore::EventView& event) {
  const auto ev = event.event();
  const auto payload = ev.getPayload();
  if (payload.which() == Which::CAMPAIGN_CREATED) {
    const std::string id(ViewOf(payload.getCampaignCreated().getCampaignId()));
    if (id.empty() || id.size() > 400) return Status::Ok();
    std::string_view existing;
    if (txn.Get(counts_, id, &existing).ok()) return Status::Ok();
    CountsRow row;
    row.seq = event.seq();
    NEXTIER_RETURN_IF_ERROR(txn.Put(order_, Be64(row.seq) + id, ""));
    return txn.Put(counts_, id, row.Encode());
  }
  const std::string_view lead = codec::IdFromStream(ViewOf(ev.getStreamId()), "lead-");
  if (lead.empty() || lead.size() > 400) return Status::Ok();

  std::string campaign;
  uint8_t flags = 0;
  std::string_view v;
  Status s = txn.Get(leads_, lead, &v);
  if (s.ok()) {
    const size_t nul = v.find('\0');
    if (nul != std::string_view::npos && nul + 1 < v.size()) {
      campaign.assign(v.substr(0, nul));
      flags = static_cast<uint8_t>(v[nul + 1]);
    }
  } else if (s.code() != StatusCode::kNotFound) {
    return s;
  }

  uint8_t flag = 0;
  bool queued = false;
  switch (payload.which()) {
    case Which::LEAD_QUEUED:
      campaign.assign(ViewOf(payload.getLeadQueued().getCampaignId()));
      flags = 0;
      queued = true;
      break;
    case Which::SMS_SENT:
      if (ViewOf(payload.getSmsSent().getKind()) == "opener") flag = kSentFlag;
      break;
    case Which::SMS_DELIVERED:
      flag = kDeliveredFlag;
      break;
    case Which::SMS_SEND_FAILED: {
      const auto f = payload.getSmsSendFailed();
      if (f.getPermanent()) flag = kFailedFlag;
      break;
    }
    case Which::SMS_DELIVERY_FAILED:
      flag = kFailedFlag;
      break;
    case Which::LEAD_RESPONDED:
    case Which::REPLY_RECEIVED:
      flag = kRespondedFlag;
      break;
    case Which::LEAD_GOLD_LABELED:
      flag = kGoldFlag;
      break;
    case Which::LEAD_OPTED_OUT:
      flag = kOptedOutFlag;
      break;
    default:
      return Status::Ok();
  }
  if (campaign.empty() || campaign.size() > 400) return Status::Ok();
  if (!queued && (flag == 0 || (flags & flag) != 0)) return Status::Ok();

  CountsRow row;
  s = txn.Get(counts_, campaign, &v);
  if (s.code() == StatusCode::kNotFound) return Status::Ok();  // not a campaign we know
  NEXTIER_RETURN_IF_ERROR(s);
  if (!row.Decode(v))
    return Status::Corruption("read models: campaigns.counts row does not decode");
  if (queued) {
    ++row.c.queued;
  } else {
    flags |= flag;
    switch (flag) {
      case kSentFlag:
        ++row.c.sent;
        break;
      case kDeliveredFlag:
        ++row.c.delivered;
        break;
      case kFailedFlag:
        ++row.c.failed;
        break;
      case kRespondedFlag:
        ++row.c.responded;
        break;
      case kGoldFlag:
        ++row.c.gold;
        break;
      case kOptedOutFlag:
        ++row.c.opted_out;
        break;
      default:
        break;
    }
  }
  std::string lead_value = campaign;
  lead_value.push_back('\0');
  lead_value.push_back(static_cast<char>(flags));
  NEXTIER_RETURN_IF_ERROR(txn.Put(leads_, lead, lead_value));
  return txn.Put(counts_, campaign, row.Encode());
}

Result<std::vector<std::string>> CampaignsProjection::List(size_t limit, std::string_view cursor,
                                                           bool* more) const {
  auto txn = store_.BeginRead();
  if (!txn.ok()) return txn.status();
  std::string from;
  if (!cursor.empty()) {
    std::string_view v;
    CountsRow row;
    Status s = txn->Get(counts_, cursor, &v);
    if (!s.ok() || !row.Decode(v)) {
      return Status::InvalidArgument("the cursor is not one this list handed out", "cursor");
    }
    from = Be64(row.seq) + std::string(cursor);
    from.push_back('\0');
  }
  std::vector<std::string> ids;
  *more = false;
  NEXTIER_RETURN_IF_ERROR(txn->Scan(order_, from, {}, [&](std::string_view k, std::string_view) {
    if (ids.size() >= limit) {
      *more = true;
      return false;
    }
    if (k.size() > 8) ids.emplace_back(k.substr(8));
    return true;
  }));
  return ids;
}

Result<CampaignCounts> CampaignsProjection::Counts(std::string_view campaign_id) const {
  auto txn = store_.BeginRead();
  if (!txn.ok()) return txn.status();
  std::string_view v;
  Status s = txn->Get(counts_, campaign_id, &v);
  if (s.code() == StatusCode::kNotFound) return CampaignCounts{};
  NEXTIER_RETURN_IF_ERROR(s);
  CountsRow row;
  if (!row.Decode(v))
    return Status::Corruption("read models: campaigns.counts row does not decode");
  return row.c;
}

// ---- Conversations ---------------------------------------------------------------------------

Result<std::unique_ptr<ConversationsProjection>> ConversationsProjection::Open(
    ReadModelStore& store) {
  std::unique_ptr<ConversationsProjection> p(new ConversationsProjection(store));
  auto* raw = p.get();
  return OpenTables(std::move(p), store, {{&raw->keys_, "conversations.keys"}});
}

Status ConversationsProjection::Apply(Txn& txn, const eventstore::EventView& event) {
  const auto ev = event.event();
  const auto payload = ev.getPayload();
  const std::string_view lead = codec::IdFromStream(ViewOf(ev.getStreamId()), "lead-");
  if (lead.empty()) return Status::Ok();
  if (payload.which() == Which::SMS_SEND_INTENDED) {
    const auto i = payload.getSmsSendIntended();
    const std::string_view hash = ViewOf(i.getToHash());
    const std::string_view from = ViewOf(i.getFromNumber());
    if (hash.empty() || from.empty() || hash.size() + from.size() > 300) return Status::Ok();
    std::string key = "c" + std::string(hash);
    key.push_back('\0');
    key.append(from);
    return txn.Put(keys_, key, lead);
  }
  if (payload.which() == Which::SMS_SENT) {
    const std::string_view id = ViewOf(payload.getSmsSent().getProviderMessageId());
    if (id.empty() || id.size() > 300) return Status::Ok();
    return txn.Put(keys_, "m" + std::string(id), lead);
  }
  return Status::Ok();
}

Result<std::optional<std::string>> ConversationsProjection::Find(const std::string& key) const {
  auto txn = store_.BeginRead();
  if (!txn.ok()) return txn.status();
  std::string_view v;
  Status s = txn->Get(keys_, key, &v);
  if (s.code() == StatusCode::kNotFound) return std::optional<std::string>();
  NEXTIER_RETURN_IF_ERROR(s);
  return std::optional<std::string>(std::string(v));
}

Result<std::optional<std::string>> ConversationsProjection::LeadTextedAt(
    std::string_view hash, std::string_view from_number) const {
  std::string key = "c" + std::string(hash);
  key.push_back('\0');
  key.append(from_number);
  return Find(key);
}

Result<std::optional<std::string>> ConversationsProjection::LeadOfMessage(
    std::string_view provider_message_id) const {
  return Find("m" + std::string(provider_message_id));
}

}  // namespace nextier::projections
