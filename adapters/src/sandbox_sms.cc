#include "nextier/adapters/sandbox_sms.h"

#include <lmdb.h>

#include <cerrno>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <system_error>
#include <utility>

#include "nextier/common/disk_space.h"

namespace nextier::adapters {

namespace {

// 1 GiB of address space; the file is sparse and grows only with what is stored (millions of
// messages at a few hundred bytes each), so the map never needs to grow at run time.
constexpr size_t kMapSize = size_t{1} << 30;

// Every LMDB return code passes through here, named by the operation.
Status Check(int rc, std::string_view op) {
  if (rc == MDB_SUCCESS) return Status::Ok();
  std::string msg = "sandbox sms store: ";
  msg += op;
  msg += ": ";
  msg += mdb_strerror(rc);
  switch (rc) {
    case MDB_NOTFOUND:
    case ENOENT:
      return Status::NotFound(std::move(msg));
    case MDB_MAP_FULL:
    case MDB_TXN_FULL:
    case MDB_READERS_FULL:
    case ENOSPC:
    case EDQUOT:
      return Status::ResourceExhausted(std::move(msg));
    case MDB_CORRUPTED:
    case MDB_PAGE_NOTFOUND:
    case MDB_VERSION_MISMATCH:
    case MDB_INVALID:
    case MDB_INCOMPATIBLE:
      return Status::Corruption(std::move(msg));
    case MDB_PANIC:
    case EIO:
      return Status::Unavailable(std::move(msg));
    default:
      return Status::Internal(std::move(msg));
  }
}

MDB_val Val(std::string_view s) { return MDB_val{s.size(), const_cast<char*>(s.data())}; }
std::string_view View(const MDB_val& v) {
  return std::string_view(static_cast<const char*>(v.mv_data), v.mv_size);
}

std::string SeqKey(uint64_t seq) {
  std::string k(8, '\0');
  for (int i = 7; i >= 0; --i) {
    k[static_cast<size_t>(i)] = static_cast<char>(seq & 0xff);
    seq >>= 8;
  }
  return k;
}
uint64_t SeqOf(const MDB_val& v) {
  const auto* b = static_cast<const unsigned char*>(v.mv_data);
  uint64_t seq = 0;
  for (size_t i = 0; i < 8 && i < v.mv_size; ++i) seq = (seq << 8) | b[i];
  return seq;
}

// A transaction that aborts on destruction unless committed.
class Txn {
 public:
  Txn() = default;
  ~Txn() {
    if (txn_ != nullptr) mdb_txn_abort(txn_);
  }
  Txn(const Txn&) = delete;
  Txn& operator=(const Txn&) = delete;
  Status Begin(MDB_env* env, bool read_only) {
    return Check(mdb_txn_begin(env, nullptr, read_only ? MDB_RDONLY : 0, &txn_),
                 read_only ? "mdb_txn_begin(read)" : "mdb_txn_begin(write)");
  }
  Status Commit() {
    MDB_txn* t = txn_;
    txn_ = nullptr;
    return Check(mdb_txn_commit(t), "mdb_txn_commit");
  }
  MDB_txn* get() const { return txn_; }

 private:
  MDB_txn* txn_ = nullptr;
};

class Cursor {
 public:
  ~Cursor() {
    if (c_ != nullptr) mdb_cursor_close(c_);
  }
  Status Open(MDB_txn* txn, MDB_dbi dbi) {
    return Check(mdb_cursor_open(txn, dbi, &c_), "mdb_cursor_open");
  }
  MDB_cursor* get() const { return c_; }

 private:
  MDB_cursor* c_ = nullptr;
};

// "+" and 11-15 digits.
bool LooksE164(std::string_view n) {
  if (n.size() < 12 || n.size() > 16 || n[0] != '+') return false;
  for (size_t i = 1; i < n.size(); ++i) {
    if (n[i] < '0' || n[i] > '9') return false;
  }
  return true;
}

std::string ProviderId(uint64_t seq) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "SBX%012llu", static_cast<unsigned long long>(seq));
  return buf;
}

std::string_view KindName(engine::SmsSendOutcome::Kind k) {
  switch (k) {
    case engine::SmsSendOutcome::Kind::kAccepted:
      return "accepted";
    case engine::SmsSendOutcome::Kind::kRejected:
      return "rejected";
    case engine::SmsSendOutcome::Kind::kOptedOut:
      return "opted_out";
  }
  return "rejected";
}

Result<engine::SmsSendOutcome> OutcomeFromJson(std::string_view text) {
  try {
    auto j = nlohmann::json::parse(text);
    engine::SmsSendOutcome o;
    const std::string kind = j.at("kind").get<std::string>();
    if (kind == "accepted") {
      o.kind = engine::SmsSendOutcome::Kind::kAccepted;
    } else if (kind == "opted_out") {
      o.kind = engine::SmsSendOutcome::Kind::kOptedOut;
    } else if (kind == "rejected") {
      o.kind = engine::SmsSendOutcome::Kind::kRejected;
    } else {
      return Status::Corruption("sandbox sms store: unknown outcome kind '" + kind + "'");
    }
    o.provider_message_id = j.value("id", "");
    o.code = j.value("code", "");
    o.reason = j.value("reason", "");
    o.permanent = j.value("permanent", true);
    return o;
  } catch (const nlohmann::json::exception& e) {
    return Status::Corruption(std::string("sandbox sms store: bad outcome record: ") + e.what());
  }
}

std::string OutcomeToJson(const engine::SmsSendOutcome& o, uint64_t seq) {
  nlohmann::json j = {{"kind", KindName(o.kind)}};
  if (o.kind == engine::SmsSendOutcome::Kind::kAccepted) {
    j["id"] = o.provider_message_id;
    j["seq"] = seq;
  } else {
    j["code"] = o.code;
    j["reason"] = o.reason;
    j["permanent"] = o.permanent;
  }
  return j.dump();
}

Result<SandboxMessage> MessageFromJson(uint64_t seq, std::string_view text) {
  try {
    auto j = nlohmann::json::parse(text);
    SandboxMessage m;
    m.seq = seq;
    m.id = j.at("id").get<std::string>();
    m.message_key = j.value("message_key", "");
    m.from = j.value("from", "");
    m.to = j.value("to", "");
    m.body = j.value("body", "");
    m.campaign_id = j.value("campaign_id", "");
    m.lead_id = j.value("lead_id", "");
    m.kind = j.value("kind", "");
    m.provider_campaign_id = j.value("provider_campaign_id", "");
    m.at = j.value("at", engine::Micros{0});
    return m;
  } catch (const nlohmann::json::exception& e) {
    return Status::Corruption("sandbox sms store: bad message record " + std::to_string(seq) +
                              ": " + e.what());
  }
}

}  // namespace

// The LMDB environment and its two databases.
class SandboxSms::Env {
 public:
  ~Env() {
    if (env != nullptr) mdb_env_close(env);
  }
  MDB_env* env = nullptr;
  MDB_dbi messages = 0;
  MDB_dbi keys = 0;
  std::string dir;
};

SandboxSms::SandboxSms(std::unique_ptr<Env> env) : env_(std::move(env)) {}
SandboxSms::~SandboxSms() = default;

Result<std::unique_ptr<SandboxSms>> SandboxSms::Open(const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) {
    return Status::Unavailable("cannot create the sandbox sms folder " + dir + ": " + ec.message());
  }
  auto env = std::make_unique<Env>();
  env->dir = dir;
  NEXTIER_RETURN_IF_ERROR(Check(mdb_env_create(&env->env), "mdb_env_create"));
  NEXTIER_RETURN_IF_ERROR(Check(mdb_env_set_maxdbs(env->env, 4), "mdb_env_set_maxdbs"));
  NEXTIER_RETURN_IF_ERROR(Check(mdb_env_set_maxreaders(env->env, 256), "mdb_env_set_maxreaders"));
  NEXTIER_RETURN_IF_ERROR(Check(mdb_env_set_mapsize(env->env, kMapSize), "mdb_env_set_mapsize"));
  // MDB_NOTLS: read transactions are not tied to a thread. Sync stays on (the default): a send
  // is on disk before Send answers.
  NEXTIER_RETURN_IF_ERROR(
      Check(mdb_env_open(env->env, dir.c_str(), MDB_NOTLS, 0644), "mdb_env_open(" + dir + ")"));
  Txn txn;
  NEXTIER_RETURN_IF_ERROR(txn.Begin(env->env, false));
  NEXTIER_RETURN_IF_ERROR(Check(mdb_dbi_open(txn.get(), "messages", MDB_CREATE, &env->messages),
                                "mdb_dbi_open(messages)"));
  NEXTIER_RETURN_IF_ERROR(
      Check(mdb_dbi_open(txn.get(), "keys", MDB_CREATE, &env->keys), "mdb_dbi_open(keys)"));
  NEXTIER_RETURN_IF_ERROR(txn.Commit());
  return std::unique_ptr<SandboxSms>(new SandboxSms(std::move(env)));
}

Result<engine::SmsSendOutcome> SandboxSms::Send(const engine::OutboundSms& sms) {
  if (sms.message_key.empty()) {
    return Status::InvalidArgument("a send needs a message key", "message_key");
  }
  // An outage answers before anything is stored, like a provider that could not be reached.
  for (int n = fail_next_.load(); n > 0;) {
    if (fail_next_.compare_exchange_weak(n, n - 1)) {
      return Status::Unavailable("sandbox sms: simulated outage");
    }
  }
  if (auto o = outage_.Take({OutageMode::kError, OutageMode::kTimeout})) {
    return OutageFailure(*o, "sandbox sms");
  }
  auto answer = Accept(sms);
  // A lost answer: the send was carried out (and stored) but the caller never hears of it.
  if (answer.ok()) {
    if (auto o = outage_.Take({OutageMode::kLostResponse})) return OutageFailure(*o, "sandbox sms");
  }
  return answer;
}

Result<engine::SmsSendOutcome> SandboxSms::Accept(const engine::OutboundSms& sms) {
  // A repeat is answered from the store without taking the write lock.
  auto seen = LookupStored(sms.message_key);
  if (!seen.ok()) return seen.status();
  if (seen->has_value()) return **seen;

  engine::SmsSendOutcome out;
  for (const std::string* n : {&sms.to, &sms.from}) {
    if (!LooksE164(*n)) {
      out.kind = engine::SmsSendOutcome::Kind::kRejected;
      out.code = "invalid_number";
      out.reason = std::string(n == &sms.to ? "to" : "from") + " is not an E.164 number";
      out.permanent = true;
      return out;
    }
  }
  bool opted_out = false;
  {
    std::lock_guard lock(knobs_mu_);
    opted_out = opted_out_.count(sms.to) > 0;
  }

  std::lock_guard lock(write_mu_);
  Txn txn;
  NEXTIER_RETURN_IF_ERROR(txn.Begin(env_->env, false));
  // Checked again inside the write transaction: two threads may race past the read above, and
  // the key index is the backstop that keeps one message per key.
  MDB_val k = Val(sms.message_key);
  MDB_val v;
  int rc = mdb_get(txn.get(), env_->keys, &k, &v);
  if (rc == MDB_SUCCESS) return OutcomeFromJson(View(v));
  if (rc != MDB_NOTFOUND) return Check(rc, "mdb_get(keys)");

  uint64_t seq = 0;
  if (opted_out) {
    out.kind = engine::SmsSendOutcome::Kind::kOptedOut;
    out.code = "OUT";
    out.reason = "the recipient opted out at the provider";
    out.permanent = true;
  } else {
    Cursor c;
    NEXTIER_RETURN_IF_ERROR(c.Open(txn.get(), env_->messages));
    MDB_val lk, lv;
    rc = mdb_cursor_get(c.get(), &lk, &lv, MDB_LAST);
    if (rc == MDB_SUCCESS) {
      seq = SeqOf(lk) + 1;
    } else if (rc == MDB_NOTFOUND) {
      seq = 1;
    } else {
      return Check(rc, "mdb_cursor_get(messages last)");
    }
    out.kind = engine::SmsSendOutcome::Kind::kAccepted;
    out.provider_message_id = ProviderId(seq);
    const nlohmann::json record = {{"id", out.provider_message_id},
                                   {"message_key", sms.message_key},
                                   {"from", sms.from},
                                   {"to", sms.to},
                                   {"body", sms.body},
                                   {"campaign_id", sms.campaign_id},
                                   {"lead_id", sms.lead_id},
                                   {"kind", sms.kind},
                                   {"provider_campaign_id", sms.provider_campaign_id},
                                   {"at", sms.at}};
    // Invalid UTF-8 in a body must not throw out of Send: replace it.
    const std::string text = record.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    const std::string sk = SeqKey(seq);
    MDB_val mk = Val(sk), mv = Val(text);
    NEXTIER_RETURN_IF_ERROR(
        Check(mdb_put(txn.get(), env_->messages, &mk, &mv, MDB_NOOVERWRITE), "mdb_put(messages)"));
  }
  const std::string outcome = OutcomeToJson(out, seq);
  MDB_val ov = Val(outcome);
  NEXTIER_RETURN_IF_ERROR(
      Check(mdb_put(txn.get(), env_->keys, &k, &ov, MDB_NOOVERWRITE), "mdb_put(keys)"));
  // Not stored: a full disk is ResourceExhausted (a 429 to the outbox: nothing was sent), even
  // when LMDB says EIO for the short write (disk_space.h).
  if (Status c = txn.Commit(); !c.ok()) return FullDiskOr(c, env_->dir);
  return out;
}

Result<std::optional<engine::SmsSendOutcome>> SandboxSms::Lookup(std::string_view message_key) {
  if (message_key.empty()) return std::optional<engine::SmsSendOutcome>();
  if (auto o = outage_.Take({OutageMode::kError, OutageMode::kTimeout})) {
    return OutageFailure(*o, "sandbox sms");
  }
  return LookupStored(message_key);
}

Result<std::optional<engine::SmsSendOutcome>> SandboxSms::LookupStored(
    std::string_view message_key) const {
  if (message_key.empty()) return std::optional<engine::SmsSendOutcome>();
  Txn txn;
  NEXTIER_RETURN_IF_ERROR(txn.Begin(env_->env, true));
  MDB_val k = Val(message_key);
  MDB_val v;
  int rc = mdb_get(txn.get(), env_->keys, &k, &v);
  if (rc == MDB_NOTFOUND) return std::optional<engine::SmsSendOutcome>();
  NEXTIER_RETURN_IF_ERROR(Check(rc, "mdb_get(keys)"));
  auto o = OutcomeFromJson(View(v));
  if (!o.ok()) return o.status();
  return std::optional<engine::SmsSendOutcome>(std::move(*o));
}

Result<std::vector<SandboxMessage>> SandboxSms::List(uint64_t after_seq, size_t limit) const {
  std::vector<SandboxMessage> out;
  if (limit == 0 || after_seq == UINT64_MAX) return out;
  Txn txn;
  NEXTIER_RETURN_IF_ERROR(txn.Begin(env_->env, true));
  Cursor c;
  NEXTIER_RETURN_IF_ERROR(c.Open(txn.get(), env_->messages));
  const std::string start = SeqKey(after_seq + 1);
  MDB_val k = Val(start);
  MDB_val v;
  int rc = mdb_cursor_get(c.get(), &k, &v, MDB_SET_RANGE);
  while (rc == MDB_SUCCESS && out.size() < limit) {
    auto m = MessageFromJson(SeqOf(k), View(v));
    if (!m.ok()) return m.status();
    out.push_back(std::move(*m));
    rc = mdb_cursor_get(c.get(), &k, &v, MDB_NEXT);
  }
  if (rc != MDB_SUCCESS && rc != MDB_NOTFOUND) return Check(rc, "mdb_cursor_get(messages)");
  return out;
}

Result<size_t> SandboxSms::Count() const {
  Txn txn;
  NEXTIER_RETURN_IF_ERROR(txn.Begin(env_->env, true));
  MDB_stat st;
  NEXTIER_RETURN_IF_ERROR(Check(mdb_stat(txn.get(), env_->messages, &st), "mdb_stat(messages)"));
  return static_cast<size_t>(st.ms_entries);
}

void SandboxSms::SetOptedOutNumbers(std::set<std::string> numbers) {
  std::lock_guard lock(knobs_mu_);
  opted_out_ = std::move(numbers);
}

void SandboxSms::FailNextSends(int n) { fail_next_.store(n < 0 ? 0 : n); }

}  // namespace nextier::adapters
