// Meetings: booking a discovery call with a gold lead, its confirmation SMS and its reminders
// 24 h, 1 h and 15 min before (API.md, "Meetings").
//
// A meeting lives on its lead's stream (`lead-<id>`); its id is "mtg-<leadId>-<n>", n being the
// stream version at which it was booked, so ids are deterministic and unique.
//
// Book is ONE unit on the lead's stream: MeetingBooked (gold/called -> booked), the
// confirmation SMS request (RequestLeadSms, kind and template "confirmation"), and per offset
// either a durable "reminder" timer due at startsAt - offset or, when that moment is already
// past, a ReminderSkipped{reason "past"}. Reminder timer ids are "reminder:<meetingId>:<offset>"
// (suffixed ":<n>" when a reschedule needs a fresh one), args {"meeting", "offset"}.
//
// When a reminder fires, the meeting must still be the lead's booked meeting and the lead must
// not have opted out: then ReminderSent + RequestLeadSms(kind "reminder", template
// "reminder:<offset>", values agentName, meetingTime, link); otherwise ReminderSkipped with the
// reason. The SMS queue applies suppression, quiet hours and the cap when it sends.
//
// Cancel: MeetingCancelled (booked -> called) + TimerCancelled for every pending reminder, in
// one unit, so a cancelled meeting never sends a reminder (a racing fire conflicts, see
// timers.h). Reschedule: MeetingRescheduled, each pending reminder moved (a TimerScheduled with
// its id), one already sent or skipped scheduled afresh, and those now past cancelled and
// skipped; plus a new confirmation with the new time.
//
// Once a meeting has started, RecordOutcome says what became of it: MeetingOutcomeRecorded
// "completed" (the lead stays booked) or "no_show" (booked -> called, as a cancellation does, so
// the lead can be booked again), with TimerCancelled for any reminder still pending.
//
// An agent has at most one booked meeting at any moment: Book and Reschedule check the
// meetings read model (caught up to the log's head first) under one service-wide lock, so two
// bookings through this service never take the same slot. Meetings without an agent are not
// checked.
//
// meetingTime is the start in the lead's local zone (from the number's area code, else the
// address state), e.g. "Tue, Dec 1 at 2:00 PM EST"; UTC RFC 3339 when no zone is known.
//
// Thread-safety: all methods may be called from any thread; they block on durable appends, so
// call them from a worker, never from an I/O thread.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "nextier/common/status.h"
#include "nextier/engine/clock.h"
#include "nextier/engine/lead.h"
#include "nextier/engine/lead_commands.h"
#include "nextier/engine/timers.h"
#include "nextier/engine/workflow_registry.h"
#include "nextier/eventstore/event_store.h"
#include "nextier/projections/calls_meetings.h"
#include "nextier/projections/leads.h"
#include "nextier/projections/projection.h"

namespace nextier::engine {

// "mtg-<leadId>-<n>".
std::string MeetingId(std::string_view lead_id, uint64_t n);
// The lead a meeting id belongs to; InvalidArgument (field "id") for a malformed id.
Result<std::string> LeadOfMeeting(std::string_view meeting_id);
// The meeting as folded from its lead's stream; NotFound when never booked.
Result<projections::Meeting> LoadMeeting(eventstore::EventStore& store,
                                         std::string_view meeting_id);
// The start as the lead reads it (see the file comment).
std::string FormatMeetingTime(Micros starts_at, std::string_view e164,
                              std::string_view address_state);

struct BookMeeting {
  std::string lead_id;
  Micros starts_at = 0;
  std::optional<int> duration_minutes;  // default: the lead's workflow's (15)
  std::string agent;                    // "" = no agent (no slot check)
  std::string link;                     // "" = MeetingServiceOptions::link_base + meeting id
  std::string actor;
};

struct MeetingServiceOptions {
  std::string actor = "system:meetings";  // on timer effects
  // The join link of a meeting booked without one.
  std::string link_base = "https://meet.example.com/nextier/";
  std::chrono::milliseconds read_model_wait = std::chrono::milliseconds(30000);
};

class MeetingService {
 public:
  // Everything passed in must outlive the service; `runner` must hold `meetings` and `leads`.
  MeetingService(eventstore::EventStore& store, const Clock& clock, WorkflowRegistry& workflows,
                 LeadCommandHandler& handler, projections::ProjectionRunner& runner,
                 const projections::MeetingsProjection& meetings,
                 const projections::LeadsProjection& leads, MeetingServiceOptions options = {});

  // Registers the "reminder" timer handler; before timers.Start/AdvanceTo.
  void RegisterTimerHandlers(TimerService& timers);

  // InvalidArgument: no lead id (field "leadId"), a start not in the future ("startsAt"), a
  // duration outside 1..kMaxMeetingMinutes ("durationMinutes"). NotFound: no such lead.
  // Conflict: the agent has a booked meeting overlapping the slot, or the lead is neither gold
  // nor called (the state machine's message).
  Result<projections::Meeting> Book(const BookMeeting& request);
  // NotFound for an unknown meeting; Conflict when it is not booked (cancelled already).
  Result<projections::Meeting> Cancel(std::string_view meeting_id, std::string_view reason = {},
                                      std::string_view actor = {});
  // Like Book's checks for the new start (the meeting's own slot does not conflict with
  // itself); Conflict when the meeting is not booked.
  Result<projections::Meeting> Reschedule(std::string_view meeting_id, Micros starts_at,
                                          std::string_view actor = {});
  // Outcome "completed" or "no_show" of a booked meeting that has started (see the file
  // comment). InvalidArgument (field "status") for another outcome; NotFound for an unknown
  // meeting; Conflict before its start, for a cancelled meeting, or one with the other outcome.
  // Recording the outcome it already has changes nothing and returns the meeting.
  Result<projections::Meeting> RecordOutcome(std::string_view meeting_id, std::string_view outcome,
                                             std::string_view actor = {});
  // The meeting as folded from its lead's stream.
  Result<projections::Meeting> Get(std::string_view meeting_id);

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace nextier::engine
