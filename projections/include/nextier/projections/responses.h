// ResponsesProjection ("responses"): inbound replies and gold labels, for API.md's
// GET /api/responses and GET /api/responses/gold-labels. Personal fields (the number that
// wrote, the text, the email) stay sealed in the rows and are opened with the store's KeyRing
// at query time, so a forgotten lead reads as erased at once.
//
// Tables (part of the format; bump version() when changing them):
//   responses.rows      key = be64 seq of ReplyReceived, value = encoded row
//   responses.by_class  key = classification || 0 || be64 seq
//   responses.by_camp   key = campaign id || 0 || be64 seq
//   responses.gold      key = be64 seq of LeadGoldLabeled, value = encoded gold row
//   responses.campaign  key = lead id, value = campaign id (from LeadQueued)
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
#include "nextier/eventstore/key_ring.h"
#include "nextier/projections/projection.h"
#include "nextier/projections/read_model_store.h"

namespace nextier::projections {

struct ResponseView {
  std::string id;       // the provider's message id of the inbound text
  std::string lead_id;  // "" for a reply from an unknown number
  std::string from;
  std::string body;
  std::string classification;
  std::string email;
  bool gold_label = false;
  std::string campaign_id;
  int64_t received_at = 0;
};

struct GoldLabelView {
  std::string lead_id;
  std::string email;
  std::string phone;
  bool phone_verified = false;
  int64_t gold_labeled_at = 0;
  std::string campaign_id;
  std::string message_id;
};

struct ResponseFilter {
  std::string classification;  // "" = any
  std::string campaign;        // "" = any
};

class ResponsesProjection final : public Projection {
 public:
  // `store` and `keys` must outlive the projection.
  static Result<std::unique_ptr<ResponsesProjection>> Open(ReadModelStore& store,
                                                           eventstore::KeyRing& keys);
  std::string_view name() const override { return "responses"; }
  std::vector<Table> tables() const override {
    return {rows_, by_class_, by_campaign_, gold_, campaign_};
  }
  Status Apply(Txn& txn, const eventstore::EventView& event) override;

  // Oldest first after `cursor` (a cursor this query handed out; "" = the start).
  Result<std::vector<ResponseView>> List(const ResponseFilter& filter, size_t limit,
                                         std::string_view cursor,
                                         std::optional<std::string>* next) const;
  Result<std::vector<GoldLabelView>> GoldLabels(size_t limit, std::string_view cursor,
                                                std::optional<std::string>* next) const;

 private:
  ResponsesProjection(ReadModelStore& store, eventstore::KeyRing& keys)
      : store_(store), keys_(keys) {}
  ReadModelStore& store_;
  eventstore::KeyRing& keys_;
  Table rows_, by_class_, by_campaign_, gold_, campaign_;
};

}  // namespace nextier::projections
