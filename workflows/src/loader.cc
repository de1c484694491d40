#include "nextier/workflows/loader.h"

#include <openssl/evp.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <initializer_list>
#include <map>
#include <set>
#include <sstream>
#include <system_error>
#include <utility>

#include "matchers.h"
#include "nextier/workflows/templates.h"
#include "text.h"

namespace nextier::workflows {
namespace {

using json = nlohmann::json;

constexpr int kMaxTemplateSegments = 10;

std::string Join(const std::string& path, std::string_view key) {
  return path.empty() ? std::string(key) : path + "." + std::string(key);
}
std::string At(const std::string& path, std::size_t index) {
  return path + "[" + std::to_string(index) + "]";
}

std::string_view TypeName(const json& j) {
  switch (j.type()) {
    case json::value_t::null:
      return "null";
    case json::value_t::object:
      return "an object";
    case json::value_t::array:
      return "an array";
    case json::value_t::string:
      return "a string";
    case json::value_t::boolean:
      return "a boolean";
    case json::value_t::number_integer:
    case json::value_t::number_unsigned:
      return "an integer";
    case json::value_t::number_float:
      return "a fractional number";
    default:
      return "an unsupported value";
  }
}

std::string MustBe(std::string_view what, const json& j) {
  std::string reason = "must be " + std::string(what) + ", not " + std::string(TypeName(j));
  if (j.is_null()) reason += " (leave an optional field out instead)";
  return reason;
}

bool HasWordCharacter(std::string_view s) {
  return std::any_of(s.begin(), s.end(),
                     [](char c) { return internal::IsWordByte(static_cast<unsigned char>(c)); });
}

bool ContainsWord(std::string_view text, std::string_view word) {
  const std::vector<std::string> words = internal::PhraseWords(text);
  return std::find(words.begin(), words.end(), word) != words.end();
}

bool ContainsCaseInsensitive(std::string_view text, std::string_view needle) {
  return !needle.empty() &&
         internal::AsciiLower(text).find(internal::AsciiLower(needle)) != std::string::npos;
}

bool IsSlug(std::string_view s) {
  if (s.empty() || s.front() == '-' || s.back() == '-') return false;
  char previous = 0;
  for (const char c : s) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
    if (!ok || (c == '-' && previous == '-')) return false;
    previous = c;
  }
  return true;
}

std::string JoinPhrase(const std::vector<std::string>& words) {
  std::string out;
  for (const std::string& w : words) {
    if (!out.empty()) out += ' ';
    out += w;
  }
  return out;
}

std::string Sha256Hex(std::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (EVP_Digest(data.data(), data.size(), digest, &length, EVP_sha256(), nullptr) != 1) {
    return {};
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  for (unsigned int i = 0; i < length; ++i) {
    hex += kHex[digest[i] >> 4];
    hex += kHex[digest[i] & 0xF];
  }
  return hex;
}

// Which placeholders a template may use (templates.h lists the groups).
enum PlaceholderGroup : unsigned {
  kLead = 1,
  kSender = 2,
  kGivenEmail = 4,
  kBookedMeeting = 8,
};

unsigned GroupOf(std::string_view name) {
  if (name == "firstName" || name == "lastName" || name == "company") return kLead;
  if (name == "email") return kGivenEmail;
  if (name == "agentName" || name == "meetingTime" || name == "link") return kBookedMeeting;
  return kSender;
}

struct StringRule {
  std::size_t max_chars = 200;
  bool multiline = false;
};

// Validates one document while building the Workflow. Every problem is recorded; parsing goes
// on past it so that one run reports them all. Defaults are written into the document, which
// becomes the canonical form.
class Parser {
 public:
  CheckResult Run(json doc);

 private:
  enum class Need { kRequired, kOptional };

  void Error(std::string field, std::string reason) {
    errors_.push_back({std::move(field), std::move(reason)});
  }

  void RejectUnknownKeys(const json& obj, const std::string& path,
                         std::initializer_list<std::string_view> known);
  json* Member(json& obj, std::string_view key, const std::string& path, Need need);
  // The member as an object (inserted empty when optional and absent), unknown keys rejected.
  json* Object(json& obj, std::string_view key, const std::string& path, Need need,
               std::initializer_list<std::string_view> known);
  json* Array(json& obj, std::string_view key, const std::string& path, Need need,
              std::size_t max_items);
  bool CheckString(const json& j, const std::string& path, const StringRule& rule);
  std::optional<std::string> String(json& obj, std::string_view key, const std::string& path,
                                    Need need, const StringRule& rule = {});
  std::optional<int> Int(json& obj, std::string_view key, const std::string& path,
                         std::optional<int> default_value, int min, int max);
  std::optional<double> Weight(json& obj, std::string_view key, const std::string& path,
                               double default_value);
  std::optional<TimeOfDay> Time(json& obj, std::string_view key, const std::string& path,
                                std::string_view default_value);
  std::vector<std::string> Phrases(json& obj, std::string_view key, const std::string& path,
                                   Need need, std::size_t max_items, std::size_t max_chars);

  std::optional<Template> ReadTemplate(json& obj, std::string_view key, const std::string& path,
                                       unsigned allowed);
  bool IdentifiesSender(std::string_view text) const;

  void ParseSignalHouse(json& doc);
  void ParseHandoffPartner(json& doc, std::optional<CampaignKind> kind);
  void ParseLimits(json& doc);
  void ParseRoleScores(json& doc);
  void ParseEntityPatterns(json& doc);
  void ParseTemplates(json& doc);
  void ParseClassification(json& doc);
  void ParseCallQueue(json& doc);
  void ParseMeeting(json& doc);

  Workflow w_;
  std::vector<FieldError> errors_;
  // A PARTNER_HANDOFF workflow's missing or broken partner is reported once, on
  // handoffPartner, not again on every template that says {partner}.
  bool partner_reported_ = false;
};

void Parser::RejectUnknownKeys(const json& obj, const std::string& path,
                               std::initializer_list<std::string_view> known) {
  for (const auto& [key, value] : obj.items()) {
    if (std::find(known.begin(), known.end(), key) == known.end()) {
      Error(Join(path, key), "unknown field");
    }
  }
}

json* Parser::Member(json& obj, std::string_view key, const std::string& path, Need need) {
  const auto it = obj.find(key);
  if (it == obj.end()) {
    if (need == Need::kRequired) Error(Join(path, key), "is required");
    return nullptr;
  }
  return &*it;
}

json* Parser::Object(json& obj, std::string_view key, const std::string& path, Need need,
                     std::initializer_list<std::string_view> known) {
  json* member = Member(obj, key, path, need);
  if (member == nullptr) {
    if (need == Need::kRequired) return nullptr;
    member = &(obj[std::string(key)] = json::object());
  }
  if (!member->is_object()) {
    Error(Join(path, key), MustBe("an object", *member));
    return nullptr;
  }
  RejectUnknownKeys(*member, Join(path, key), known);
  return member;
}

json* Parser::Array(json& obj, std::string_view key, const std::string& path, Need need,
                    std::size_t max_items) {
  json* member = Member(obj, key, path, need);
  if (member == nullptr) {
    if (need == Need::kRequired) return nullptr;
    member = &(obj[std::string(key)] = json::array());
  }
  if (!member->is_array()) {
    Error(Join(path, key), MustBe("an array", *member));
    return nullptr;
  }
  if (member->size() > max_items) {
    Error(Join(path, key), "must have at most " + std::to_string(max_items) + " entries");
    return nullptr;
  }
  return member;
}

bool Parser::CheckString(const json& j, const std::string& path, const StringRule& rule) {
  if (!j.is_string()) {
    Error(path, MustBe("a string", j));
    return false;
  }
  const std::string& s = j.get_ref<const std::string&>();
  if (!internal::IsValidUtf8(s)) {
    Error(path, "must be valid UTF-8");
    return false;
  }
  const auto is_space = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; };
  if (std::all_of(s.begin(), s.end(), is_space)) {
    Error(path, "must not be empty");
    return false;
  }
  if (is_space(s.front()) || is_space(s.back())) {
    Error(path, "must not start or end with whitespace");
    return false;
  }
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (c == '\n' && !rule.multiline) {
      Error(path, "must be a single line");
      return false;
    }
    if ((c < 0x20 && c != '\n') || c == 0x7F) {
      Error(path, "must not contain control characters");
      return false;
    }
  }
  if (internal::CountCodePoints(s) > rule.max_chars) {
    Error(path, "must be at most " + std::to_string(rule.max_chars) + " characters");
    return false;
  }
  return true;
}

std::optional<std::string> Parser::String(json& obj, std::string_view key, const std::string& path,
                                          Need need, const StringRule& rule) {
  const json* member = Member(obj, key, path, need);
  if (member == nullptr || !CheckString(*member, Join(path, key), rule)) return std::nullopt;
  return member->get<std::string>();
}

std::optional<int> Parser::Int(json& obj, std::string_view key, const std::string& path,
                               std::optional<int> default_value, int min, int max) {
  json* member = Member(obj, key, path, default_value ? Need::kOptional : Need::kRequired);
  if (member == nullptr) {
    if (!default_value) return std::nullopt;
    obj[std::string(key)] = *default_value;
    return default_value;
  }
  const std::string field = Join(path, key);
  if (!member->is_number_integer()) {
    Error(field, MustBe("an integer", *member));
    return std::nullopt;
  }
  bool in_range = false;
  if (member->is_number_unsigned()) {
    const auto u = member->get<std::uint64_t>();
    in_range =
        u <= static_cast<std::uint64_t>(max) && (min <= 0 || u >= static_cast<std::uint64_t>(min));
  } else {
    const auto v = member->get<std::int64_t>();
    in_range = v >= min && v <= max;
  }
  if (!in_range) {
    Error(field, min == max
                     ? "must be " + std::to_string(min)
                     : "must be between " + std::to_string(min) + " and " + std::to_string(max));
    return std::nullopt;
  }
  return static_cast<int>(member->get<std::int64_t>());
}

std::optional<double> Parser::Weight(json& obj, std::string_view key, const std::string& path,
                                     double default_value) {
  json* member = Member(obj, key, path, Need::kOptional);
  if (member == nullptr) {
    obj[std::string(key)] = default_value;
    return default_value;
  }
  if (!member->is_number()) {
    Error(Join(path, key), MustBe("a number", *member));
    return std::nullopt;
  }
  const double value = member->get<double>();
  if (!std::isfinite(value) || value < 0 || value > 1) {
    Error(Join(path, key), "must be between 0 and 1");
    return std::nullopt;
  }
  *member = value;  // 1 and 1.0 are the same weight; keep one canonical spelling
  return value;
}

std::optional<TimeOfDay> Parser::Time(json& obj, std::string_view key, const std::string& path,
                                      std::string_view default_value) {
  json* member = Member(obj, key, path, Need::kOptional);
  if (member == nullptr) member = &(obj[std::string(key)] = std::string(default_value));
  if (!member->is_string()) {
    Error(Join(path, key), MustBe("a time \"HH:MM\"", *member));
    return std::nullopt;
  }
  const std::string& s = member->get_ref<const std::string&>();
  const auto digit = [&](std::size_t i) { return s[i] >= '0' && s[i] <= '9'; };
  if (s.size() != 5 || s[2] != ':' || !digit(0) || !digit(1) || !digit(3) || !digit(4)) {
    Error(Join(path, key), "must be a 24-hour time \"HH:MM\", e.g. \"08:00\"");
    return std::nullopt;
  }
  TimeOfDay t{(s[0] - '0') * 10 + (s[1] - '0'), (s[3] - '0') * 10 + (s[4] - '0')};
  if (t.hour > 23 || t.minute > 59) {
    Error(Join(path, key), "must be a time between 00:00 and 23:59");
    return std::nullopt;
  }
  return t;
}

std::vector<std::string> Parser::Phrases(json& obj, std::string_view key, const std::string& path,
                                         Need need, std::size_t max_items, std::size_t max_chars) {
  std::vector<std::string> out;
  json* array = Array(obj, key, path, need, max_items);
  if (array == nullptr) return out;
  const std::string field = Join(path, key);
  for (std::size_t i = 0; i < array->size(); ++i) {
    const json& item = (*array)[i];
    if (!CheckString(item, At(field, i), {max_chars, false})) continue;
    const std::string& s = item.get_ref<const std::string&>();
    if (!HasWordCharacter(s)) {
      Error(At(field, i), "must contain a letter or digit");
      continue;
    }
    out.push_back(s);
  }
  return out;
}

bool Parser::IdentifiesSender(std::string_view text) const {
  return text.find("{brand}") != std::string_view::npos ||
         ContainsCaseInsensitive(text, w_.signalhouse.brand_name);
}

std::optional<Template> Parser::ReadTemplate(json& obj, std::string_view key,
                                             const std::string& path, unsigned allowed) {
  const std::string field = Join(path, key);
  std::optional<std::string> text = String(obj, key, path, Need::kRequired, {1000, true});
  if (!text) return std::nullopt;
  const std::vector<std::string> syntax = TemplateErrors(*text);
  for (const std::string& reason : syntax) Error(field, reason);
  if (!syntax.empty()) return std::nullopt;

  bool usable = true;
  for (const std::string& name : TemplatePlaceholders(*text)) {
    const unsigned group = GroupOf(name);
    std::string reason;
    if ((group & allowed) == 0) {
      reason = "{" + name + "} is not available here: ";
      switch (group) {
        case kLead:
          reason += "help and opt-out replies may go to numbers that are not leads";
          break;
        case kGivenEmail:
          reason += "it is known only in autoReplies.EMAIL, meetingConfirmation and reminders";
          break;
        default:
          reason += "it is known only in meetingConfirmation and reminders";
      }
      Error(field, reason);
      usable = false;
    } else if (name == "partner" && !w_.handoff_partner && !partner_reported_) {
      Error(field, "{partner} needs a handoffPartner");
      usable = false;
    }
  }
  if (!usable) return std::nullopt;

  // The representative render documented in README.md ("Segments").
  TemplateValues samples = {
      {"firstName", "Jennifer"},
      {"lastName", "Martinez"},
      {"company", "Martinez Realty Group"},
      {"aiWorker", w_.signalhouse.ai_worker.empty() ? "GIANNA" : w_.signalhouse.ai_worker},
      {"brand", w_.signalhouse.brand_name.empty() ? "Nextier" : w_.signalhouse.brand_name},
      {"fromNumber", w_.signalhouse.from_number.value_or("+15555550123")},
      {"partner", w_.handoff_partner ? w_.handoff_partner->name : "Partner"},
      {"email", "jennifer.martinez@example.com"},
      {"agentName", "Michael"},
      {"meetingTime", "Tue Mar 3 at 2:30 PM ET"},
      {"link", "https://nextier.app/m/Ab3dE9xQ"},
  };
  Result<std::string> rendered = Render(*text, samples);
  if (!rendered.ok()) {
    Error(field, rendered.status().message());
    return std::nullopt;
  }
  Template t{std::move(*text), CountSegments(*rendered)};
  if (t.segments.segments > kMaxTemplateSegments) {
    Error(field, "renders to " + std::to_string(t.segments.segments) + " " +
                     std::string(SmsEncodingName(t.segments.encoding)) + " segments; at most " +
                     std::to_string(kMaxTemplateSegments) + " are allowed");
    return std::nullopt;
  }
  return t;
}

void Parser::ParseSignalHouse(json& doc) {
  const std::string path = "signalhouse";
  json* sh = Object(doc, "signalhouse", "", Need::kRequired,
                    {"brand", "brandName", "campaignId", "fromNumber", "aiWorker", "volumeTier"});
  if (sh == nullptr) return;
  if (auto brand = String(*sh, "brand", path, Need::kRequired, {32, false})) {
    const bool ok = std::all_of(brand->begin(), brand->end(), [](char c) {
      return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    });
    if (ok) {
      w_.signalhouse.brand = *brand;
    } else {
      Error(Join(path, "brand"), "must be a SignalHouse brand id: uppercase letters and digits");
    }
  }
  if (auto name = String(*sh, "brandName", path, Need::kRequired, {40, false})) {
    w_.signalhouse.brand_name = *name;
  }
  if (auto id = String(*sh, "campaignId", path, Need::kOptional, {64, false})) {
    const bool ok = std::all_of(id->begin(), id->end(), [](char c) {
      return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
             c == '-' || c == '_';
    });
    if (ok) {
      w_.signalhouse.campaign_id = *id;
    } else {
      Error(Join(path, "campaignId"), "must hold only letters, digits, '-' and '_'");
    }
  }
  if (auto number = String(*sh, "fromNumber", path, Need::kOptional, {16, false})) {
    const std::string& n = *number;
    const bool digits =
        n.size() >= 2 && n[0] == '+' && n[1] >= '1' && n[1] <= '9' &&
        std::all_of(n.begin() + 1, n.end(), [](char c) { return c >= '0' && c <= '9'; });
    const std::size_t count = n.size() - 1;
    if (!digits || count < 8 || count > 15) {
      Error(Join(path, "fromNumber"), "must be an E.164 number, e.g. \"+15164079249\"");
    } else if (n[1] == '1' && count != 11) {
      Error(Join(path, "fromNumber"), "a +1 (NANP) number must have 10 digits after +1");
    } else {
      w_.signalhouse.from_number = n;
    }
  }
  if (auto worker = String(*sh, "aiWorker", path, Need::kRequired, {40, false})) {
    w_.signalhouse.ai_worker = *worker;
  }
  if (!sh->contains("volumeTier")) (*sh)["volumeTier"] = "LOW_VOLUME";
  if (auto tier = String(*sh, "volumeTier", path, Need::kRequired, {40, false})) {
    if (*tier != "LOW_VOLUME") Error(Join(path, "volumeTier"), "must be \"LOW_VOLUME\"");
  }
}

void Parser::ParseHandoffPartner(json& doc, std::optional<CampaignKind> kind) {
  partner_reported_ = kind == CampaignKind::kPartnerHandoff;
  if (!doc.contains("handoffPartner")) {
    if (kind == CampaignKind::kPartnerHandoff) {
      Error("handoffPartner", "is required for a PARTNER_HANDOFF workflow");
    }
    return;
  }
  json* partner = Object(doc, "handoffPartner", "", Need::kRequired, {"name"});
  if (partner == nullptr) return;
  if (kind == CampaignKind::kPlatformDemo) {
    Error("handoffPartner", "only a PARTNER_HANDOFF workflow hands leads to a partner");
    return;
  }
  if (auto name = String(*partner, "name", "handoffPartner", Need::kRequired, {80, false})) {
    w_.handoff_partner = HandoffPartner{*name};
  }
}

void Parser::ParseLimits(json& doc) {
  const std::string path = "limits";
  json* limits = Object(doc, "limits", "", Need::kOptional,
                        {"blockSize", "batchSize", "batchDelaySeconds", "dailySmsCap",
                         "skipTraceDailyLimit", "quietHours"});
  if (limits == nullptr) return;
  Limits& l = w_.limits;
  const auto block = Int(*limits, "blockSize", path, 2000, 1, 100000);
  const auto batch = Int(*limits, "batchSize", path, 250, 1, 10000);
  const auto delay = Int(*limits, "batchDelaySeconds", path, 5, 1, 3600);
  const auto cap = Int(*limits, "dailySmsCap", path, 2000, 1, 1000000);
  const auto skip = Int(*limits, "skipTraceDailyLimit", path, 2000, 1, 1000000);
  if (block) l.block_size = *block;
  if (batch) l.batch_size = *batch;
  if (delay) l.batch_delay_seconds = *delay;
  if (cap) l.daily_sms_cap = *cap;
  if (skip) l.skip_trace_daily_limit = *skip;
  if (batch && block && *batch > *block) {
    Error("limits.batchSize", "must not exceed limits.blockSize (" + std::to_string(*block) + ")");
  } else if (batch && cap && *batch > *cap) {
    Error("limits.batchSize", "must not exceed limits.dailySmsCap (" + std::to_string(*cap) + ")");
  }
  if (cap && *cap > 2000 && w_.signalhouse.volume_tier == VolumeTier::kLowVolume) {
    Error("limits.dailySmsCap", "a LOW_VOLUME campaign sends at most 2000 SMS a day");
  }

  const std::string qpath = "limits.quietHours";
  json* quiet = Object(*limits, "quietHours", path, Need::kOptional, {"start", "end", "timezone"});
  if (quiet == nullptr) return;
  const auto start = Time(*quiet, "start", qpath, "08:00");
  const auto end = Time(*quiet, "end", qpath, "21:00");
  if (!quiet->contains("timezone")) (*quiet)["timezone"] = "recipient";
  if (auto basis = String(*quiet, "timezone", qpath, Need::kRequired, {40, false})) {
    if (*basis != "recipient") {
      Error(Join(qpath, "timezone"), "must be \"recipient\" (the recipient's local time)");
    }
  }
  if (start && start->MinutesSinceMidnight() < 8 * 60) {
    Error(Join(qpath, "start"), "must not be before 08:00: no marketing texts before 8 AM");
  } else if (end && end->MinutesSinceMidnight() > 21 * 60) {
    Error(Join(qpath, "end"), "must not be after 21:00: no marketing texts after 9 PM");
  } else if (start && end && end->MinutesSinceMidnight() <= start->MinutesSinceMidnight()) {
    Error(Join(qpath, "end"), "must be after quietHours.start (" + start->ToString() + ")");
  } else if (start && end) {
    l.quiet_hours.start = *start;
    l.quiet_hours.end = *end;
  }
}

void Parser::ParseRoleScores(json& doc) {
  const std::string path = "roleScores";
  json* scores = Object(doc, "roleScores", "", Need::kRequired, {"defaultScore", "roles"});
  if (scores == nullptr) return;
  if (auto d = Int(*scores, "defaultScore", path, std::nullopt, 0, 100)) {
    w_.role_scores.default_score = *d;
  }
  json* roles = Array(*scores, "roles", path, Need::kRequired, 100);
  if (roles == nullptr) return;
  if (roles->empty()) Error("roleScores.roles", "must list at least one role");
  // Normalised phrase -> (role index, spelling, path), to catch a phrase claimed twice.
  struct Claim {
    std::size_t role;
    std::string spelling;
    std::string path;
  };
  std::map<std::string, Claim> claims;
  for (std::size_t i = 0; i < roles->size(); ++i) {
    const std::string rpath = At("roleScores.roles", i);
    json& entry = (*roles)[i];
    if (!entry.is_object()) {
      Error(rpath, MustBe("an object", entry));
      continue;
    }
    RejectUnknownKeys(entry, rpath, {"role", "score", "synonyms"});
    Role role;
    std::optional<std::string> name = String(entry, "role", rpath, Need::kRequired, {60, false});
    if (name && !HasWordCharacter(*name)) {
      Error(Join(rpath, "role"), "must contain a letter or digit");
      name.reset();
    }
    const std::optional<int> score = Int(entry, "score", rpath, std::nullopt, 0, 100);
    role.synonyms = Phrases(entry, "synonyms", rpath, Need::kOptional, 100, 60);
    if (!name || !score) continue;
    role.name = *name;
    role.score = *score;

    std::vector<std::pair<std::string, std::string>> spellings = {{*name, Join(rpath, "role")}};
    const json& synonyms = entry["synonyms"];
    for (std::size_t k = 0; synonyms.is_array() && k < synonyms.size(); ++k) {
      if (synonyms[k].is_string()) {
        spellings.emplace_back(synonyms[k].get<std::string>(), At(Join(rpath, "synonyms"), k));
      }
    }
    for (const auto& [spelling, spath] : spellings) {
      if (!HasWordCharacter(spelling)) continue;  // already reported
      const std::string phrase = JoinPhrase(internal::PhraseWords(spelling));
      const auto [it, fresh] = claims.emplace(phrase, Claim{i, spelling, spath});
      if (fresh) continue;
      if (it->second.role != i) {
        Error(spath, "\"" + spelling + "\" already matches another role (" + it->second.path + ")");
      } else if (internal::AsciiLower(it->second.spelling) == internal::AsciiLower(spelling)) {
        Error(spath, "duplicate of " + it->second.path);
      }
    }
    w_.role_scores.roles.push_back(std::move(role));
  }
}

void Parser::ParseEntityPatterns(json& doc) {
  w_.entity_patterns = Phrases(doc, "entityPatterns", "", Need::kRequired, 1000, 60);
  const json* patterns = doc.contains("entityPatterns") ? &doc["entityPatterns"] : nullptr;
  if (patterns != nullptr && patterns->is_array() && patterns->empty()) {
    Error("entityPatterns", "must list at least one pattern");
  }
  std::map<std::string, std::size_t> seen;  // lowercase spelling -> index
  std::set<std::string> phrases;
  if (patterns != nullptr && patterns->is_array()) {
    for (std::size_t i = 0; i < patterns->size(); ++i) {
      const json& p = (*patterns)[i];
      if (!p.is_string()) continue;
      const std::string s = p.get<std::string>();
      const auto [it, fresh] = seen.emplace(internal::AsciiLower(s), i);
      if (!fresh)
        Error(At("entityPatterns", i), "duplicate of " + At("entityPatterns", it->second));
      phrases.insert(JoinPhrase(internal::PhraseWords(s)));
    }
  }

  w_.ambiguous_entity_words = Phrases(doc, "ambiguousEntityWords", "", Need::kOptional, 100, 40);
  const json& ambiguous = doc["ambiguousEntityWords"];
  if (!ambiguous.is_array()) return;
  std::set<std::string> seen_words;
  for (std::size_t i = 0; i < ambiguous.size(); ++i) {
    if (!ambiguous[i].is_string() || !HasWordCharacter(ambiguous[i].get<std::string>())) continue;
    const std::string field = At("ambiguousEntityWords", i);
    const std::vector<std::string> words = internal::PhraseWords(ambiguous[i].get<std::string>());
    if (words.size() != 1) {
      Error(field, "must be a single word");
    } else if (phrases.count(words[0]) == 0) {
      Error(field, "must also be listed in entityPatterns");
    } else if (!seen_words.insert(words[0]).second) {
      Error(field, "duplicate word");
    }
  }
}

void Parser::ParseTemplates(json& doc) {
  const std::string path = "templates";
  json* t = Object(doc, "templates", "", Need::kRequired,
                   {"opener", "followUps", "autoReplies", "help", "optOutConfirmation",
                    "meetingConfirmation", "reminders"});
  if (t == nullptr) return;
  Templates& out = w_.templates;
  constexpr unsigned kLeadMessage = kLead | kSender;
  constexpr unsigned kMeetingMessage = kLead | kSender | kGivenEmail | kBookedMeeting;

  if (auto opener = ReadTemplate(*t, "opener", path, kLeadMessage)) {
    if (!IdentifiesSender(opener->text)) {
      Error("templates.opener", "must identify the sender: use {brand} or the brand name");
    } else if (!ContainsWord(opener->text, "stop")) {
      Error("templates.opener", "must say how to opt out, e.g. \"Reply STOP to opt out\"");
    } else {
      out.opener = std::move(*opener);
    }
  }

  if (json* follow_ups = Array(*t, "followUps", path, Need::kOptional, 10)) {
    std::map<std::string, std::size_t> names;
    for (std::size_t i = 0; i < follow_ups->size(); ++i) {
      const std::string fpath = At("templates.followUps", i);
      json& entry = (*follow_ups)[i];
      if (!entry.is_object()) {
        Error(fpath, MustBe("an object", entry));
        continue;
      }
      RejectUnknownKeys(entry, fpath, {"name", "delayHours", "body"});
      FollowUp f;
      const auto name = String(entry, "name", fpath, Need::kRequired, {40, false});
      if (name && !IsSlug(*name)) {
        Error(Join(fpath, "name"), "must be lowercase letters, digits and single dashes");
      } else if (name && !names.emplace(*name, i).second) {
        Error(Join(fpath, "name"),
              "duplicate of " + At("templates.followUps", names[*name]) + ".name");
      }
      const auto delay = Int(entry, "delayHours", fpath, std::nullopt, 1, 720);
      auto body = ReadTemplate(entry, "body", fpath, kLeadMessage);
      if (name && delay && body) out.follow_ups.push_back({*name, *delay, std::move(*body)});
    }
  }

  const std::string apath = "templates.autoReplies";
  if (json* replies = Object(*t, "autoReplies", path, Need::kRequired,
                             {"OPT_OUT", "HELP", "EMAIL", "WRONG_NUMBER", "POSITIVE", "NEGATIVE",
                              "QUESTION", "OTHER"})) {
    for (auto& [key, value] : replies->items()) {
      const std::optional<ReplyClass> c = ReplyClassFromName(key);
      const std::string field = Join(apath, key);
      if (!c) {
        continue;  // reported as an unknown field
      } else if (*c == ReplyClass::kOptOut) {
        Error(field, "OPT_OUT is answered by templates.optOutConfirmation");
      } else if (*c == ReplyClass::kHelp) {
        Error(field, "HELP is answered by templates.help");
      } else {
        const unsigned allowed =
            *c == ReplyClass::kEmail ? kLeadMessage | kGivenEmail : kLeadMessage;
        auto reply = ReadTemplate(*replies, key, apath, allowed);
        if (!reply) continue;
        if (*c == ReplyClass::kPositive && !ContainsWord(reply->text, "email")) {
          Error(field, "must ask for the lead's best email (the gold label)");
          continue;
        }
        out.auto_replies.emplace(*c, std::move(*reply));
      }
    }
    if (!replies->contains("POSITIVE")) {
      Error(Join(apath, "POSITIVE"), "is required: the reply that asks for the best email");
    }
  }

  if (auto help = ReadTemplate(*t, "help", path, kSender)) {
    if (!IdentifiesSender(help->text)) {
      Error("templates.help", "must identify the sender: use {brand} or the brand name");
    } else if (!ContainsWord(help->text, "stop")) {
      Error("templates.help", "must say how to opt out, e.g. \"Reply STOP to opt out\"");
    } else {
      out.help = std::move(*help);
    }
  }
  if (auto confirmation = ReadTemplate(*t, "optOutConfirmation", path, kSender)) {
    if (!IdentifiesSender(confirmation->text)) {
      Error("templates.optOutConfirmation",
            "must identify the sender: use {brand} or the brand name");
    } else {
      out.opt_out_confirmation = std::move(*confirmation);
    }
  }
  if (auto meeting = ReadTemplate(*t, "meetingConfirmation", path, kMeetingMessage)) {
    if (meeting->text.find("{meetingTime}") == std::string::npos) {
      Error("templates.meetingConfirmation", "must contain {meetingTime}");
    } else {
      out.meeting_confirmation = std::move(*meeting);
    }
  }

  const std::string rpath = "templates.reminders";
  if (json* reminders = Object(*t, "reminders", path, Need::kRequired, {"24h", "1h", "15m"})) {
    if (auto r = ReadTemplate(*reminders, "24h", rpath, kMeetingMessage)) {
      out.reminders.before_24h = std::move(*r);
    }
    if (auto r = ReadTemplate(*reminders, "1h", rpath, kMeetingMessage)) {
      out.reminders.before_1h = std::move(*r);
    }
    if (auto r = ReadTemplate(*reminders, "15m", rpath, kMeetingMessage)) {
      if (r->text.find("{link}") == std::string::npos) {
        Error("templates.reminders.15m", "must contain {link}: the lead joins from it");
      } else {
        out.reminders.before_15m = std::move(*r);
      }
    }
  }
}

void Parser::ParseClassification(json& doc) {
  const std::string path = "classification";
  json* c = Object(doc, "classification", "", Need::kRequired, {"precedence", "rules"});
  if (c == nullptr) return;

  if (json* precedence = Array(*c, "precedence", path, Need::kRequired, 100)) {
    const std::string ppath = "classification.precedence";
    std::vector<ReplyClass> order;
    bool clean = true;
    for (std::size_t i = 0; i < precedence->size(); ++i) {
      const json& item = (*precedence)[i];
      std::optional<ReplyClass> rc;
      if (item.is_string()) rc = ReplyClassFromName(item.get<std::string>());
      if (!rc) {
        Error(At(ppath, i),
              "must be a reply class name (OPT_OUT, HELP, EMAIL, WRONG_NUMBER, "
              "POSITIVE, NEGATIVE, QUESTION, OTHER)");
        clean = false;
      } else if (std::find(order.begin(), order.end(), *rc) != order.end()) {
        Error(At(ppath, i), "duplicate " + std::string(ReplyClassName(*rc)));
        clean = false;
      } else {
        order.push_back(*rc);
      }
    }
    if (clean && order.size() != kReplyClassCount) {
      std::string missing;
      for (int k = 0; k < kReplyClassCount; ++k) {
        const auto rc = static_cast<ReplyClass>(k);
        if (std::find(order.begin(), order.end(), rc) != order.end()) continue;
        if (!missing.empty()) missing += ", ";
        missing += ReplyClassName(rc);
      }
      Error(ppath, "must list every reply class; missing " + missing);
    } else if (clean && order.front() != ReplyClass::kOptOut) {
      Error(At(ppath, 0), "must be OPT_OUT: an opt-out wins over everything else");
    } else if (clean && order.back() != ReplyClass::kOther) {
      Error(At(ppath, order.size() - 1), "must be OTHER: it is what no other rule matches");
    } else if (clean) {
      w_.classification.precedence = std::move(order);
    }
  }

  json* rules = Object(
      *c, "rules", path, Need::kRequired,
      {"OPT_OUT", "HELP", "EMAIL", "WRONG_NUMBER", "POSITIVE", "NEGATIVE", "QUESTION", "OTHER"});
  if (rules == nullptr) return;
  const std::string rpath = "classification.rules";
  std::map<std::string, std::string> seen;  // lowercase phrase -> where it was first listed
  for (int k = 0; k < kReplyClassCount; ++k) {
    const auto rc = static_cast<ReplyClass>(k);
    const std::string name(ReplyClassName(rc));
    const std::string cpath = Join(rpath, name);
    if (rc == ReplyClass::kOther) {
      if (rules->contains(name)) Error(cpath, "OTHER is what no rule matches; it takes no rules");
      continue;
    }
    const bool optional = rc == ReplyClass::kEmail;
    json* rule = Object(*rules, name, rpath, optional ? Need::kOptional : Need::kRequired,
                        {"keywords", "exactReplies"});
    if (rule == nullptr) continue;
    ClassRule& out = w_.classification.rules[k];
    out.keywords = Phrases(*rule, "keywords", cpath, Need::kOptional, 500, 64);
    out.exact_replies = Phrases(*rule, "exactReplies", cpath, Need::kOptional, 500, 64);
    for (const char* list : {"keywords", "exactReplies"}) {
      const json& items = (*rule)[list];
      if (!items.is_array()) continue;
      for (std::size_t i = 0; i < items.size(); ++i) {
        if (!items[i].is_string()) continue;
        const std::string phrase = JoinPhrase(internal::PhraseWords(items[i].get<std::string>()));
        if (phrase.empty()) continue;
        const std::string where = At(Join(cpath, list), i);
        const auto [it, fresh] = seen.emplace(phrase, where);
        if (!fresh) Error(where, "\"" + phrase + "\" is already listed at " + it->second);
      }
    }
    const auto has = [&](std::string_view word) {
      const auto match = [&](const std::string& s) { return internal::AsciiLower(s) == word; };
      return std::any_of(out.keywords.begin(), out.keywords.end(), match) ||
             std::any_of(out.exact_replies.begin(), out.exact_replies.end(), match);
    };
    if (!optional && out.keywords.empty() && out.exact_replies.empty() &&
        (*rule)["keywords"].is_array() && (*rule)["exactReplies"].is_array()) {
      Error(cpath, "needs at least one keyword or exact reply");
    } else if (rc == ReplyClass::kOptOut && !has("stop")) {
      Error(cpath, "must include STOP, the standard opt-out keyword");
    } else if (rc == ReplyClass::kHelp && !has("help")) {
      Error(cpath, "must include HELP, the standard help keyword");
    }
  }
}

void Parser::ParseCallQueue(json& doc) {
  json* queue = Object(doc, "callQueue", "", Need::kOptional, {"weights"});
  if (queue == nullptr) return;
  const std::string path = "callQueue.weights";
  json* weights =
      Object(*queue, "weights", "callQueue", Need::kOptional, {"roleScore", "recency", "campaign"});
  if (weights == nullptr) return;
  const auto role = Weight(*weights, "roleScore", path, 0.5);
  const auto recency = Weight(*weights, "recency", path, 0.3);
  const auto campaign = Weight(*weights, "campaign", path, 0.2);
  if (!role || !recency || !campaign) return;
  if (*role + *recency + *campaign <= 0) {
    Error(path, "must not all be zero");
    return;
  }
  w_.call_queue = {*role, *recency, *campaign};
}

void Parser::ParseMeeting(json& doc) {
  json* meeting = Object(doc, "meeting", "", Need::kOptional, {"durationMinutes"});
  if (meeting == nullptr) return;
  if (auto minutes = Int(*meeting, "durationMinutes", "meeting", 15, 5, 240)) {
    w_.meeting.duration_minutes = *minutes;
  }
}

CheckResult Parser::Run(json doc) {
  CheckResult result;
  if (!doc.is_object()) {
    result.errors.push_back({"", "a workflow must be a JSON object"});
    return result;
  }
  RejectUnknownKeys(
      doc, "",
      {"formatVersion", "id", "name", "audience", "pitch", "campaignKind", "signalhouse",
       "handoffPartner", "limits", "roleScores", "entityPatterns", "ambiguousEntityWords",
       "templates", "classification", "callQueue", "meeting"});
  if (json* v = Member(doc, "formatVersion", "", Need::kOptional);
      v != nullptr && !(v->is_number_integer() && v->get<std::int64_t>() == 1)) {
    Error("formatVersion", "unsupported format version; this build reads formatVersion 1");
  } else if (v == nullptr) {
    doc["formatVersion"] = 1;
  }
  if (auto id = String(doc, "id", "", Need::kRequired, {64, false})) {
    if (IsSlug(*id)) {
      w_.id = *id;
    } else {
      Error("id", "must be lowercase letters, digits and single dashes, e.g. \"business-owners\"");
    }
  }
  if (auto name = String(doc, "name", "", Need::kRequired, {100, false})) w_.name = *name;
  if (auto audience = String(doc, "audience", "", Need::kRequired, {300, false})) {
    w_.audience = *audience;
  }
  if (auto pitch = String(doc, "pitch", "", Need::kRequired, {200, false})) w_.pitch = *pitch;
  std::optional<CampaignKind> kind;
  if (auto k = String(doc, "campaignKind", "", Need::kRequired, {40, false})) {
    if (*k == "PLATFORM_DEMO") {
      kind = CampaignKind::kPlatformDemo;
    } else if (*k == "PARTNER_HANDOFF") {
      kind = CampaignKind::kPartnerHandoff;
    } else {
      Error("campaignKind", "must be \"PLATFORM_DEMO\" or \"PARTNER_HANDOFF\"");
    }
    if (kind) w_.campaign_kind = *kind;
  }
  ParseSignalHouse(doc);
  ParseHandoffPartner(doc, kind);
  ParseLimits(doc);
  ParseRoleScores(doc);
  ParseEntityPatterns(doc);
  ParseTemplates(doc);
  ParseClassification(doc);
  ParseCallQueue(doc);
  ParseMeeting(doc);

  if (!errors_.empty()) {
    result.errors = std::move(errors_);
    return result;
  }
  w_.canonical_json = doc.dump();
  w_.version = Sha256Hex(w_.canonical_json).substr(0, 16);
  w_.matchers = Matchers::Build(w_.role_scores, w_.entity_patterns, w_.ambiguous_entity_words);
  result.workflow = std::move(w_);
  return result;
}

// "invalid JSON at line 3, column 7: syntax error ..." from nlohmann's message, or
// "invalid JSON: number overflow parsing '1e999'" for a number no double holds (which nlohmann
// reports as out_of_range, not parse_error).
std::string SyntaxReason(const json::exception& e) {
  std::string what = e.what();
  std::string reason = "invalid JSON";
  if (const std::size_t at = what.find("parse error"); at != std::string::npos) {
    what.erase(0, at + std::string_view("parse error").size());  // " at line 3, column 7: ..."
    if (!what.empty() && what.front() == ':') what.erase(0, 1);
    while (!what.empty() && what.front() == ' ') what.erase(0, 1);
    reason += ' ';
  } else {
    // "[json.exception.out_of_range.406] number overflow parsing '1e999'"
    const std::size_t tag = what.find("] ");
    if (what.rfind("[json.", 0) == 0 && tag != std::string::npos) what.erase(0, tag + 2);
    reason += ": ";
  }
  // nlohmann quotes the bytes it read last, which need not be UTF-8 (that may be the very
  // error); the reason is shown as JSON and on terminals, so those bytes are written as \xNN.
  for (std::size_t i = 0; i < what.size();) {
    const std::size_t start = i;
    bool valid = true;
    internal::NextCodePoint(what, i, valid);
    if (valid) {
      reason.append(what, start, i - start);
    } else {
      static constexpr char kHex[] = "0123456789ABCDEF";
      const auto byte = static_cast<unsigned char>(what[start]);
      reason += {'\\', 'x', kHex[byte >> 4], kHex[byte & 15]};
    }
  }
  return reason;
}

Result<Workflow> ToResult(CheckResult checked, std::string_view source_name) {
  if (checked.workflow) return std::move(*checked.workflow);
  const FieldError& first = checked.errors.front();
  std::string message = first.reason + " (" + std::string(source_name);
  if (checked.errors.size() > 1) {
    message += ", and " + std::to_string(checked.errors.size() - 1) + " more error" +
               (checked.errors.size() > 2 ? "s" : "");
  }
  message += ")";
  return Status::InvalidArgument(std::move(message), first.field);
}

Result<std::string> ReadFile(const std::filesystem::path& path) {
  std::error_code ec;
  const bool exists = std::filesystem::exists(path, ec);
  if (!ec && !exists) return Status::NotFound(path.string() + ": no such file");
  const auto size = std::filesystem::file_size(path, ec);
  if (ec) return Status::Unavailable(path.string() + ": cannot read: " + ec.message());
  if (size > kMaxWorkflowBytes) {
    return Status::InvalidArgument(path.string() + ": larger than " +
                                   std::to_string(kMaxWorkflowBytes) + " bytes");
  }
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  if (!in) return Status::Unavailable(path.string() + ": cannot read");
  return text.str();
}

}  // namespace

CheckResult CheckWorkflow(const nlohmann::json& doc) {
  try {
    return Parser().Run(doc);
  } catch (const std::exception& e) {  // a bug, or a json the parser did not expect
    CheckResult result;
    result.errors.push_back({"", std::string("internal error while validating: ") + e.what()});
    return result;
  }
}

CheckResult CheckWorkflowText(std::string_view json_text) {
  CheckResult result;
  if (json_text.size() > kMaxWorkflowBytes) {
    result.errors.push_back({"", "larger than " + std::to_string(kMaxWorkflowBytes) + " bytes"});
    return result;
  }
  // Track the path of each value to report duplicate keys, which nlohmann would silently
  // resolve to the last one.
  struct Frame {
    bool is_object;
    std::string path;
    std::size_t index = 0;
    std::string key;
    std::set<std::string> keys;
  };
  std::vector<Frame> stack;
  std::vector<FieldError> duplicates;
  const auto child_path = [&]() -> std::string {
    if (stack.empty()) return "";
    const Frame& f = stack.back();
    return f.is_object ? Join(f.path, f.key) : At(f.path, f.index);
  };
  const auto element_done = [&]() {
    if (!stack.empty() && !stack.back().is_object) ++stack.back().index;
  };
  json::parser_callback_t callback = [&](int /*depth*/, json::parse_event_t event, json& parsed) {
    switch (event) {
      case json::parse_event_t::object_start:
      case json::parse_event_t::array_start: {
        std::string path = child_path();
        stack.push_back({event == json::parse_event_t::object_start, std::move(path), 0, {}, {}});
        break;
      }
      case json::parse_event_t::key: {
        Frame& f = stack.back();
        f.key = parsed.get<std::string>();
        if (!f.keys.insert(f.key).second)
          duplicates.push_back({Join(f.path, f.key), "duplicate key"});
        break;
      }
      case json::parse_event_t::object_end:
      case json::parse_event_t::array_end:
        stack.pop_back();
        element_done();
        break;
      case json::parse_event_t::value:
        element_done();
        break;
    }
    return true;
  };
  json doc;
  try {
    doc = json::parse(json_text.begin(), json_text.end(), callback);
  } catch (const json::exception& e) {  // parse_error, or out_of_range for 1e999
    result.errors.push_back({"", SyntaxReason(e)});
    return result;
  }
  if (!duplicates.empty()) {
    result.errors = std::move(duplicates);
    return result;
  }
  return CheckWorkflow(doc);
}

Result<Workflow> ParseWorkflow(const nlohmann::json& doc, std::string_view source_name) {
  return ToResult(CheckWorkflow(doc), source_name);
}

Result<Workflow> ParseWorkflowText(std::string_view json_text, std::string_view source_name) {
  return ToResult(CheckWorkflowText(json_text), source_name);
}

Result<Workflow> LoadWorkflowFile(const std::filesystem::path& path) {
  Result<std::string> text = ReadFile(path);
  if (!text.ok()) return text.status();
  return ParseWorkflowText(*text, path.string());
}

Result<std::vector<Workflow>> LoadWorkflowDirectory(const std::filesystem::path& dir) {
  std::error_code ec;
  std::vector<std::filesystem::path> files;
  for (std::filesystem::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    if (it->path().extension() == ".json" && it->is_regular_file()) files.push_back(it->path());
  }
  if (ec) return Status::NotFound(dir.string() + ": cannot list: " + ec.message());
  std::sort(files.begin(), files.end());
  std::vector<Workflow> workflows;
  std::map<std::string, std::filesystem::path> ids;
  for (const std::filesystem::path& file : files) {
    Result<Workflow> w = LoadWorkflowFile(file);
    if (!w.ok()) return w.status();
    const auto [it, fresh] = ids.emplace(w->id, file);
    if (!fresh) {
      return Status::Conflict("workflow id \"" + w->id + "\" is defined by both " +
                              it->second.string() + " and " + file.string());
    }
    workflows.push_back(std::move(*w));
  }
  return workflows;
}

std::vector<std::string> CheckFiles(const std::vector<std::filesystem::path>& paths) {
  std::vector<std::string> lines;
  std::map<std::string, std::string> ids;  // id -> first file
  for (const std::filesystem::path& path : paths) {
    const std::string file = path.string();
    Result<std::string> text = ReadFile(path);
    if (!text.ok()) {
      // ReadFile's messages already start with the file name.
      lines.push_back(text.status().message());
      continue;
    }
    const CheckResult checked = CheckWorkflowText(*text);
    for (const FieldError& e : checked.errors) {
      lines.push_back(file + ": " + (e.field.empty() ? "" : e.field + ": ") + e.reason);
    }
    if (!checked.workflow) continue;
    const auto [it, fresh] = ids.emplace(checked.workflow->id, file);
    if (!fresh) {
      lines.push_back(file + ": id: duplicate id \"" + checked.workflow->id +
                      "\", already defined in " + it->second);
    }
  }
  return lines;
}

}  // namespace nextier::workflows
