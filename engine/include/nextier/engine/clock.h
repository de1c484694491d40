// Clock: the engine's only source of time (business time). Nothing else reads the system time.
//
// Times are microseconds since the Unix epoch, UTC. RealClock reads the system clock;
// SimulatedClock stands still until told to move and never goes backwards. Advancing the
// simulated clock so that due timers fire on the way is the timer service's job (it owns the
// order of firing); the clock only holds the time.
//
// Thread-safety: all methods may be called concurrently.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>

#include "nextier/common/status.h"

namespace nextier::engine {

using Micros = int64_t;
constexpr Micros kMicrosPerSecond = 1'000'000;

class Clock {
 public:
  virtual ~Clock() = default;
  virtual Micros Now() const = 0;
  virtual bool simulated() const { return false; }
};

class RealClock final : public Clock {
 public:
  Micros Now() const override;
};

class SimulatedClock final : public Clock {
 public:
  explicit SimulatedClock(Micros start) : now_(start) {}
  Micros Now() const override { return now_.load(std::memory_order_acquire); }
  bool simulated() const override { return true; }
  // Moves the clock to `t`; a time before now is ignored (the clock never goes backwards).
  void AdvanceTo(Micros t);

 private:
  std::atomic<Micros> now_;
};

// RFC 3339 in UTC with a Z ("2026-11-28T14:00:00Z"; fractional seconds only when non-zero).
std::string FormatRfc3339(Micros t);
// Parses RFC 3339 ("2026-11-28T14:00:00Z", "...T09:00:00-05:00", fractional seconds allowed).
Result<Micros> ParseRfc3339(std::string_view text);

}  // namespace nextier::engine
