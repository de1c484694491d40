// The read models of the SMS queue: the outbox's pending sends, the suppression list, and the
// campaigns' lead counts.
//
// OutboxProjection ("outbox") — every SmsSendIntended that has no outcome (SmsSent,
// SmsSendFailed or SmsSendUnknown with the same messageKey) yet, in log order. It is the
// outbox's to-do list: after a crash, what is listed here is exactly the sends whose fate must
// be reconciled with the provider.
//   outbox.pending  key = be64 seq of the intent, value = messageKey || 0 || stream
//   outbox.keys     key = messageKey, value = be64 seq
//
// SuppressionProjection ("suppression") — keyed by the blind index of an E.164 number (the
// toHash / phoneHash of the events, KeyRing::BlindIndex("lead.phone", number)):
//   suppression.keys  'o' || hash            -> opt-out source   (LeadOptedOut, or
//                                                NumberSuppressed with reason opt_out): never
//                                                text this number again, in any campaign
//                     'w' || hash || leadId -> ""               (NumberSuppressed wrong_number:
//                                                not this lead's number)
//                     'f' || hash            -> lead id          (the first opener intended to
//                                                this number: never send a second)
//
// CampaignsProjection ("campaigns") — campaign ids in creation order and, per campaign, how
// many of its leads reached each stage (each lead counted once per stage):
//   campaigns.order   key = be64 seq of CampaignCreated || id
//   campaigns.counts  key = campaign id, value = encoded CampaignCounts
//   campaigns.leads   key = lead id, value = campaign id || 0 || stage flags (1 byte)
//
// ConversationsProjection ("conversations") — who a reply or a receipt is about:
//   conversations.keys  'c' || hash || 0 || fromNumber -> lead id   (the lead the number was last
//                                                            texted about from that number)
//                       'm' || providerMessageId         -> lead id   (SmsSent)
//
// Thread-safety: queries may run from any thread, concurrently with the runner applying.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "nextier/common/status.h"
#include "nextier/projections/projection.h"
#include "nextier/projections/read_model_store.h"

namespace nextier::projections {

// The BlindIndex purpose of phone numbers (the same as the lead index's).
inline constexpr std::string_view kPhonePurpose = "lead.phone";

struct PendingSend {
  uint64_t seq = 0;  // of the SmsSendIntended
  std::string message_key;
  std::string stream;  // the lead stream holding the intent
};

class OutboxProjection final : public Projection {
 public:
  static Result<std::unique_ptr<OutboxProjection>> Open(ReadModelStore& store);
  std::string_view name() const override { return "outbox"; }
  std::vector<Table> tables() const override { return {pending_, keys_}; }
  Status Apply(Txn& txn, const eventstore::EventView& event) override;

  // Pending sends with seq > `after_seq`, oldest first, at most `limit`.
  Result<std::vector<PendingSend>> List(uint64_t after_seq, size_t limit) const;
  Result<uint64_t> Count() const;

 private:
  explicit OutboxProjection(ReadModelStore& store) : store_(store) {}
  ReadModelStore& store_;
  Table pending_, keys_;
};

class SuppressionProjection final : public Projection {
 public:
  static Result<std::unique_ptr<SuppressionProjection>> Open(ReadModelStore& store);
  std::string_view name() const override { return "suppression"; }
  std::vector<Table> tables() const override { return {keys_}; }
  Status Apply(Txn& txn, const eventstore::EventView& event) override;

  // Whether the number with blind index `hash` opted out (anywhere, any campaign).
  Result<bool> IsOptedOut(std::string_view hash) const;
  // Whether the number was marked not `lead_id`'s (a wrong number).
  Result<bool> IsWrongNumberFor(std::string_view hash, std::string_view lead_id) const;
  // The lead an opener was first intended for at this number, or nullopt.
  Result<std::optional<std::string>> OpenerLead(std::string_view hash) const;
  // Opted-out numbers in all.
  Result<uint64_t> OptedOutCount() const;

 private:
  explicit SuppressionProjection(ReadModelStore& store) : store_(store) {}
  ReadModelStore& store_;
  Table keys_;
};

struct CampaignCounts {
  uint64_t queued = 0;
  uint64_t sent = 0;
  uint64_t delivered = 0;
  uint64_t failed = 0;
  uint64_t responded = 0;
  uint64_t gold = 0;
  uint64_t opted_out = 0;
};

class CampaignsProjection final : public Projection {
 public:
  static Result<std::unique_ptr<CampaignsProjection>> Open(ReadModelStore& store);
  std::string_view name() const override { return "campaigns"; }
  std::vector<Table> tables() const override { return {order_, counts_, leads_}; }
  Status Apply(Txn& txn, const eventstore::EventView& event) override;

  // Campaign ids in creation order after `cursor` (an id this list handed out; "" = start).
  Result<std::vector<std::string>> List(size_t limit, std::string_view cursor, bool* more) const;
  // Zero counts for an unknown id.
  Result<CampaignCounts> Counts(std::string_view campaign_id) const;

 private:
  explicit CampaignsProjection(ReadModelStore& store) : store_(store) {}
  ReadModelStore& store_;
  Table order_, counts_, leads_;
};

class ConversationsProjection final : public Projection {
 public:
  static Result<std::unique_ptr<ConversationsProjection>> Open(ReadModelStore& store);
  std::string_view name() const override { return "conversations"; }
  std::vector<Table> tables() const override { return {keys_}; }
  Status Apply(Txn& txn, const eventstore::EventView& event) override;

  // The lead last texted at the number with blind index `hash` from `from_number`, or nullopt.
  Result<std::optional<std::string>> LeadTextedAt(std::string_view hash,
                                                  std::string_view from_number) const;
  // The lead an outbound message with this provider id went to, or nullopt.
  Result<std::optional<std::string>> LeadOfMessage(std::string_view provider_message_id) const;

 private:
  explicit ConversationsProjection(ReadModelStore& store) : store_(store) {}
  Result<std::optional<std::string>> Find(const std::string& key) const;
  ReadModelStore& store_;
  Table keys_;
};

}  // namespace nextier::projections
