// The read models of the call queue and of meetings (API.md, "Call queue" and "Meetings").
//
// Both are folded from the lead streams (`lead-<id>`): a call-queue entry and a meeting belong
// to one lead, and their events sit in that lead's stream beside the state changes they cause.
// The fold of one entry or one meeting is a pure function (ApplyCallEvent, ApplyMeetingEvent)
// shared with the engine, which folds a lead's stream with them to check a command against the
// very same view the API shows.
//
// CallQueueProjection ("call_queue"):
//   calls.by_id      key = entry id, value = the encoded CallEntry
//   calls.all        key = OrderKey(priority, createdAt, id) -> ""  (highest priority first,
//                    then oldest, then id)
//   calls.by_status  key = status || 0x00 || OrderKey -> ""
// Agent and campaign filters are applied while scanning (the queue is small: a few thousand
// gold leads a day at most); a status filter scans only that status.
//
// MeetingsProjection ("meetings"):
//   meetings.by_id     key = meeting id, value = the encoded Meeting
//   meetings.by_start  key = be64 ordered startsAt || id -> ""
//   meetings.by_agent  key = agent || 0x00 || be64 ordered startsAt || id -> ""
//   meetings.by_lead   key = lead id -> the id of the lead's latest meeting
// Meeting status: booked, cancelled (MeetingCancelled), or what MeetingOutcomeRecorded says once
// the meeting started: completed or no_show.
//
// Thread-safety: queries may run from any thread, concurrently with the runner applying.
#pragma once

#include <array>
#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "nextier/common/status.h"
#include "nextier/eventstore/event_store.h"
#include "nextier/projections/projection.h"
#include "nextier/projections/read_model_store.h"

namespace nextier::projections {

// ---- call queue ----------------------------------------------------------------------------

struct CallEntry {
  std::string id;  // "call-<leadId>-<n>"
  std::string lead_id;
  double priority = 0;
  std::string status;  // pending | assigned | completed ("" before its CallQueued)
  std::string assigned_to;
  std::string disposition;  // the last completion's; kept when a callback requeues the entry
  int64_t callback_at = 0;  // micros; 0 when none
  std::string campaign_id;
  std::string reason;         // why it was queued (e.g. "gold_label")
  std::string closed_reason;  // CallClosed (e.g. "opted_out"): completed without a call
  int64_t created_at = 0;
  int64_t updated_at = 0;
};

// Folds one event into `entry`, whose `id` must be set. Events about other entries (or of no
// interest) are ignored. Returns true when `entry` changed. The lead id is taken from the
// event's stream ("lead-<id>").
bool ApplyCallEvent(CallEntry& entry, const eventstore::schema::Event::Reader& event);

struct CallQueueFilter {
  std::string status;    // pending | assigned | completed; "" for any
  std::string agent;     // assignedTo; "" for any
  std::string campaign;  // "" for any
};

struct CallQueuePage {
  std::vector<CallEntry> items;
  std::optional<std::string> next;
};

class CallQueueProjection final : public Projection {
 public:
  static Result<std::unique_ptr<CallQueueProjection>> Open(ReadModelStore& store);

  std::string_view name() const override { return "call_queue"; }
  std::vector<Table> tables() const override { return {by_id_, all_, by_status_}; }
  Status Apply(Txn& txn, const eventstore::EventView& event) override;

  // NotFound when no such entry.
  Result<CallEntry> Get(std::string_view entry_id) const;
  // Entries highest priority first, then oldest, after `cursor` (from a previous page of the
  // same query; "" = the start). InvalidArgument (field "status" / "cursor") for an unknown
  // status or a cursor this model did not hand out.
  Result<CallQueuePage> List(const CallQueueFilter& filter, size_t limit,
                             std::string_view cursor) const;

 private:
  explicit CallQueueProjection(ReadModelStore& store) : store_(store) {}
  ReadModelStore& store_;
  Table by_id_, all_, by_status_;
};

// ---- meetings --------------------------------------------------------------------------------

// The reminder offsets, in the order reminders fall due.
inline constexpr std::array<std::string_view, 3> kReminderOffsets = {"24h", "1h", "15m"};
// How long before the start a reminder is due (micros); 0 for an unknown offset.
int64_t ReminderOffsetMicros(std::string_view offset);
// The longest meeting accepted (bounds the overlap scan).
inline constexpr int kMaxMeetingMinutes = 480;

struct MeetingReminder {
  std::string offset;  // 24h | 1h | 15m
  int64_t due_at = 0;
  std::string status;  // pending | sent | skipped | cancelled
};

struct Meeting {
  std::string id;  // "mtg-<leadId>-<n>"
  std::string lead_id;
  int64_t starts_at = 0;
  int64_t ends_at = 0;
  uint32_t duration_minutes = 0;
  std::string agent;
  std::string link;
  std::string status;  // booked | cancelled | completed | no_show ("" before its MeetingBooked)
  std::vector<MeetingReminder> reminders;  // kReminderOffsets order
  int64_t created_at = 0;
  int64_t updated_at = 0;
};

// Folds one event of the meeting's lead stream into `meeting`, whose `id` must be set:
// MeetingBooked/Cancelled/Rescheduled/OutcomeRecorded and ReminderSent/Skipped naming it, and
// LeadOptedOut or LeadForgotten (the lead's pending reminders are cancelled with its timers). The
// caller makes sure the event is on the meeting's lead stream. Returns true when `meeting` changed.
bool ApplyMeetingEvent(Meeting& meeting, const eventstore::schema::Event::Reader& event);

struct MeetingFilter {
  int64_t from = std::numeric_limits<int64_t>::min();  // startsAt >= from
  int64_t to = std::numeric_limits<int64_t>::max();    // startsAt < to
  std::string agent;                                   // "" for any
};

struct MeetingPage {
  std::vector<Meeting> items;
  std::optional<std::string> next;
};

class MeetingsProjection final : public Projection {
 public:
  static Result<std::unique_ptr<MeetingsProjection>> Open(ReadModelStore& store);

  std::string_view name() const override { return "meetings"; }
  std::vector<Table> tables() const override { return {by_id_, by_start_, by_agent_, by_lead_}; }
  Status Apply(Txn& txn, const eventstore::EventView& event) override;

  // NotFound when no such meeting.
  Result<Meeting> Get(std::string_view meeting_id) const;
  // Meetings by start time (earliest first), filtered, after `cursor`.
  Result<MeetingPage> List(const MeetingFilter& filter, size_t limit,
                           std::string_view cursor) const;
  // The BOOKED meetings of `agent` that overlap [starts_at, ends_at), other than
  // `except_id`. Meetings that merely touch (one ends when the other starts) do not overlap.
  Result<std::vector<Meeting>> Overlapping(std::string_view agent, int64_t starts_at,
                                           int64_t ends_at, std::string_view except_id = {}) const;

 private:
  explicit MeetingsProjection(ReadModelStore& store) : store_(store) {}
  ReadModelStore& store_;
  Table by_id_, by_start_, by_agent_, by_lead_;
};

}  // namespace nextier::projections
