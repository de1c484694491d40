#include "nextier/adapters/csv_reader.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "testing/testing.h"

namespace nextier::adapters {
namespace {

using ::testing::HasSubstr;
using Row = std::vector<std::string>;

struct Output {
  std::vector<Row> rows;  // header first
  std::vector<uint64_t> row_numbers;
  std::vector<uint64_t> lines;
  std::vector<bool> transcoded;
  std::vector<uint64_t> error_rows;
  std::vector<uint64_t> error_lines;
  std::vector<std::string> error_reasons;

  bool operator==(const Output&) const = default;
};

class Collector : public CsvVisitor {
 public:
  explicit Collector(Output* out) : out_(out) {}
  Status OnRecord(const CsvRecord& record) override {
    out_->rows.emplace_back(record.fields.begin(), record.fields.end());
    out_->row_numbers.push_back(record.row);
    out_->lines.push_back(record.line);
    out_->transcoded.push_back(record.transcoded);
    return Status::Ok();
  }
  Status OnRowError(const CsvRowError& error) override {
    out_->error_rows.push_back(error.row);
    out_->error_lines.push_back(error.line);
    out_->error_reasons.push_back(error.reason);
    return Status::Ok();
  }

 private:
  Output* out_;
};

struct Parsed {
  Status status;
  Output out;
  char delimiter = '\0';
  size_t max_capacity = 0;  // the reader's largest buffer_capacity() after any Feed
};

// Feeds `input` whole (chunk == 0) or in chunks of `chunk` bytes, then finishes.
Parsed ParseCsv(std::string_view input, size_t chunk = 0, const CsvOptions& options = {}) {
  Parsed p;
  Collector collector(&p.out);
  CsvReader reader(options, &collector);
  const size_t step = chunk == 0 ? std::max<size_t>(input.size(), 1) : chunk;
  for (size_t i = 0; i < input.size() && p.status.ok(); i += step) {
    p.status = reader.Feed(input.substr(i, step));
    p.max_capacity = std::max(p.max_capacity, reader.buffer_capacity());
  }
  if (p.status.ok()) p.status = reader.Finish();
  p.delimiter = reader.delimiter();
  return p;
}

// Parses whole and in 1- and 7-byte chunks; all three must agree. Returns the whole parse.
Parsed ParseAllWays(std::string_view input, const CsvOptions& options = {}) {
  Parsed whole = ParseCsv(input, 0, options);
  for (size_t chunk : {1, 7}) {
    Parsed split = ParseCsv(input, chunk, options);
    EXPECT_EQ(split.status.ToString(), whole.status.ToString()) << "chunk " << chunk;
    EXPECT_TRUE(split.out == whole.out) << "chunk " << chunk << " parses differently";
    EXPECT_EQ(split.delimiter, whole.delimiter) << "chunk " << chunk;
  }
  return whole;
}

std::string ReadFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string ReplaceAll(std::string s, std::string_view from, std::string_view to) {
  for (size_t i = s.find(from); i != std::string::npos; i = s.find(from, i + to.size())) {
    s.replace(i, from.size(), to);
  }
  return s;
}

// Every LF not already part of a CRLF becomes CRLF.
std::string ToCrlf(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\n' && (i == 0 || s[i - 1] != '\r')) out += '\r';
    out += s[i];
  }
  return out;
}

// ---- csv-spectrum -------------------------------------------------------------------------------

const std::filesystem::path kSpectrumDir =
    std::filesystem::path(NEXTIER_SHARED_DIR) / "conformance" / "csv-spectrum";

std::vector<std::string> SpectrumCases() {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(kSpectrumDir / "csvs", ec)) {
    if (entry.path().extension() == ".csv") names.push_back(entry.path().stem().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

nlohmann::json MapStrings(nlohmann::json rows, std::string_view from, std::string_view to) {
  for (auto& row : rows) {
    for (auto& [key, value] : row.items()) value = ReplaceAll(value.get<std::string>(), from, to);
  }
  return rows;
}

// The records after the header, each an object keyed by the header, as in json/NAME.json.
nlohmann::json AsJson(const Output& out) {
  nlohmann::json rows = nlohmann::json::array();
  for (size_t r = 1; r < out.rows.size(); ++r) {
    nlohmann::json row = nlohmann::json::object();
    for (size_t f = 0; f < out.rows[r].size(); ++f) row[out.rows[0][f]] = out.rows[r][f];
    rows.push_back(row);
  }
  return rows;
}

TEST(CsvSpectrumTest, SuiteIsPresent) {
  EXPECT_GE(SpectrumCases().size(), 12u) << "no csv-spectrum cases under " << kSpectrumDir;
}

class CsvSpectrumCaseTest : public ::testing::TestWithParam<std::string> {};

// Each case as stored and converted to CRLF line ends, each fed whole and in 1- and 7-byte chunks.
TEST_P(CsvSpectrumCaseTest, ParsesToItsJson) {
  const std::string name = GetParam();
  const std::string csv = ReadFile(kSpectrumDir / "csvs" / (name + ".csv"));
  nlohmann::json expected =
      nlohmann::json::parse(ReadFile(kSpectrumDir / "json" / (name + ".json")));
  // Two defects of the stored copy (upstream csv-spectrum fixed both later): this
  // location_coordinates.json is a bare object, and its phone number is not the CSV's.
  if (expected.is_object()) expected = nlohmann::json::array({expected});
  if (name == "location_coordinates" && expected[0]["Contact Phone Number"] == "1234567890") {
    expected[0]["Contact Phone Number"] = "2095257564";
  }
  // The stored *_crlf.csv files have lost their CRs while their JSON kept "\r\n" in values, so
  // the expectation follows the line ends the bytes actually have.
  const nlohmann::json expected_lf = MapStrings(expected, "\r\n", "\n");
  const nlohmann::json expected_crlf = MapStrings(expected_lf, "\n", "\r\n");

  struct Variant {
    const char* label;
    std::string input;
    nlohmann::json expected;
  };
  const Variant variants[] = {
      {"as stored", csv, csv.find('\r') == std::string::npos ? expected_lf : expected},
      {"CRLF", ToCrlf(csv), expected_crlf},
  };
  for (const Variant& v : variants) {
    SCOPED_TRACE(v.label);
    for (size_t chunk : {0, 1, 7}) {
      SCOPED_TRACE("chunk " + std::to_string(chunk));
      Parsed p = ParseCsv(v.input, chunk);
      ASSERT_OK(p.status);
      EXPECT_TRUE(p.out.error_rows.empty()) << p.out.error_reasons.front();
      EXPECT_EQ(AsJson(p.out), v.expected) << AsJson(p.out).dump(2) << "\nexpected\n"
                                           << v.expected.dump(2);
    }
  }
}

INSTANTIATE_TEST_SUITE_P(CsvSpectrum, CsvSpectrumCaseTest, ::testing::ValuesIn(SpectrumCases()),
                         [](const auto& param_info) { return param_info.param; });

// ---- RFC 4180 and line ends -------------------------------------------------------------------

TEST(CsvReaderTest, DeliversHeaderAsRowOneAndRecordsWithRowNumbers) {
  Parsed p = ParseAllWays("name,phone\nAda,555\nBob,556\n");
  ASSERT_OK(p.status);
  EXPECT_EQ(p.out.rows, (std::vector<Row>{{"name", "phone"}, {"Ada", "555"}, {"Bob", "556"}}));
  EXPECT_EQ(p.out.row_numbers, (std::vector<uint64_t>{1, 2, 3}));
  EXPECT_EQ(p.out.lines, (std::vector<uint64_t>{1, 2, 3}));
}

TEST(CsvReaderTest, UnquotesFieldsWithDelimitersEscapedQuotesAndLineBreaks) {
  Parsed p = ParseAllWays(
      "a,b,c\n"
      "\"Acme, Inc\",\"say \"\"hi\"\"\",\"two\nlines\"\n"
      "\"\",\"\"\"\",\"x\r\ny\"\n");
  ASSERT_OK(p.status);
  ASSERT_EQ(p.out.rows.size(), 3u);
  EXPECT_EQ(p.out.rows[1], (Row{"Acme, Inc", "say \"hi\"", "two\nlines"}));
  EXPECT_EQ(p.out.rows[2], (Row{"", "\"", "x\r\ny"}));
}

TEST(CsvReaderTest, KeepsQuoteInsideUnquotedFieldLiterally) {
  Parsed p = ParseAllWays("height,note\n5'10\",he said \"hi\"\n");
  ASSERT_OK(p.status);
  ASSERT_EQ(p.out.rows.size(), 2u);
  EXPECT_EQ(p.out.rows[1], (Row{"5'10\"", "he said \"hi\""}));
}

TEST(CsvReaderTest, AcceptsCrlfLfAndLoneCrLineEnds) {
  for (const char* eol : {"\r\n", "\n", "\r"}) {
    SCOPED_TRACE(::testing::PrintToString(std::string(eol)));
    const std::string e = eol;
    Parsed p = ParseAllWays("a,b" + e + "1,2" + e + "\"x" + e + "y\",3" + e + "4,5" + e);
    ASSERT_OK(p.status);
    EXPECT_EQ(p.out.rows,
              (std::vector<Row>{{"a", "b"}, {"1", "2"}, {"x" + e + "y", "3"}, {"4", "5"}}));
    EXPECT_EQ(p.out.lines, (std::vector<uint64_t>{1, 2, 3, 5}));
  }
}

TEST(CsvReaderTest, AcceptsMixedLineEnds) {
  Parsed p = ParseAllWays("a,b\r\n1,2\n3,4\r5,6\r\n");
  ASSERT_OK(p.status);
  EXPECT_EQ(p.out.rows, (std::vector<Row>{{"a", "b"}, {"1", "2"}, {"3", "4"}, {"5", "6"}}));
  EXPECT_EQ(p.out.lines, (std::vector<uint64_t>{1, 2, 3, 4}));
}

TEST(CsvReaderTest, ReadsLastLineWithoutLineEnd) {
  for (const char* last : {"3,4", "\"3\",\"4\"", "3,"}) {
    Parsed p = ParseAllWays(std::string("a,b\n1,2\n") + last);
    ASSERT_OK(p.status);
    ASSERT_EQ(p.out.rows.size(), 3u) << last;
    EXPECT_EQ(p.out.rows[2][0], "3");
  }
}

TEST(CsvReaderTest, TrailingDelimiterMeansEmptyLastField) {
  Parsed p = ParseAllWays("a,b,c\n1,2,\n,,\n");
  ASSERT_OK(p.status);
  EXPECT_EQ(p.out.rows, (std::vector<Row>{{"a", "b", "c"}, {"1", "2", ""}, {"", "", ""}}));
}

TEST(CsvReaderTest, SkipsBlankLinesButCountsThemAsLines) {
  Parsed p = ParseAllWays("\n\na,b\n\n1,2\r\n\r\n\r3,4\n\n");
  ASSERT_OK(p.status);
  EXPECT_EQ(p.out.rows, (std::vector<Row>{{"a", "b"}, {"1", "2"}, {"3", "4"}}));
  EXPECT_EQ(p.out.row_numbers, (std::vector<uint64_t>{1, 2, 3}));
  EXPECT_EQ(p.out.lines, (std::vector<uint64_t>{3, 5, 8}));
}

TEST(CsvReaderTest, StripsUtf8ByteOrderMark) {
  Parsed p = ParseAllWays("\xEF\xBB\xBFname,phone\nAda,555\n");
  ASSERT_OK(p.status);
  ASSERT_EQ(p.out.rows.size(), 2u);
  EXPECT_EQ(p.out.rows[0], (Row{"name", "phone"}));
}

TEST(CsvReaderTest, ReportsStartLineOfRecordsAfterQuotedLineBreaks) {
  Parsed p = ParseAllWays("a,b\n\"1\n2\n3\",x\n4,y\n");
  ASSERT_OK(p.status);
  EXPECT_EQ(p.out.row_numbers, (std::vector<uint64_t>{1, 2, 3}));
  EXPECT_EQ(p.out.lines, (std::vector<uint64_t>{1, 2, 5}));
}

// ---- Encoding ---------------------------------------------------------------------------------

TEST(CsvReaderTest, TranscodesWindows1252FieldsToUtf8) {
  Parsed p = ParseAllWays("name,note\nCaf\xe9,\x93quoted\x94\n\"\x93X\x94 \"\"Y\"\"\",\x80 5\n");
  ASSERT_OK(p.status);
  ASSERT_EQ(p.out.rows.size(), 3u);
  EXPECT_EQ(p.out.rows[1], (Row{"Café", "“quoted”"}));
  EXPECT_EQ(p.out.rows[2], (Row{"“X” \"Y\"", "€ 5"}));
  EXPECT_EQ(p.out.transcoded, (std::vector<bool>{false, true, true}));
}

TEST(CsvReaderTest, MapsTheWholeWindows1252HighHalf) {
  std::string field;
  for (int b = 0x80; b <= 0xFF; ++b) field += static_cast<char>(b);
  Parsed p = ParseAllWays("x\n" + field + "\n");
  ASSERT_OK(p.status);
  ASSERT_EQ(p.out.rows.size(), 2u);
  // 0x80-0x9F as cp1252 defines them (undefined 81, 8D, 8F, 90, 9D become U+FFFD), then
  // 0xA0-0xFF as the same Latin-1 code points.
  std::string expected = "€\uFFFD‚ƒ„…†‡ˆ‰Š‹Œ\uFFFDŽ\uFFFD\uFFFD‘’“”•–—˜™š›œ\uFFFDžŸ";
  for (unsigned cp = 0xA0; cp <= 0xFF; ++cp) {
    expected += static_cast<char>(0xC0 | (cp >> 6));
    expected += static_cast<char>(0x80 | (cp & 0x3F));
  }
  EXPECT_EQ(p.out.rows[1][0], expected);
}

TEST(CsvReaderTest, KeepsValidUtf8AsIs) {
  Parsed p = ParseAllWays("a,b,c\nCafé,ʤ,\"😀 \"\"ok\"\"\"\n");
  ASSERT_OK(p.status);
  ASSERT_EQ(p.out.rows.size(), 2u);
  EXPECT_EQ(p.out.rows[1], (Row{"Café", "ʤ", "😀 \"ok\""}));
  EXPECT_EQ(p.out.transcoded, (std::vector<bool>{false, false}));
}

TEST(CsvReaderTest, DecidesEncodingPerField) {
  Parsed p = ParseAllWays("a,b\nCafé,Caf\xe9\n");
  ASSERT_OK(p.status);
  ASSERT_EQ(p.out.rows.size(), 2u);
  EXPECT_EQ(p.out.rows[1], (Row{"Café", "Café"}));
}

TEST(CsvReaderTest, ReadsMalformedUtf8AsWindows1252) {
  // Overlong '/', a UTF-16 surrogate, a sequence cut short, a code point above U+10FFFF.
  Parsed p = ParseAllWays("a,b,c,d\n\xC0\xAF,\xED\xA0\x80,\xE2\x82,\xF4\x90\x80\x80\n");
  ASSERT_OK(p.status);
  ASSERT_EQ(p.out.rows.size(), 2u);
  EXPECT_EQ(p.out.rows[1], (Row{"À¯", "í\u00A0€", "â‚", "ô\uFFFD€€"}));
}

// ---- Delimiter --------------------------------------------------------------------------------

TEST(CsvReaderTest, DetectsSemicolon) {
  Parsed p = ParseAllWays("name;city;note\nAda;Paris;\"a;b, c\"\n");
  ASSERT_OK(p.status);
  EXPECT_EQ(p.delimiter, ';');
  EXPECT_EQ(p.out.rows[1], (Row{"Ada", "Paris", "a;b, c"}));
}

TEST(CsvReaderTest, DetectsTab) {
  Parsed p = ParseAllWays("name\tcity, state\tzip\nAda\tAustin, TX\t07001\n");
  ASSERT_OK(p.status);
  EXPECT_EQ(p.delimiter, '\t');
  EXPECT_EQ(p.out.rows[1], (Row{"Ada", "Austin, TX", "07001"}));
}

TEST(CsvReaderTest, DetectionPrefersCommaOnTie) {
  Parsed p = ParseAllWays("a;b,c\n1;2,3\n");
  ASSERT_OK(p.status);
  EXPECT_EQ(p.delimiter, ',');
  EXPECT_EQ(p.out.rows[1], (Row{"1;2", "3"}));
}

TEST(CsvReaderTest, DetectionIgnoresDelimitersInsideQuotes) {
  Parsed p = ParseAllWays("\"x;y;z\",\"say \"\"a;b\"\"\",c\n1,2,3\n");
  ASSERT_OK(p.status);
  EXPECT_EQ(p.delimiter, ',');
  EXPECT_EQ(p.out.rows[0], (Row{"x;y;z", "say \"a;b\"", "c"}));
}

TEST(CsvReaderTest, DefaultsToCommaForOneColumn) {
  Parsed p = ParseAllWays("phone\n555\n");
  ASSERT_OK(p.status);
  EXPECT_EQ(p.delimiter, ',');
}

TEST(CsvReaderTest, ConfiguredDelimiterOverridesDetection) {
  CsvOptions options;
  options.delimiter = ';';
  Parsed p = ParseAllWays("a,b,c;d\n1,2,3;4\n", options);
  ASSERT_OK(p.status);
  EXPECT_EQ(p.delimiter, ';');
  EXPECT_EQ(p.out.rows[1], (Row{"1,2,3", "4"}));
}

TEST(CsvReaderTest, RejectsQuoteAsDelimiter) {
  CsvOptions options;
  options.delimiter = '"';
  Parsed p = ParseCsv("a,b\n1,2\n", 0, options);
  EXPECT_EQ(p.status.code(), StatusCode::kInvalidArgument);
}

// ---- Row errors -------------------------------------------------------------------------------

TEST(CsvReaderTest, ReportsRaggedRowsAndContinues) {
  Parsed p = ParseAllWays("a,b,c\n1,2,3\n4,5\n6,7,8,9\n10,11,12\n");
  ASSERT_OK(p.status);
  EXPECT_EQ(p.out.rows, (std::vector<Row>{{"a", "b", "c"}, {"1", "2", "3"}, {"10", "11", "12"}}));
  EXPECT_EQ(p.out.row_numbers, (std::vector<uint64_t>{1, 2, 5}));
  EXPECT_EQ(p.out.error_rows, (std::vector<uint64_t>{3, 4}));
  EXPECT_EQ(p.out.error_reasons[0], "expected 3 fields as in the header, found 2");
  EXPECT_EQ(p.out.error_reasons[1], "expected 3 fields as in the header, found 4");
}

TEST(CsvReaderTest, ReportsTextAfterClosingQuoteAndContinues) {
  Parsed p = ParseAllWays("a,b\n\"ab\"c,1\n2,3\n4,\"x\"y\n5,6\n");
  ASSERT_OK(p.status);
  EXPECT_EQ(p.out.rows, (std::vector<Row>{{"a", "b"}, {"2", "3"}, {"5", "6"}}));
  EXPECT_EQ(p.out.row_numbers, (std::vector<uint64_t>{1, 3, 5}));
  EXPECT_EQ(p.out.error_rows, (std::vector<uint64_t>{2, 4}));
  EXPECT_THAT(p.out.error_reasons[0], HasSubstr("text after the closing quote of field 1"));
  EXPECT_THAT(p.out.error_reasons[1], HasSubstr("text after the closing quote of field 2"));
}

TEST(CsvReaderTest, BrokenQuoteStillEndsRecordAfterLaterQuotedLineBreak) {
  Parsed p = ParseAllWays("a,b\n\"ab\"c,\"x\ny\"\n2,3\n");
  ASSERT_OK(p.status);
  EXPECT_EQ(p.out.error_rows, (std::vector<uint64_t>{2}));
  EXPECT_EQ(p.out.rows, (std::vector<Row>{{"a", "b"}, {"2", "3"}}));
  EXPECT_EQ(p.out.lines, (std::vector<uint64_t>{1, 4}));
}

TEST(CsvReaderTest, UnterminatedQuoteAtEndCostsOneRowAndLaterLinesStillParse) {
  Parsed p = ParseAllWays("a,b\n1,2\n\"open,3\n4,5\n6,7");
  ASSERT_OK(p.status);
  EXPECT_EQ(p.out.error_rows, (std::vector<uint64_t>{3}));
  EXPECT_EQ(p.out.error_lines, (std::vector<uint64_t>{3}));
  EXPECT_THAT(p.out.error_reasons[0],
              HasSubstr("quote opening field 1 on line 3 is not closed by the end of the file"));
  EXPECT_EQ(p.out.rows, (std::vector<Row>{{"a", "b"}, {"1", "2"}, {"4", "5"}, {"6", "7"}}));
  EXPECT_EQ(p.out.row_numbers, (std::vector<uint64_t>{1, 2, 4, 5}));
  EXPECT_EQ(p.out.lines, (std::vector<uint64_t>{1, 2, 4, 5}));
}

TEST(CsvReaderTest, UnterminatedQuoteOnLastLineIsRowError) {
  Parsed p = ParseAllWays("a,b\n1,2\n3,\"open");
  ASSERT_OK(p.status);
  EXPECT_EQ(p.out.error_rows, (std::vector<uint64_t>{3}));
  EXPECT_EQ(p.out.rows.size(), 2u);
}

TEST(CsvReaderTest, QuotedFieldWithTooManyLineBreaksIsUnbalancedQuote) {
  CsvOptions options;
  options.max_field_lines = 3;
  std::string input = "a,b\n\"ok\n\n\nfine\",1\n2,\"stray\n";
  for (int i = 0; i < 10; ++i) input += std::to_string(i) + ",x\n";
  Parsed p = ParseAllWays(input, options);
  ASSERT_OK(p.status);
  EXPECT_EQ(p.out.error_rows, (std::vector<uint64_t>{3}));
  EXPECT_EQ(p.out.error_lines, (std::vector<uint64_t>{6}));
  EXPECT_THAT(p.out.error_reasons[0], HasSubstr("after 3 line breaks"));
  ASSERT_EQ(p.out.rows.size(), 12u);  // header, the 4-line record, the 10 lines after the quote
  EXPECT_EQ(p.out.rows[1], (Row{"ok\n\n\nfine", "1"}));
  EXPECT_EQ(p.out.rows[2], (Row{"0", "x"}));
  EXPECT_EQ(p.out.row_numbers[2], 4u);
  EXPECT_EQ(p.out.lines[2], 7u);
}

TEST(CsvReaderTest, BrokenHeaderFailsTheFile) {
  for (const char* input : {"\"a\"x,b\n1,2\n", "\"a,b\n1,2\n"}) {
    Parsed p = ParseAllWays(input);
    EXPECT_EQ(p.status.code(), StatusCode::kInvalidArgument) << input;
    EXPECT_THAT(p.status.message(), HasSubstr("header row (line 1)")) << input;
  }
}

// ---- Fatal file errors ------------------------------------------------------------------------

TEST(CsvReaderTest, FailsOnBinaryInput) {
  Parsed p = ParseAllWays(std::string("a,b\n1,\0\n2,3\n", 12));
  EXPECT_EQ(p.status.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(p.status.message(), HasSubstr("NUL byte at byte 6"));

  std::string controls;
  for (int i = 0; i < 200; ++i) controls += i % 2 ? "x" : "\x01";
  p = ParseAllWays(controls);
  EXPECT_EQ(p.status.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(p.status.message(), HasSubstr("binary data (100 control characters"));
}

TEST(CsvReaderTest, NamesSpreadsheetAndUtf16Files) {
  Parsed p = ParseAllWays(std::string("PK\x03\x04\x14\x00\x06\x00", 8));
  EXPECT_THAT(p.status.message(), HasSubstr(".xlsx"));
  p =
      ParseAllWays(std::string("\xFF\xFE"
                               "a\0,\0b\0\n\0",
                               10));
  EXPECT_THAT(p.status.message(), HasSubstr("UTF-16"));
}

TEST(CsvReaderTest, FailsOnEmptyInput) {
  Parsed p = ParseAllWays("");
  EXPECT_EQ(p.status.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(p.status.message(), HasSubstr("empty"));
  p = ParseAllWays("\xEF\xBB\xBF");
  EXPECT_THAT(p.status.message(), HasSubstr("empty"));
  p = ParseAllWays("\n\r\n\n");
  EXPECT_EQ(p.status.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(p.status.message(), HasSubstr("no header row"));
}

TEST(CsvReaderTest, FailsOnHeaderOnly) {
  for (const char* input : {"a,b,c\n", "a,b,c", "\na,b,c\r\n\r\n\n"}) {
    Parsed p = ParseAllWays(input);
    EXPECT_EQ(p.status.code(), StatusCode::kInvalidArgument) << input;
    EXPECT_THAT(p.status.message(), HasSubstr("header only")) << input;
    EXPECT_EQ(p.out.rows.size(), 1u);  // the header itself was delivered
  }
}

TEST(CsvReaderTest, FailsOnLineLongerThanMaxRecordBytes) {
  const std::string long_line(11 << 20, 'x');
  for (const std::string& input : {"a,b\n1,2\n" + long_line + "\n3,4\n", long_line}) {
    for (size_t chunk : {size_t{0}, CsvReader::kChunkBytes}) {
      Parsed p = ParseCsv(input, chunk);
      EXPECT_EQ(p.status.code(), StatusCode::kInvalidArgument);
      EXPECT_THAT(p.status.message(), HasSubstr(input.size() == long_line.size()
                                                    ? "record starting on line 1 is longer than"
                                                    : "record starting on line 3 is longer than"));
      EXPECT_LT(p.max_capacity, CsvOptions().max_record_bytes + (size_t{1} << 20));
    }
  }
}

TEST(CsvReaderTest, FailsOnTooManyColumns) {
  std::string header;
  for (int i = 0; i <= 1000; ++i) header += "c" + std::to_string(i) + ",";
  header.back() = '\n';
  Parsed p = ParseCsv(header + header);
  EXPECT_EQ(p.status.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(p.status.message(), HasSubstr("header row (line 1) has more than 1000 fields"));
}

TEST(CsvReaderTest, StaysFailedAfterFileError) {
  Output out;
  Collector collector(&out);
  CsvReader reader({}, &collector);
  const Status first = reader.Feed(std::string("\0\0\0\0", 4));
  ASSERT_OK(first);  // still sniffing: nothing judged before 4 KiB or the end
  const Status failed = reader.Finish();
  EXPECT_EQ(failed.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(reader.Finish().ToString(), failed.ToString());
  EXPECT_EQ(reader.Feed("a,b\n").ToString(), failed.ToString());
}

TEST(CsvReaderTest, RejectsFeedAfterFinish) {
  Output out;
  Collector collector(&out);
  CsvReader reader({}, &collector);
  ASSERT_OK(reader.Feed("a\n1\n"));
  ASSERT_OK(reader.Finish());
  EXPECT_EQ(reader.Feed("2\n").code(), StatusCode::kInternal);
}

TEST(CsvReaderTest, VisitorErrorStopsTheReader) {
  class StopAtRowTwo : public CsvVisitor {
   public:
    Status OnRecord(const CsvRecord& record) override {
      ++records;
      return record.row == 2 ? Status::Unavailable("store is down") : Status::Ok();
    }
    Status OnRowError(const CsvRowError&) override { return Status::Ok(); }
    int records = 0;
  } visitor;
  CsvReader reader({}, &visitor);
  ASSERT_OK(reader.Feed("a\n1\n2\n3\n"));  // short input: judged, and parsed, at Finish
  const Status s = reader.Finish();
  EXPECT_EQ(s.code(), StatusCode::kUnavailable);
  EXPECT_EQ(visitor.records, 2);
  EXPECT_EQ(reader.Finish().ToString(), s.ToString());
}

// ---- Streaming --------------------------------------------------------------------------------

// Any split of the input gives the same records, errors and numbers as the whole.
TEST(CsvReaderTest, ChunkBoundariesNeverChangeTheResult) {
  std::mt19937 rng(42);
  const char* const kFields[] = {"plain",   "\"a,b\"", "\"x\"\"y\"", "\"l1\r\nl2\"",
                                 "Caf\xe9", "\"\"",    "",           "\"ab\"c",
                                 "5'10\"",  "ʤ",       "\"\n\"",     "\"\x93q\x94\""};
  const char* const kEnds[] = {"\n", "\r\n", "\r"};
  std::string input = "h1,h2,h3\n";
  for (int r = 0; r < 400; ++r) {
    const int n = rng() % 10 == 0 ? 2 : 3;  // some ragged rows
    for (int f = 0; f < n; ++f) {
      if (f > 0) input += ',';
      input += kFields[rng() % std::size(kFields)];
    }
    input += kEnds[rng() % std::size(kEnds)];
  }
  const Parsed whole = ParseCsv(input);
  ASSERT_OK(whole.status);
  EXPECT_GT(whole.out.rows.size(), 100u);
  EXPECT_GT(whole.out.error_rows.size(), 10u);
  for (size_t chunk : {1, 2, 3, 5, 64, 4097}) {
    const Parsed split = ParseCsv(input, chunk);
    ASSERT_OK(split.status);
    EXPECT_TRUE(split.out == whole.out) << "chunk " << chunk;
  }
}

TEST(CsvReaderTest, UsesConstantMemoryOnLargeInput) {
  std::string block;
  for (int i = 0; i < 1000; ++i) {
    block += "\"Acme " + std::to_string(i) + ", Inc\",John,\"Say \"\"hi\"\"\",Caf\xe9,555-01" +
             std::to_string(i % 100) + ",\"line\nbreak\"\r\n";
  }
  constexpr size_t kTotal = size_t{48} << 20;  // ~700x the buffer it may keep
  constexpr size_t kFeed = 65521;              // prime, so records straddle every feed
  class Counter : public CsvVisitor {
   public:
    Status OnRecord(const CsvRecord& record) override {
      ++records;
      if (record.fields.size() != 6) return Status::Internal("bad record");
      return Status::Ok();
    }
    Status OnRowError(const CsvRowError& e) override { return Status::Internal(e.reason); }
    uint64_t records = 0;
  } counter;
  CsvReader reader({}, &counter);
  ASSERT_OK(reader.Feed("company,first,note,city,phone,remark\n"));
  std::string pending;
  size_t fed = 0;
  size_t blocks = 0;
  size_t max_capacity = 0;
  while (fed < kTotal) {
    while (pending.size() < kFeed) {
      pending += block;
      ++blocks;
    }
    ASSERT_OK(reader.Feed(std::string_view(pending).substr(0, kFeed)));
    pending.erase(0, kFeed);
    fed += kFeed;
    max_capacity = std::max(max_capacity, reader.buffer_capacity());
  }
  ASSERT_OK(reader.Feed(pending));
  ASSERT_OK(reader.Finish());
  EXPECT_EQ(counter.records, 1 + blocks * 1000);
  EXPECT_LT(max_capacity, size_t{512} << 10);
}

TEST(CsvReaderTest, GivesBackMemoryAfterOneHugeRecord) {
  Output out;
  Collector collector(&out);
  CsvReader reader({}, &collector);
  ASSERT_OK(reader.Feed("a,b\n1,\"" + std::string(4 << 20, 'q') + "\"\"x\"\n"));
  ASSERT_OK(reader.Feed("2,3\n"));
  EXPECT_LT(reader.buffer_capacity(), size_t{1} << 20);
  ASSERT_OK(reader.Finish());
  EXPECT_EQ(out.rows.size(), 3u);
}

TEST(CsvReaderTest, ReadsFilesAndStreams) {
  nextier::testing::TempDir dir;
  const std::string path = dir.str() + "/leads.csv";
  const std::string csv = "\xEF\xBB\xBFname;city\r\nAda;Caf\xe9\r\n";
  std::ofstream(path, std::ios::binary) << csv;
  for (int from_stream = 0; from_stream < 2; ++from_stream) {
    Output out;
    Collector collector(&out);
    std::istringstream in(csv);
    ASSERT_OK(from_stream ? ReadCsvStream(in, {}, &collector) : ReadCsvFile(path, {}, &collector));
    EXPECT_EQ(out.rows, (std::vector<Row>{{"name", "city"}, {"Ada", "Café"}}));
  }
  Output out;
  Collector collector(&out);
  EXPECT_EQ(ReadCsvFile(dir.str() + "/missing.csv", {}, &collector).code(), StatusCode::kNotFound);
}

}  // namespace
}  // namespace nextier::adapters
