// The sandbox skip-trace provider (`--provider sandbox`): stands in for RealEstateAPI with
// answers made up deterministically from the person's name, so runs and tests repeat exactly.
//
// For a person (not an entity, not both names empty) the lowercased, trimmed first and last
// name seed a hash. About `hit_percent` (default 85) of people get one connected mobile that is
// not on the do-not-call list; the rest get an empty answer (a miss). Among the hits, about 3%
// also list a do-not-call mobile first and about 5% a landline before the mobile, so callers'
// ChooseSkipTracePhone sees more than the easy case, and about 40% carry an email at an
// example.* domain. Every number has an area code of the query's state (AreaCodesForState, so
// time zones are realistic; a fixed set of US codes when the state is unknown) and is a valid US
// number per libphonenumber whose StateForPhone is that state. A company or trust
// (query.is_entity) is never found.
//
// Lookup never fails and never blocks on anything but the first computation of the area-code
// table (engine/send_window.h), except during a simulated outage (outage(), the switch behind
// `POST /api/sandbox/outage`; sandbox_outage.h): then it answers Unavailable (after holding the
// call, for a timeout) and counts nothing.
//
// Thread-safety: immutable after construction but for the outage switch; Lookup may be called
// from any number of threads.
#pragma once

#include <string_view>

#include "nextier/adapters/sandbox_outage.h"
#include "nextier/common/status.h"
#include "nextier/engine/providers.h"

namespace nextier::adapters {

class SandboxSkipTrace final : public engine::SkipTraceProvider {
 public:
  static constexpr int kDefaultHitPercent = 85;

  // `hit_percent` (clamped to 0..100) is the share of people found. Lowering it only turns hits
  // into misses: a person found at 80 is found at 85 too, with the same answer.
  explicit SandboxSkipTrace(int hit_percent = kDefaultHitPercent);

  std::string_view name() const override { return "sandbox"; }
  Result<engine::SkipTraceAnswer> Lookup(const engine::SkipTraceQuery& query) override;

  // Test knob: a simulated outage (see the file comment).
  OutageSwitch& outage() { return outage_; }

 private:
  const int hit_percent_;
  OutageSwitch outage_;
};

}  // namespace nextier::adapters
