// Workflow: the typed, validated form of one workflow definition (a `workflows/*.json` file
// edited by ops, or a document submitted over the API). The file format, every field, its
// default and its rule are documented in workflows/README.md; loading lives in loader.h.
//
// A Workflow is a plain value built by the loader, which guarantees every invariant listed
// in README.md. Treat it as immutable after loading: `version` and `canonical_json` describe
// the document it came from, and `matchers` (used by matching.h) were compiled from
// `role_scores`, `entity_patterns` and `ambiguous_entity_words` at load time.
//
// Thread-safety: a const Workflow may be read by any number of threads at once. Copies share
// the compiled matchers, which are immutable.
#pragma once

#include <array>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "nextier/workflows/segments.h"

namespace nextier::workflows {

// Reply classes of an inbound SMS, in the default precedence order.
enum class ReplyClass {
  kOptOut,
  kHelp,
  kEmail,
  kWrongNumber,
  kPositive,
  kNegative,
  kQuestion,
  kOther,
};
inline constexpr int kReplyClassCount = 8;

// "OPT_OUT", "HELP", "EMAIL", "WRONG_NUMBER", "POSITIVE", "NEGATIVE", "QUESTION", "OTHER".
std::string_view ReplyClassName(ReplyClass reply_class);
std::optional<ReplyClass> ReplyClassFromName(std::string_view name);

// What the campaign is for: demo the platform, or qualify leads for a hand-off partner.
enum class CampaignKind { kPlatformDemo, kPartnerHandoff };
std::string_view CampaignKindName(CampaignKind kind);  // "PLATFORM_DEMO", "PARTNER_HANDOFF"

// SignalHouse (10DLC) use-case volume tier. LOW_VOLUME caps sending at 2,000 SMS a day.
enum class VolumeTier { kLowVolume };
std::string_view VolumeTierName(VolumeTier tier);  // "LOW_VOLUME"

// Whose clock quiet hours are read on. Only the recipient's local time is supported.
enum class TimeBasis { kRecipient };
std::string_view TimeBasisName(TimeBasis basis);  // "recipient"

struct TimeOfDay {
  int hour = 0;    // 0..23
  int minute = 0;  // 0..59
  int MinutesSinceMidnight() const { return hour * 60 + minute; }
  std::string ToString() const;  // "08:00"
  bool operator==(const TimeOfDay&) const = default;
};

struct SignalHouse {
  std::string brand;       // SignalHouse/TCR brand id, e.g. "BZOYPIH"
  std::string brand_name;  // the name recipients see; what {brand} renders to
  // Defaults that campaign creation may override; absent until ops create the campaign.
  std::optional<std::string> campaign_id;
  std::optional<std::string> from_number;  // E.164, e.g. "+15164079249"
  std::string ai_worker;                   // the AI persona's name, what {aiWorker} renders to
  VolumeTier volume_tier = VolumeTier::kLowVolume;
};

struct HandoffPartner {
  std::string name;  // what {partner} renders to
};

// Sending window: messages go out only between `start` (inclusive) and `end` (exclusive) in
// the recipient's local time; the rest of the day is quiet.
struct QuietHours {
  TimeOfDay start{8, 0};
  TimeOfDay end{21, 0};
  TimeBasis basis = TimeBasis::kRecipient;
};

struct Limits {
  int block_size = 2000;  // leads drawn per campaign block
  int batch_size = 250;   // messages per send batch
  int batch_delay_seconds = 5;
  int daily_sms_cap = 2000;
  int skip_trace_daily_limit = 2000;
  QuietHours quiet_hours;
};

struct Role {
  std::string name;  // matches itself too, e.g. "Owner"
  int score = 0;     // 0..100
  std::vector<std::string> synonyms;
};

struct RoleScores {
  int default_score = 0;  // for titles that match no role
  std::vector<Role> roles;
};

struct Template {
  std::string text;  // as written, with {placeholders}
  // Of a representative render: every placeholder replaced by a typical value (README.md,
  // "Segments"), so a long company name may still cost one more segment at send time.
  SegmentInfo segments;
};

struct FollowUp {
  std::string name;     // unique within the workflow, e.g. "nudge"
  int delay_hours = 0;  // hours of silence after the previous outbound message
  Template body;
};

struct Reminders {
  Template before_24h;
  Template before_1h;
  Template before_15m;  // always contains {link}
};

struct Templates {
  Template opener;
  std::vector<FollowUp> follow_ups;
  // Keyed by reply class; never OPT_OUT or HELP (those answer with opt_out_confirmation and
  // help). Always holds POSITIVE, which asks for the best email.
  std::map<ReplyClass, Template> auto_replies;
  Template help;
  Template opt_out_confirmation;
  Template meeting_confirmation;
  Reminders reminders;
};

// Keyword data for one reply class. Matching is case-insensitive on word boundaries (README.md,
// "Classification"); the classifier itself lives in the engine.
struct ClassRule {
  std::vector<std::string> keywords;       // phrases anywhere in the reply
  std::vector<std::string> exact_replies;  // the whole reply, ignoring punctuation and case
};

struct Classification {
  // Every class exactly once, OPT_OUT first and OTHER last: the first class whose rule
  // matches wins.
  std::vector<ReplyClass> precedence;
  // Indexed by ReplyClass; EMAIL and OTHER may be empty (EMAIL also matches any address).
  std::array<ClassRule, kReplyClassCount> rules;
  const ClassRule& rule(ReplyClass c) const { return rules[static_cast<int>(c)]; }
};

// Relative weights of the call-queue priority; each 0..1, not all zero.
struct CallQueueWeights {
  double role_score = 0.5;
  double recency = 0.3;
  double campaign = 0.2;
};

struct Meeting {
  int duration_minutes = 15;
};

class Matchers;  // compiled title and entity matchers; private to the library

struct Workflow {
  std::string id;  // slug, e.g. "real-estate-agents"
  std::string name;
  std::string audience;
  std::string pitch;
  CampaignKind campaign_kind = CampaignKind::kPlatformDemo;
  SignalHouse signalhouse;
  std::optional<HandoffPartner> handoff_partner;  // set iff campaign_kind is PARTNER_HANDOFF
  Limits limits;
  RoleScores role_scores;
  std::vector<std::string> entity_patterns;
  // Entries of entity_patterns that are also people's names ("Church"): they mark an entity
  // only when they share their name column with other words.
  std::vector<std::string> ambiguous_entity_words;
  Templates templates;
  Classification classification;
  CallQueueWeights call_queue;
  Meeting meeting;

  // The first 16 hex digits (64 bits) of the SHA-256 of `canonical_json`. Whitespace, key
  // order and spelling out a default do not change it; any change of content does.
  std::string version;
  // The document with defaults filled in, serialised with sorted keys and no whitespace: what
  // the event log stores, and what re-parses to this same Workflow and version.
  std::string canonical_json;

  // Built by the loader; shared between copies. Null only for a hand-built Workflow, in which
  // case the matching functions compile the tables on each call (slow).
  std::shared_ptr<const Matchers> matchers;
};

}  // namespace nextier::workflows
