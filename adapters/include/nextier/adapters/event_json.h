// Stored events as readable JSON, for auditors: the history endpoint, the export and
// `nextier history` (API.md, "Leads" history and "Audit").
//
// The payload is decoded generically from the Cap'n Proto schema (field names as in
// events.capnp, already camelCase), so a payload added to the schema later is rendered without
// touching this code. Renderings that are not the raw field value:
//   - Data fields (hashes, blind indexes) become lower-case hex;
//   - Int64 fields whose name ends in "At" (startsAt, dueAt, ...) are business times in
//     microseconds and become RFC 3339 strings (null when 0, the schema's "unset");
//   - `personal` fields hold a sealed `Personal`: with `open_personal` they become the opened
//     Personal as an object of its non-empty fields, or kErased when the subject's key was
//     forgotten, or kUnreadable when the bytes do not open (altered, or sealed under another
//     subject); without `open_personal` they are kSealed. An empty one is null.
//   - on the events of a forgotten lead (its key subject, or its stream, was forgotten) the
//     free text stored in clear that may quote the person becomes kErased too: the `reason` of
//     LeadNotInterested, SmsSendFailed, SmsSendUnknown, SmsDeliveryFailed, LeadRejected,
//     LeadNoHit, MeetingCancelled and SkipTraceAttemptFailed, and the template `values` inside
//     a TimerScheduled's `args` (the log itself keeps the bytes: the hash chain covers them);
//   - text that is not valid UTF-8 has the bad bytes replaced by U+FFFD, so dump() never throws.
//
// Thread-safety: pure functions; `keys` is used only through its own thread-safe methods. The
// EventView must be valid for the call (it is only inside its visitor).
#pragma once

#include <nlohmann/json.hpp>
#include <string_view>

#include "nextier/eventstore/event_store.h"
#include "nextier/eventstore/key_ring.h"

namespace nextier::adapters {

inline constexpr std::string_view kSealed = "[sealed]";
inline constexpr std::string_view kErased = "[erased]";
inline constexpr std::string_view kUnreadable = "[unreadable]";

// {"seq", "version", "stream", "type", "at", "actor", "correlationId", "causationId",
//  "commandId", "workflow": {"id", "version"}, "data": {...}, "prevHash", "hash"}.
// "data" is the payload's fields (null for a payload this build does not know).
nlohmann::json EventJson(const eventstore::EventView& view, eventstore::KeyRing& keys,
                         bool open_personal);

}  // namespace nextier::adapters
