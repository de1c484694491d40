// Campaigns and the throttled SMS queue: blocks of enriched leads, batches sent a fixed delay
// apart, the daily cap per from-number, quiet hours in the recipient's time, suppression.
//
// A campaign is the stream `campaign-<id>` (CampaignCreated, CampaignStarted, BlockDrawn,
// BatchDispatched, CampaignPaused/Resumed/Completed, and the batch timers). Start draws the
// next block (up to the workflow's block size of enriched leads in no other campaign and not
// suppressed, best role score first) as one unit: the campaign's events, a LeadQueued on every
// lead of the block, and the timer of batch 1, due at once.
//
// Durable timers drive the sending, so it survives restarts and runs on the simulated clock:
// - "batch" (target: the campaign stream): dispatches one batch. For each lead it decides, at
//   the moment of firing (never when queueing):
//     suppressed (the number opted out anywhere, is a wrong number for this lead, or already
//     got an opener)                               -> SmsSendIntended + SmsSendFailed (permanent:
//                                                     the lead fails with the reason)
//     no time zone for the number or the address  -> the same, code "no_time_zone"
//     outside 08:00–21:00 in any of its zones     -> a "send" timer at the window's opening
//     the from-number's daily cap is used up      -> a "send" timer at the next carrier day
//     otherwise                                   -> SmsSendIntended (the outbox sends it) and
//                                                     one SmsCapCounted on the cap stream
//   then records BatchDispatched and schedules the next batch exactly the workflow's batch
//   delay after this one's due time (the last batch completes the block instead).
// - "send" (target: a lead stream): the same decision for one deferred lead.
// All of a fire's effects are one unit with the timer's TimerFired (see timers.h), so a
// crash never half-dispatches a batch, and a fire is never repeated.
//
// The daily cap counts every SMS from a from-number per carrier day (America/Los_Angeles):
// the stream `smscap-<fromNumber>-<YYYY-MM-DD>` holds one SmsCapCounted per SMS, appended in
// the same unit as the intent with the count read as expected version, so two writers can
// never both take the last slot. CountSmsToday reads it.
//
// Thread-safety: all methods may be called from any thread. They block on durable appends:
// call them from a worker, never from an I/O thread.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "nextier/common/status.h"
#include "nextier/engine/clock.h"
#include "nextier/engine/timers.h"
#include "nextier/engine/workflow_registry.h"
#include "nextier/eventstore/event_store.h"
#include "nextier/projections/lead_pools.h"
#include "nextier/projections/leads.h"
#include "nextier/projections/projection.h"
#include "nextier/projections/sending.h"

namespace nextier::engine {

enum class CampaignStatus { kDraft, kActive, kPaused, kCompleted };
std::string_view CampaignStatusName(CampaignStatus status);  // "draft", "active", ...

struct CampaignBatch {
  uint32_t number = 0;
  uint32_t size = 0;
  bool dispatched = false;
  Micros sent_at = 0;     // when dispatched
  uint32_t sent = 0;      // intents made at dispatch
  uint32_t deferred = 0;  // waiting for quiet hours or the cap
  uint32_t failed = 0;    // suppressed or without a time zone
};

struct CampaignBlock {
  uint32_t number = 0;
  std::vector<std::string> lead_ids;
  uint32_t batch_size = 0;
  std::vector<CampaignBatch> batches;
  bool done() const;
};

// A campaign, folded from its stream.
struct Campaign {
  std::string id;
  std::string name;
  std::string workflow_id;
  std::string workflow_version;
  std::string signalhouse_campaign_id;
  std::string from_number;
  std::string ai_worker;
  CampaignStatus status = CampaignStatus::kDraft;
  std::vector<CampaignBlock> blocks;
  std::string batch_timer;  // the pending batch timer's id, "" when none
  Micros created_at = 0;
  Micros updated_at = 0;
  uint64_t version = 0;
};

std::string CampaignStreamId(std::string_view campaign_id);
// NotFound when there is no such campaign.
Result<Campaign> LoadCampaign(eventstore::EventStore& store, std::string_view campaign_id);
// "smscap-<from>-<day>".
std::string SmsCapStreamId(std::string_view from_number, std::string_view day);

struct CreateCampaign {
  std::string name;
  std::string workflow;                 // workflow id; its latest version is pinned
  std::string signalhouse_campaign_id;  // default: the workflow's
  std::string from_number;              // E.164; default: the workflow's
  std::string ai_worker;                // default: the workflow's
  std::string actor;
};

struct CampaignServiceOptions {
  std::string actor = "system:dispatcher";
};

class CampaignService {
 public:
  // Everything passed in must outlive the service.
  CampaignService(eventstore::EventStore& store, const Clock& clock, WorkflowRegistry& workflows,
                  projections::ProjectionRunner& runner,
                  const projections::LeadPoolsProjection& pools,
                  const projections::LeadsProjection& leads,
                  const projections::SuppressionProjection& suppression,
                  CampaignServiceOptions options = {});

  // Registers the "batch" and "send" timer handlers; call before timers.Start/AdvanceTo.
  void RegisterTimerHandlers(TimerService& timers);

  // InvalidArgument (with the field) for a missing name, an unknown workflow or a from-number
  // that is not E.164.
  Result<Campaign> Create(const CreateCampaign& request);
  // Draws the next block and starts sending. Conflict when the campaign is active with a block
  // still being dispatched, or paused; FailedPrecondition-like Conflict "no_leads" when no
  // enriched lead is left to draw.
  Result<Campaign> Start(std::string_view campaign_id, std::string_view actor);
  // Stops dispatching batches (the pending batch timer is cancelled); deferred leads wait.
  Result<Campaign> Pause(std::string_view campaign_id, std::string_view actor);
  // Dispatches the next batch at once.
  Result<Campaign> Resume(std::string_view campaign_id, std::string_view actor);
  // Moves the campaign to another recorded version of its workflow (CampaignMigrated); what is
  // sent from then on follows that version. NotFound (field "version") for a version never
  // recorded; a migration to the version already pinned changes nothing.
  Result<Campaign> Migrate(std::string_view campaign_id, std::string_view version,
                           std::string_view actor);

  // The campaign as folded from its stream; NotFound when there is none.
  Result<Campaign> Get(std::string_view campaign_id);

  // SMS counted against `from_number`'s cap on the carrier day holding `t`.
  Result<uint64_t> CountSmsToday(std::string_view from_number, Micros t);

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace nextier::engine
