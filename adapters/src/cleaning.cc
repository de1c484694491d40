#include "nextier/adapters/cleaning.h"

#include <phonenumbers/geocoding/phonenumber_offline_geocoder.h>
#include <phonenumbers/phonenumber.pb.h>
#include <phonenumbers/phonenumberutil.h>
#include <unicode/locid.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdint>
#include <utility>

namespace nextier::adapters {
namespace {

using ::i18n::phonenumbers::PhoneNumber;
using ::i18n::phonenumbers::PhoneNumberOfflineGeocoder;
using ::i18n::phonenumbers::PhoneNumberUtil;

// ---------------------------------------------------------------------------------------------
// Text helpers. Casing understands ASCII and the Latin-1 letters (U+00C0-U+00FE, two bytes in
// UTF-8 starting 0xC3), which covers the accented names a US list holds; other characters are
// copied as they are.

bool IsSpaceByte(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && IsSpaceByte(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsSpaceByte(s.back())) s.remove_suffix(1);
  return s;
}

char LowerAscii(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }
char UpperAscii(char c) { return c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c; }
bool IsAsciiLetter(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// The letters of `s`, ASCII only, lowercased: "N.Y." -> "ny". Writes at most N bytes; false when
// `s` has more letters than that.
template <size_t N>
bool LetterKey(std::string_view s, std::array<char, N>* buf, std::string_view* key) {
  size_t n = 0;
  for (char c : s) {
    if (!IsAsciiLetter(c)) continue;
    if (n == N) return false;
    (*buf)[n++] = LowerAscii(c);
  }
  *key = std::string_view(buf->data(), n);
  return true;
}

// Case of the character at s[i]: +1 upper, -1 lower, 0 not a letter; `*len` gets its bytes.
int CharCase(std::string_view s, size_t i, size_t* len) {
  const auto c = static_cast<unsigned char>(s[i]);
  *len = 1;
  if (c >= 'A' && c <= 'Z') return 1;
  if (c >= 'a' && c <= 'z') return -1;
  if (c == 0xC3 && i + 1 < s.size()) {
    *len = 2;
    const auto d = static_cast<unsigned char>(s[i + 1]);
    if (d >= 0x80 && d <= 0x9E && d != 0x97) return 1;
    if (d >= 0x9F && d <= 0xBF && d != 0xB7) return -1;
  }
  return 0;
}

// Appends the character at s[i] in the wanted case; returns its length in bytes.
size_t AppendCased(std::string_view s, size_t i, bool upper, std::string* out) {
  size_t len = 0;
  const int c = CharCase(s, i, &len);
  if (len == 1) {
    out->push_back(c == 0 ? s[i] : (upper ? UpperAscii(s[i]) : LowerAscii(s[i])));
  } else if (c == 0) {
    out->append(s.substr(i, len));
  } else {
    auto d = static_cast<unsigned char>(s[i + 1]);
    // U+00DF (sharp s) and U+00FF have no Latin-1 capital; they stay lowercase.
    if (upper && c < 0 && d != 0x9F && d != 0xBF) d = static_cast<unsigned char>(d - 0x20);
    if (!upper && c > 0) d = static_cast<unsigned char>(d + 0x20);
    out->push_back(s[i]);
    out->push_back(static_cast<char>(d));
  }
  return len;
}

// Name words whose spelling is fixed: generational suffixes, credentials, entity abbreviations.
struct FixedWord {
  std::string_view key;
  std::string_view text;
};
constexpr FixedWord kFixedWords[] = {
    {"jr", "Jr"},     {"sr", "Sr"},     {"ii", "II"},   {"iii", "III"}, {"iv", "IV"},
    {"md", "MD"},     {"dds", "DDS"},   {"dmd", "DMD"}, {"dvm", "DVM"}, {"cpa", "CPA"},
    {"phd", "PhD"},   {"esq", "Esq"},   {"rn", "RN"},   {"llc", "LLC"}, {"llp", "LLP"},
    {"lllp", "LLLP"}, {"pllc", "PLLC"}, {"lp", "LP"},   {"pc", "PC"},   {"dba", "DBA"},
};

// Generational suffixes and credentials that end a name ("John Smith Jr.").
constexpr std::string_view kSuffixKeys[] = {"jr",  "sr",  "ii",  "iii", "iv",  "md", "dds",
                                            "dmd", "dvm", "phd", "esq", "cpa", "rn"};
constexpr std::string_view kHonorificKeys[] = {"mr", "mrs",  "ms",  "miss", "mx",
                                               "dr", "prof", "rev", "hon",  "sir"};
// Words that belong to the surname that follows ("Maria de la Cruz").
constexpr std::string_view kParticleKeys[] = {"de",  "del", "della", "da",  "di",  "du",
                                              "la",  "le",  "van",   "von", "der", "den",
                                              "ter", "st",  "dos",   "das"};

// Scottish and Irish surnames written Mac + capital. A list, not a rule: "Mack", "Macy",
// "Macon", "Machado" and "Macias" are names too, and stay as they are.
constexpr std::string_view kMacNames[] = {
    "macadam",      "macalister", "macallister", "macalpine",  "macarthur",  "macaulay",
    "macbain",      "macbeth",    "macbride",    "maccallum",  "maccormack", "maccormick",
    "macdermott",   "macdonald",  "macdonnell",  "macdougal",  "macdougall", "macdowell",
    "macduff",      "maceachern", "macewan",     "macewen",    "macfadyen",  "macfarlane",
    "macgillivray", "macgowan",   "macgregor",   "macguire",   "machugh",    "macinnes",
    "macintosh",    "macintyre",  "macisaac",    "maciver",    "mackay",     "mackenna",
    "mackenzie",    "mackinley",  "mackinnon",   "mackintosh", "maclachlan", "maclaren",
    "maclaughlin",  "maclean",    "macleish",    "maclennan",  "macleod",    "macmahon",
    "macmanus",     "macmaster",  "macmillan",   "macnab",     "macnamara",  "macnaughton",
    "macneil",      "macneill",   "macnicol",    "macphail",   "macphee",    "macpherson",
    "macquarrie",   "macqueen",   "macrae",      "macritchie", "macrory",    "mactavish",
    "macvicar",
};

template <size_t N>
bool InList(std::string_view key, const std::string_view (&list)[N]) {
  return std::find(std::begin(list), std::end(list), key) != std::end(list);
}
template <size_t N>
bool InList(uint32_t v, const uint32_t (&list)[N]) {
  return std::find(std::begin(list), std::end(list), v) != std::end(list);
}

// Key of a whole word made of ASCII letters and trailing dots/commas ("JR." -> "jr"); empty
// for anything else.
std::string_view WordKey(std::string_view word, std::array<char, 16>* buf) {
  size_t end = word.size();
  while (end > 0 && (word[end - 1] == '.' || word[end - 1] == ',')) --end;
  if (end == 0 || end > buf->size()) return {};
  for (size_t i = 0; i < end; ++i) {
    if (!IsAsciiLetter(word[i])) return {};
    (*buf)[i] = LowerAscii(word[i]);
  }
  return std::string_view(buf->data(), end);
}

bool IsSuffixWord(std::string_view word) {
  std::array<char, 16> buf;
  return InList(WordKey(word, &buf), kSuffixKeys);
}
bool IsHonorificWord(std::string_view word) {
  std::array<char, 16> buf;
  return InList(WordKey(word, &buf), kHonorificKeys);
}
bool IsParticleWord(std::string_view word) {
  std::array<char, 16> buf;
  return InList(WordKey(word, &buf), kParticleKeys);
}

// One piece of a name between hyphens and apostrophes, capitalised: "mcdonald" -> "McDonald".
void AppendCapitalised(std::string_view piece, bool capital, std::string* out) {
  std::array<char, 16> buf;
  const std::string_view key = WordKey(piece, &buf);
  size_t i = 0;
  if (capital && key.size() >= 4 && key.substr(0, 2) == "mc") {
    out->append("Mc");
    i = 2;
  } else if (capital && InList(key, kMacNames)) {
    out->append("Mac");
    i = 3;
  }
  bool first = true;
  while (i < piece.size()) {
    i += AppendCased(piece, i, capital && first, out);
    first = false;
  }
}

// A name word written in one case, recased.
void AppendCasedWord(std::string_view word, std::string* out) {
  std::array<char, 16> buf;
  const std::string_view key = WordKey(word, &buf);
  if (!key.empty()) {
    for (const FixedWord& f : kFixedWords) {
      if (f.key == key) {
        out->append(f.text);
        out->append(word.substr(key.size()));  // the trailing '.' or ','
        return;
      }
    }
  }
  // Pieces between '-' and apostrophes ('\'' or U+2019). After an apostrophe a capital
  // follows only a one-letter prefix: "O'Brien", "D'Angelo", but "Ke'shawn".
  size_t start = 0;
  size_t prev_letters = 0;
  bool capital = true;
  for (size_t i = 0; i <= word.size();) {
    size_t sep_len = 0;
    bool hyphen = false;
    if (i < word.size()) {
      if (word[i] == '-') {
        sep_len = 1;
        hyphen = true;
      } else if (word[i] == '\'') {
        sep_len = 1;
      } else if (word.substr(i, 3) == "\xE2\x80\x99") {
        sep_len = 3;
      }
    }
    if (i == word.size() || sep_len > 0) {
      const std::string_view piece = word.substr(start, i - start);
      AppendCapitalised(piece, capital, out);
      if (i == word.size()) break;
      out->append(word.substr(i, sep_len));
      size_t letters = 0;
      for (size_t k = 0; k < piece.size();) {
        size_t len = 0;
        if (CharCase(piece, k, &len) != 0) ++letters;
        k += len;
      }
      prev_letters = letters;
      capital = hyphen || prev_letters == 1;
      i += sep_len;
      start = i;
      continue;
    }
    ++i;
  }
}

// Which cases the letters of `s` are in: bit 0 upper, bit 1 lower.
int LetterCases(std::string_view s) {
  int cases = 0;
  for (size_t i = 0; i < s.size();) {
    size_t len = 0;
    const int c = CharCase(s, i, &len);
    if (c > 0) cases |= 1;
    if (c < 0) cases |= 2;
    i += len;
  }
  return cases;
}

// Appends one word of a name: recased when written in a single case, else as given. In a name
// that has capitals elsewhere, a lowercase particle ("de la Cruz") is as given too.
void AppendNameWord(std::string_view word, bool name_has_capitals, std::string* out) {
  const int cases = LetterCases(word);
  if (cases == 3 || (cases == 2 && name_has_capitals && IsParticleWord(word))) {
    out->append(word);
  } else {
    AppendCasedWord(word, out);
  }
}

std::vector<std::string_view> Words(std::string_view text) {
  std::vector<std::string_view> words;
  size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && text[i] == ' ') ++i;
    const size_t start = i;
    while (i < text.size() && text[i] != ' ') ++i;
    if (i > start) words.push_back(text.substr(start, i - start));
  }
  return words;
}

std::string CaseWords(std::span<const std::string_view> words) {
  bool capitals = false;
  for (std::string_view w : words) capitals |= (LetterCases(w) & 1) != 0;
  std::string out;
  for (std::string_view w : words) {
    if (!out.empty()) out.push_back(' ');
    AppendNameWord(w, capitals, &out);
  }
  return out;
}

std::string JoinNonEmpty(std::string_view a, std::string_view b) {
  std::string out(a);
  if (!out.empty() && !b.empty()) out.push_back(' ');
  out.append(b);
  return out;
}

// Where a co-owner starts: '&' or the word "and". Returns {end of the first owner, start of
// the co-owner}, or npos.
std::pair<size_t, size_t> FindCoOwner(std::string_view text) {
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '&') return {i, i + 1};
    if (text[i] == ' ' && i + 4 < text.size() && LowerAscii(text[i + 1]) == 'a' &&
        LowerAscii(text[i + 2]) == 'n' && LowerAscii(text[i + 3]) == 'd' && text[i + 4] == ' ') {
      return {i, i + 5};
    }
  }
  return {std::string_view::npos, std::string_view::npos};
}

struct Person {
  std::string first;
  std::string last;
  std::string suffix;
  size_t words = 0;  // name words left after titles and suffixes
};

std::string_view StripCommas(std::string_view w) {
  while (!w.empty() && w.back() == ',') w.remove_suffix(1);
  return w;
}

// Moves trailing suffix words of `words` into `suffix` (in order).
void TakeSuffixes(std::vector<std::string_view>* words, std::vector<std::string_view>* suffix) {
  while (words->size() > 1 && IsSuffixWord(words->back())) {
    suffix->insert(suffix->begin(), StripCommas(words->back()));
    words->pop_back();
  }
}

void DropHonorifics(std::vector<std::string_view>* words) {
  while (words->size() > 1 && IsHonorificWord(words->front())) words->erase(words->begin());
}

// Drops the deed phrases "et al", "et ux", "et vir" (and others) ending a name.
void DropDeedPhrases(std::vector<std::string_view>* words) {
  std::array<char, 16> a;
  std::array<char, 16> b;
  while (words->size() > 1) {
    const std::string_view last = WordKey(words->back(), &a);
    if (last == "etal" || last == "etux" || last == "etvir") {
      words->pop_back();
    } else if (words->size() > 2 && WordKey((*words)[words->size() - 2], &b) == "et" &&
               (last == "al" || last == "ux" || last == "vir")) {
      words->pop_back();
      words->pop_back();
    } else {
      break;
    }
  }
}

Person ParsePerson(std::string_view text, bool last_first) {
  Person p;
  text = Trim(text);
  while (!text.empty() && (text.back() == ',' || text.back() == ' ')) text.remove_suffix(1);
  std::vector<std::string_view> suffix;
  std::vector<std::string_view> head;  // surname side of "Last, First"
  std::vector<std::string_view> words;
  const size_t comma = text.find(',');
  bool comma_form = false;
  if (comma != std::string_view::npos) {
    std::vector<std::string_view> tail;
    for (std::string_view w : Words(text.substr(comma + 1))) {
      w = StripCommas(w);
      if (!w.empty()) tail.push_back(w);
    }
    const bool only_suffixes = !tail.empty() && std::all_of(tail.begin(), tail.end(), IsSuffixWord);
    if (only_suffixes) {  // "John Smith, Jr."
      suffix = tail;
      text = text.substr(0, comma);
    } else {
      comma_form = true;
      head = Words(text.substr(0, comma));
      words = std::move(tail);
    }
  }
  if (comma_form) {
    DropDeedPhrases(&words);
    TakeSuffixes(&head, &suffix);
    TakeSuffixes(&words, &suffix);
    DropHonorifics(&words);
    if (!words.empty()) p.first = CaseWords(std::span(words.data(), 1));
    p.last = CaseWords(head);
    p.words = head.size() + words.size();
  } else {
    std::vector<std::string_view> own = Words(text);
    DropDeedPhrases(&own);
    std::vector<std::string_view> trailing;
    TakeSuffixes(&own, &trailing);
    suffix.insert(suffix.begin(), trailing.begin(), trailing.end());
    DropHonorifics(&own);
    p.words = own.size();
    if (own.size() == 1) {
      (last_first ? p.last : p.first) = CaseWords(own);
    } else if (own.size() >= 2 && last_first) {
      // "VAN DER BERG JAN": the surname takes its leading particles.
      size_t to = 1;
      while (to + 1 < own.size() && IsParticleWord(own[to - 1])) ++to;
      p.last = CaseWords(std::span(own.data(), to));
      p.first = CaseWords(std::span(own.data() + to, 1));
    } else if (own.size() >= 2) {
      size_t from = own.size() - 1;
      while (from > 1 && IsParticleWord(own[from - 1])) --from;
      p.first = CaseWords(std::span(own.data(), 1));
      p.last = CaseWords(std::span(own.data() + from, own.size() - from));
    }
  }
  p.suffix = CaseWords(suffix);
  return p;
}

bool IsInitial(std::string_view w) {
  return (w.size() == 1 && IsAsciiLetter(w[0])) ||
         (w.size() == 2 && IsAsciiLetter(w[0]) && w[1] == '.');
}

// ---------------------------------------------------------------------------------------------
// Phones.

const PhoneNumberUtil& PhoneUtil() {
  static const PhoneNumberUtil* const util = PhoneNumberUtil::GetInstance();
  return *util;
}

// Whether a NANP number is valid depends, in libphonenumber's metadata, only on its area code
// and exchange (the first six digits of the national number), except for the prefixes listed
// below, where it depends on the seventh digit. That was found by checking every prefix
// against 12 line numbers with libphonenumber 8.12.57, and a test (PhoneTest.
// ValidityCacheAgreesWithLibphonenumber) keeps checking samples. So each prefix's answer is
// remembered after one libphonenumber call: 0 unknown, 1 valid, 2 invalid. Threads racing on
// a prefix can only write the same value.
constexpr uint32_t kUncachedPrefixes[] = {246521, 246522, 876606};
std::atomic<uint8_t> g_prefix_validity[1000000];

// The countries and territories sharing +1. Each area code belongs to one of them, so once a
// valid number has shown an area code's region, later numbers there are checked against that
// region alone, which costs libphonenumber a third of a search through all of them.
const std::string kNanpRegions[] = {"US", "AG", "AI", "AS", "BB", "BM", "BS", "CA", "DM",
                                    "DO", "GD", "GU", "JM", "KN", "KY", "LC", "MP", "MS",
                                    "PR", "SX", "TC", "TT", "VC", "VG", "VI"};
std::atomic<uint8_t> g_area_region[1000];  // 1 + index into kNanpRegions; 0 not known yet

bool AskLibphonenumber(uint64_t national, size_t area) {
  const PhoneNumberUtil& util = PhoneUtil();
  PhoneNumber number;
  number.set_country_code(1);
  number.set_national_number(national);
  const uint8_t known = g_area_region[area].load(std::memory_order_relaxed);
  if (known != 0) return util.IsValidNumberForRegion(number, kNanpRegions[known - 1]);
  std::string region;
  util.GetRegionCodeForNumber(number, &region);
  if (!util.IsValidNumberForRegion(number, region)) return false;
  for (size_t i = 0; i < std::size(kNanpRegions); ++i) {
    if (kNanpRegions[i] == region) {
      g_area_region[area].store(static_cast<uint8_t>(i + 1), std::memory_order_relaxed);
    }
  }
  return true;
}

bool NanpValid(const char* nsn) {
  uint32_t prefix = 0;
  uint64_t national = 0;
  for (int i = 0; i < 10; ++i) {
    national = national * 10 + static_cast<uint64_t>(nsn[i] - '0');
    if (i == 5) prefix = static_cast<uint32_t>(national);
  }
  const bool cacheable = !InList(prefix, kUncachedPrefixes);
  if (cacheable) {
    const uint8_t known = g_prefix_validity[prefix].load(std::memory_order_relaxed);
    if (known != 0) return known == 1;
  }
  const bool valid = AskLibphonenumber(national, prefix / 1000);
  if (cacheable) g_prefix_validity[prefix].store(valid ? 1 : 2, std::memory_order_relaxed);
  return valid;
}

std::optional<std::string> NanpE164(const char* nsn, std::string* why) {
  const std::string_view area(nsn, 3);
  const std::string_view exchange(nsn + 3, 3);
  if (nsn[0] == '0' || nsn[0] == '1') {
    if (why) *why = "area code " + std::string(area) + " does not exist";
    return std::nullopt;
  }
  if (nsn[3] == '0' || nsn[3] == '1') {
    if (why) *why = "exchange " + std::string(exchange) + " does not exist";
    return std::nullopt;
  }
  if (!NanpValid(nsn)) {
    if (why) {
      *why = "area code " + std::string(area) + " with exchange " + std::string(exchange) +
             " is not in use";
    }
    return std::nullopt;
  }
  std::string e164 = "+1";
  e164.append(nsn, 10);
  return e164;
}

std::optional<std::string> ParseWithLibphonenumber(std::string_view text, std::string* why) {
  const PhoneNumberUtil& util = PhoneUtil();
  PhoneNumber number;
  const auto error = util.Parse(std::string(text), "US", &number);
  if (error != PhoneNumberUtil::NO_PARSING_ERROR) {
    if (why) {
      switch (error) {
        case PhoneNumberUtil::INVALID_COUNTRY_CODE_ERROR:
          *why = "unknown country code";
          break;
        case PhoneNumberUtil::TOO_SHORT_AFTER_IDD:
        case PhoneNumberUtil::TOO_SHORT_NSN:
          *why = "too short";
          break;
        case PhoneNumberUtil::TOO_LONG_NSN:
          *why = "too long";
          break;
        default:
          *why = "not a phone number";
      }
    }
    return std::nullopt;
  }
  if (!util.IsValidNumber(number)) {
    if (why) {
      switch (util.IsPossibleNumberWithReason(number)) {
        case PhoneNumberUtil::IS_POSSIBLE_LOCAL_ONLY:
          *why = "too short (no area code)";
          break;
        case PhoneNumberUtil::INVALID_COUNTRY_CODE:
          *why = "unknown country code";
          break;
        case PhoneNumberUtil::TOO_SHORT:
          *why = "too short";
          break;
        case PhoneNumberUtil::TOO_LONG:
          *why = "too long";
          break;
        case PhoneNumberUtil::INVALID_LENGTH:
          *why = "wrong number of digits";
          break;
        case PhoneNumberUtil::IS_POSSIBLE:
          *why = number.country_code() == 1 ? "area code or exchange not in use"
                                            : "not a valid number";
          break;
      }
    }
    return std::nullopt;
  }
  std::string e164;
  util.Format(number, PhoneNumberUtil::E164, &e164);  // drops any extension
  return e164;
}

// `s` without words that label a number: a parenthesised word ("(cell)") or one of a few
// labels ("Mobile:", "cell", "w"). Extension markers ("x", "ext") stay.
std::string WithoutPhoneLabels(std::string_view s) {
  static constexpr std::string_view kLabels[] = {
      "cell", "cellphone", "mobile", "mob", "home", "work", "office", "main", "direct", "phone",
      "tel",  "ph",        "c",      "m",   "h",    "w",    "o",      "hm",   "wk",     "fax"};
  std::string out;
  size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && s[i] == ' ') ++i;
    const size_t start = i;
    while (i < s.size() && s[i] != ' ') ++i;
    const std::string_view word = s.substr(start, i - start);
    if (word.empty()) break;
    bool label = false;
    if (word.size() > 2 && word.front() == '(' && word.back() == ')') {
      const std::string_view inner = word.substr(1, word.size() - 2);
      label = std::all_of(inner.begin(), inner.end(), IsAsciiLetter);
    } else {
      std::string_view w = word;
      if (w.back() == ':' || w.back() == '.') w.remove_suffix(1);
      std::array<char, 16> buf;
      label = std::all_of(w.begin(), w.end(), IsAsciiLetter) && InList(WordKey(w, &buf), kLabels);
    }
    if (label) continue;
    if (!out.empty()) out.push_back(' ');
    out.append(word);
  }
  return out;
}

size_t CountDigits(std::string_view s) {
  return static_cast<size_t>(std::count_if(s.begin(), s.end(), IsDigit));
}

// A cell split into the numbers written in it. "212/555-0100" is one number with its area code
// set apart, not two.
std::vector<std::string> SplitPhoneCell(std::string_view cell) {
  std::vector<std::string_view> pieces;
  size_t start = 0;
  for (size_t i = 0; i <= cell.size();) {
    size_t sep = 0;
    if (i < cell.size()) {
      const char c = cell[i];
      if (c == '/' || c == ';' || c == ',' || c == '|' || c == '\n' || c == '\r') {
        sep = 1;
      } else if (c == ' ' && i + 3 < cell.size() && LowerAscii(cell[i + 1]) == 'o' &&
                 LowerAscii(cell[i + 2]) == 'r' && cell[i + 3] == ' ') {
        sep = 4;
      }
    }
    if (i == cell.size() || sep > 0) {
      const std::string_view piece = Trim(cell.substr(start, i - start));
      if (!piece.empty()) pieces.push_back(piece);
      if (i == cell.size()) break;
      i += sep;
      start = i;
      continue;
    }
    ++i;
  }
  std::vector<std::string> numbers;
  numbers.reserve(pieces.size());
  for (size_t i = 0; i < pieces.size(); ++i) {
    if (i + 1 < pieces.size() && CountDigits(pieces[i]) == 3 && CountDigits(pieces[i + 1]) == 7) {
      numbers.push_back(std::string(pieces[i]) + " " + std::string(pieces[i + 1]));
      ++i;
    } else {
      numbers.emplace_back(pieces[i]);
    }
  }
  return numbers;
}

// "N/A", "none", "-", ...: a cell that says there is no value.
bool IsPlaceholder(std::string_view value) {
  std::array<char, 16> buf;
  std::string_view key;
  if (!LetterKey(value, &buf, &key)) return false;
  if (key.empty()) return CountDigits(value) == 0;
  static constexpr std::string_view kWords[] = {
      "na",    "none",  "null",    "nil",     "nan",          "unknown",    "tbd",
      "blank", "empty", "nophone", "noemail", "notavailable", "notprovided"};
  return CountDigits(value) == 0 && InList(key, kWords);
}

// ---------------------------------------------------------------------------------------------
// States.

struct StateName {
  std::string_view key;  // LetterKey of a name or abbreviation
  std::string_view code;
};

// Full names and the usual abbreviations (AP style and common short forms). The two-letter
// codes themselves are matched separately.
constexpr StateName kStateNames[] = {
    {"alabama", "AL"},
    {"ala", "AL"},
    {"alaska", "AK"},
    {"alas", "AK"},
    {"arizona", "AZ"},
    {"ariz", "AZ"},
    {"arkansas", "AR"},
    {"ark", "AR"},
    {"california", "CA"},
    {"calif", "CA"},
    {"cal", "CA"},
    {"cali", "CA"},
    {"colorado", "CO"},
    {"colo", "CO"},
    {"connecticut", "CT"},
    {"conn", "CT"},
    {"delaware", "DE"},
    {"del", "DE"},
    {"districtofcolumbia", "DC"},
    {"washingtondc", "DC"},
    {"florida", "FL"},
    {"fla", "FL"},
    {"georgia", "GA"},
    {"hawaii", "HI"},
    {"idaho", "ID"},
    {"illinois", "IL"},
    {"ill", "IL"},
    {"indiana", "IN"},
    {"ind", "IN"},
    {"iowa", "IA"},
    {"kansas", "KS"},
    {"kan", "KS"},
    {"kans", "KS"},
    {"kentucky", "KY"},
    {"louisiana", "LA"},
    {"maine", "ME"},
    {"maryland", "MD"},
    {"massachusetts", "MA"},
    {"mass", "MA"},
    {"michigan", "MI"},
    {"mich", "MI"},
    {"minnesota", "MN"},
    {"minn", "MN"},
    {"mississippi", "MS"},
    {"miss", "MS"},
    {"missouri", "MO"},
    {"montana", "MT"},
    {"mont", "MT"},
    {"nebraska", "NE"},
    {"neb", "NE"},
    {"nebr", "NE"},
    {"nevada", "NV"},
    {"nev", "NV"},
    {"newhampshire", "NH"},
    {"newjersey", "NJ"},
    {"newmexico", "NM"},
    {"newyork", "NY"},
    {"northcarolina", "NC"},
    {"northdakota", "ND"},
    {"ohio", "OH"},
    {"oklahoma", "OK"},
    {"okla", "OK"},
    {"oregon", "OR"},
    {"ore", "OR"},
    {"oreg", "OR"},
    {"pennsylvania", "PA"},
    {"penn", "PA"},
    {"penna", "PA"},
    {"rhodeisland", "RI"},
    {"southcarolina", "SC"},
    {"southdakota", "SD"},
    {"tennessee", "TN"},
    {"tenn", "TN"},
    {"texas", "TX"},
    {"tex", "TX"},
    {"utah", "UT"},
    {"vermont", "VT"},
    {"virginia", "VA"},
    {"washington", "WA"},
    {"wash", "WA"},
    {"westvirginia", "WV"},
    {"wva", "WV"},
    {"wisconsin", "WI"},
    {"wis", "WI"},
    {"wisc", "WI"},
    {"wyoming", "WY"},
    {"wyo", "WY"},
    {"puertorico", "PR"},
    {"virginislands", "VI"},
    {"usvirginislands", "VI"},
    {"usvi", "VI"},
    {"guam", "GU"},
    {"americansamoa", "AS"},
    {"northernmarianaislands", "MP"},
    {"northernmarianas", "MP"},
    {"cnmi", "MP"},
    {"armedforcesamericas", "AA"},
    {"armedforceseurope", "AE"},
    {"armedforcespacific", "AP"},
};

constexpr std::string_view kStateCodes[] = {
    "AL", "AK", "AZ", "AR", "CA", "CO", "CT", "DE", "DC", "FL", "GA", "HI", "ID", "IL", "IN",
    "IA", "KS", "KY", "LA", "ME", "MD", "MA", "MI", "MN", "MS", "MO", "MT", "NE", "NV", "NH",
    "NJ", "NM", "NY", "NC", "ND", "OH", "OK", "OR", "PA", "RI", "SC", "SD", "TN", "TX", "UT",
    "VT", "VA", "WA", "WV", "WI", "WY", "PR", "VI", "GU", "AS", "MP", "AA", "AE", "AP",
};

// ---------------------------------------------------------------------------------------------
// Email.

bool IsLocalChar(char c) {
  if (IsAsciiLetter(c) || IsDigit(c)) return true;
  static constexpr std::string_view kSpecials = "!#$%&'*+/=?^_`{|}~.-";
  return kSpecials.find(c) != std::string_view::npos;
}

std::optional<std::string> EmailOrWhy(std::string_view raw, std::string* why) {
  auto fail = [why](std::string reason) -> std::optional<std::string> {
    if (why) *why = std::move(reason);
    return std::nullopt;
  };
  std::string_view s = Trim(raw);
  std::string email;
  email.reserve(s.size());
  for (char c : s) email.push_back(LowerAscii(c));
  if (email.starts_with("mailto:")) email.erase(0, 7);
  if (email.empty()) return fail("empty");
  for (char c : email) {
    if (IsSpaceByte(c)) return fail("contains a space");
  }
  const size_t at = email.find('@');
  if (at == std::string::npos) return fail("no '@'");
  if (email.find('@', at + 1) != std::string::npos) return fail("more than one '@'");
  const std::string_view local = std::string_view(email).substr(0, at);
  const std::string_view domain = std::string_view(email).substr(at + 1);
  if (local.empty()) return fail("nothing before the '@'");
  if (local.size() > 64 || email.size() > 254) return fail("too long");
  for (char c : local) {
    if (static_cast<unsigned char>(c) >= 0x80) return fail("a non-ASCII character before the '@'");
    if (!IsLocalChar(c)) return fail(std::string("character '") + c + "' before the '@'");
  }
  if (local.front() == '.' || local.back() == '.' || local.find("..") != std::string::npos) {
    return fail("misplaced '.' before the '@'");
  }
  if (domain.empty()) return fail("no domain");
  if (domain.find('.') == std::string::npos) return fail("no '.' in the domain");
  size_t label_start = 0;
  std::string_view tld;
  for (size_t i = 0; i <= domain.size(); ++i) {
    if (i < domain.size() && domain[i] != '.') {
      const char c = domain[i];
      if (static_cast<unsigned char>(c) >= 0x80) return fail("a non-ASCII character in the domain");
      if (!IsAsciiLetter(c) && !IsDigit(c) && c != '-') {
        return fail(std::string("character '") + c + "' in the domain");
      }
      continue;
    }
    const std::string_view label = domain.substr(label_start, i - label_start);
    if (label.empty() || label.size() > 63) return fail("empty or overlong part in the domain");
    if (label.front() == '-' || label.back() == '-') return fail("misplaced '-' in the domain");
    tld = label;
    label_start = i + 1;
  }
  const bool punycode = tld.starts_with("xn--");
  if (tld.size() < 2 || (!punycode && !std::all_of(tld.begin(), tld.end(), IsAsciiLetter))) {
    return fail("top-level domain '" + std::string(tld) + "' is not a name");
  }
  return email;
}

std::string Quoted(std::string_view value) { return "'" + std::string(value) + "'"; }

}  // namespace

// ---------------------------------------------------------------------------------------------

std::string CollapseWhitespace(std::string_view text) {
  // Written through a pointer into a buffer of the input's size (the output is never longer):
  // this runs on every field of every imported row.
  std::string out(text.size(), '\0');
  char* const o = out.data();
  size_t n = 0;
  bool pending = false;
  for (size_t i = 0; i < text.size(); ++i) {
    bool space = IsSpaceByte(text[i]);
    if (!space && text[i] == '\xC2' && i + 1 < text.size() && text[i + 1] == '\xA0') {
      space = true;  // U+00A0 no-break space
      ++i;
    }
    if (space) {
      pending = n != 0;
      continue;
    }
    if (pending) {
      o[n++] = ' ';
      pending = false;
    }
    o[n++] = text[i];
  }
  out.resize(n);
  return out;
}

std::string CaseName(std::string_view name) {
  const std::string collapsed = CollapseWhitespace(name);
  const std::vector<std::string_view> words = Words(collapsed);
  return CaseWords(words);
}

SplitName SplitFullName(std::string_view full_name, bool last_first) {
  const std::string text = CollapseWhitespace(full_name);
  const std::string_view all = text;
  const auto [primary_end, secondary_start] = FindCoOwner(all);
  SplitName out;
  if (primary_end == std::string_view::npos) {
    Person p = ParsePerson(all, last_first);
    out.first = std::move(p.first);
    out.last = std::move(p.last);
    out.suffix = std::move(p.suffix);
    return out;
  }
  const std::string_view primary = Trim(all.substr(0, primary_end));
  std::string_view secondary = Trim(all.substr(secondary_start));
  // A third owner is not kept.
  const size_t third = FindCoOwner(secondary).first;
  if (third != std::string_view::npos) secondary = Trim(secondary.substr(0, third));
  const std::vector<std::string_view> primary_words = Words(primary);
  if (!primary_words.empty() &&
      std::all_of(primary_words.begin(), primary_words.end(), IsHonorificWord)) {
    // "MR & MRS JOHN SMITH" is one name with two titles.
    Person p = ParsePerson(secondary, last_first);
    out.first = std::move(p.first);
    out.last = std::move(p.last);
    out.suffix = std::move(p.suffix);
    return out;
  }

  Person p = ParsePerson(primary, last_first);
  std::vector<std::string_view> co_words = Words(secondary);
  std::vector<std::string_view> co_suffix;
  DropDeedPhrases(&co_words);
  TakeSuffixes(&co_words, &co_suffix);
  DropHonorifics(&co_words);

  if (!last_first && p.words == 1 && primary.find(',') == std::string_view::npos &&
      co_words.size() >= 2) {
    // "John & Mary Smith": both share the surname written last.
    Person q = ParsePerson(secondary, false);
    p.last = q.last;
    out.co_owner = JoinNonEmpty(q.first, q.last);
  } else if (co_words.size() == 1) {
    out.co_owner = JoinNonEmpty(CaseWords(co_words), p.last);
  } else if (co_words.size() >= 2 && last_first && IsInitial(co_words[1])) {
    // "SMITH JOHN & MARY A": Mary A. Smith.
    out.co_owner = JoinNonEmpty(CaseWords(std::span(co_words.data(), 1)), p.last);
  } else if (co_words.size() >= 2) {
    Person q = ParsePerson(secondary, last_first);
    out.co_owner = JoinNonEmpty(q.first, q.last);
  }
  out.first = std::move(p.first);
  out.last = std::move(p.last);
  out.suffix = std::move(p.suffix);
  return out;
}

std::optional<std::string> PhoneToE164(std::string_view number, std::string* why) {
  const std::string_view s = Trim(number);
  if (std::any_of(s.begin(), s.end(), IsAsciiLetter)) {
    // Labels such as "(cell)" or "Mobile:" would be read as vanity letters; drop them first.
    std::string unlabelled = WithoutPhoneLabels(s);
    if (unlabelled.size() != s.size()) return PhoneToE164(unlabelled, why);
  }
  // The usual shapes -- digits with spaces, '-', '.', '(' and ')', perhaps "+1" -- are read
  // here; anything else (letters, extensions, other countries) goes to libphonenumber.
  char digits[16];
  size_t n = 0;
  bool plus = false;
  bool simple = true;
  for (char c : s) {
    if (IsDigit(c)) {
      if (n == sizeof(digits)) {
        simple = false;
        break;
      }
      digits[n++] = c;
    } else if (c == '+' && n == 0 && !plus) {
      plus = true;
    } else if (c != ' ' && c != '-' && c != '.' && c != '(' && c != ')' && c != '\t') {
      simple = false;
      break;
    }
  }
  if (simple) {
    if (n == 10 && !plus) return NanpE164(digits, why);
    if (n == 11 && digits[0] == '1') return NanpE164(digits + 1, why);
    if (!plus && n == 0) {
      if (why) *why = "not a phone number";
      return std::nullopt;
    }
    if (!plus && n < 10) {
      if (why) *why = n == 7 ? "too short (no area code)" : "too short";
      return std::nullopt;
    }
    if (!plus && n == 11) {
      if (why) *why = "too long";
      return std::nullopt;
    }
  }
  return ParseWithLibphonenumber(s, why);
}

std::vector<std::string> NormalizePhones(std::string_view cell, std::vector<RowProblem>* problems) {
  std::vector<std::string> out;
  const std::string_view trimmed = Trim(cell);
  if (trimmed.empty() || IsPlaceholder(trimmed)) return out;
  std::string why;
  for (const std::string& number : SplitPhoneCell(trimmed)) {
    std::optional<std::string> e164 = PhoneToE164(number, &why);
    if (!e164) {
      if (problems) {
        problems->push_back({"phones", Quoted(number) + " is not a valid phone number: " + why});
      }
      continue;
    }
    if (std::find(out.begin(), out.end(), *e164) == out.end()) out.push_back(std::move(*e164));
  }
  return out;
}

std::optional<std::string> NormalizeEmail(std::string_view email) {
  return EmailOrWhy(email, nullptr);
}

std::optional<std::string_view> StateCode(std::string_view state) {
  std::array<char, 32> buf;
  std::string_view key;
  if (!LetterKey(state, &buf, &key) || key.empty()) return std::nullopt;
  if (key.size() == 2) {
    const char code[2] = {UpperAscii(key[0]), UpperAscii(key[1])};
    for (std::string_view c : kStateCodes) {
      if (c == std::string_view(code, 2)) return c;
    }
  }
  // "U.S. Virgin Islands" and "Washington, D.C." read as their letters.
  for (const StateName& s : kStateNames) {
    if (s.key == key) return s.code;
  }
  return std::nullopt;
}

std::optional<std::string> FiveDigitZip(std::string_view zip) {
  std::string_view s = Trim(zip);
  if (s.ends_with(".0")) s.remove_suffix(2);  // a spreadsheet's number format
  const size_t dash = s.find_first_of("- ");
  std::string_view head = s.substr(0, dash);
  const std::string_view plus4 =
      dash == std::string_view::npos ? std::string_view() : s.substr(dash + 1);
  if (head.empty() || !std::all_of(head.begin(), head.end(), IsDigit)) return std::nullopt;
  if (dash != std::string_view::npos) {
    if (plus4.size() != 4 || !std::all_of(plus4.begin(), plus4.end(), IsDigit)) {
      return std::nullopt;
    }
    if (head.size() < 3 || head.size() > 5) return std::nullopt;
  } else if (head.size() == 9 || head.size() == 8 || head.size() == 7) {
    head.remove_suffix(4);  // ZIP+4 written without the dash (perhaps without leading zeros)
  } else if (head.size() < 3 || head.size() > 5) {
    return std::nullopt;
  }
  std::string out(5 - head.size(), '0');
  out.append(head);
  if (out == "00000") return std::nullopt;
  return out;
}

std::string StateForPhone(std::string_view e164) {
  // Area codes never cross state lines, so the answer is remembered per area code ("NY" packed
  // in 16 bits; 0 means not known yet). Only answers found are remembered.
  static std::atomic<uint16_t> by_area_code[1000];
  const bool nanp = e164.size() == 12 && e164.starts_with("+1") &&
                    std::all_of(e164.begin() + 2, e164.end(), IsDigit);
  size_t area = 0;
  if (nanp) {
    area = static_cast<size_t>((e164[2] - '0') * 100 + (e164[3] - '0') * 10 + (e164[4] - '0'));
    const uint16_t known = by_area_code[area].load(std::memory_order_relaxed);
    if (known != 0) return std::string{static_cast<char>(known >> 8), static_cast<char>(known)};
  }
  const PhoneNumberUtil& util = PhoneUtil();
  PhoneNumber number;
  if (util.Parse(std::string(e164), "US", &number) != PhoneNumberUtil::NO_PARSING_ERROR ||
      number.country_code() != 1) {
    return "";
  }
  std::string region;
  util.GetRegionCodeForNumber(number, &region);
  std::string state;
  if (region == "PR" || region == "VI" || region == "GU" || region == "AS" || region == "MP") {
    state = region;
  } else if (region == "US") {
    static const PhoneNumberOfflineGeocoder* const geocoder = new PhoneNumberOfflineGeocoder();
    static const icu::Locale* const english = new icu::Locale("en", "US");
    const std::string place = geocoder->GetDescriptionForNumber(number, *english);
    // "New York, NY" or a state's name ("California", "Washington D.C.").
    const size_t comma = place.rfind(", ");
    std::optional<std::string_view> code =
        StateCode(comma == std::string::npos ? std::string_view(place)
                                             : std::string_view(place).substr(comma + 2));
    if (code) state = std::string(*code);
  }
  if (nanp && state.size() == 2) {
    by_area_code[area].store(static_cast<uint16_t>((static_cast<unsigned char>(state[0]) << 8) |
                                                   static_cast<unsigned char>(state[1])),
                             std::memory_order_relaxed);
  }
  return state;
}

CleanedLead CleanLead(RawLead raw) {
  CleanedLead out;
  out.source = raw.source;

  // Names. Separate columns win over a full name, which is still kept for display and for
  // entity detection.
  const std::string first = CollapseWhitespace(raw.first_name);
  const std::string last = CollapseWhitespace(raw.last_name);
  const std::string full = CollapseWhitespace(raw.full_name);
  if (!first.empty() || !last.empty()) {
    out.last_name = CaseName(last);
    const auto [end, co_start] = FindCoOwner(first);
    if (end != std::string_view::npos) {  // "JOHN & MARY" / "SMITH"
      out.first_name = CaseName(std::string_view(first).substr(0, end));
      const std::string co = CaseName(std::string_view(first).substr(co_start));
      out.co_owner = co.find(' ') == std::string::npos ? JoinNonEmpty(co, out.last_name) : co;
    } else {
      out.first_name = CaseName(first);
    }
    out.full_name = full.empty() ? JoinNonEmpty(out.first_name, out.last_name) : CaseName(full);
  } else if (!full.empty()) {
    SplitName split = SplitFullName(full, raw.source == LeadSource::kProperty);
    out.first_name = std::move(split.first);
    out.last_name = std::move(split.last);
    out.name_suffix = std::move(split.suffix);
    out.co_owner = std::move(split.co_owner);
    out.full_name = CaseName(full);
  }

  out.company = CollapseWhitespace(raw.company);
  out.title = CollapseWhitespace(raw.title);

  for (const std::string& cell : raw.phones) {
    for (std::string& p : NormalizePhones(cell, &out.problems)) {
      if (std::find(out.phones.begin(), out.phones.end(), p) == out.phones.end()) {
        out.phones.push_back(std::move(p));
      }
    }
  }

  const std::string_view email = Trim(raw.email);
  if (!email.empty() && !IsPlaceholder(email)) {
    std::string why;
    std::optional<std::string> e = EmailOrWhy(email, &why);
    if (e) {
      out.email = std::move(*e);
    } else {
      out.problems.push_back({"email", Quoted(email) + " is not a valid email address: " + why});
    }
  }

  out.street = CollapseWhitespace(raw.street);
  out.city = CollapseWhitespace(raw.city);
  const std::string_view state = Trim(raw.state);
  if (!state.empty() && !IsPlaceholder(state)) {
    if (std::optional<std::string_view> code = StateCode(state)) {
      out.state = std::string(*code);
    } else {
      out.problems.push_back({"state", Quoted(state) + " is not a US state or territory"});
    }
  }
  const std::string_view zip = Trim(raw.zip);
  if (!zip.empty() && !IsPlaceholder(zip)) {
    if (std::optional<std::string> five = FiveDigitZip(zip)) {
      out.zip = std::move(*five);
    } else {
      out.problems.push_back({"zip", Quoted(zip) + " is not a US ZIP code"});
    }
  }

  out.county = CollapseWhitespace(raw.county);
  out.website = CollapseWhitespace(raw.website);
  out.industry = CollapseWhitespace(raw.industry);
  out.employees = CollapseWhitespace(raw.employees);
  out.annual_sales = CollapseWhitespace(raw.annual_sales);
  out.sic_code = CollapseWhitespace(raw.sic_code);
  out.linkedin = CollapseWhitespace(raw.linkedin);
  out.mailing_address = CollapseWhitespace(raw.mailing_address);
  out.property_address = CollapseWhitespace(raw.property_address);
  out.apn = CollapseWhitespace(raw.apn);
  out.attributes.reserve(raw.attributes.size());
  for (auto& [header, value] : raw.attributes) {
    std::string v = CollapseWhitespace(value);
    if (!v.empty()) out.attributes.emplace_back(std::move(header), std::move(v));
  }
  return out;
}

}  // namespace nextier::adapters
