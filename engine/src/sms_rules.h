// The rules every outbound SMS obeys, shared by the campaign dispatcher (openers) and the SMS
// queue (everything else): suppression, and the from-number's daily cap counted on its stream.
// Private to the engine.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "nextier/common/status.h"
#include "nextier/engine/clock.h"
#include "nextier/eventstore/event_store.h"
#include "nextier/projections/sending.h"

namespace nextier::engine::internal {

// Why the number with blind index `hash` may not get a text for `lead_id`, or "" when it may:
// "opted_out" (anywhere, any campaign), "wrong_number" (for this lead), and, for an opener,
// "duplicate_number" (another lead's opener went to this number already).
Result<std::string> SuppressionReason(const projections::SuppressionProjection& suppression,
                                      std::string_view lead_id, std::string_view hash, bool opener);

// The SMS one fire counts against a from-number's carrier day: read the count (the stream's
// version) once, add one SmsCapCounted per text, and append them all expecting that count, so
// a concurrent writer makes the whole unit conflict instead of overshooting the cap.
class CapTally {
 public:
  Status Begin(eventstore::EventStore& store, std::string_view from_number, Micros now);
  uint64_t used() const { return used_ + events_.size(); }
  bool Full(int cap) const { return used() >= static_cast<uint64_t>(cap < 0 ? 0 : cap); }
  void Count(std::string_view message_key, std::string_view lead_id, std::string_view kind);
  const std::string& day() const { return day_; }
  // Adds the cap stream's append to `unit` when anything was counted.
  void AppendTo(std::vector<eventstore::StreamAppend>& unit);

 private:
  std::string day_;
  std::string stream_;
  uint64_t used_ = 0;
  std::vector<eventstore::NewEvent> events_;
};

// The SmsSendIntended of one text (personal fields sealed by the caller into `sealed`).
struct IntentFields {
  std::string key;
  std::string kind;
  std::string campaign_id;
  std::string from;
  std::string template_name;
  std::string body;  // only to count segments; the body itself travels sealed
  std::string to_hash;
  std::string day;
};
void FillIntent(eventstore::schema::SmsSendIntended::Builder intent, const IntentFields& f,
                const std::string& sealed);

}  // namespace nextier::engine::internal
