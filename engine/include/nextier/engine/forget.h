// Forgetting a lead (the right to be forgotten, issue 8): `nextier forget LEAD_ID` and
// POST /api/leads/{id}/forget.
//
// Personal fields live in the events sealed under a key per lead (the stream id is the key's
// subject), kept in the store's key ring beside the log. Forgetting appends, as one unit on the
// lead's stream and under the idempotency key "forget:<id>":
//   LeadForgotten {reason, subjects}   subjects: the orphan replies that came from one of the
//                                      lead's numbers (matched by blind index), sealed under
//                                      their own "orphan:<id>" subjects
//   TimerCancelled for every pending timer of the lead (follow-ups, reminders, callbacks,
//                                      deferred sends: nothing more happens to the person)
//   CallClosed "forgotten"             for its open call-queue entry, if any
// and THEN destroys the lead's key and each listed subject's (KeyRing::Forget: a tombstone, so
// no key is ever made again). The events keep verifying (the hash chain covers ciphertext) but
// read as erased.
//
// Crash safety. Append first, destroy second: a crash in between leaves a LeadForgotten whose
// key still exists. Two things repair that: ForgottenProjection (projections/forgotten.h)
// destroys the keys a LeadForgotten names as it applies the event, before its checkpoint passes
// it, so every start (catch-up) and every rebuild re-destroys whatever a crash left; and a
// repeated Forget re-destroys too. Destroying first instead would leave, after a crash, erased
// data with no record in the log of who erased it or why.
//
// Idempotent: forgetting a forgotten lead appends nothing and answers with the original time.
//
// What stays: blind indexes (HMAC-SHA256 under the store-wide index secret, which is not the
// lead's key), so the suppression list still knows an opted-out number; the lead's facts that
// are not personal (state, company, title, campaign); and whatever a provider keeps of its own.
//
// Thread-safety: Forget may be called from any thread; it blocks until durable (call it from a
// worker, never an I/O thread).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "nextier/common/status.h"
#include "nextier/engine/clock.h"
#include "nextier/engine/lead_commands.h"
#include "nextier/eventstore/event_store.h"

namespace nextier::engine {

struct ForgetOutcome {
  std::string lead_id;
  Micros at = 0;         // recordedAt of the LeadForgotten (the original one on a repeat)
  uint64_t seq = 0;      // its position in the log
  bool already = false;  // the lead had been forgotten before: nothing was appended
  std::vector<std::string> subjects;  // every key subject destroyed (the lead's stream first)
};

class ForgetService {
 public:
  // `store` and `handler` must outlive the service; the events' time is the handler's clock.
  ForgetService(eventstore::EventStore& store, LeadCommandHandler& handler);

  // Forgets lead `lead_id` (the bare id) on behalf of `actor` ("admin:alice", "cli:root").
  // InvalidArgument for an empty id, NotFound for an unknown lead, the store's errors otherwise
  // (after which a retry is safe: see the file comment).
  Result<ForgetOutcome> Forget(std::string_view lead_id, std::string_view actor,
                               std::string_view reason = "request");

 private:
  Result<std::vector<std::string>> OrphanSubjects(const std::vector<std::string>& phone_hashes);

  eventstore::EventStore& store_;
  LeadCommandHandler& handler_;
};

// The stream of replies from numbers no lead was texted at ("orphan-replies"); each is sealed
// under "orphan:<id>".
inline constexpr std::string_view kOrphanRepliesStream = "orphan-replies";
inline constexpr std::string_view kOrphanSubjectPrefix = "orphan:";

}  // namespace nextier::engine
