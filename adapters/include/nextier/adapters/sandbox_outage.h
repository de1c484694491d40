// A simulated provider outage for the sandbox providers (`--provider sandbox`), switched on and
// off through `POST /api/sandbox/outage` (api_sandbox.h) so end-to-end tests can make the
// sandbox fail "for a while" the way the real services do.
//
// Modes (what a call answers while the outage lasts):
//   error          at once, Unavailable, like an HTTP 500 before anything was stored; look-ups
//                  fail too (the whole service is down).
//   timeout        after holding the call `delay` (real time), Unavailable, like the HTTP
//                  clients' timeout; nothing is stored; look-ups fail too.
//   lost_response  the call is carried out (an SMS IS stored and counts as sent), then its
//                  answer is lost: Unavailable, like a connection cut after the request arrived.
//                  Look-ups work, so the engine can learn what became of the send.
// An outage ends after `count` failed calls or once the engine's clock (business time: with
// `--sim-clock`, only when the clock is advanced) reaches `until`, whichever is set.
//
// Thread-safety: every method may be called from any thread at once.
#pragma once

#include <chrono>
#include <cstdint>
#include <initializer_list>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>

#include "nextier/common/status.h"
#include "nextier/engine/clock.h"

namespace nextier::adapters {

enum class OutageMode { kError, kTimeout, kLostResponse };

inline std::string_view OutageModeName(OutageMode m) {
  switch (m) {
    case OutageMode::kError:
      return "error";
    case OutageMode::kTimeout:
      return "timeout";
    case OutageMode::kLostResponse:
      return "lost_response";
  }
  return "error";
}

inline std::optional<OutageMode> ParseOutageMode(std::string_view name) {
  for (OutageMode m : {OutageMode::kError, OutageMode::kTimeout, OutageMode::kLostResponse}) {
    if (name == OutageModeName(m)) return m;
  }
  return std::nullopt;
}

struct Outage {
  OutageMode mode = OutageMode::kError;
  int count = 0;                         // > 0: the outage ends after this many failed calls
  engine::Micros until = 0;              // > 0: the outage ends when clock->Now() reaches it
  const engine::Clock* clock = nullptr;  // required with `until`
  std::chrono::milliseconds delay{100};  // kTimeout: each failing call is held this long
};

// The on/off switch a sandbox provider consults on each call.
class OutageSwitch {
 public:
  // Starts `outage` (replacing any), or ends the current one with nullopt.
  void Set(std::optional<Outage> outage) {
    std::lock_guard lock(mu_);
    outage_ = outage;
  }

  // The outage in force (`count` = the failures left), or nullopt.
  std::optional<Outage> Get() const {
    std::lock_guard lock(mu_);
    return ActiveLocked() ? outage_ : std::nullopt;
  }

  // When an outage in one of `modes` is in force: takes one failure from it and returns it.
  std::optional<Outage> Take(std::initializer_list<OutageMode> modes) {
    std::lock_guard lock(mu_);
    if (!ActiveLocked()) return std::nullopt;
    bool match = false;
    for (OutageMode m : modes) match = match || m == outage_->mode;
    if (!match) return std::nullopt;
    Outage taken = *outage_;
    ++failures_;
    if (outage_->count > 0 && --outage_->count == 0) outage_.reset();
    return taken;
  }

  // Calls failed by outages since start.
  uint64_t failures() const {
    std::lock_guard lock(mu_);
    return failures_;
  }

 private:
  bool ActiveLocked() const {
    if (!outage_) return false;
    if (outage_->until > 0) {
      return outage_->clock != nullptr && outage_->clock->Now() < outage_->until;
    }
    return outage_->count > 0;
  }

  mutable std::mutex mu_;
  std::optional<Outage> outage_;
  uint64_t failures_ = 0;
};

// What a call failed by `outage` answers, after holding it for a timeout. `who` names the
// provider ("sandbox sms").
inline Status OutageFailure(const Outage& outage, std::string_view who) {
  std::string msg(who);
  switch (outage.mode) {
    case OutageMode::kError:
      return Status::Unavailable(msg + ": simulated outage: HTTP 500, nothing done");
    case OutageMode::kTimeout:
      std::this_thread::sleep_for(outage.delay);
      return Status::Unavailable(msg + ": simulated outage: no answer within the timeout (" +
                                 std::to_string(outage.delay.count()) + " ms), nothing done");
    case OutageMode::kLostResponse:
      return Status::Unavailable(msg +
                                 ": simulated outage: the connection dropped before the "
                                 "answer");
  }
  return Status::Unavailable(msg + ": simulated outage");
}

}  // namespace nextier::adapters
