// CsvReader: a streaming (push) CSV parser for lead uploads.
//
// Bytes arrive in chunks of any size (an HTTP body, a file read) through Feed() and end with
// Finish(). The first 4 KiB (or the whole input, if shorter) are held until they have been judged
// to be text; after that each record goes to a CsvVisitor as soon as its last byte has arrived.
// Memory stays bounded by the longest record (at most CsvOptions::max_record_bytes) plus one
// internal slice of input, whatever the file size.
//
// What it accepts:
//  - RFC 4180: fields in double quotes may hold delimiters, line breaks and "" (one quote).
//    A quote inside an unquoted field is kept as a literal character (5'10" stays 5'10").
//  - Line ends CRLF, LF or a lone CR, mixed freely; a last line without a line end; a UTF-8
//    byte-order mark at the start (dropped). Empty lines between records are skipped: they are
//    not rows, but they do count as physical lines.
//  - Text in UTF-8. A field that is not valid UTF-8 is read as Windows-1252 and handed out
//    transcoded to UTF-8 (bytes cp1252 leaves undefined become U+FFFD).
//  - Delimiter comma, semicolon or tab, detected from the first record (the one most often seen
//    outside quotes; ties prefer comma), unless CsvOptions::delimiter sets it.
//
// Rows: record 1 is the header; its field count is what every later record must have. Rows are
// numbered from 1 by record (a record with quoted line breaks is one row); `line` is the
// physical line where the record starts.
//
// Two kinds of failure:
//  - Row errors (CsvVisitor::OnRowError): a record whose field count differs from the header's,
//    text after a closing quote ("ab"c), or a quote that never closes. The record is not
//    delivered and reading goes on with the next record. An unbalanced quote is given up after
//    CsvOptions::max_field_lines line breaks (or at the end of input) and reading resumes on
//    the line after the one where the quote opened, so one stray quote costs one row, not the
//    rest of the file.
//  - File errors (a non-ok Status from Feed/Finish, code InvalidArgument): input that is not CSV
//    at all: binary data (NUL bytes or many control characters in the first 64 KiB; ZIP/XLSX,
//    XLS, gzip, PDF and UTF-16 are named), an empty file, a header with no data rows, a record
//    longer than max_record_bytes, more than max_columns fields, or a broken header row. The reader
//    stops; later calls return the same Status.
//
// Thread-safety: none; one reader belongs to one upload and is used from one thread at a time.
#pragma once

#include <cstddef>
#include <cstdint>
#include <istream>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "nextier/common/status.h"

namespace nextier::adapters {

struct CsvOptions {
  // ',', ';' or '\t' (any byte but '"', CR and LF is accepted); '\0' detects it.
  char delimiter = '\0';
  // A record (header included) longer than this fails the file: it is not a CSV we can use.
  size_t max_record_bytes = size_t{10} << 20;
  // More fields than this in any record fails the file.
  size_t max_columns = 1000;
  // A quoted field with more line breaks than this is taken to be an unbalanced quote.
  size_t max_field_lines = 100;
};

// One record, handed out during CsvVisitor::OnRecord. The views point into the reader's buffers
// and are valid only until OnRecord returns; copy what must be kept.
struct CsvRecord {
  uint64_t row = 0;   // 1-based record number; row 1 is the header
  uint64_t line = 0;  // 1-based physical line on which the record starts
  std::span<const std::string_view> fields;
  bool transcoded = false;  // some field was not UTF-8 and was read as Windows-1252
};

// A record that was skipped. `reason` is a sentence for a person ("expected 3 fields ...").
struct CsvRowError {
  uint64_t row = 0;
  uint64_t line = 0;
  std::string reason;
};

// Receives the reader's output. Not owned by the reader; must outlive it. Neither method may call
// back into the reader. A non-ok Status from either stops the reader: Feed/Finish return it.
class CsvVisitor {
 public:
  virtual ~CsvVisitor() = default;
  virtual Status OnRecord(const CsvRecord& record) = 0;
  virtual Status OnRowError(const CsvRowError& error) = 0;
};

class CsvReader {
 public:
  // Size of the reads ReadCsvStream/ReadCsvFile make, and of the slices Feed copies at a time.
  static constexpr size_t kChunkBytes = size_t{64} << 10;

  // `visitor` is not owned and must outlive the reader.
  CsvReader(const CsvOptions& options, CsvVisitor* visitor);
  CsvReader(const CsvReader&) = delete;
  CsvReader& operator=(const CsvReader&) = delete;

  // Parses `chunk` (any size, may end mid-record or mid-character) and delivers every record it
  // completes. Returns the file error or visitor error that stopped the reader, if any; once
  // non-ok, every later call returns the same Status. Internal after Finish().
  Status Feed(std::string_view chunk);

  // Ends the input: delivers the last record (which needs no line end), then fails the file if
  // it was empty or held only a header. Calling it again returns the same result.
  Status Finish();

  // The delimiter in use: the configured one, the detected one, or '\0' before detection.
  char delimiter() const { return delimiter_; }
  // Records seen so far, header and skipped rows included.
  uint64_t records() const { return records_; }
  uint64_t row_errors() const { return row_errors_; }
  // Input bytes held, not yet part of a delivered record.
  size_t buffered_bytes() const { return buf_.size() - rec_start_; }
  // Bytes the reader has allocated for its buffers: bounded by the longest record, not the file.
  size_t buffer_capacity() const;

 private:
  enum class Phase { kSniff, kDetect, kParse, kDone };
  enum class State { kRecordStart, kFieldStart, kUnquoted, kQuoted, kQuotedQuote };
  struct FieldSpan {
    size_t begin;  // offsets relative to the record start in buf_; for quoted fields, the
    size_t end;    // content between the quotes
    bool escaped;  // holds "" pairs to unescape
  };

  Status Process(bool eof);
  Status Sniff(bool eof);
  Status Detect(bool eof);
  Status Parse(bool eof);
  void SetDelimiter(char delimiter);
  Status EndField(size_t end);
  Status EndRecord(size_t end);
  Status UnbalancedQuote(std::string why);
  Status Deliver(uint64_t row, size_t record_bytes);
  Status NeedMore();
  Status RecordTooLong(uint64_t line) const;
  Status Fail(Status status);
  void Append(std::string_view slice);
  void Compact();

  CsvOptions options_;
  CsvVisitor* visitor_;
  Status status_;  // sticky: the first file or visitor error
  Phase phase_ = Phase::kSniff;
  bool finished_ = false;

  // Unconsumed input; the current record starts at rec_start_ and scanning has reached pos_.
  std::vector<char> buf_;
  size_t rec_start_ = 0;
  size_t pos_ = 0;

  char delimiter_ = '\0';
  bool unquoted_stop_[256] = {};  // delimiter, CR, LF
  bool quoted_stop_[256] = {};    // quote, CR, LF

  // Delimiter detection over the first record.
  size_t detect_pos_ = 0;
  bool detect_in_quote_ = false;
  bool detect_field_start_ = true;
  bool detect_seen_text_ = false;
  size_t detect_counts_[3] = {};  // comma, semicolon, tab

  // Scanner state, resumable at any byte.
  State state_ = State::kRecordStart;
  bool skip_lf_ = false;  // the last record ended with CR; a following LF belongs to it
  uint64_t line_ = 1;     // physical line at pos_
  uint64_t record_line_ = 1;
  size_t field_begin_ = 0;   // relative to rec_start_
  uint64_t quote_line_ = 0;  // line on which the open quoted field started
  size_t quote_lines_ = 0;   // line breaks inside it so far
  size_t quote_resume_ = 0;  // relative to rec_start_: just past its first line break (0: none)
  bool escaped_ = false;
  bool broken_ = false;
  std::string broken_reason_;
  std::vector<FieldSpan> fields_;

  size_t expected_fields_ = 0;
  uint64_t header_line_ = 0;
  uint64_t records_ = 0;
  uint64_t row_errors_ = 0;

  // Output of the record being delivered: views into buf_ or scratch_.
  std::vector<std::string_view> views_;
  std::vector<char> scratch_;
};

// Reads all of `in` through a CsvReader in kChunkBytes reads, then Finish(). Internal on a read
// error.
Status ReadCsvStream(std::istream& in, const CsvOptions& options, CsvVisitor* visitor);

// Same for the file at `path`; NotFound when it cannot be opened.
Status ReadCsvFile(const std::string& path, const CsvOptions& options, CsvVisitor* visitor);

}  // namespace nextier::adapters
