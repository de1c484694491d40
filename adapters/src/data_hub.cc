#include "nextier/adapters/data_hub.h"

#include <capnp/message.h>
#include <capnp/serialize.h>
#include <openssl/rand.h>
#include <sys/mman.h>

#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <fstream>
#include <functional>
#include <mutex>
#include <new>
#include <thread>

#include "nextier/adapters/logging.h"
#include "nextier/eventstore/personal.h"
#include "nextier/projections/files.h"
#include "nextier/workflows/matching.h"

namespace nextier::adapters {

namespace {

namespace es = eventstore;
using projections::LeadKeyKind;

constexpr size_t kMaxErrors = 100;
constexpr size_t kFileReadBytes = size_t{1} << 20;

std::string NewFileId() {
  unsigned char raw[6];
  if (RAND_bytes(raw, sizeof raw) != 1) {
    // Never expected; the time still makes a distinct id.
    const auto t =
        static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
    std::memcpy(raw, &t, sizeof raw);
  }
  return es::HexEncode(raw, sizeof raw);
}

void AppendNormalised(std::string& out, std::string_view text) {
  for (char c : text) {
    if (c >= 'A' && c <= 'Z') {
      out.push_back(static_cast<char>(c - 'A' + 'a'));
    } else if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
               (static_cast<unsigned char>(c) >= 0x80)) {
      out.push_back(c);
    }
  }
}

uint64_t Prefix64(std::string_view hash) {
  uint64_t v = 0;
  std::memcpy(&v, hash.data(), std::min<size_t>(8, hash.size()));
  return v == 0 ? 1 : v;
}

// Open addressing, linear probing: 64-bit hash prefix -> row. Keys are never removed.
// A million-row file fills tens of MB of slots, so every probe is a cache (and TLB) miss:
// callers Prefetch a key's slot as soon as they know the key, and the slots sit in huge pages.
class PrefixTable {
 public:
  PrefixTable() { Allocate(1024); }
  ~PrefixTable() { Free(slots_, mask_ + 1); }
  PrefixTable(const PrefixTable&) = delete;
  PrefixTable& operator=(const PrefixTable&) = delete;

  // The row stored for `key`, or 0.
  uint64_t Find(uint64_t key) const {
    for (size_t i = key & mask_;; i = (i + 1) & mask_) {
      if (slots_[i].key == key) return slots_[i].row;
      if (slots_[i].key == 0) return 0;
    }
  }
  void Prefetch(uint64_t key) const { __builtin_prefetch(&slots_[key & mask_]); }
  void Insert(uint64_t key, uint64_t row) {
    if ((used_ + 1) * 10 > (mask_ + 1) * 7) Grow();
    Place(key, row);
  }

 private:
  struct Slot {
    uint64_t key = 0;
    uint64_t row = 0;
  };
  static constexpr size_t kHugePage = 2u << 20;
  // Large tables are mapped directly: the kernel hands out zeroed pages (no memset pass over
  // tens of MB), in huge pages where it can.
  void Allocate(size_t count) {
    const size_t bytes = count * sizeof(Slot);
    if (bytes >= kHugePage) {
      // Huge pages need 2 MiB alignment: map one more, unmap the slack on either side.
      void* p = mmap(nullptr, bytes + kHugePage, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
      if (p == MAP_FAILED) throw std::bad_alloc();
      auto* raw = static_cast<char*>(p);
      auto* aligned = reinterpret_cast<char*>((reinterpret_cast<uintptr_t>(raw) + kHugePage - 1) &
                                              ~uintptr_t{kHugePage - 1});
      if (aligned > raw) (void)munmap(raw, static_cast<size_t>(aligned - raw));
      if (aligned + bytes < raw + bytes + kHugePage) {
        (void)munmap(aligned + bytes, static_cast<size_t>(raw + kHugePage - aligned));
      }
      (void)madvise(aligned, bytes, MADV_HUGEPAGE);  // a hint only
      slots_ = reinterpret_cast<Slot*>(aligned);
    } else {
      slots_ = static_cast<Slot*>(std::calloc(count, sizeof(Slot)));
      if (slots_ == nullptr) throw std::bad_alloc();
    }
    mask_ = count - 1;
    used_ = 0;
  }
  static void Free(Slot* slots, size_t count) {
    if (slots == nullptr) return;
    if (count * sizeof(Slot) >= kHugePage) {
      (void)munmap(slots, count * sizeof(Slot));
    } else {
      std::free(slots);
    }
  }
  void Place(uint64_t key, uint64_t row) {
    for (size_t i = key & mask_;; i = (i + 1) & mask_) {
      if (slots_[i].key == key) return;  // first writer wins
      if (slots_[i].key == 0) {
        slots_[i] = {key, row};
        ++used_;
        return;
      }
    }
  }
  void Grow() {
    Slot* old = slots_;
    const size_t old_count = mask_ + 1;
    Allocate(old_count * 2);
    for (size_t i = 0; i < old_count; ++i) {
      if (old[i].key != 0) Place(old[i].key, old[i].row);
    }
    Free(old, old_count);
  }
  Slot* slots_ = nullptr;
  size_t mask_ = 0;
  size_t used_ = 0;
};

void SetCounts(es::schema::FileCounts::Builder b, const ImportCounts& c) {
  b.setRows(c.rows);
  b.setImported(c.imported);
  b.setDuplicates(c.duplicates);
  b.setRejected(c.rejected);
  b.setEntities(c.entities);
}

}  // namespace

std::string NameCompanyZipKey(const CleanedLead& lead) {
  std::string name;
  if (!lead.first_name.empty() || !lead.last_name.empty()) {
    AppendNormalised(name, lead.first_name);
    AppendNormalised(name, lead.last_name);
  } else {
    AppendNormalised(name, lead.full_name);
  }
  std::string company;
  AppendNormalised(company, lead.company);
  if (name.empty() || company.empty() || lead.zip.empty()) return {};
  return name + "|" + company + "|" + lead.zip;
}

// --- the gate that serialises imports ---

struct DataHub::Gate {
  std::mutex mu;
  std::condition_variable cv;
  bool busy = false;
};

// --- the parse stage ---

// Reads, maps and cleans rows on a thread of its own while the job's thread dedupes, seals and
// builds the events of the rows before them: the two halves of a row's work overlap. Each Run
// covers one chunk and returns only when every row it completed has been consumed, so a Feed
// still means "this chunk is imported" (an Abort keeps exactly the batches stored before it).
class ParseStage final : public CsvVisitor {
 public:
  struct Item {
    enum class Kind : uint8_t { kHeader, kLead, kRowError };
    Kind kind = Kind::kLead;
    uint64_t row = 0;
    bool name_columns = false;  // the row had first/last name columns (entity check)
    CleanedLead lead;
    std::string reason;  // kRowError
  };
  using Consumer = std::function<Status(std::vector<Item>&)>;

  ParseStage(const CsvOptions& csv, MappingOptions mapping_options)
      : mapping_options_(std::move(mapping_options)), reader_(csv, this) {
    worker_ = std::thread([this] { Work(); });
  }
  ~ParseStage() {
    {
      std::lock_guard lock(mu_);
      quit_ = true;
    }
    cv_.notify_all();
    worker_.join();
  }
  ParseStage(const ParseStage&) = delete;
  ParseStage& operator=(const ParseStage&) = delete;

  // Parses `chunk` (or, when `eof`, ends the input) on the worker and hands every group of rows
  // to `consume`, in order, on this thread. Returns the reader's error or the first error of
  // `consume` (the rest of the chunk is then dropped and the reader stopped).
  Status Run(std::string_view chunk, bool eof, const Consumer& consume) {
    std::unique_lock lock(mu_);
    chunk_ = chunk;
    eof_ = eof;
    has_job_ = true;
    job_done_ = false;
    cv_.notify_all();
    Status consumer_error;
    while (true) {
      cv_.wait(lock, [&] { return !ready_.empty() || job_done_; });
      if (ready_.empty() && job_done_) break;
      std::vector<Item> group = std::move(ready_.front());
      ready_.pop_front();
      lock.unlock();
      if (consumer_error.ok()) {
        consumer_error = consume(group);
        if (!consumer_error.ok()) stop_.store(true);
      }
      group.clear();
      lock.lock();
      spare_.push_back(std::move(group));
    }
    has_job_ = false;
    if (!consumer_error.ok()) return consumer_error;
    return job_status_;
  }

  // Valid once the kHeader item was consumed.
  const LeadMapping& mapping() const { return mapping_; }

  // --- CsvVisitor (on the worker) ---

  Status OnRecord(const CsvRecord& record) override {
    if (stop_.load(std::memory_order_relaxed))
      return Status::Unavailable("the import stopped");  // never shown: Run returns the cause
    Item& item = Next();
    item.row = record.row;
    if (record.row == 1) {
      auto mapping = MapHeaders(record.fields, mapping_options_);
      if (!mapping.ok()) {
        group_.pop_back();
        return Status::InvalidArgument("the header cannot be mapped: " + mapping.status().message(),
                                       "mapping");
      }
      mapping_ = std::move(*mapping);
      item.kind = Item::Kind::kHeader;
    } else {
      RawLead raw = MapRow(mapping_, record.fields);
      item.kind = Item::Kind::kLead;
      item.name_columns = !raw.first_name.empty() || !raw.last_name.empty();
      item.lead = CleanLead(std::move(raw));
    }
    if (group_.size() >= kGroupRows) Publish();
    return Status::Ok();
  }

  Status OnRowError(const CsvRowError& error) override {
    if (error.row <= 1) return Status::Ok();  // the header's own problems fail the file
    Item& item = Next();
    item.kind = Item::Kind::kRowError;
    item.row = error.row;
    item.reason = error.reason;
    if (group_.size() >= kGroupRows) Publish();
    return Status::Ok();
  }

 private:
  static constexpr size_t kGroupRows = 64;

  Item& Next() {
    group_.emplace_back();
    return group_.back();
  }

  void Publish() {
    if (group_.empty()) return;
    std::vector<Item> next;
    {
      std::lock_guard lock(mu_);
      ready_.push_back(std::move(group_));
      if (!spare_.empty()) {
        next = std::move(spare_.back());
        spare_.pop_back();
      }
    }
    cv_.notify_all();
    group_ = std::move(next);
    group_.clear();
  }

  void Work() {
    std::unique_lock lock(mu_);
    while (true) {
      cv_.wait(lock, [&] { return quit_ || (has_job_ && !job_done_ && !working_); });
      if (quit_) return;
      working_ = true;
      const std::string_view chunk = chunk_;
      const bool eof = eof_;
      lock.unlock();
      Status s = eof ? reader_.Finish() : reader_.Feed(chunk);
      Publish();
      lock.lock();
      working_ = false;
      job_status_ = s;
      job_done_ = true;
      cv_.notify_all();
    }
  }

  const MappingOptions mapping_options_;
  CsvReader reader_;
  LeadMapping mapping_;
  std::vector<Item> group_;  // worker only

  std::mutex mu_;
  std::condition_variable cv_;
  bool quit_ = false;
  bool has_job_ = false;
  bool job_done_ = false;
  bool working_ = false;
  std::string_view chunk_;
  bool eof_ = false;
  Status job_status_;
  std::deque<std::vector<Item>> ready_;
  std::vector<std::vector<Item>> spare_;  // emptied groups, their capacity reused
  std::atomic<bool> stop_{false};
  std::thread worker_;
};

// --- the job ---

class ImportJob::Impl final {
 public:
  Impl(DataHub& hub, ImportOptions options, std::string file_id,
       std::shared_ptr<const workflows::Workflow> workflow)
      : hub_(hub),
        options_(std::move(options)),
        file_id_(std::move(file_id)),
        file_stream_("file-" + file_id_),
        workflow_(std::move(workflow)),
        parser_(options_.csv, MappingFor(options_)) {
    if (options_.correlation_id.empty()) options_.correlation_id = "import:" + file_id_;
    if (options_.batch_rows == 0) options_.batch_rows = 1000;
    result_.file_id = file_id_;
    result_.name = options_.name;
    result_.created_at = hub_.clock_.Now();
  }

  Status Feed(std::string_view chunk) {
    if (finished_) return Status::InvalidArgument("the import is finished");
    if (!failure_.ok()) return failure_;
    bytes_ += chunk.size();
    Status s = parser_.Run(chunk, /*eof=*/false, consume_);
    if (!s.ok()) NoteFailure(s);
    return failure_;
  }

  ImportResult Finish() {
    if (finished_) return result_;
    if (failure_.ok()) {
      Status s = parser_.Run({}, /*eof=*/true, consume_);
      if (!s.ok()) NoteFailure(s);
    }
    if (failure_.ok()) {
      Status s = FlushBatch(/*last=*/true);
      if (!s.ok()) NoteFailure(s);
    }
    if (!failure_.ok()) WriteFailure();
    finished_ = true;
    hub_.Release();
    return result_;
  }

  ImportResult Abort(std::string reason) {
    if (finished_) return result_;
    if (failure_.ok()) NoteFailure(Status::Unavailable(std::move(reason)));
    return Finish();
  }

  const std::string& file_id() const { return file_id_; }
  uint64_t bytes() const { return bytes_; }
  ImportCounts counts() const { return counts_; }
  bool finished() const { return finished_; }

 private:
  static MappingOptions MappingFor(const ImportOptions& options) {
    MappingOptions mo;
    mo.source = options.source;
    mo.overrides = options.overrides;
    return mo;
  }

  // The rows the parse stage completed, in order.
  Status Consume(std::vector<ParseStage::Item>& items) {
    for (auto& item : items) {
      switch (item.kind) {
        case ParseStage::Item::Kind::kHeader: {
          const LeadMapping& mapping = parser_.mapping();
          result_.source = LeadSourceName(mapping.source);
          for (const auto& c : mapping.columns) {
            result_.mapping.emplace_back(c.header, std::string(LeadFieldName(c.field)));
          }
          continue;
        }
        case ParseStage::Item::Kind::kRowError:
          ++counts_.rows;
          Reject(item.row, std::move(item.reason));
          break;
        case ParseStage::Item::Kind::kLead:
          ++counts_.rows;
          NEXTIER_RETURN_IF_ERROR(OnLead(item.row, item.lead, item.name_columns));
          break;
      }
      if (rows_in_batch_ >= options_.batch_rows) NEXTIER_RETURN_IF_ERROR(FlushBatch(false));
    }
    return Status::Ok();
  }

  Status OnLead(uint64_t row, const CleanedLead& lead, bool name_columns) {
    const bool has_name = !lead.first_name.empty() || !lead.last_name.empty() ||
                          !lead.full_name.empty() || !lead.company.empty();
    const bool has_contact = !lead.phones.empty() || !lead.email.empty();
    if (!has_name && !has_contact) {
      std::string reason = "no usable name, phone or email";
      for (const auto& p : lead.problems) reason += "; " + p.field + ": " + p.reason;
      Reject(row, std::move(reason));
      return Status::Ok();
    }
    return Accept(row, lead, name_columns);
  }

  void Reject(uint64_t row, std::string reason) {
    ++counts_.rejected;
    ++rows_in_batch_;
    if (result_.errors.size() < kMaxErrors) result_.errors.emplace_back(row, std::move(reason));
  }

  static std::string LeadIdFor(const std::string& file_id, uint64_t row) {
    return file_id + "-" + std::to_string(row);
  }

  // The lead matched by `hash` of `kind`: in this file first, then among stored leads.
  Result<std::optional<std::string>> Match(LeadKeyKind kind, std::string_view hash) {
    if (uint64_t row = seen_.Find(SeenKey(kind, hash)); row != 0) {
      return std::optional<std::string>(LeadIdFor(file_id_, row));
    }
    if (!read_txn_) {
      auto txn = hub_.index_.store().BeginRead();
      if (!txn.ok()) return txn.status();
      read_txn_.emplace(std::move(*txn));
    }
    return hub_.index_.Find(*read_txn_, kind, hash);
  }

  static uint64_t SeenKey(LeadKeyKind kind, std::string_view hash) {
    const uint64_t key = Prefix64(hash) ^ static_cast<uint64_t>(kind);
    return key == 0 ? 1 : key;
  }
  void Prefetch(LeadKeyKind kind, std::string_view hash) const {
    seen_.Prefetch(SeenKey(kind, hash));
  }

  void Remember(LeadKeyKind kind, std::string_view hash, uint64_t row) {
    seen_.Insert(SeenKey(kind, hash), row);
  }

  es::schema::Event::Builder Stamp(es::NewEvent& e) {
    auto b = e.builder();
    b.setRecordedAt(hub_.clock_.Now());
    b.setCorrelationId(options_.correlation_id);
    b.setCausationId(file_stream_);
    b.setWorkflowId(workflow_->id);
    b.setWorkflowVersion(workflow_->version);
    b.setActor(options_.actor);
    return b;
  }

  Status Accept(uint64_t row, const CleanedLead& lead, bool name_columns) {
    auto& keys = hub_.store_.keys();
    std::vector<std::string> phone_hashes;
    phone_hashes.reserve(lead.phones.size());
    for (const auto& p : lead.phones) {
      phone_hashes.push_back(keys.BlindIndex(LeadKeyPurpose(LeadKeyKind::kPhone), p));
      Prefetch(LeadKeyKind::kPhone, phone_hashes.back());
    }
    std::string email_hash;
    if (!lead.email.empty()) {
      email_hash = keys.BlindIndex(LeadKeyPurpose(LeadKeyKind::kEmail), lead.email);
      Prefetch(LeadKeyKind::kEmail, email_hash);
    }
    std::string name_hash;
    if (const std::string nk = NameCompanyZipKey(lead); !nk.empty()) {
      name_hash = keys.BlindIndex(LeadKeyPurpose(LeadKeyKind::kNameCompanyZip), nk);
      Prefetch(LeadKeyKind::kNameCompanyZip, name_hash);
    }

    // Dedupe: phones, then the email, then name + company + ZIP.
    std::optional<std::string> matched;
    LeadKeyKind matched_by = LeadKeyKind::kPhone;
    auto check = [&](LeadKeyKind kind, const std::string& hash) -> Status {
      if (matched || hash.empty()) return Status::Ok();
      auto m = Match(kind, hash);
      if (!m.ok()) return m.status();
      if (*m) {
        matched = std::move(*m);
        matched_by = kind;
      }
      return Status::Ok();
    };
    for (const auto& h : phone_hashes) NEXTIER_RETURN_IF_ERROR(check(LeadKeyKind::kPhone, h));
    NEXTIER_RETURN_IF_ERROR(check(LeadKeyKind::kEmail, email_hash));
    NEXTIER_RETURN_IF_ERROR(check(LeadKeyKind::kNameCompanyZip, name_hash));
    ++rows_in_batch_;
    if (matched) {
      ++counts_.duplicates;
      es::NewEvent e;
      auto d = Stamp(e).getPayload().initDuplicateFound();
      d.setFileId(file_id_);
      d.setRow(row);
      d.setMatchedLeadId(*matched);
      d.setMatchedBy(std::string(projections::LeadKeyKindName(matched_by)));
      file_events_.push_back(std::move(e));
      return Status::Ok();
    }

    // Entity detection looks at the person we would text, never the company.
    const bool entity = name_columns
                            ? workflows::IsEntityName(*workflow_, lead.first_name, lead.last_name)
                            : workflows::IsEntityName(*workflow_, lead.full_name, {});
    const int score = workflows::ScoreTitle(*workflow_, lead.title);
    const std::string lead_id = LeadIdFor(file_id_, row);
    const std::string stream = "lead-" + lead_id;

    capnp::MallocMessageBuilder personal_message(
        kj::arrayPtr(personal_scratch_.get(), kPersonalWords));
    auto p = personal_message.initRoot<es::schema::Personal>();
    p.setFirstName(lead.first_name);
    p.setLastName(lead.last_name);
    p.setFullName(lead.full_name);
    auto phones = p.initPhones(static_cast<unsigned>(lead.phones.size()));
    for (size_t i = 0; i < lead.phones.size(); ++i)
      phones.set(static_cast<unsigned>(i), lead.phones[i]);
    p.setEmail(lead.email);
    p.setStreet(lead.street);
    p.setCity(lead.city);
    p.setState(lead.state);
    p.setZip(lead.zip);
    p.setMailingAddress(lead.mailing_address);
    p.setPropertyAddress(lead.property_address);
    // Attributes: the unmapped columns plus the mapped business fields not in LeadImported.
    std::vector<std::pair<std::string_view, std::string_view>> attrs;
    const std::pair<std::string_view, const std::string*> extra[] = {
        {"coOwner", &lead.co_owner},
        {"nameSuffix", &lead.name_suffix},
        {"county", &lead.county},
        {"website", &lead.website},
        {"industry", &lead.industry},
        {"employees", &lead.employees},
        {"annualSales", &lead.annual_sales},
        {"sicCode", &lead.sic_code},
        {"linkedin", &lead.linkedin},
        {"apn", &lead.apn}};
    for (const auto& [k, v] : extra) {
      if (!v->empty()) attrs.emplace_back(k, *v);
    }
    for (const auto& [k, v] : lead.attributes) attrs.emplace_back(k, v);
    auto list = p.initAttributes(static_cast<unsigned>(attrs.size()));
    for (size_t i = 0; i < attrs.size(); ++i) {
      list[static_cast<unsigned>(i)].setName(
          capnp::Text::Reader(attrs[i].first.data(), attrs[i].first.size()));
      list[static_cast<unsigned>(i)].setValue(
          capnp::Text::Reader(attrs[i].second.data(), attrs[i].second.size()));
    }
    es::NewEvent e(kLeadImportedWords);
    auto sealed = keys.SealNew(stream, es::EncodePersonal(personal_message), &e.fresh_key());
    if (!sealed.ok()) return sealed.status();

    auto b = Stamp(e);
    b.setKeySubject(stream);
    auto li = b.getPayload().initLeadImported();
    li.setLeadId(lead_id);
    li.setFileId(file_id_);
    li.setRow(row);
    li.setSource(std::string(LeadSourceName(lead.source)));
    li.setPersonal(
        capnp::Data::Reader(reinterpret_cast<const kj::byte*>(sealed->data()), sealed->size()));
    li.setCompany(lead.company);
    li.setTitle(lead.title);
    li.setRoleScore(score);
    li.setIsEntity(entity);
    auto ph = li.initPhoneHashes(static_cast<unsigned>(phone_hashes.size()));
    for (size_t i = 0; i < phone_hashes.size(); ++i) {
      ph.set(static_cast<unsigned>(i),
             capnp::Data::Reader(reinterpret_cast<const kj::byte*>(phone_hashes[i].data()),
                                 phone_hashes[i].size()));
    }
    if (!email_hash.empty()) {
      li.setEmailHash(capnp::Data::Reader(reinterpret_cast<const kj::byte*>(email_hash.data()),
                                          email_hash.size()));
    }
    if (!name_hash.empty()) {
      li.setNameKeyHash(capnp::Data::Reader(reinterpret_cast<const kj::byte*>(name_hash.data()),
                                            name_hash.size()));
    }
    es::StreamAppend append;
    append.stream = stream;
    append.expected = es::ExpectedVersion::NoStream();
    append.events.push_back(std::move(e));
    lead_appends_.push_back(std::move(append));

    for (const auto& h : phone_hashes) Remember(LeadKeyKind::kPhone, h, row);
    if (!email_hash.empty()) Remember(LeadKeyKind::kEmail, email_hash, row);
    if (!name_hash.empty()) Remember(LeadKeyKind::kNameCompanyZip, name_hash, row);
    ++counts_.imported;
    if (entity) ++counts_.entities;
    return Status::Ok();
  }

  void AddUploaded(std::vector<es::NewEvent>& events) {
    es::NewEvent e;
    auto u = Stamp(e).getPayload().initFileUploaded();
    u.setFileId(file_id_);
    u.setName(options_.name);
    u.setSource(result_.source);
    u.setSizeBytes(options_.size_bytes != 0 ? options_.size_bytes : bytes_);
    auto m = u.initMapping(static_cast<unsigned>(result_.mapping.size()));
    for (size_t i = 0; i < result_.mapping.size(); ++i) {
      m[static_cast<unsigned>(i)].setHeader(result_.mapping[i].first);
      m[static_cast<unsigned>(i)].setField(result_.mapping[i].second);
    }
    events.push_back(std::move(e));
  }

  void AddMapping(capnp::List<es::schema::ColumnMapping>::Builder m) {
    for (size_t i = 0; i < result_.mapping.size(); ++i) {
      m[static_cast<unsigned>(i)].setHeader(result_.mapping[i].first);
      m[static_cast<unsigned>(i)].setField(result_.mapping[i].second);
    }
  }

  Status Append(std::vector<es::StreamAppend> unit) {
    auto r = hub_.store_.AppendUnit(std::move(unit),
                                    "import:" + file_id_ + ":" + std::to_string(++batches_));
    if (!r.ok()) return r.status();
    for (const auto& s : r->streams) {
      if (s.stream == file_stream_) file_version_ = s.last_version;
    }
    return Status::Ok();
  }

  // Pipelining: up to kMaxInFlight batches are being committed (fsync'd) by the store's writer
  // while the next one is parsed. Only this job writes its file stream, so its version is
  // known in advance; a failed batch fails every later one (their expected versions no longer
  // hold) and the job with it.
  static constexpr int kMaxInFlight = 16;
  // A LeadImported event with its sealed, packed personal data is 0.8 to 1 KiB (104 to 127
  // words for import_bench's rows): one segment, with room for more attributes. The segment is
  // zeroed when allocated, so a generous one costs a memset and page faults per row.
  static constexpr unsigned kLeadImportedWords = 160;
  // The plaintext personal record is built in this reused first segment: the builder zeroes
  // only the words it used when it is destroyed, instead of allocating and zeroing 2 KiB a row.
  static constexpr size_t kPersonalWords = 256;
  std::unique_ptr<capnp::word[]> personal_scratch_ =
      std::make_unique<capnp::word[]>(kPersonalWords);
  struct InFlight {
    std::mutex mu;
    std::condition_variable cv;
    int pending = 0;
    Status error;
    ImportCounts acked;  // the counts as of the last batch committed
  };

  Status AppendPipelined(std::vector<es::StreamAppend> unit, size_t file_events) {
    {
      std::unique_lock lock(flight_->mu);
      flight_->cv.wait(lock, [&] { return flight_->pending < kMaxInFlight; });
      if (!flight_->error.ok()) return flight_->error;
      ++flight_->pending;
    }
    file_version_ += file_events;
    hub_.store_.AppendAsync(std::move(unit),
                            "import:" + file_id_ + ":" + std::to_string(++batches_),
                            [flight = flight_, counts = counts_](Result<es::AppendResult> r) {
                              std::lock_guard lock(flight->mu);
                              --flight->pending;
                              if (!r.ok()) {
                                if (flight->error.ok()) flight->error = r.status();
                              } else if (flight->error.ok()) {
                                flight->acked = counts;
                              }
                              flight->cv.notify_all();
                            });
    return Status::Ok();
  }

  // Waits for every batch in flight; their first error.
  Status Drain() {
    std::unique_lock lock(flight_->mu);
    flight_->cv.wait(lock, [&] { return flight_->pending == 0; });
    return flight_->error;
  }

  es::ExpectedVersion FileExpected() const { return es::ExpectedVersion::Exactly(file_version_); }

  // Stores the rows since the last batch, with FileProgressed (or, when `last`, FileFinished).
  Status FlushBatch(bool last) {
    read_txn_.reset();  // the next batch sees what the runner applied meanwhile
    if (!last && rows_in_batch_ == 0) return Status::Ok();
    es::StreamAppend file;
    file.stream = file_stream_;
    file.expected = FileExpected();
    if (!uploaded_) AddUploaded(file.events);
    for (auto& e : file_events_) file.events.push_back(std::move(e));
    file_events_.clear();
    es::NewEvent closing;
    auto b = Stamp(closing).getPayload();
    if (last) {
      auto f = b.initFileFinished();
      SetCounts(f.initCounts(), counts_);
      auto errs = f.initErrors(static_cast<unsigned>(result_.errors.size()));
      for (size_t i = 0; i < result_.errors.size(); ++i) {
        errs[static_cast<unsigned>(i)].setRow(result_.errors[i].first);
        errs[static_cast<unsigned>(i)].setReason(result_.errors[i].second);
      }
      AddMapping(f.initMapping(static_cast<unsigned>(result_.mapping.size())));
    } else {
      SetCounts(b.initFileProgressed().initCounts(), counts_);
    }
    file.events.push_back(std::move(closing));
    const size_t file_events = file.events.size();
    std::vector<es::StreamAppend> unit = std::move(lead_appends_);
    lead_appends_.clear();
    unit.push_back(std::move(file));
    if (last) {
      // The file is done only when every batch before FileFinished is durable.
      NEXTIER_RETURN_IF_ERROR(Drain());
      NEXTIER_RETURN_IF_ERROR(Append(std::move(unit)));
      stored_ = counts_;
    } else {
      NEXTIER_RETURN_IF_ERROR(AppendPipelined(std::move(unit), file_events));
    }
    uploaded_ = true;
    rows_in_batch_ = 0;
    if (last) {
      result_.status = "done";
      result_.counts = counts_;
      result_.bytes = bytes_;
      result_.finished_at = hub_.clock_.Now();
    }
    return Status::Ok();
  }

  void NoteFailure(const Status& s) {
    if (!failure_.ok()) return;
    failure_ = s;
  }

  void WriteFailure() {
    (void)Drain();
    {
      std::lock_guard lock(flight_->mu);
      stored_ = flight_->acked;
    }
    // What really reached the file stream (a failed batch left it shorter than planned).
    if (auto v = hub_.store_.StreamVersion(file_stream_); v.ok()) {
      file_version_ = *v;
      uploaded_ = *v > 0;
    }
    read_txn_.reset();
    lead_appends_.clear();
    file_events_.clear();
    result_.status = "failed";
    result_.failure = failure_.message();
    result_.failure_code = failure_.code();
    result_.invalid_file = failure_.code() == StatusCode::kInvalidArgument;
    result_.counts = stored_;
    result_.bytes = bytes_;
    result_.finished_at = hub_.clock_.Now();
    es::StreamAppend file;
    file.stream = file_stream_;
    file.expected = FileExpected();
    if (!uploaded_) AddUploaded(file.events);
    es::NewEvent e;
    auto f = Stamp(e).getPayload().initFileFailed();
    f.setReason(failure_.message());
    SetCounts(f.initCounts(), stored_);
    file.events.push_back(std::move(e));
    std::vector<es::StreamAppend> unit;
    unit.push_back(std::move(file));
    Status s = Append(std::move(unit));
    if (!s.ok()) result_.failure += " (and recording the failure failed: " + s.message() + ")";
  }

  DataHub& hub_;
  ImportOptions options_;
  std::string file_id_;
  std::string file_stream_;
  std::shared_ptr<const workflows::Workflow> workflow_;
  ParseStage parser_;
  const ParseStage::Consumer consume_ = [this](std::vector<ParseStage::Item>& items) {
    return Consume(items);
  };

  Status failure_;
  bool finished_ = false;
  bool uploaded_ = false;
  uint64_t bytes_ = 0;
  uint64_t batches_ = 0;
  uint64_t file_version_ = 0;
  size_t rows_in_batch_ = 0;
  ImportCounts counts_;
  ImportCounts stored_;  // as of the last stored batch
  ImportResult result_;

  std::shared_ptr<InFlight> flight_ = std::make_shared<InFlight>();
  PrefixTable seen_;
  std::optional<projections::Txn> read_txn_;
  std::vector<es::StreamAppend> lead_appends_;
  std::vector<es::NewEvent> file_events_;
};

ImportJob::ImportJob(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ImportJob::~ImportJob() {
  if (impl_ && !impl_->finished()) impl_->Abort("the import was abandoned");
}
Status ImportJob::Feed(std::string_view chunk) { return impl_->Feed(chunk); }
ImportResult ImportJob::Finish() { return impl_->Finish(); }
ImportResult ImportJob::Abort(std::string reason) { return impl_->Abort(std::move(reason)); }
const std::string& ImportJob::file_id() const { return impl_->file_id(); }
uint64_t ImportJob::bytes_fed() const { return impl_->bytes(); }
ImportCounts ImportJob::counts() const { return impl_->counts(); }

// --- the hub ---

DataHub::DataHub(eventstore::EventStore& store, const engine::Clock& clock,
                 engine::WorkflowRegistry& registry, projections::ProjectionRunner& runner,
                 projections::LeadIndexProjection& index)
    : store_(store),
      clock_(clock),
      registry_(registry),
      runner_(runner),
      index_(index),
      gate_(std::make_unique<Gate>()) {}

DataHub::~DataHub() {
  stopping_ = true;
  if (recovery_.joinable()) recovery_.join();
}

void DataHub::FailInterruptedImports(const projections::FilesProjection& files) {
  if (recovery_.joinable()) return;  // once per hub
  const uint64_t head = store_.Head();
  recovery_ = std::thread([this, &files, head] {
    // Nothing of this process has imported yet at `head`, so every file the read models show
    // importing up to there was cut off.
    while (!stopping_) {
      Status s = runner_.WaitFor(head, std::chrono::milliseconds(200));
      if (s.ok()) break;
      if (!s.retryable()) {
        LogError("data hub: cannot check for interrupted imports: " + s.ToString());
        return;
      }
    }
    std::vector<projections::FileRecord> cut;
    std::string cursor;
    while (!stopping_) {
      auto page = files.List(100, cursor);
      if (!page.ok()) {
        LogError("data hub: cannot list files for interrupted imports: " +
                 page.status().ToString());
        return;
      }
      for (auto& f : page->items) {
        if (f.status == "importing" && f.first_seq <= head) cut.push_back(std::move(f));
      }
      if (!page->next) break;
      cursor = *page->next;
    }
    for (const auto& f : cut) {
      if (stopping_) return;
      es::NewEvent e;
      auto b = e.builder();
      b.setRecordedAt(clock_.Now());
      b.setCorrelationId("file-" + f.id);
      b.setCausationId("file-" + f.id);
      b.setActor("system");
      auto failed = b.getPayload().initFileFailed();
      failed.setReason(
          "interrupted: the import stopped before the file's end (the server was stopped or "
          "crashed, or the disk was full); " +
          std::to_string(f.rows) +
          " rows were handled and are kept. Upload the file again to import the rest: rows "
          "already imported count as duplicates");
      ImportCounts c;
      c.rows = f.rows;
      c.imported = f.imported;
      c.duplicates = f.duplicates;
      c.rejected = f.rejected;
      c.entities = f.entities;
      SetCounts(failed.initCounts(), c);
      std::vector<es::StreamAppend> unit;
      unit.push_back(es::StreamAppend{"file-" + f.id, es::ExpectedVersion::Any(), {}});
      unit.back().events.push_back(std::move(e));
      auto r = store_.AppendUnit(std::move(unit), "interrupted:" + f.id);
      if (!r.ok()) {
        LogError("data hub: cannot mark file " + f.id +
                 " as interrupted: " + r.status().ToString());
        return;
      }
      LogWarn("data hub: file " + f.id + " (" + f.name + ") was cut off mid-import; marked failed");
    }
  });
}

void DataHub::Release() {
  {
    std::lock_guard lock(gate_->mu);
    gate_->busy = false;
  }
  gate_->cv.notify_one();
}

Result<std::unique_ptr<ImportJob>> DataHub::StartImport(ImportOptions options, bool wait) {
  if (options.workflow_id.empty()) options.workflow_id = std::string(kDefaultImportWorkflow);
  auto wf = registry_.Get(options.workflow_id);
  if (!wf.ok()) {
    return Status::InvalidArgument("unknown workflow '" + options.workflow_id + "'", "workflow");
  }
  {
    std::unique_lock lock(gate_->mu);
    if (!wait && gate_->busy) {
      return Status::Conflict("another import is running; retry when it has finished");
    }
    gate_->cv.wait(lock, [this] { return !gate_->busy; });
    gate_->busy = true;
  }
  // Dedupe against stored leads reads the index: bring it up to the log's head first.
  if (Status s = runner_.CatchUp(); !s.ok()) {
    Release();
    return s;
  }
  auto impl =
      std::make_unique<ImportJob::Impl>(*this, std::move(options), NewFileId(), wf->workflow);
  return std::unique_ptr<ImportJob>(new ImportJob(std::move(impl)));
}

Result<ImportResult> DataHub::ImportFile(
    const std::string& path, ImportOptions options,
    const std::function<void(uint64_t, const ImportCounts&)>& progress) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::NotFound("cannot open " + path);
  auto job = StartImport(std::move(options));
  if (!job.ok()) return job.status();
  // Large reads: each Feed overlaps parsing with importing only within its chunk.
  std::vector<char> buf(kFileReadBytes);
  while (in) {
    in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
    const auto got = static_cast<size_t>(in.gcount());
    if (got == 0) break;
    if (!(*job)->Feed(std::string_view(buf.data(), got)).ok()) break;
    if (progress) progress((*job)->bytes_fed(), (*job)->counts());
  }
  if (in.bad()) return (*job)->Abort("reading " + path + " failed");
  return (*job)->Finish();
}

}  // namespace nextier::adapters
