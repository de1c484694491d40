#include "history.h"

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include "nextier/adapters/api_audit.h"
#include "nextier/adapters/event_json.h"
#include "nextier/engine/lead.h"
#include "nextier/engine/lead_state.h"
#include "nextier/eventstore/event_store.h"

namespace nextier::app {
namespace {

using nlohmann::json;

// A field of an event's data as short text: "" when missing, null, empty or false, so that
// optional parts can be left out; true prints as "yes".
std::string Str(const json& data, const char* name) {
  if (!data.is_object()) return {};
  auto it = data.find(name);
  if (it == data.end() || it->is_null()) return {};
  if (it->is_string()) return it->get<std::string>();
  if (it->is_boolean()) return it->get<bool>() ? "yes" : "";
  if (it->is_number_float()) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.2f", it->get<double>());
    return buf;
  }
  return it->dump();
}

// `text` prefixed by `sep` when not empty.
std::string Opt(const std::string& sep, const std::string& text) {
  return text.empty() ? std::string() : sep + text;
}

// The key data of one event, short enough for one line. Personal fields are never printed: the
// timeline goes to terminals and logs; `--json` shows them opened.
std::string Summary(const std::string& type, const json& d) {
  if (type == "LeadImported") {
    return "row " + Str(d, "row") + " of file " + Str(d, "fileId") + Opt(" (", Str(d, "source")) +
           (Str(d, "source").empty() ? "" : ")") + Opt(", ", Str(d, "company")) +
           (Str(d, "isEntity").empty() ? "" : ", entity");
  }
  if (type == "DuplicateFound") {
    return "matches lead " + Str(d, "matchedLeadId") + Opt(" by ", Str(d, "matchedBy"));
  }
  if (type == "LeadRejected") return Str(d, "code") + Opt(": ", Str(d, "reason"));
  if (type == "LeadEnriched") {
    return Str(d, "humanId") + Opt(" ", Str(d, "phoneType")) + Opt(" via ", Str(d, "provider"));
  }
  if (type == "LeadNoHit") return Str(d, "reason");
  if (type == "SkipTraceAttemptFailed") {
    return "attempt " + Str(d, "attempt") + Opt(": ", Str(d, "reason")) +
           (Str(d, "final").empty() ? "" : " (final)");
  }
  if (type == "LeadQueued") {
    return "campaign " + Str(d, "campaignId") + " block " + Str(d, "blockNumber") + " batch " +
           Str(d, "batchNumber");
  }
  if (type == "SmsSendIntended") {
    return Str(d, "kind") + " " + Str(d, "messageKey") + Opt(" template ", Str(d, "template"));
  }
  if (type == "SmsSent") {
    return Str(d, "kind") + " " + Str(d, "messageKey") + Opt(" -> ", Str(d, "providerMessageId")) +
           (Str(d, "reconciled").empty() ? "" : " (reconciled)");
  }
  if (type == "SmsSendFailed") {
    return Str(d, "messageKey") + Opt(" ", Str(d, "code")) + Opt(": ", Str(d, "reason")) +
           (Str(d, "permanent").empty() ? "" : " (permanent)");
  }
  if (type == "SmsSendUnknown") return Str(d, "messageKey") + Opt(": ", Str(d, "reason"));
  if (type == "SmsDelivered") return Str(d, "providerMessageId");
  if (type == "SmsDeliveryFailed") {
    return Str(d, "providerMessageId") + Opt(": ", Str(d, "reason"));
  }
  if (type == "ReplyReceived") {
    return Str(d, "classification") + (Str(d, "goldLabel").empty() ? "" : " (gold label)") +
           Opt(" ", Str(d, "providerMessageId"));
  }
  if (type == "LeadResponded") return Str(d, "classification");
  if (type == "LeadGoldLabeled") {
    return std::string("gold label") + (Str(d, "phoneVerified").empty() ? "" : ", phone verified");
  }
  if (type == "LeadOptedOut") return "via " + Str(d, "source");
  if (type == "LeadNotInterested") return "via " + Str(d, "source") + Opt(": ", Str(d, "reason"));
  if (type == "NumberSuppressed") return Str(d, "reason");
  if (type == "CallQueued") {
    return "entry " + Str(d, "entryId") + Opt(" priority ", Str(d, "priority")) +
           Opt(" ", Str(d, "reason"));
  }
  if (type == "CallAssigned") return "entry " + Str(d, "entryId") + " to " + Str(d, "agent");
  if (type == "CallCompleted") {
    return Str(d, "disposition") + Opt(" by ", Str(d, "agent")) +
           Opt(", call back at ", Str(d, "callbackAt"));
  }
  if (type == "CallRequeued" || type == "CallClosed") {
    return "entry " + Str(d, "entryId") + Opt(": ", Str(d, "reason"));
  }
  if (type == "MeetingBooked") {
    return Str(d, "meetingId") + " at " + Str(d, "startsAt") +
           Opt(" for ", Str(d, "durationMinutes")) +
           (Str(d, "durationMinutes").empty() ? "" : " min") + Opt(" with ", Str(d, "agent"));
  }
  if (type == "MeetingCancelled") return Str(d, "meetingId") + Opt(": ", Str(d, "reason"));
  if (type == "MeetingOutcomeRecorded") return Str(d, "meetingId") + ": " + Str(d, "outcome");
  if (type == "MeetingRescheduled") {
    return Str(d, "meetingId") + " " + Str(d, "previousStartsAt") + " -> " + Str(d, "startsAt");
  }
  if (type == "ReminderSent") return Str(d, "meetingId") + " " + Str(d, "offset");
  if (type == "ReminderSkipped") {
    return Str(d, "meetingId") + " " + Str(d, "offset") + Opt(": ", Str(d, "reason"));
  }
  if (type == "TimerScheduled") {
    return Str(d, "kind") + " " + Str(d, "timerId") + Opt(" due ", Str(d, "dueAt"));
  }
  if (type == "TimerFired") return Str(d, "timerId");
  if (type == "TimerCancelled") return Str(d, "timerId") + Opt(": ", Str(d, "reason"));
  if (type == "LeadForgotten") return Str(d, "reason");
  // Anything else (a payload added later): its first few short scalar fields as name=value.
  std::string out;
  int shown = 0;
  if (d.is_object()) {
    for (auto it = d.begin(); it != d.end() && shown < 3; ++it) {
      if (it.key() == "personal" || it->is_structured()) continue;
      const std::string v = Str(d, it.key().c_str());
      if (v.empty() || v.size() > 40) continue;
      out += Opt(" ", it.key() + "=" + v);
      ++shown;
    }
  }
  return out.empty() ? out : out.substr(1);
}

}  // namespace

int RunHistory(const HistoryOptions& options) {
  if (options.lead_id.empty()) {
    std::fprintf(stderr, "history: a lead id is required\n");
    return 2;
  }
  eventstore::LmdbOptions store_options;
  store_options.path = (std::filesystem::path(options.data_dir) / "eventstore").string();
  // Read-only takes no writer lock: the history of a running engine can be read beside it.
  store_options.read_only = true;
  auto opened = eventstore::OpenLmdbEventStore(store_options);
  if (!opened.ok()) {
    std::fprintf(stderr, "history: cannot open %s: %s\n", store_options.path.c_str(),
                 opened.status().ToString().c_str());
    return 1;
  }
  eventstore::EventStore& store = **opened;

  auto fail = [](const Status& s) {
    if (s.code() == StatusCode::kNotFound) {
      std::fprintf(stderr, "history: %s\n", s.message().c_str());
    } else {
      std::fprintf(stderr, "history: %s\n", s.ToString().c_str());
    }
    return s.code() == StatusCode::kInvalidArgument ? 2 : 1;
  };

  if (options.json) {
    auto history = adapters::LeadHistoryJson(store, options.lead_id);
    if (!history.ok()) return fail(history.status());
    std::printf("%s\n", history->dump(2, ' ', false, json::error_handler_t::replace).c_str());
    return 0;
  }

  auto lead_id = adapters::ResolveLeadId(store, options.lead_id);
  if (!lead_id.ok()) return fail(lead_id.status());
  engine::Lead lead;
  lead.id = *lead_id;
  lead.stream = engine::LeadStreamId(*lead_id);
  std::vector<std::string> lines;
  Status s = store.ReadStream(lead.stream, 1, SIZE_MAX, [&](const eventstore::EventView& ev) {
    const engine::LeadState before = lead.state;
    engine::Apply(lead, ev.event());
    const json e = adapters::EventJson(ev, store.keys(), /*open_personal=*/false);
    const std::string type = e["type"].get<std::string>();
    std::string summary = Summary(type, e["data"]);
    if (lead.state != before) {
      summary += Opt(summary.empty() ? "" : "; ",
                     std::string("state ") + std::string(engine::LeadStateName(before)) + " -> " +
                         std::string(engine::LeadStateName(lead.state)));
    }
    const std::string corr = e["correlationId"].get<std::string>();
    char head[160];
    std::snprintf(head, sizeof head, "%-27s %-24s %-22s ", e["at"].get<std::string>().c_str(),
                  type.c_str(), e["actor"].get<std::string>().c_str());
    lines.push_back(head + summary + Opt("  [", corr) + (corr.empty() ? "" : "]"));
    return true;
  });
  if (!s.ok()) return fail(s);
  if (lead.version == 0) return fail(Status::NotFound("lead " + *lead_id + " does not exist"));

  const std::string human = lead.human_id.empty() ? "" : " (" + lead.human_id + ")";
  std::printf("lead %s%s, stream %s, %zu event%s\n", lead.id.c_str(), human.c_str(),
              lead.stream.c_str(), lines.size(), lines.size() == 1 ? "" : "s");
  std::printf("%-27s %-24s %-22s %s\n", "TIME", "EVENT", "ACTOR", "DATA  [CORRELATION]");
  for (const auto& line : lines) std::printf("%s\n", line.c_str());
  std::printf("state: %s\n", std::string(engine::LeadStateName(lead.state)).c_str());
  if (lead.inconsistent_events > 0) {
    std::printf(
        "note: %llu event%s not allowed by the state machine left the state unchanged; "
        "first: %s\n",
        static_cast<unsigned long long>(lead.inconsistent_events),
        lead.inconsistent_events == 1 ? "" : "s", lead.first_inconsistency.c_str());
  }
  return 0;
}

}  // namespace nextier::app
