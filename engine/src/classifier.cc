#include "nextier/engine/classifier.h"

#include <algorithm>
#include <array>
#include <cstdint>
#include <unordered_map>
#include <utility>
#include <vector>

namespace nextier::engine {

using workflows::ReplyClass;
using workflows::Workflow;

namespace {

// ---------------------------------------------------------------------------------------------
// Built-in rules. They apply whatever the workflow says, and only ever make a reply an opt-out,
// HELP, a refusal of email, or OTHER (reactions, auto-replies); the rest of the keyword data is
// the workflow's.

// Opt-out phrases found anywhere in a reply. A missed opt-out is a legal problem and a false
// one only a lost lead, so this list errs on the side of stopping.
constexpr std::string_view kOptOutKeywords[] = {
    // Carrier keywords that are not ordinary words: they count anywhere.
    "stop", "stopall", "stop all", "unsubscribe", "unsub", "unsuscribe", "unsubcribe", "optout",
    "opt out", "opt me out", "opted out", "revoke", "i revoke", "cease and desist", "cease",
    // Free-text revocations.
    "remove me", "remove my number", "remove my name", "remove my info", "remove this number",
    "remove us", "remove from", "remove it", "remove this", "remove him", "remove her",
    "please remove", "take me off", "take my number off", "take us off", "take this number off",
    "take my name off", "off your list", "off your lists", "off the list", "off this list",
    "off your contact", "off your mailing", "do not text", "dont text", "dont ever text",
    "never text", "not to text", "quit texting", "quit messaging", "quit contacting",
    "no more text", "no more texts", "no more texting", "no more messages", "no more msgs",
    "no more of these", "dont message", "do not message", "dont msg", "do not contact",
    "dont contact", "never contact", "do not call", "dont call me", "lose my number",
    "lose this number", "delete my number", "delete this number", "delete my info",
    "erase my number", "leave me alone", "cancel me", "cancel texts", "cancel these", "cancel all",
    "cancel subscription", "cancel my subscription", "dont want these texts",
    "dont want your texts", "dont want any more", "dont want texts", "no longer wish", "fuck off",
    "f off", "piss off", "go away", "screw off", "get lost", "harassment", "harassing me",
    "report you", "reporting you", "reported", "reporting this", "this is spam", "dnc",
    // Spanish.
    "alto", "no mas", "no mas mensajes", "no mas textos", "no me escriba", "no me escribas",
    "no me envie", "no me envies", "no me mande", "no me mandes", "no me contacte",
    "no me contactes", "no me moleste", "no me molestes", "dejen de", "deje de", "deja de",
    "borrar mi numero", "borren mi numero", "quitame", "quiteme", "sacame", "darme de baja",
    "dar de baja", "de baja", "cancelar"};

// Opt-out words that count only as the whole reply (they are ordinary words in a sentence),
// give or take polite filler ("END please", "Quit now").
constexpr std::string_view kOptOutExact[] = {
    "cancel", "end",     "quit",    "remove",       "para",    "parar", "basta",
    "baja",   "detener", "no more", "unsubscribed", "stop it", "spam"};

// Polite filler ignored around an exact opt-out word.
constexpr std::string_view kFiller[] = {"please", "pls",  "plz", "now",         "thanks",
                                        "thank",  "you",  "thx", "ty",          "asap",
                                        "ok",     "okay", "sir", "immediately", "right"};

// Phrases that contain an opt-out word without asking to stop. They win over the opt-out
// keywords they overlap (leftmost-longest), but only without punctuation inside them, so
// "stop. by the way" still stops.
constexpr std::string_view kNotOptOut[] = {
    "stop by",       "stop in",      "stop paying",     "stop renting", "stop buying",
    "stop spending", "stop wasting", "stop overpaying", "palo alto",    "non stop",
    "dont stop",     "never stop",   "cant stop"};

constexpr std::string_view kHelpExact[] = {"ayuda"};

// A reply that refuses email: any address in it is not a gold label.
constexpr std::string_view kEmailRefusals[] = {
    "dont email",        "do not email",  "never email",     "no email",           "no emails",
    "no e mail",         "not email",     "dont send email", "not giving",         "wont give",
    "not going to give", "dont give out", "dont have email", "dont have an email", "dont use email",
    "not sharing",       "wont share",    "not giving out",  "no correo"};

// Auto-replies: OTHER whatever else they say, unless they are an opt-out.
constexpr std::string_view kAutoReplies[] = {"do not disturb",       "where im going",
                                             "im driving right now", "out of office",
                                             "out of the office",    "automatic reply",
                                             "auto reply",           "autoreply",
                                             "automated reply",      "automated message",
                                             "this is an automated", "limited access to",
                                             "away from the office", "on vacation until",
                                             "im currently away",    "i am currently away",
                                             "currently out of",     "will respond when i return",
                                             "returning on"};

// First words of a reaction to a message (`Liked "..."`, `Reacted 👍 to "..."`).
constexpr std::string_view kReactionVerbs[] = {"liked",      "loved",      "laughed",
                                               "emphasized", "emphasised", "questioned",
                                               "disliked",   "reacted",    "removed"};

// TLDs accepted besides any two-letter country code.
constexpr std::string_view kTlds[] = {
    "agency",     "ai",       "app",     "biz",      "build",       "business",   "capital",
    "center",     "cloud",    "co",      "com",      "company",     "consulting", "design",
    "dev",        "digital",  "edu",     "email",    "estate",      "expert",     "finance",
    "financial",  "fund",     "global",  "gov",      "group",       "holdings",   "homes",
    "house",      "inc",      "info",    "int",      "investments", "io",         "land",
    "law",        "legal",    "life",    "live",     "llc",         "ltd",        "management",
    "marketing",  "media",    "mil",     "mobi",     "name",        "net",        "network",
    "news",       "online",   "org",     "partners", "pro",         "properties", "property",
    "realestate", "realtor",  "realty",  "services", "shop",        "site",       "solutions",
    "store",      "studio",   "support", "systems",  "team",        "tech",       "today",
    "tools",      "ventures", "website", "works",    "world",       "xyz"};

// ---------------------------------------------------------------------------------------------
// Reading a reply as words.

// How a token is separated from the one before it: phrases match across kSoft (a comma, an
// emoji) but not across kHard (sentence punctuation, a line break).
enum : std::uint8_t { kNoBreak = 0, kSoft = 1, kHard = 2 };

struct Token {
  std::string text;
  std::uint8_t brk = kNoBreak;  // the strongest separator between this token and the previous
};

// Decodes one UTF-8 code point at `i` and advances past it; an invalid byte reads as U+FFFD and
// advances one byte.
char32_t Decode(std::string_view s, std::size_t& i) {
  const auto b0 = static_cast<unsigned char>(s[i]);
  int len = 0;
  char32_t cp = 0;
  if (b0 < 0x80) {
    ++i;
    return b0;
  } else if ((b0 & 0xE0) == 0xC0) {
    len = 2;
    cp = b0 & 0x1F;
  } else if ((b0 & 0xF0) == 0xE0) {
    len = 3;
    cp = b0 & 0x0F;
  } else if ((b0 & 0xF8) == 0xF0) {
    len = 4;
    cp = b0 & 0x07;
  } else {
    ++i;
    return 0xFFFD;
  }
  if (i + len > s.size()) {
    ++i;
    return 0xFFFD;
  }
  for (int k = 1; k < len; ++k) {
    const auto b = static_cast<unsigned char>(s[i + k]);
    if ((b & 0xC0) != 0x80) {
      ++i;
      return 0xFFFD;
    }
    cp = (cp << 6) | (b & 0x3F);
  }
  // Overlong forms, surrogates and out-of-range values are invalid.
  if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
      cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
    ++i;
    return 0xFFFD;
  }
  i += len;
  return cp;
}

// The ASCII spelling of a Latin letter with a diacritic (á → a, ñ → n, ß → ss), so "más" and
// "mas" are one word; nullptr for anything else.
const char* FoldLatin(char32_t cp) {
  static constexpr const char* kLatin1[64] = {
      "a", "a", "a", "a", "a", "a", "ae", "c",     "e", "e", "e", "e", "i", "i", "i",  "i",
      "d", "n", "o", "o", "o", "o", "o",  nullptr, "o", "u", "u", "u", "u", "y", "th", "ss",
      "a", "a", "a", "a", "a", "a", "ae", "c",     "e", "e", "e", "e", "i", "i", "i",  "i",
      "d", "n", "o", "o", "o", "o", "o",  nullptr, "o", "u", "u", "u", "u", "y", "th", "y"};
  if (cp >= 0xC0 && cp <= 0xFF) return kLatin1[cp - 0xC0];
  if (cp < 0x100 || cp > 0x17F) return nullptr;
  struct Range {
    char32_t last;
    const char* ascii;
  };
  static constexpr Range kExtendedA[] = {
      {0x105, "a"}, {0x10D, "c"},  {0x111, "d"}, {0x11B, "e"}, {0x123, "g"}, {0x127, "h"},
      {0x131, "i"}, {0x133, "ij"}, {0x135, "j"}, {0x138, "k"}, {0x142, "l"}, {0x14B, "n"},
      {0x151, "o"}, {0x153, "oe"}, {0x159, "r"}, {0x161, "s"}, {0x167, "t"}, {0x173, "u"},
      {0x175, "w"}, {0x178, "y"},  {0x17E, "z"}, {0x17F, "s"}};
  for (const Range& r : kExtendedA) {
    if (cp <= r.last) return r.ascii;
  }
  return nullptr;
}

enum class CharKind { kWord, kDrop, kSeparator, kSoft, kHard, kStopSign };

CharKind KindOf(char32_t cp) {
  if (cp == 0x2018 || cp == 0x2019 || cp == 0x201B || cp == 0x02BC || cp == 0x2032) {
    return CharKind::kDrop;  // apostrophes: "don’t" is "dont"
  }
  if (cp >= 0x0300 && cp <= 0x036F) return CharKind::kDrop;  // combining accents (decomposed á)
  if (cp == 0x1F6D1 || cp == 0x26D4) return CharKind::kStopSign;  // 🛑 ⛔ read as "stop"
  if (cp == 0x00A1 || cp == 0x00BF || cp == 0x2026 || cp == 0x3002 || cp == 0xFF01 ||
      cp == 0xFF1F || cp == 0x2028 || cp == 0x2029) {
    return CharKind::kHard;  // ¡ ¿ … 。 ！ ？ line/paragraph separators
  }
  // Latin-1 punctuation, general punctuation (quotes, dashes, zero-width joiners), currency,
  // letterlike symbols, arrows through dingbats and misc symbols, CJK punctuation, variation
  // selectors, fullwidth punctuation, emoji and tags, and invalid bytes: none is part of a word.
  if ((cp >= 0x0080 && cp <= 0x00BF) || cp == 0x00D7 || cp == 0x00F7 ||
      (cp >= 0x02B0 && cp <= 0x02FF) || (cp >= 0x2000 && cp <= 0x2BFF) ||
      (cp >= 0x2E00 && cp <= 0x2E7F) || (cp >= 0x3000 && cp <= 0x303F) ||
      (cp >= 0xFE00 && cp <= 0xFE6F) || (cp >= 0xFF00 && cp <= 0xFF0F) ||
      (cp >= 0xFFF0 && cp <= 0xFFFF) || (cp >= 0x1F000 && cp <= 0x1FAFF) ||
      (cp >= 0xE0000 && cp <= 0xE007F)) {
    return cp >= 0x1F000 || (cp >= 0x2190 && cp <= 0x2BFF) ? CharKind::kSoft : CharKind::kSeparator;
  }
  return CharKind::kWord;
}

// Splits text into lowercase words: ASCII letters and digits, Latin letters folded to ASCII,
// and other scripts' letters as they are. Apostrophes are dropped ("don't" reads "dont");
// everything else separates words, with the strength described at Token.
std::vector<Token> Tokenize(std::string_view s) {
  std::vector<Token> out;
  std::string current;
  std::uint8_t pending = kNoBreak;
  const auto flush = [&] {
    if (current.empty()) return;
    out.push_back(Token{std::move(current), pending});
    current.clear();
    pending = kNoBreak;
  };
  const auto separate = [&](std::uint8_t strength) {
    flush();
    pending = std::max(pending, strength);
  };
  std::size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      ++i;
      if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) {
        current.push_back(static_cast<char>(c));
      } else if (c >= 'A' && c <= 'Z') {
        current.push_back(static_cast<char>(c - 'A' + 'a'));
      } else if (c == '\'' || c == '`') {
        // dropped
      } else if (c == '.' || c == '!' || c == '?' || c == ';' || c == ':' || c == '\n' ||
                 c == '\r') {
        separate(kHard);
      } else if (c == ',') {
        separate(kSoft);
      } else {
        separate(kNoBreak);
      }
      continue;
    }
    const std::size_t start = i;
    const char32_t cp = Decode(s, i);
    switch (KindOf(cp)) {
      case CharKind::kWord:
        if (const char* ascii = FoldLatin(cp)) {
          current += ascii;
        } else {
          current.append(s.substr(start, i - start));
        }
        break;
      case CharKind::kDrop:
        break;
      case CharKind::kSeparator:
        separate(kNoBreak);
        break;
      case CharKind::kSoft:
        separate(kSoft);
        break;
      case CharKind::kHard:
        separate(kHard);
        break;
      case CharKind::kStopSign:
        flush();
        current = "stop";
        separate(kSoft);
        break;
    }
  }
  flush();
  return out;
}

std::vector<std::string> Words(std::string_view phrase) {
  std::vector<std::string> words;
  for (Token& t : Tokenize(phrase)) words.push_back(std::move(t.text));
  return words;
}

// A phrase's words joined by single spaces: the key of an exact reply.
std::string JoinWords(std::string_view phrase) {
  std::string out;
  for (const Token& t : Tokenize(phrase)) {
    if (!out.empty()) out.push_back(' ');
    out += t.text;
  }
  return out;
}

std::string Join(const std::vector<Token>& tokens, std::size_t begin, std::size_t end) {
  std::string out;
  for (std::size_t k = begin; k < end; ++k) {
    if (!out.empty()) out.push_back(' ');
    out += tokens[k].text;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Phrase tables.

// Pseudo-classes for phrases that decide no class of their own.
constexpr int kNotOptOutMark = -1;
constexpr int kRefusalMark = -2;
constexpr int kAutoReplyMark = -3;

struct Phrase {
  std::vector<std::string> words;
  int cls = 0;          // a ReplyClass, or one of the marks above
  bool strict = false;  // no separator at all between its words, not even a comma
  std::string label;    // for Classified::matched
};

// Phrases found leftmost-longest without overlap (README.md, "Classification").
class PhraseTable {
 public:
  // Ignores a phrase with no words, or with the same words as one added before: add in order
  // of priority.
  void Add(std::string_view text, int cls, bool strict, std::string label) {
    std::vector<std::string> words = Words(text);
    if (words.empty()) return;
    std::vector<int>& bucket = by_first_[words.front()];
    for (int idx : bucket) {
      if (phrases_[idx].words == words) return;
    }
    bucket.push_back(static_cast<int>(phrases_.size()));
    phrases_.push_back(Phrase{std::move(words), cls, strict, std::move(label)});
    std::stable_sort(bucket.begin(), bucket.end(), [&](int a, int b) {
      return phrases_[a].words.size() > phrases_[b].words.size();
    });
  }

  template <typename OnHit>
  void Scan(const std::vector<Token>& tokens, OnHit&& on_hit) const {
    std::size_t i = 0;
    while (i < tokens.size()) {
      std::size_t used = 1;
      const auto it = by_first_.find(tokens[i].text);
      if (it != by_first_.end()) {
        for (int idx : it->second) {
          const Phrase& p = phrases_[idx];
          if (Matches(p, tokens, i)) {
            on_hit(p, i);
            used = p.words.size();
            break;
          }
        }
      }
      i += used;
    }
  }

 private:
  static bool Matches(const Phrase& p, const std::vector<Token>& tokens, std::size_t at) {
    if (at + p.words.size() > tokens.size()) return false;
    const std::uint8_t allowed = p.strict ? kNoBreak : kSoft;
    for (std::size_t k = 1; k < p.words.size(); ++k) {
      const Token& t = tokens[at + k];
      if (t.brk > allowed || t.text != p.words[k]) return false;
    }
    return true;
  }

  std::vector<Phrase> phrases_;
  std::unordered_map<std::string, std::vector<int>> by_first_;
};

struct ExactReply {
  int cls = 0;
  std::string label;
};

std::string Quoted(std::string_view prefix, std::string_view text) {
  std::string out(prefix);
  out += " \"";
  out += text;
  out += '"';
  return out;
}

const std::vector<ReplyClass>& DefaultPrecedence() {
  static const std::vector<ReplyClass> kOrder = {
      ReplyClass::kOptOut,   ReplyClass::kHelp,     ReplyClass::kEmail,    ReplyClass::kWrongNumber,
      ReplyClass::kPositive, ReplyClass::kNegative, ReplyClass::kQuestion, ReplyClass::kOther};
  return kOrder;
}

bool IsFiller(const std::string& word) {
  return std::find(std::begin(kFiller), std::end(kFiller), word) != std::end(kFiller);
}

// ---------------------------------------------------------------------------------------------
// Email addresses.

bool IsAsciiAlnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

bool IsEmailChar(char c) {
  return IsAsciiAlnum(c) || c == '.' || c == '_' || c == '%' || c == '+' || c == '-' || c == '\'' ||
         c == '@';
}

bool PlausibleTld(std::string_view tld) {
  if (tld.size() < 2 || tld.size() > 24) return false;
  if (!std::all_of(tld.begin(), tld.end(), [](char c) { return c >= 'a' && c <= 'z'; })) {
    return false;
  }
  return tld.size() == 2 || std::find(std::begin(kTlds), std::end(kTlds), tld) != std::end(kTlds);
}

// `candidate` with brackets and punctuation trimmed, when it is a valid address; else "".
std::string ValidEmail(std::string_view candidate) {
  while (!candidate.empty() && !IsAsciiAlnum(candidate.front()) && candidate.front() != '_') {
    candidate.remove_prefix(1);
  }
  while (!candidate.empty() && !(candidate.back() >= 'a' && candidate.back() <= 'z')) {
    candidate.remove_suffix(1);
  }
  const std::size_t at = candidate.find('@');
  if (at == std::string_view::npos || candidate.find('@', at + 1) != std::string_view::npos) {
    return {};
  }
  const std::string_view local = candidate.substr(0, at);
  const std::string_view domain = candidate.substr(at + 1);
  if (local.empty() || local.size() > 64 || local.front() == '.' || local.back() == '.' ||
      local.find("..") != std::string_view::npos) {
    return {};
  }
  if (domain.size() > 253) return {};
  std::size_t start = 0;
  int labels = 0;
  std::string_view last;
  while (start <= domain.size()) {
    std::size_t dot = domain.find('.', start);
    if (dot == std::string_view::npos) dot = domain.size();
    const std::string_view label = domain.substr(start, dot - start);
    if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-') {
      return {};
    }
    for (const char c : label) {
      if (!IsAsciiAlnum(c) && c != '-') return {};
    }
    ++labels;
    last = label;
    start = dot + 1;
  }
  if (labels < 2 || !PlausibleTld(last)) return {};
  return std::string(candidate);
}

bool Contains(std::string_view s, char c) { return s.find(c) != std::string_view::npos; }

// ---------------------------------------------------------------------------------------------
// Classifying.

bool IsReaction(const std::vector<Token>& tokens, std::string_view body) {
  if (tokens.empty()) return false;
  const std::string& first = tokens.front().text;
  if (std::find(std::begin(kReactionVerbs), std::end(kReactionVerbs), first) ==
      std::end(kReactionVerbs)) {
    return false;
  }
  // The verb, at most a few words ("laughed at", "reacted 👍 to", "removed a like from"), then
  // the quoted message.
  std::size_t quote = std::string_view::npos;
  for (const std::string_view q : {"\"", "\xE2\x80\x9C", "\xE2\x80\x9D"}) {
    quote = std::min(quote, body.find(q));
  }
  if (quote == std::string_view::npos) return false;
  return Tokenize(body.substr(0, quote)).size() <= 5;
}

}  // namespace

struct ReplyClassifier::Rules {
  std::vector<ReplyClass> precedence;
  PhraseTable opt_out;  // OPT_OUT phrases and the exceptions that shadow them
  PhraseTable main;     // every other class
  PhraseTable signals;  // refusals of email and auto-replies, scanned on their own
  std::unordered_map<std::string, std::string> opt_out_exact;  // joined words -> label
  std::unordered_map<std::string, ExactReply> exact;           // other classes
};

namespace {

std::shared_ptr<const ReplyClassifier::Rules> Compile(const Workflow& workflow) {
  auto rules = std::make_shared<ReplyClassifier::Rules>();
  const workflows::Classification& c = workflow.classification;
  rules->precedence = c.precedence.size() == static_cast<std::size_t>(workflows::kReplyClassCount)
                          ? c.precedence
                          : DefaultPrecedence();
  // An opt-out always wins, whatever the document says.
  auto& order = rules->precedence;
  order.erase(std::remove(order.begin(), order.end(), ReplyClass::kOptOut), order.end());
  order.insert(order.begin(), ReplyClass::kOptOut);

  const auto& opt_rule = c.rule(ReplyClass::kOptOut);
  const int kOpt = static_cast<int>(ReplyClass::kOptOut);
  for (const std::string& k : opt_rule.keywords) {
    rules->opt_out.Add(k, kOpt, false, Quoted("keyword", k));
  }
  for (const std::string_view k : kNotOptOut) {
    rules->opt_out.Add(k, kNotOptOutMark, true, std::string(k));
  }
  for (const std::string_view k : kOptOutKeywords) {
    rules->opt_out.Add(k, kOpt, false, Quoted("built-in keyword", k));
  }
  for (const std::string& k : opt_rule.exact_replies) {
    rules->opt_out_exact.emplace(JoinWords(k), Quoted("exact", k));
  }
  for (const std::string_view k : kOptOutExact) {
    rules->opt_out_exact.emplace(JoinWords(k), Quoted("built-in exact", k));
  }

  // Other classes in precedence order, so a phrase that two classes share after
  // normalisation belongs to the earlier one.
  for (const ReplyClass rc : rules->precedence) {
    if (rc == ReplyClass::kOptOut || rc == ReplyClass::kOther) continue;
    const int cls = static_cast<int>(rc);
    const workflows::ClassRule& rule = c.rule(rc);
    for (const std::string& k : rule.keywords) {
      rules->main.Add(k, cls, false, Quoted("keyword", k));
    }
    for (const std::string& k : rule.exact_replies) {
      rules->exact.emplace(JoinWords(k), ExactReply{cls, Quoted("exact", k)});
    }
    if (rc == ReplyClass::kHelp) {
      for (const std::string_view k : kHelpExact) {
        rules->exact.emplace(JoinWords(k), ExactReply{cls, Quoted("built-in exact", k)});
      }
    }
  }
  // Scanned apart from the class phrases, so that no workflow phrase can hide them.
  for (const std::string_view k : kEmailRefusals) {
    rules->signals.Add(k, kRefusalMark, true, Quoted("refuses email", k));
  }
  for (const std::string_view k : kAutoReplies) {
    rules->signals.Add(k, kAutoReplyMark, false, Quoted("auto-reply", k));
  }
  return rules;
}

Classified Classify(const ReplyClassifier::Rules& rules, std::string_view body) {
  const std::vector<Token> tokens = Tokenize(body);

  // The quoted text of a reaction is our own message ("... Reply STOP to opt out"), not the
  // lead's words.
  if (IsReaction(tokens, body)) return Classified{ReplyClass::kOther, std::nullopt, "reaction"};

  // Opt-out first, on its own scan, so that no other class's phrase can swallow its words.
  const std::string* opt_out = nullptr;
  rules.opt_out.Scan(tokens, [&](const Phrase& p, std::size_t) {
    if (opt_out == nullptr && p.cls == static_cast<int>(ReplyClass::kOptOut)) opt_out = &p.label;
  });
  if (opt_out == nullptr && !tokens.empty()) {
    std::size_t begin = 0;
    std::size_t end = tokens.size();
    while (begin < end && IsFiller(tokens[begin].text)) ++begin;
    while (end > begin && IsFiller(tokens[end - 1].text)) --end;
    for (const auto& key : {Join(tokens, 0, tokens.size()), Join(tokens, begin, end)}) {
      const auto it = rules.opt_out_exact.find(key);
      if (it != rules.opt_out_exact.end()) {
        opt_out = &it->second;
        break;
      }
    }
  }
  if (opt_out != nullptr) return Classified{ReplyClass::kOptOut, std::nullopt, *opt_out};

  std::array<const std::string*, workflows::kReplyClassCount> hit{};
  const std::string* refusal = nullptr;
  const std::string* auto_reply = nullptr;
  rules.signals.Scan(tokens, [&](const Phrase& p, std::size_t) {
    if (p.cls == kRefusalMark && refusal == nullptr) refusal = &p.label;
    if (p.cls == kAutoReplyMark && auto_reply == nullptr) auto_reply = &p.label;
  });
  if (auto_reply != nullptr) return Classified{ReplyClass::kOther, std::nullopt, *auto_reply};
  // A NEGATIVE phrase cancels POSITIVE phrases later in its clause: "not interested in a
  // demo" is no interest in a demo. Commas, emoji, sentence punctuation and "but" end a clause
  // ("not right now, but call me next year").
  std::vector<int> clause(tokens.size());
  for (std::size_t k = 1; k < tokens.size(); ++k) {
    const bool ends = tokens[k].brk >= kSoft || tokens[k].text == "but" ||
                      tokens[k].text == "though" || tokens[k].text == "however";
    clause[k] = clause[k - 1] + (ends ? 1 : 0);
  }
  int negative_clause = -1;
  constexpr int kPositive = static_cast<int>(ReplyClass::kPositive);
  constexpr int kNegative = static_cast<int>(ReplyClass::kNegative);
  rules.main.Scan(tokens, [&](const Phrase& p, std::size_t at) {
    if (p.cls == kNegative) negative_clause = clause[at];
    if (p.cls == kPositive && clause[at] == negative_clause) return;
    if (p.cls >= 0 && hit[p.cls] == nullptr) hit[p.cls] = &p.label;
  });
  if (!tokens.empty()) {
    const auto it = rules.exact.find(Join(tokens, 0, tokens.size()));
    if (it != rules.exact.end() && hit[it->second.cls] == nullptr) {
      hit[it->second.cls] = &it->second.label;
    }
  }

  std::optional<std::string> email;
  if (refusal == nullptr) email = ExtractEmail(body);
  for (const ReplyClass rc : rules.precedence) {
    if (rc == ReplyClass::kEmail && email) {
      return Classified{rc, std::move(email), "email address"};
    }
    if (rc == ReplyClass::kOptOut || rc == ReplyClass::kOther) continue;
    if (const std::string* label = hit[static_cast<int>(rc)]) {
      return Classified{rc, std::nullopt, *label};
    }
  }
  return Classified{ReplyClass::kOther, std::nullopt,
                    refusal != nullptr ? *refusal : std::string("nothing matched")};
}

// Compiled rules, cached per thread (no lock on the webhook path) by workflow id and version.
std::shared_ptr<const ReplyClassifier::Rules> RulesFor(const Workflow& workflow) {
  if (workflow.version.empty()) return Compile(workflow);
  struct Entry {
    std::string id;
    std::string version;
    std::shared_ptr<const ReplyClassifier::Rules> rules;
  };
  constexpr std::size_t kMaxEntries = 16;
  thread_local std::vector<Entry> cache;
  for (const Entry& e : cache) {
    if (e.version == workflow.version && e.id == workflow.id) return e.rules;
  }
  if (cache.size() >= kMaxEntries) cache.erase(cache.begin());
  cache.push_back(Entry{workflow.id, workflow.version, Compile(workflow)});
  return cache.back().rules;
}

}  // namespace

ReplyClassifier::ReplyClassifier(const Workflow& workflow) : rules_(Compile(workflow)) {}

Classified ReplyClassifier::Classify(std::string_view body) const {
  return engine::Classify(*rules_, body);
}

Classified ClassifyReply(const Workflow& workflow, std::string_view body) {
  return Classify(*RulesFor(workflow), body);
}

Classified Reconcile(const Classified& rules, const ReplyClass* opinion,
                     std::string_view model_name) {
  if (opinion == nullptr || *opinion == rules.reply_class) return rules;
  const bool stands =
      *opinion != ReplyClass::kOptOut &&
      (rules.reply_class == ReplyClass::kOptOut || rules.reply_class == ReplyClass::kHelp ||
       (rules.reply_class == ReplyClass::kEmail && rules.email.has_value()) ||
       *opinion == ReplyClass::kEmail);  // no address to label with
  if (stands) return rules;
  Classified out;
  out.reply_class = *opinion;
  out.matched = "model " + std::string(model_name);
  return out;
}

std::optional<std::string> ExtractEmail(std::string_view body) {
  // 1. Lowercase ASCII words made of the characters an address may hold; everything else
  //    (spaces, brackets, quotes, colons as in "mailto:", emoji) separates them. A fullwidth
  //    at sign reads as '@'.
  std::vector<std::string> raw;
  std::string current;
  const auto flush = [&] {
    if (!current.empty()) raw.push_back(std::move(current));
    current.clear();
  };
  std::size_t i = 0;
  bool any_at = false;
  while (i < body.size()) {
    const auto c = static_cast<unsigned char>(body[i]);
    if (c < 0x80) {
      ++i;
      const char lower = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
      if (IsEmailChar(lower)) {
        current.push_back(lower);
        any_at = any_at || lower == '@';
      } else {
        flush();
      }
      continue;
    }
    if (Decode(body, i) == 0xFF20) {
      current.push_back('@');
      any_at = true;
    } else {
      flush();
    }
  }
  flush();
  if (!any_at && std::find(raw.begin(), raw.end(), "at") == raw.end()) return std::nullopt;

  // 2. Glue "dot" and a lone "." between two words: "gmail dot com", "gmail . com",
  //    "gmail [dot] com"; and ".com" after a word holding '@'.
  std::vector<std::string> dotted;
  for (std::size_t k = 0; k < raw.size(); ++k) {
    const std::string& t = raw[k];
    if ((t == "." || t == "dot") && !dotted.empty() && k + 1 < raw.size() &&
        dotted.back() != "at" && IsAsciiAlnum(dotted.back().back()) &&
        IsAsciiAlnum(raw[k + 1].front())) {
      dotted.back() += '.';
      dotted.back() += raw[k + 1];
      ++k;
    } else if (t.size() > 1 && t.front() == '.' && !dotted.empty() &&
               Contains(dotted.back(), '@') && IsAsciiAlnum(dotted.back().back())) {
      dotted.back() += t;
    } else {
      dotted.push_back(t);
    }
  }

  // 3. Glue "at" and a lone "@" between two words, and a word ending or starting with '@' to
  //    its neighbour, when the result is a valid address: "me at john@x.com" stays apart.
  std::vector<std::string> words;
  for (std::size_t k = 0; k < dotted.size(); ++k) {
    const std::string& t = dotted[k];
    const bool has_next = k + 1 < dotted.size();
    if ((t == "at" || t == "@") && !words.empty() && has_next) {
      std::string glued = words.back() + "@" + dotted[k + 1];
      if (!ValidEmail(glued).empty()) {
        words.back() = std::move(glued);
        ++k;
        continue;
      }
    } else if (t.size() > 1 && t.back() == '@' && has_next) {
      std::string glued = t + dotted[k + 1];
      if (!ValidEmail(glued).empty()) {
        words.push_back(std::move(glued));
        ++k;
        continue;
      }
    } else if (t.size() > 1 && t.front() == '@' && !words.empty()) {
      std::string glued = words.back() + t;
      if (!ValidEmail(glued).empty()) {
        words.back() = std::move(glued);
        continue;
      }
    }
    words.push_back(t);
  }

  for (const std::string& w : words) {
    if (!Contains(w, '@')) continue;
    std::string email = ValidEmail(w);
    if (!email.empty()) return email;
  }
  return std::nullopt;
}

}  // namespace nextier::engine
