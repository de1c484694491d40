// The sandbox SMS provider: stands in for SignalHouse with `--provider sandbox`. Nothing leaves
// the machine; every accepted send is kept in the sandbox's OWN LMDB environment (a folder under
// the data folder, apart from the engine's log), committed durably before Send returns, so it
// survives an engine crash. Crash tests count what was "really sent" from it, and the engine
// reconciles a send whose outcome it never recorded with Lookup(message_key), never by sending
// again.
//
// Stored layout (format of the sandbox's folder; only this file reads it):
//   "messages": 8-byte big-endian sequence (1, 2, ...) -> JSON {"id","message_key","from","to",
//               "body","campaign_id","lead_id","kind","provider_campaign_id","at"}
//   "keys":     message_key -> JSON outcome {"kind":"accepted","id","seq"} or
//               {"kind":"opted_out"|"rejected","code","reason","permanent"}
// Provider message ids are "SBX" + the sequence zero-padded to 12 digits.
//
// Test knobs (SetOptedOutNumbers, FailNextSends, outage()) simulate the provider's behaviour;
// they are process memory, not stored. outage() is the switch behind `POST /api/sandbox/outage`
// (sandbox_outage.h): error and timeout fail sends and look-ups before anything is stored;
// lost_response stores the send and then answers Unavailable (look-ups keep working).
//
// Thread-safety: every method may be called from several threads at once (writes are serialised
// by a mutex, reads use their own LMDB read transactions). Only one process may open a folder at
// a time (the engine process); a second Open of the same folder in one process is not allowed.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "nextier/adapters/sandbox_outage.h"
#include "nextier/common/status.h"
#include "nextier/engine/providers.h"

namespace nextier::adapters {

// One SMS the sandbox accepted.
struct SandboxMessage {
  uint64_t seq = 0;  // 1, 2, ... in order of acceptance
  std::string id;    // the provider message id ("SBX000000000001")
  std::string message_key;
  std::string from;
  std::string to;
  std::string body;
  std::string campaign_id;
  std::string lead_id;
  std::string kind;
  std::string provider_campaign_id;
  engine::Micros at = 0;
};

class SandboxSms final : public engine::SmsProvider {
 public:
  // Opens (creating when missing) the sandbox's store in folder `dir`. Unavailable when the
  // folder cannot be created; Corruption when the files are not a sandbox store.
  static Result<std::unique_ptr<SandboxSms>> Open(const std::string& dir);
  ~SandboxSms() override;
  SandboxSms(const SandboxSms&) = delete;
  SandboxSms& operator=(const SandboxSms&) = delete;

  std::string_view name() const override { return "sandbox"; }

  // Accepts `sms` and stores it durably before answering kAccepted with a new id; a message_key
  // seen before answers its first outcome and stores nothing. `to`/`from` not E.164 ("+" and
  // 11-15 digits): kRejected, permanent, code "invalid_number" (not stored: it is the same every
  // time). A number in the opted-out set: kOptedOut with code "OUT" (stored under the key, not
  // in the outbox). Unavailable while FailNextSends is counting down (nothing stored), or when
  // the store cannot write.
  Result<engine::SmsSendOutcome> Send(const engine::OutboundSms& sms) override;

  // The stored outcome for `message_key`, or nullopt when none was stored.
  Result<std::optional<engine::SmsSendOutcome>> Lookup(std::string_view message_key) override;

  // Accepted messages with seq > `after_seq`, oldest first, at most `limit`.
  Result<std::vector<SandboxMessage>> List(uint64_t after_seq, size_t limit) const;
  // How many messages were accepted.
  Result<size_t> Count() const;

  // Test knob: sends to these numbers answer kOptedOut with code "OUT" (replaces the set).
  void SetOptedOutNumbers(std::set<std::string> numbers);
  // Test knob: the next `n` sends answer Unavailable without storing anything (an outage).
  void FailNextSends(int n);
  // Test knob: a simulated outage of sends and look-ups (see the file comment).
  OutageSwitch& outage() { return outage_; }

 private:
  class Env;
  explicit SandboxSms(std::unique_ptr<Env> env);
  // Send without the outage: stores a new send, or answers a repeat.
  Result<engine::SmsSendOutcome> Accept(const engine::OutboundSms& sms);
  // Lookup without the outage.
  Result<std::optional<engine::SmsSendOutcome>> LookupStored(std::string_view message_key) const;

  std::unique_ptr<Env> env_;
  std::mutex write_mu_;  // one write transaction at a time; also orders seq assignment

  mutable std::mutex knobs_mu_;
  std::set<std::string> opted_out_;  // guarded by knobs_mu_
  std::atomic<int> fail_next_{0};
  OutageSwitch outage_;
};

}  // namespace nextier::adapters
