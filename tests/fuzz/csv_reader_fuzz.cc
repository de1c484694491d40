// libFuzzer target: the CSV reader and the import's pure steps after it (header mapping, row
// mapping, cleaning), i.e. everything an uploaded file reaches before the event store.
//
// Input: byte 0 picks the options (delimiter, tight limits so the limit paths are reachable with
// small inputs, no mapping, the source the mapping is told), byte 1 the chunk size of a second,
// split parse; the rest is the file. Besides
// "no crash, no sanitizer report", it checks what csv_reader.h promises:
//  - the same input fed whole and in chunks gives the same records, row errors, status and
//    delimiter;
//  - every delivered field is valid UTF-8 (non-UTF-8 is transcoded from Windows-1252);
//  - every record after the header has the header's field count; rows number up by one from 1,
//    lines never go down;
// and what cleaning.h promises: phones in E.164, two-letter states, five-digit ZIPs, lowercase
// emails, valid UTF-8 everywhere.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "nextier/adapters/cleaning.h"
#include "nextier/adapters/csv_reader.h"
#include "nextier/adapters/lead_mapping.h"

namespace nextier::adapters {
namespace {

[[noreturn]] void Fail(const char* what, const std::string& detail = {}) {
  std::fprintf(stderr, "csv_reader_fuzz: %s %s\n", what, detail.c_str());
  std::abort();
}

// Strict UTF-8 (RFC 3629), written independently of the reader's own check.
bool ValidUtf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    size_t n;
    uint32_t cp;
    if (c < 0x80) {
      ++i;
      continue;
    } else if (c >= 0xC2 && c <= 0xDF) {
      n = 1;
      cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
      n = 2;
      cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      n = 3;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (i + n >= s.size()) return false;  // truncated sequence
    for (size_t k = 1; k <= n; ++k) {
      const auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) || cp > 0x10FFFF ||
        (cp >= 0xD800 && cp <= 0xDFFF)) {
      return false;
    }
    i += n + 1;
  }
  return true;
}

struct Output {
  std::vector<std::vector<std::string>> records;
  std::vector<uint64_t> rows, lines;
  std::vector<bool> transcoded;
  std::vector<std::string> errors;  // "row:line:reason"
  bool operator==(const Output&) const = default;
};

class Collector : public CsvVisitor {
 public:
  explicit Collector(Output* out) : out_(out) {}
  Status OnRecord(const CsvRecord& r) override {
    out_->records.emplace_back(r.fields.begin(), r.fields.end());
    out_->rows.push_back(r.row);
    out_->lines.push_back(r.line);
    out_->transcoded.push_back(r.transcoded);
    return Status::Ok();
  }
  Status OnRowError(const CsvRowError& e) override {
    out_->errors.push_back(std::to_string(e.row) + ":" + std::to_string(e.line) + ":" + e.reason);
    return Status::Ok();
  }

 private:
  Output* out_;
};

struct Parsed {
  Output out;
  std::string status;
  char delimiter = '\0';
  uint64_t records = 0;
  uint64_t row_errors = 0;
};

Parsed Parse(std::string_view input, size_t chunk, const CsvOptions& options) {
  Parsed p;
  Collector collector(&p.out);
  CsvReader reader(options, &collector);
  Status s;
  const size_t step = chunk == 0 ? std::max<size_t>(input.size(), 1) : chunk;
  for (size_t i = 0; i < input.size() && s.ok(); i += step) s = reader.Feed(input.substr(i, step));
  if (s.ok()) s = reader.Finish();
  p.status = s.ToString();
  p.delimiter = reader.delimiter();
  p.records = reader.records();
  p.row_errors = reader.row_errors();
  return p;
}

void CheckCleaned(const CleanedLead& lead) {
  for (const auto& phone : lead.phones) {
    if (phone.size() < 3 || phone.size() > 16 || phone[0] != '+') Fail("phone not E.164:", phone);
    for (size_t i = 1; i < phone.size(); ++i) {
      if (phone[i] < '0' || phone[i] > '9') Fail("phone not E.164:", phone);
    }
  }
  if (!lead.state.empty() && (lead.state.size() != 2 || lead.state[0] < 'A' ||
                              lead.state[0] > 'Z' || lead.state[1] < 'A' || lead.state[1] > 'Z')) {
    Fail("state not two capitals:", lead.state);
  }
  if (!lead.zip.empty()) {
    if (lead.zip.size() != 5) Fail("zip not five digits:", lead.zip);
    for (char c : lead.zip) {
      if (c < '0' || c > '9') Fail("zip not five digits:", lead.zip);
    }
  }
  for (char c : lead.email) {
    if (c >= 'A' && c <= 'Z') Fail("email not lowercase:", lead.email);
  }
  for (const std::string* s :
       {&lead.first_name, &lead.last_name, &lead.name_suffix, &lead.full_name, &lead.co_owner,
        &lead.company, &lead.title, &lead.email, &lead.street, &lead.city, &lead.county,
        &lead.website, &lead.industry, &lead.mailing_address, &lead.property_address}) {
    if (!ValidUtf8(*s)) Fail("cleaned field is not UTF-8:", *s);
  }
  for (const auto& [k, v] : lead.attributes) {
    if (!ValidUtf8(k) || !ValidUtf8(v)) Fail("attribute is not UTF-8:", k + "=" + v);
  }
}

}  // namespace
}  // namespace nextier::adapters

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace nextier::adapters;
  if (size < 2) return 0;
  const uint8_t config = data[0];
  const size_t chunk = 1 + data[1] % 97;  // 1..97: splits land everywhere
  const std::string_view input(reinterpret_cast<const char*>(data) + 2, size - 2);

  CsvOptions options;
  static constexpr char kDelimiters[] = {'\0', ',', ';', '\t'};
  options.delimiter = kDelimiters[config & 3];
  if (config & 4) {  // tight limits: reach the "record too long", "too many columns" paths
    options.max_record_bytes = 64;
    options.max_columns = 6;
    options.max_field_lines = 2;
  }

  const Parsed whole = Parse(input, 0, options);
  const Parsed split = Parse(input, chunk, options);
  if (split.status != whole.status) Fail("status differs:", whole.status + " | " + split.status);
  if (!(split.out == whole.out)) Fail("split parse differs, chunk", std::to_string(chunk));
  if (split.delimiter != whole.delimiter) Fail("delimiter differs");
  if (split.records != whole.records || split.row_errors != whole.row_errors) {
    Fail("counters differ");
  }

  const Output& out = whole.out;
  if (out.records.size() + out.errors.size() > whole.records) Fail("more output than records");
  for (size_t i = 0; i < out.records.size(); ++i) {
    if (i > 0 && out.records[i].size() != out.records[0].size()) {
      Fail("record with another field count than the header, row", std::to_string(out.rows[i]));
    }
    if (i > 0 && (out.rows[i] <= out.rows[i - 1] || out.lines[i] < out.lines[i - 1])) {
      Fail("rows or lines out of order");
    }
    if (out.records[i].size() > options.max_columns) Fail("more columns than allowed");
    for (const auto& f : out.records[i]) {
      if (!ValidUtf8(f)) Fail("field is not valid UTF-8:", f);
    }
  }
  if (!out.records.empty() && out.rows[0] != 1) Fail("header is not row 1");

  // The import's pure steps over what the reader delivered.
  if (!out.records.empty() && (config & 8) == 0) {
    MappingOptions mapping_options;
    // Bits 4-6: the source the upload names (0 and 5-7: none, detected from the headers).
    if (const int source = (config >> 4) & 7; source >= 1 && source <= 4) {
      mapping_options.source = static_cast<LeadSource>(source - 1);
    }
    auto mapping = MapHeaders(std::span<const std::string>(out.records[0]), mapping_options);
    if (mapping.ok()) {
      for (size_t i = 1; i < out.records.size() && i < 64; ++i) {
        CheckCleaned(CleanLead(MapRow(*mapping, std::span<const std::string>(out.records[i]))));
      }
    }
  }
  return 0;
}
