// LeadsProjection: the LEAD read model of API.md ("Leads"), folded from the lead streams
// (`lead-<id>`), with personal fields opened with the store's KeyRing at query time (so a
// forgotten lead reads with its personal fields empty the moment its key is destroyed).
//
// Layering: projections depend on the event store only, not on the engine, so the state is
// folded here by DESIGN.md's table written out plainly (the engine's state machine has already
// refused any illegal event before it was appended): LeadImported -> raw, LeadRejected ->
// rejected, LeadEnriched -> enriched, LeadNoHit -> no_hit, LeadQueued -> queued (with campaign,
// block, batch), SmsSent of the opener -> sent (with initialMessageId), a permanent failure of
// the opener -> failed, LeadResponded -> responded, LeadGoldLabeled -> gold, CallCompleted ->
// called, MeetingBooked -> booked (MeetingCancelled back to called), LeadNotInterested ->
// not_interested, LeadOptedOut -> opted_out.
//
// Tables (part of the format; bump version() when changing them):
//   leads.by_id        key = lead id, value = the encoded row (leads.cc)
//   leads.order        key = be64 seq of LeadImported || lead id
//   leads.by_state     key = state || 0x00 || be64 seq of LeadImported || lead id
//   leads.by_campaign  key = campaign id || 0x00 || be64 seq of LeadImported || lead id
// Events on a lead stream before its LeadImported are ignored.
//
// Thread-safety: queries may run from any thread, concurrently with the runner applying.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "nextier/common/status.h"
#include "nextier/eventstore/key_ring.h"
#include "nextier/projections/projection.h"
#include "nextier/projections/read_model_store.h"

namespace nextier::projections {

// What the read model stores about a lead in clear (no personal data).
struct LeadFacts {
  std::string id;
  std::string human_id;  // "NXT-000123" once skip traced
  std::string state;
  std::string file_id;
  uint64_t row = 0;
  std::string source;
  std::string company;
  std::string title;
  int32_t role_score = 0;
  bool is_entity = false;
  std::string campaign_id;
  uint32_t block = 0;
  uint32_t batch = 0;
  std::string initial_message_id;
  int64_t gold_labeled_at = 0;
  int64_t created_at = 0;
  int64_t updated_at = 0;
  bool forgotten = false;
};

struct LeadView : LeadFacts {
  // Personal fields, opened with the lead's key; empty when forgotten.
  std::string first_name;
  std::string last_name;
  std::string full_name;
  std::vector<std::string> phones;  // E.164: the skip-traced number first, then the imported
  std::string email;
  std::string street;
  std::string city;
  std::string state_code;
  std::string zip;
  std::string mailing_address;
  std::string property_address;
};

struct LeadFilter {
  std::string state;     // "" for any
  std::string campaign;  // "" for any
};

struct LeadPage {
  std::vector<LeadView> items;
  std::optional<std::string> next;
};

class LeadsProjection final : public Projection {
 public:
  // `store` and `keys` must outlive the projection.
  static Result<std::unique_ptr<LeadsProjection>> Open(ReadModelStore& store,
                                                       eventstore::KeyRing& keys);

  std::string_view name() const override { return "leads"; }
  uint32_t version() const override { return 3; }
  std::vector<Table> tables() const override { return {by_id_, order_, by_state_, by_campaign_}; }
  Status Apply(Txn& txn, const eventstore::EventView& event) override;

  // NotFound when no such lead.
  Result<LeadView> Get(std::string_view lead_id) const;
  // Leads in import order after `cursor`, filtered. InvalidArgument (field "cursor") for a
  // cursor not handed out by the same query.
  Result<LeadPage> List(const LeadFilter& filter, size_t limit, std::string_view cursor) const;

 private:
  struct Row;
  LeadsProjection(ReadModelStore& store, eventstore::KeyRing& keys) : store_(store), keys_(keys) {}
  Status Load(const Txn& txn, std::string_view id, Row* row, bool* found) const;
  LeadView View(const Row& row) const;

  ReadModelStore& store_;
  eventstore::KeyRing& keys_;
  Table by_id_, order_, by_state_, by_campaign_;
};

}  // namespace nextier::projections
