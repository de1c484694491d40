#include "nextier/projections/files.h"

#include "record_codec.h"

namespace nextier::projections {

namespace {
using Which = eventstore::schema::Event::Payload::Which;
using codec::ViewOf;

std::string Encode(const FileRecord& r) {
  std::string out;
  codec::PutStr(out, r.id);
  codec::PutStr(out, r.name);
  codec::PutStr(out, r.source);
  codec::PutStr(out, r.status);
  codec::PutU64(out, r.size_bytes);
  codec::PutU64(out, r.rows);
  codec::PutU64(out, r.imported);
  codec::PutU64(out, r.duplicates);
  codec::PutU64(out, r.rejected);
  codec::PutU64(out, r.entities);
  codec::PutU64(out, static_cast<uint64_t>(r.created_at));
  codec::PutU64(out, static_cast<uint64_t>(r.finished_at));
  codec::PutStr(out, r.failure);
  codec::PutU64(out, r.first_seq);
  codec::PutU64(out, r.errors.size());
  for (const auto& e : r.errors) {
    codec::PutU64(out, e.row);
    codec::PutStr(out, e.reason);
  }
  codec::PutU64(out, r.mapping.size());
  for (const auto& [h, f] : r.mapping) {
    codec::PutStr(out, h);
    codec::PutStr(out, f);
  }
  return out;
}

Status Decode(std::string_view in, FileRecord* r) {
  codec::Reader rd(in);
  r->id = rd.Str();
  r->name = rd.Str();
  r->source = rd.Str();
  r->status = rd.Str();
  r->size_bytes = rd.U64();
  r->rows = rd.U64();
  r->imported = rd.U64();
  r->duplicates = rd.U64();
  r->rejected = rd.U64();
  r->entities = rd.U64();
  r->created_at = static_cast<int64_t>(rd.U64());
  r->finished_at = static_cast<int64_t>(rd.U64());
  r->failure = rd.Str();
  r->first_seq = rd.U64();
  const uint64_t n_errors = rd.U64();
  r->errors.clear();
  for (uint64_t i = 0; i < n_errors && rd.ok(); ++i) {
    FileRowError e;
    e.row = rd.U64();
    e.reason = rd.Str();
    r->errors.push_back(std::move(e));
  }
  const uint64_t n_mapping = rd.U64();
  r->mapping.clear();
  for (uint64_t i = 0; i < n_mapping && rd.ok(); ++i) {
    std::string h = rd.Str();
    std::string f = rd.Str();
    r->mapping.emplace_back(std::move(h), std::move(f));
  }
  if (!rd.ok()) return Status::Corruption("read models: files.by_id row does not decode");
  return Status::Ok();
}

void SetCounts(FileRecord* r, eventstore::schema::FileCounts::Reader c) {
  r->rows = c.getRows();
  r->imported = c.getImported();
  r->duplicates = c.getDuplicates();
  r->rejected = c.getRejected();
  r->entities = c.getEntities();
}

void SetMapping(FileRecord* r, capnp::List<eventstore::schema::ColumnMapping>::Reader m) {
  if (m.size() == 0) return;
  r->mapping.clear();
  for (auto c : m) r->mapping.emplace_back(ViewOf(c.getHeader()), ViewOf(c.getField()));
}

}  // namespace

Result<std::unique_ptr<FilesProjection>> FilesProjection::Open(ReadModelStore& store) {
  std::unique_ptr<FilesProjection> p(new FilesProjection(store));
  auto by_id = store.OpenTable("files.by_id");
  if (!by_id.ok()) return by_id.status();
  auto order = store.OpenTable("files.order");
  if (!order.ok()) return order.status();
  p->by_id_ = *by_id;
  p->order_ = *order;
  return p;
}

Status FilesProjection::Load(const Txn& txn, std::string_view id, FileRecord* out,
                             bool* found) const {
  std::string_view v;
  Status s = txn.Get(by_id_, id, &v);
  if (s.code() == StatusCode::kNotFound) {
    *found = false;
    return Status::Ok();
  }
  NEXTIER_RETURN_IF_ERROR(s);
  *found = true;
  return Decode(v, out);
}

Status FilesProjection::Save(Txn& txn, const FileRecord& record) {
  return txn.Put(by_id_, record.id, Encode(record));
}

Status FilesProjection::Apply(Txn& txn, const eventstore::EventView& event) {
  const auto ev = event.event();
  const auto payload = ev.getPayload();
  const auto which = payload.which();
  if (which != Which::FILE_UPLOADED && which != Which::FILE_PROGRESSED &&
      which != Which::FILE_FINISHED && which != Which::FILE_FAILED) {
    return Status::Ok();
  }
  std::string id(codec::IdFromStream(ViewOf(ev.getStreamId()), "file-"));
  if (which == Which::FILE_UPLOADED && payload.getFileUploaded().getFileId().size() > 0) {
    id = ViewOf(payload.getFileUploaded().getFileId());
  }
  if (id.empty() || id.size() > 400) return Status::Ok();
  FileRecord r;
  bool found = false;
  NEXTIER_RETURN_IF_ERROR(Load(txn, id, &r, &found));
  if (!found) {
    r.id = id;
    r.status = "importing";
    r.created_at = ev.getRecordedAt();
    r.first_seq = event.seq();
    std::string order_key = Be64(event.seq());
    order_key += id;
    NEXTIER_RETURN_IF_ERROR(txn.Put(order_, order_key, ""));
  }
  switch (which) {
    case Which::FILE_UPLOADED: {
      const auto u = payload.getFileUploaded();
      r.name = ViewOf(u.getName());
      r.source = ViewOf(u.getSource());
      r.size_bytes = u.getSizeBytes();
      SetMapping(&r, u.getMapping());
      break;
    }
    case Which::FILE_PROGRESSED:
      SetCounts(&r, payload.getFileProgressed().getCounts());
      break;
    case Which::FILE_FINISHED: {
      const auto f = payload.getFileFinished();
      SetCounts(&r, f.getCounts());
      r.errors.clear();
      for (auto e : f.getErrors())
        r.errors.push_back({e.getRow(), std::string(ViewOf(e.getReason()))});
      SetMapping(&r, f.getMapping());
      r.status = "done";
      r.finished_at = ev.getRecordedAt();
      break;
    }
    case Which::FILE_FAILED: {
      const auto f = payload.getFileFailed();
      SetCounts(&r, f.getCounts());
      r.failure = ViewOf(f.getReason());
      r.status = "failed";
      r.finished_at = ev.getRecordedAt();
      break;
    }
    default:
      break;
  }
  return Save(txn, r);
}

Result<FileRecord> FilesProjection::Get(std::string_view file_id) const {
  auto txn = store_.BeginRead();
  if (!txn.ok()) return txn.status();
  FileRecord r;
  bool found = false;
  if (file_id.empty() || file_id.size() > 400)
    found = false;
  else
    NEXTIER_RETURN_IF_ERROR(Load(*txn, file_id, &r, &found));
  if (!found) return Status::NotFound("no file " + std::string(file_id));
  return r;
}

Result<FilePage> FilesProjection::List(size_t limit, std::string_view cursor) const {
  std::string from;
  if (!cursor.empty()) {
    if (!codec::ParseHexCursor(cursor, &from)) {
      return Status::InvalidArgument("the cursor is not one this list handed out", "cursor");
    }
    from.push_back('\0');  // strictly after the last key returned
  }
  auto txn = store_.BeginRead();
  if (!txn.ok()) return txn.status();
  FilePage page;
  std::string last;
  bool more = false;
  Status inner;
  NEXTIER_RETURN_IF_ERROR(txn->Scan(order_, from, {}, [&](std::string_view k, std::string_view) {
    if (page.items.size() == limit) {
      more = true;
      return false;
    }
    if (k.size() <= 8) return true;
    FileRecord r;
    bool found = false;
    inner = Load(*txn, k.substr(8), &r, &found);
    if (!inner.ok()) return false;
    if (found) page.items.push_back(std::move(r));
    last.assign(k);
    return true;
  }));
  NEXTIER_RETURN_IF_ERROR(inner);
  if (more) page.next = codec::HexCursor(last);
  return page;
}

}  // namespace nextier::projections
