// ForgottenProjection ("forgotten"): the leads that were forgotten, and the guarantee that
// their keys are destroyed.
//
// Forgetting (engine/forget.h) appends LeadForgotten first and destroys the keys second, so a
// crash in between leaves a LeadForgotten whose key still exists. This projection closes that
// gap: as it applies a LeadForgotten it destroys every key the event names (the lead's stream
// and the event's `subjects`, of which only "orphan:..." ones are honoured, so an event can
// never erase another lead) that still exists, and only then lets the runner commit its
// checkpoint past the event. The runner replays every event after the checkpoint on each
// start, and every event on a rebuild, so whatever a crash left is destroyed on the next start,
// and no checkpoint ever passes a LeadForgotten whose key survives. Destroying is idempotent
// (a tombstone), which is what makes the replay harmless; it is the one effect outside the
// tables a projection here has, and it needs the store open for writing (serve, rebuild, demo,
// forget): with a read-only store an Apply that still has to destroy a key fails and stops
// the runner instead of passing the event.
//
// Table (part of the format; bump version() when changing it):
//   forgotten.leads  key = lead id, value = be64 seq || be64 recordedAt || actor (codec)
//
// Thread-safety: queries may run from any thread, concurrently with the runner applying.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "nextier/common/status.h"
#include "nextier/eventstore/key_ring.h"
#include "nextier/projections/projection.h"
#include "nextier/projections/read_model_store.h"

namespace nextier::projections {

struct ForgottenLead {
  std::string lead_id;
  uint64_t seq = 0;   // of its LeadForgotten
  int64_t at = 0;     // the LeadForgotten's recordedAt
  std::string actor;  // who asked
};

class ForgottenProjection final : public Projection {
 public:
  // `store` and `keys` must outlive the projection.
  static Result<std::unique_ptr<ForgottenProjection>> Open(ReadModelStore& store,
                                                           eventstore::KeyRing& keys);

  std::string_view name() const override { return "forgotten"; }
  std::vector<Table> tables() const override { return {leads_}; }
  Status Apply(Txn& txn, const eventstore::EventView& event) override;

  // The lead's forgetting, or nullopt when it was not forgotten (as far as applied).
  Result<std::optional<ForgottenLead>> Get(std::string_view lead_id) const;
  Result<uint64_t> Count() const;

 private:
  ForgottenProjection(ReadModelStore& store, eventstore::KeyRing& keys)
      : store_(store), keys_(keys) {}
  ReadModelStore& store_;
  eventstore::KeyRing& keys_;
  Table leads_;
};

}  // namespace nextier::projections
