#include "nextier/adapters/sandbox_skip_trace.h"

#include <phonenumbers/phonenumber.pb.h>
#include <phonenumbers/phonenumberutil.h>

#include <algorithm>
#include <cstdint>
#include <iterator>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "nextier/engine/send_window.h"

namespace nextier::adapters {
namespace {

using ::i18n::phonenumbers::PhoneNumber;
using ::i18n::phonenumbers::PhoneNumberUtil;

// Shares of hits, in percent, that carry each extra (see the header).
constexpr uint64_t kDncPercent = 3;
constexpr uint64_t kLandlinePercent = 5;
constexpr uint64_t kEmailPercent = 40;

// Used when the query's state is unknown: big-city codes spread over the four main zones.
constexpr std::string_view kFallbackAreaCodes[] = {"212", "305", "312", "404", "214",
                                                   "303", "602", "206", "415", "617"};

constexpr const char* kEmailDomains[] = {"example.com", "example.net", "example.org"};

// Each decision draws from its own stream, so a number that needed an extra try never shifts
// the draws of the decisions after it.
enum class Purpose : uint64_t { kHit = 1, kMobile, kDnc, kLandline, kEmail };

char Lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

std::string Normalize(std::string_view s) {
  const auto not_space = [](char c) { return c != ' ' && c != '\t' && c != '\n' && c != '\r'; };
  const auto first = std::find_if(s.begin(), s.end(), not_space);
  const auto last = std::find_if(s.rbegin(), s.rend(), not_space).base();
  std::string out;
  for (auto it = first; it < last; ++it) out.push_back(Lower(*it));
  return out;
}

// FNV-1a, 64 bits: stable across platforms and releases, unlike std::hash.
uint64_t Fnv1a(std::string_view s, uint64_t h = 14695981039346656037ull) {
  for (char c : s) {
    h ^= static_cast<unsigned char>(c);
    h *= 1099511628211ull;
  }
  return h;
}

// SplitMix64: a small, well-mixed generator, enough for made-up data.
class Stream {
 public:
  Stream(uint64_t seed, Purpose purpose)
      : state_(seed ^ (static_cast<uint64_t>(purpose) * 0xD1B54A32D192ED03ull)) {}
  uint64_t Next() {
    uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  uint64_t Below(uint64_t n) { return Next() % n; }

 private:
  uint64_t state_;
};

// Built from digits rather than parsed, and checked against the one region it must belong to:
// cheaper than Parse + IsValidNumber, which tries every +1 region. Territories are regions of
// their own in libphonenumber, named like their state codes.
bool ValidNumber(uint64_t national, std::string_view state) {
  PhoneNumber number;
  number.set_country_code(1);
  number.set_national_number(national);
  std::string region = "US";
  for (std::string_view territory : {"PR", "VI", "GU", "MP", "AS"}) {
    if (state == territory) region = state;
  }
  return PhoneNumberUtil::GetInstance()->IsValidNumberForRegion(number, region);
}

// A valid number with one of `codes`, placed by StateForPhone in `state` (any US state when
// `state` is empty). Draws again until one passes; nullopt only if none did in many tries.
std::optional<std::string> MakeNumber(Stream& rng, const std::vector<std::string>& codes,
                                      std::string_view state) {
  for (int attempt = 0; attempt < 64; ++attempt) {
    const std::string& code = codes[rng.Below(codes.size())];
    // Exchanges 200..999, but not 555 (reserved for fiction) or N11 (service codes).
    const unsigned exchange = 200 + static_cast<unsigned>(rng.Below(800));
    const unsigned line = static_cast<unsigned>(rng.Below(10000));
    if (exchange == 555 || exchange % 100 == 11) continue;
    const uint64_t national =
        std::stoull(code) * 10'000'000 + uint64_t{exchange} * 10'000 + uint64_t{line};
    if (!ValidNumber(national, state)) continue;
    std::string e164 = "+1" + std::to_string(national);
    const std::string placed = engine::StateForPhone(e164);
    if (placed.empty() || (!state.empty() && placed != state)) continue;
    return e164;
  }
  return std::nullopt;
}

std::string LettersOnly(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c >= 'a' && c <= 'z') out.push_back(c);
  }
  return out;
}

}  // namespace

SandboxSkipTrace::SandboxSkipTrace(int hit_percent)
    : hit_percent_(std::clamp(hit_percent, 0, 100)) {}

Result<engine::SkipTraceAnswer> SandboxSkipTrace::Lookup(const engine::SkipTraceQuery& query) {
  // A lost answer of a look-up changes nothing here (nothing is stored): it fails like an error.
  if (auto o =
          outage_.Take({OutageMode::kError, OutageMode::kTimeout, OutageMode::kLostResponse})) {
    return OutageFailure(*o, "sandbox skip trace");
  }
  engine::SkipTraceAnswer answer;
  const std::string first = Normalize(query.first_name);
  const std::string last = Normalize(query.last_name);
  if (query.is_entity || (first.empty() && last.empty())) return answer;

  // The unit separator keeps "ann" + "alee" apart from "anna" + "lee".
  const uint64_t seed = Fnv1a(last, Fnv1a("\x1f", Fnv1a(first)));
  if (Stream(seed, Purpose::kHit).Below(100) >= static_cast<uint64_t>(hit_percent_)) {
    return answer;
  }

  std::string state = Normalize(query.state);
  std::transform(state.begin(), state.end(), state.begin(),
                 [](char c) { return c >= 'a' && c <= 'z' ? static_cast<char>(c - 32) : c; });
  std::vector<std::string> codes = engine::AreaCodesForState(state);
  if (codes.empty()) {
    codes.assign(std::begin(kFallbackAreaCodes), std::end(kFallbackAreaCodes));
    state.clear();
  }

  Stream mobile_rng(seed, Purpose::kMobile);
  const std::optional<std::string> mobile = MakeNumber(mobile_rng, codes, state);
  if (!mobile) return answer;  // no valid number in this state's codes: a miss

  // The extras come before the mobile, where a careless pick would take them.
  Stream dnc_rng(seed, Purpose::kDnc);
  if (dnc_rng.Below(100) < kDncPercent) {
    if (auto dnc = MakeNumber(dnc_rng, codes, state); dnc && *dnc != *mobile) {
      answer.phones.push_back({*dnc, "mobile", /*connected=*/true, /*do_not_call=*/true});
    }
  }
  Stream landline_rng(seed, Purpose::kLandline);
  if (landline_rng.Below(100) < kLandlinePercent) {
    if (auto landline = MakeNumber(landline_rng, codes, state); landline && *landline != *mobile) {
      answer.phones.push_back({*landline, "landline", /*connected=*/true, /*do_not_call=*/false});
    }
  }
  answer.phones.push_back({*mobile, "mobile", /*connected=*/true, /*do_not_call=*/false});

  Stream email_rng(seed, Purpose::kEmail);
  if (email_rng.Below(100) < kEmailPercent) {
    const std::string f = LettersOnly(first);
    const std::string l = LettersOnly(last);
    const std::string local = f.empty() ? l : l.empty() ? f : f + "." + l;
    if (!local.empty()) {
      answer.emails.push_back(local + "@" +
                              kEmailDomains[email_rng.Below(std::size(kEmailDomains))]);
    }
  }
  return answer;
}

}  // namespace nextier::adapters
