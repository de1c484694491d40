#include "nextier/projections/lead_pools.h"

#include <algorithm>

#include "record_codec.h"

namespace nextier::projections {

namespace {
using Which = eventstore::schema::Event::Payload::Which;
using codec::ViewOf;

constexpr char kNone = '\0';
constexpr size_t kMaxKey = 511;
constexpr size_t kOrderPrefix = 4 + 8;  // be32 score rank || be64 seq

// be32(1000 - score) so that the best score sorts first; scores are clamped so the rank stays
// within [0, 2000] whatever a workflow's scoring table says.
std::string OrderKey(int32_t score, uint64_t seq, std::string_view id) {
  const int32_t clamped = std::clamp<int32_t>(score, -1000, 1000);
  const auto rank = static_cast<uint32_t>(1000 - clamped);
  std::string k;
  k.reserve(kOrderPrefix + id.size());
  for (int shift = 24; shift >= 0; shift -= 8) k.push_back(static_cast<char>(rank >> shift));
  k += Be64(seq);
  k.append(id);
  return k;
}

std::string FilePrefix(char pool, std::string_view file_id) {
  std::string k(1, pool);
  k.append(file_id);
  k.push_back('\0');
  return k;
}

}  // namespace

struct LeadPoolsProjection::Row {
  std::string id;
  char pool = kNone;
  int32_t score = 0;
  uint64_t seq = 0;  // of LeadImported
  std::string file_id;
  bool closed = false;  // opted out or forgotten: never enters a pool again

  std::string Encode() const {
    std::string out;
    codec::PutU64(out, static_cast<uint8_t>(pool));
    codec::PutU64(out, static_cast<uint64_t>(static_cast<int64_t>(score)));
    codec::PutU64(out, seq);
    codec::PutStr(out, file_id);
    codec::PutU64(out, closed ? 1 : 0);
    return out;
  }
  bool Decode(std::string_view in) {
    codec::Reader r(in);
    pool = static_cast<char>(r.U64());
    score = static_cast<int32_t>(static_cast<int64_t>(r.U64()));
    seq = r.U64();
    file_id = r.Str();
    closed = r.U64() != 0;
    return r.ok();
  }
  std::string Key() const { return OrderKey(score, seq, id); }
};

Result<std::unique_ptr<LeadPoolsProjection>> LeadPoolsProjection::Open(ReadModelStore& store) {
  std::unique_ptr<LeadPoolsProjection> p(new LeadPoolsProjection(store));
  Table* tables[] = {&p->raw_, &p->enriched_, &p->by_file_, &p->leads_, &p->jobs_};
  const char* names[] = {"lead_pools.raw", "lead_pools.enriched", "lead_pools.by_file",
                         "lead_pools.leads", "lead_pools.jobs"};
  for (int i = 0; i < 5; ++i) {
    auto t = store.OpenTable(names[i]);
    if (!t.ok()) return t.status();
    *tables[i] = *t;
  }
  return p;
}

Table LeadPoolsProjection::PoolTable(char pool) const {
  return pool == static_cast<char>(Pool::kEnriched) ? enriched_ : raw_;
}

Status LeadPoolsProjection::Load(const Txn& txn, std::string_view id, Row* row, bool* found) const {
  *found = false;
  if (id.empty() || id.size() > 400) return Status::Ok();
  std::string_view v;
  Status s = txn.Get(leads_, id, &v);
  if (s.code() == StatusCode::kNotFound) return Status::Ok();
  NEXTIER_RETURN_IF_ERROR(s);
  if (!row->Decode(v))
    return Status::Corruption("read models: lead_pools.leads row does not decode");
  row->id = id;
  *found = true;
  return Status::Ok();
}

Status LeadPoolsProjection::Enter(Txn& txn, Row& row, char pool) {
  NEXTIER_RETURN_IF_ERROR(Leave(txn, row));
  const std::string key = row.Key();
  NEXTIER_RETURN_IF_ERROR(txn.Put(PoolTable(pool), key, row.file_id));
  // A file id too long for a key only loses the by-file index; the pool itself still has it.
  if (const std::string prefix = FilePrefix(pool, row.file_id);
      !row.file_id.empty() && prefix.size() + key.size() <= kMaxKey) {
    NEXTIER_RETURN_IF_ERROR(txn.Put(by_file_, prefix + key, ""));
  }
  row.pool = pool;
  return Status::Ok();
}

Status LeadPoolsProjection::Leave(Txn& txn, Row& row) {
  if (row.pool == kNone) return Status::Ok();
  const std::string key = row.Key();
  NEXTIER_RETURN_IF_ERROR(txn.Delete(PoolTable(row.pool), key));
  if (!row.file_id.empty()) {
    NEXTIER_RETURN_IF_ERROR(txn.Delete(by_file_, FilePrefix(row.pool, row.file_id) + key));
  }
  row.pool = kNone;
  return Status::Ok();
}

Status LeadPoolsProjection::Apply(Txn& txn, const eventstore::EventView& event) {
  const auto ev = event.event();
  const auto payload = ev.getPayload();
  const std::string_view stream = ViewOf(ev.getStreamId());

  // Skip-trace jobs: only the job streams carry these two payloads.
  if (payload.which() == Which::SKIP_TRACE_JOB_STARTED ||
      payload.which() == Which::SKIP_TRACE_JOB_FINISHED) {
    std::string_view job = payload.which() == Which::SKIP_TRACE_JOB_STARTED
                               ? ViewOf(payload.getSkipTraceJobStarted().getJobId())
                               : ViewOf(payload.getSkipTraceJobFinished().getJobId());
    if (job.empty()) job = codec::IdFromStream(stream, "skiptrace-");
    if (job.empty() || job.size() > kMaxKey) return Status::Ok();
    if (payload.which() == Which::SKIP_TRACE_JOB_STARTED) return txn.Put(jobs_, job, "");
    return txn.Delete(jobs_, job);
  }

  const std::string_view id = codec::IdFromStream(stream, "lead-");
  if (id.empty() || id.size() > 400) return Status::Ok();
  Row row;
  bool found = false;
  NEXTIER_RETURN_IF_ERROR(Load(txn, id, &row, &found));
  if (payload.which() == Which::LEAD_IMPORTED) {
    if (found) return Status::Ok();  // a lead is imported once
    const auto li = payload.getLeadImported();
    row.id = id;
    row.score = li.getRoleScore();
    row.seq = event.seq();
    row.file_id = ViewOf(li.getFileId());
    NEXTIER_RETURN_IF_ERROR(Enter(txn, row, static_cast<char>(Pool::kRaw)));
    return txn.Put(leads_, row.id, row.Encode());
  }
  if (!found) return Status::Ok();
  const Row before = row;
  switch (payload.which()) {
    case Which::LEAD_ENRICHED:
      if (!row.closed) NEXTIER_RETURN_IF_ERROR(Enter(txn, row, static_cast<char>(Pool::kEnriched)));
      break;
    case Which::LEAD_REJECTED:
      NEXTIER_RETURN_IF_ERROR(Leave(txn, row));
      break;
    case Which::LEAD_NO_HIT:
      if (row.pool == static_cast<char>(Pool::kRaw)) NEXTIER_RETURN_IF_ERROR(Leave(txn, row));
      break;
    case Which::LEAD_QUEUED:
      if (row.pool == static_cast<char>(Pool::kEnriched)) NEXTIER_RETURN_IF_ERROR(Leave(txn, row));
      break;
    case Which::LEAD_OPTED_OUT:
    case Which::LEAD_FORGOTTEN:
      NEXTIER_RETURN_IF_ERROR(Leave(txn, row));
      row.closed = true;
      break;
    default:
      return Status::Ok();
  }
  if (row.pool == before.pool && row.closed == before.closed) return Status::Ok();
  return txn.Put(leads_, row.id, row.Encode());
}

Status LeadPoolsProjection::Visit(
    Pool pool, std::string_view file_id,
    const std::function<bool(std::string_view lead_id)>& visit) const {
  auto txn = store_.BeginRead();
  if (!txn.ok()) return txn.status();
  if (file_id.empty()) {
    return txn->Scan(PoolTable(static_cast<char>(pool)), "", "",
                     [&](std::string_view k, std::string_view) {
                       if (k.size() <= kOrderPrefix) return true;
                       return visit(k.substr(kOrderPrefix));
                     });
  }
  const std::string prefix = FilePrefix(static_cast<char>(pool), file_id);
  return txn->ScanPrefix(by_file_, prefix, [&](std::string_view k, std::string_view) {
    if (k.size() <= prefix.size() + kOrderPrefix) return true;
    return visit(k.substr(prefix.size() + kOrderPrefix));
  });
}

Result<std::vector<std::string>> LeadPoolsProjection::List(
    Pool pool, std::string_view file_id, size_t limit,
    const std::function<bool(std::string_view lead_id)>& accept) const {
  std::vector<std::string> out;
  if (limit == 0) return out;
  NEXTIER_RETURN_IF_ERROR(Visit(pool, file_id, [&](std::string_view id) {
    if (!accept || accept(id)) out.emplace_back(id);
    return out.size() < limit;
  }));
  return out;
}

Result<uint64_t> LeadPoolsProjection::Count(Pool pool) const {
  auto txn = store_.BeginRead();
  if (!txn.ok()) return txn.status();
  return txn->Count(PoolTable(static_cast<char>(pool)));
}

Result<std::optional<LeadPoolsProjection::Pool>> LeadPoolsProjection::PoolOf(
    std::string_view lead_id) const {
  auto txn = store_.BeginRead();
  if (!txn.ok()) return txn.status();
  Row row;
  bool found = false;
  NEXTIER_RETURN_IF_ERROR(Load(*txn, lead_id, &row, &found));
  if (!found || row.pool == kNone) return std::optional<Pool>();
  return std::optional<Pool>(static_cast<Pool>(row.pool));
}

Result<std::vector<std::string>> LeadPoolsProjection::UnfinishedSkipTraceJobs() const {
  auto txn = store_.BeginRead();
  if (!txn.ok()) return txn.status();
  std::vector<std::string> out;
  NEXTIER_RETURN_IF_ERROR(txn->Scan(jobs_, "", "", [&](std::string_view k, std::string_view) {
    out.emplace_back(k);
    return true;
  }));
  return out;
}

}  // namespace nextier::projections
