// Lead cleaning: turns the raw values of one CSV row (a RawLead from MapRow) into the values we
// store, and says what had to be dropped.
//
// Rules, applied to every row:
//  - Text: every field and attribute is trimmed and runs of whitespace (tabs, line breaks,
//    no-break spaces included) become one space.
//  - Names: a word written in one case ("JOHN", "mcdonald") is recased: "John", "McDonald",
//    "O'Brien", "D'Angelo", "Smith-Jones", known Mac names ("MacArthur"; but "Mack", "Macy"),
//    suffixes "Jr", "Sr", "II", "III", "IV", credentials ("MD", "CPA", "PhD") and entity
//    abbreviations ("LLC", "LP"). A word that mixes cases ("DeShawn", "McKay") is left as given,
//    and so is a lowercase particle in a name with capitals ("Maria de la Cruz").
//  - Full names (only when no first/last columns were given) are split: "John A. Smith Jr.",
//    "Smith, John A", and on owner lists (source property) county style "SMITH JOHN A". A
//    co-owner after '&' or "and" is kept: "SMITH JOHN & MARY" is John Smith with co-owner
//    Mary Smith; "John & Mary Smith" likewise. Titles such as "Mr." and "Dr." ("Mr & Mrs John
//    Smith" too), deed phrases ("et al", "et ux"), middle names and initials are dropped. full_name
//    always keeps the whole (recased) name, which is what entity detection must look at.
//  - Phones: each cell may hold several numbers split on '/', ';', ',', '|' or " or "; each is
//    parsed with libphonenumber for region US and stored in E.164 ("+12125550100"); labels
//    ("(cell)", "Mobile:") and extensions are dropped; numbers that are not valid (too short like
//    "555-0100", too long, area code 000, ...) are dropped with a problem naming the value;
//    duplicates are removed, the first (most wanted) place kept. Valid numbers of other countries
//    written with '+' are kept.
//  - Email: trimmed, lowercased, a leading "mailto:" removed; kept only with a plausible syntax
//    (one '@', no spaces, a local part of allowed characters, a domain of dotted labels with a
//    dot and a top-level name of 2+ letters), else dropped with a problem.
//  - State: two-letter code from a code, a name or a common abbreviation in any case ("new
//    york", "N.Y.", "Calif."), including DC, PR, VI, GU, AS, MP and the military AA/AE/AP;
//    anything else dropped with a problem.
//  - ZIP: five digits. ZIP+4 keeps its first five; a ZIP that lost its leading zeros to a
//    spreadsheet ("2134", "501", "21341234") gets them back; anything else dropped with a
//    problem.
// Dropping a value never drops the row: the caller decides what a row without a phone is worth.
//
// Speed: CleanLead runs on every row of million-row files. It uses no regex of its own; the
// common phone shapes (10 digits with the usual punctuation, with or without +1) skip
// libphonenumber's parser, and validity is remembered per area code and exchange (see
// cleaning.cc), so most rows make no libphonenumber call at all.
//
// Thread-safety: every function here may be called from any number of threads at once. The
// libphonenumber singletons and the geocoder are created on first use and never freed.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "nextier/adapters/lead_mapping.h"

namespace nextier::adapters {

// Something in a row that was dropped or could not be used. `field` is a LeadFieldName
// ("phones", "email", "state", "zip", ...); `reason` is a sentence naming the value.
struct RowProblem {
  std::string field;
  std::string reason;

  bool operator==(const RowProblem&) const = default;
};

struct CleanedLead {
  LeadSource source = LeadSource::kGeneric;
  std::string first_name;
  std::string last_name;
  std::string name_suffix;  // "Jr.", "III", ... when split off a full name
  std::string full_name;    // the whole name as written (recased), or "first last"
  std::string co_owner;     // "Mary Smith" from "SMITH JOHN & MARY"; empty when none
  std::string company;
  std::string title;
  std::vector<std::string> phones;  // E.164, in priority order, no duplicates
  std::string email;                // lowercase, or empty
  std::string street;
  std::string city;
  std::string state;  // two letters, or empty
  std::string zip;    // five digits, or empty
  std::string county;
  std::string website;
  std::string industry;
  std::string employees;
  std::string annual_sales;
  std::string sic_code;
  std::string linkedin;
  std::string mailing_address;
  std::string property_address;
  std::string apn;
  std::vector<std::pair<std::string, std::string>> attributes;  // values cleaned of whitespace
  std::vector<RowProblem> problems;                             // in the order found
};

// Applies every rule above. Never fails: what cannot be used is dropped and reported.
CleanedLead CleanLead(RawLead raw);

// The pieces below are the rules one at a time, for callers that clean a single value
// (dedupe lookups, the API's lead edits).

// Trimmed, with each run of whitespace (including U+00A0) made one space.
std::string CollapseWhitespace(std::string_view text);

// A name with each single-case word recased as described above; mixed-case words unchanged.
// Whitespace is collapsed first.
std::string CaseName(std::string_view name);

struct SplitName {
  std::string first;
  std::string last;
  std::string suffix;
  std::string co_owner;  // full name of a co-owner, e.g. "Mary Smith"
};

// Splits (and recases) a full name. `last_first` says how a name without a comma is ordered
// ("SMITH JOHN A" on owner lists); a comma always means "Last, First".
SplitName SplitFullName(std::string_view full_name, bool last_first);

// The numbers in one phone cell in E.164, in the order written, without duplicates. Invalid
// numbers are left out; when `problems` is not null each adds a RowProblem for "phones".
std::vector<std::string> NormalizePhones(std::string_view cell,
                                         std::vector<RowProblem>* problems = nullptr);

// One number in E.164, or nullopt with `*why` (if not null) saying why not, e.g.
// "too short".
std::optional<std::string> PhoneToE164(std::string_view number, std::string* why = nullptr);

// The lowercased email if its syntax is plausible (see above), else nullopt.
std::optional<std::string> NormalizeEmail(std::string_view email);

// The two-letter code of a US state, DC or territory written as a code, name or common
// abbreviation, else nullopt.
std::optional<std::string_view> StateCode(std::string_view state);

// Five-digit ZIP (leading zeros restored, ZIP+4 cut), else nullopt.
std::optional<std::string> FiveDigitZip(std::string_view zip);

// The two-letter state (or territory) an E.164 number's area code belongs to, from
// libphonenumber's offline geocoder: "+12125550100" ("New York, NY") -> "NY", "+19075550100"
// ("Alaska") -> "AK"; for Puerto Rico and other territories their code. Empty for numbers
// outside the US and its territories, invalid numbers, and area codes not tied to one state
// (toll-free 800, 500, ...).
std::string StateForPhone(std::string_view e164);

}  // namespace nextier::adapters
