// DashboardProjection ("dashboard"): the counters behind GET /api/dashboard/overview and the
// live dashboard (API.md, "Dashboard"), kept as running totals so a read is O(1) whatever the
// number of leads.
//
// The funnel is cumulative: each lead counts once in every stage it ever reached, and reaching a
// stage of the main chain implies the stages before it:
//   raw -> enriched -> queued -> sent -> delivered -> responded
// (a lead queued without a LeadEnriched, or a reply without a delivery receipt, still counts as
// enriched / delivered). gold, called and booked each imply the whole chain up to responded
// (a booked lead also counts as sent, responded…), but not each other. optedOut and rejected
// imply nothing. The events, all on the lead's stream "lead-<id>":
//   raw        LeadImported                 sent       SmsSent with kind "opener"
//   enriched   LeadEnriched                 delivered  SmsDelivered (any message of the lead)
//   queued     LeadQueued                   responded  LeadResponded, or ReplyReceived on the
//   gold       LeadGoldLabeled                         lead's stream (a matched reply)
//   called     CallCompleted                booked     MeetingBooked
//   optedOut   LeadOptedOut                 rejected   LeadRejected
//
// Replies: every ReplyReceived (orphans included) counts once in `replies` and in
// `replies_by_class[classification]`. `positive_leads` counts distinct leads that sent at least
// one reply classified POSITIVE or EMAIL; the overview's rates.netPositive is
// positive_leads / sent (a fraction of the leads texted, so it never exceeds 1).
//
// Tables (part of the format; bump version() when changing them):
//   dashboard.totals  "funnel"         -> be64 × 14: last seq, the 11 funnel counters in the
//                                         order of DashboardCounts, positive_leads, replies
//                     "c" || class     -> be64 replies with that classification
//   dashboard.leads   lead id          -> be16 stage flags (bit i = stage i of kStages, bit 11 =
//                                         sent a positive reply)
//
// Thread-safety: Read may run from any thread, concurrently with the runner applying.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "nextier/common/status.h"
#include "nextier/projections/projection.h"
#include "nextier/projections/read_model_store.h"

namespace nextier::projections {

struct DashboardCounts {
  // The cumulative funnel (see above).
  uint64_t raw = 0;
  uint64_t enriched = 0;
  uint64_t queued = 0;
  uint64_t sent = 0;
  uint64_t delivered = 0;
  uint64_t responded = 0;
  uint64_t gold = 0;
  uint64_t called = 0;
  uint64_t booked = 0;
  uint64_t opted_out = 0;
  uint64_t rejected = 0;
  // Distinct leads with a POSITIVE or EMAIL reply.
  uint64_t positive_leads = 0;
  // Every ReplyReceived, and by classification ("POSITIVE", "EMAIL", …).
  uint64_t replies = 0;
  std::map<std::string, uint64_t> replies_by_class;
  // The seq of the last event that changed a counter (0 when none).
  uint64_t seq = 0;
};

class DashboardProjection final : public Projection {
 public:
  // `store` must outlive the projection.
  static Result<std::unique_ptr<DashboardProjection>> Open(ReadModelStore& store);
  std::string_view name() const override { return "dashboard"; }
  std::vector<Table> tables() const override { return {totals_, leads_}; }
  Status Apply(Txn& txn, const eventstore::EventView& event) override;

  // The counters as of the runner's last commit: one read transaction, a fixed number of gets
  // (plus one short scan over the few reply classifications).
  Result<DashboardCounts> Read() const;

 private:
  explicit DashboardProjection(ReadModelStore& store) : store_(store) {}
  ReadModelStore& store_;
  Table totals_, leads_;
};

}  // namespace nextier::projections
