#include "nextier/adapters/csv_reader.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>

namespace nextier::adapters {
namespace {

// Sniffing waits for this many bytes (or the end of input) before judging the input.
constexpr size_t kSniffBytes = 4096;
// Buffers that grew past this for one long record are given back afterwards.
constexpr size_t kShrinkAbove = size_t{1} << 20;

std::string Where(uint64_t row, uint64_t line) {
  std::string s = row == 1 ? "header row" : "row " + std::to_string(row);
  return s + " (line " + std::to_string(line) + ")";
}

Status NotCsv(std::string why) { return Status::InvalidArgument("not a CSV file: " + why); }

// First byte in [p, end) whose table entry is set, or end. The fast path for field contents.
inline const char* FindStop(const char* p, const char* end, const bool* stop) {
  while (end - p >= 4) {
    if (stop[static_cast<unsigned char>(p[0])]) return p;
    if (stop[static_cast<unsigned char>(p[1])]) return p + 1;
    if (stop[static_cast<unsigned char>(p[2])]) return p + 2;
    if (stop[static_cast<unsigned char>(p[3])]) return p + 3;
    p += 4;
  }
  while (p < end && !stop[static_cast<unsigned char>(*p)]) ++p;
  return p;
}

bool IsAscii(const char* p, size_t n) {
  uint64_t acc = 0;
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t w;
    std::memcpy(&w, p + i, 8);
    acc |= w;
  }
  for (; i < n; ++i) acc |= static_cast<unsigned char>(p[i]);
  return (acc & 0x8080808080808080ull) == 0;
}

// Strict UTF-8 (RFC 3629): no overlong forms, no surrogates, nothing above U+10FFFF.
bool IsValidUtf8(const char* data, size_t n) {
  const auto* s = reinterpret_cast<const unsigned char*>(data);
  size_t i = 0;
  auto cont = [&](size_t k) { return i + k < n && (s[i + k] & 0xC0) == 0x80; };
  while (i < n) {
    const unsigned char c = s[i];
    if (c < 0x80) {
      ++i;
    } else if (c >= 0xC2 && c <= 0xDF) {
      if (!cont(1)) return false;
      i += 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
      if (!cont(1) || !cont(2)) return false;
      if (c == 0xE0 && s[i + 1] < 0xA0) return false;  // overlong
      if (c == 0xED && s[i + 1] > 0x9F) return false;  // surrogate
      i += 3;
    } else if (c >= 0xF0 && c <= 0xF4) {
      if (!cont(1) || !cont(2) || !cont(3)) return false;
      if (c == 0xF0 && s[i + 1] < 0x90) return false;  // overlong
      if (c == 0xF4 && s[i + 1] > 0x8F) return false;  // above U+10FFFF
      i += 4;
    } else {
      return false;
    }
  }
  return true;
}

// Windows-1252 0x80-0x9F; the five bytes it leaves undefined become U+FFFD.
constexpr char32_t kCp1252High[32] = {
    0x20AC, 0xFFFD, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021,  // 80-87
    0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0xFFFD, 0x017D, 0xFFFD,  // 88-8F
    0xFFFD, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014,  // 90-97
    0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0xFFFD, 0x017E, 0x0178,  // 98-9F
};

char* AppendUtf8(char* o, char32_t cp) {
  if (cp < 0x80) {
    *o++ = static_cast<char>(cp);
  } else if (cp < 0x800) {
    *o++ = static_cast<char>(0xC0 | (cp >> 6));
    *o++ = static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    *o++ = static_cast<char>(0xE0 | (cp >> 12));
    *o++ = static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    *o++ = static_cast<char>(0x80 | (cp & 0x3F));
  }
  return o;
}

// Writes the content of a quoted field with each "" turned into one quote; returns the length.
size_t Unescape(const char* b, size_t n, char* out) {
  char* o = out;
  while (n > 0) {
    const char* q = static_cast<const char*>(std::memchr(b, '"', n));
    if (q == nullptr) {
      std::memcpy(o, b, n);
      o += n;
      break;
    }
    const size_t k = static_cast<size_t>(q - b) + 1;  // up to and including the first quote
    std::memcpy(o, b, k);
    o += k;
    const size_t skip = std::min(k + 1, n);  // and drop its twin
    b += skip;
    n -= skip;
  }
  return static_cast<size_t>(o - out);
}

// Reads [b, b+n) as Windows-1252 and writes UTF-8 (at most 3 bytes per input byte).
size_t Cp1252ToUtf8(const char* b, size_t n, bool unescape, char* out) {
  char* o = out;
  for (size_t i = 0; i < n; ++i) {
    const auto c = static_cast<unsigned char>(b[i]);
    if (c < 0x80) {
      *o++ = static_cast<char>(c);
      if (c == '"' && unescape) ++i;
    } else {
      o = AppendUtf8(o, c >= 0xA0 ? char32_t{c} : kCp1252High[c - 0x80]);
    }
  }
  return static_cast<size_t>(o - out);
}

bool StartsWith(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

// Why `head` (the first bytes of the input) is not text, or "" when it may be CSV.
std::string BinaryReason(std::string_view head) {
  if (StartsWith(head, "\xFF\xFE") || StartsWith(head, "\xFE\xFF")) {
    return "UTF-16 text (byte-order mark at byte 0); save it as CSV UTF-8";
  }
  if (StartsWith(head, "PK\x03\x04")) {
    return "a ZIP archive such as an Excel .xlsx workbook; export the sheet as CSV";
  }
  if (StartsWith(head, "\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1")) {
    return "an Excel .xls workbook; export the sheet as CSV";
  }
  if (StartsWith(head, "\x1F\x8B")) return "gzip-compressed data; decompress it first";
  if (StartsWith(head, "%PDF-")) return "a PDF document";
  const size_t nul = head.find('\0');
  if (nul != std::string_view::npos) {
    return "binary data (a NUL byte at byte " + std::to_string(nul) + ")";
  }
  size_t controls = 0;
  for (char ch : head) {
    const auto c = static_cast<unsigned char>(ch);
    if ((c < 0x20 && c != '\t' && c != '\n' && c != '\r' && c != '\f') || c == 0x7F) ++controls;
  }
  // Text has next to no control characters; binary data has them everywhere.
  if (controls * 32 > head.size()) {
    return "binary data (" + std::to_string(controls) + " control characters in the first " +
           std::to_string(head.size()) + " bytes)";
  }
  return "";
}

}  // namespace

CsvReader::CsvReader(const CsvOptions& options, CsvVisitor* visitor)
    : options_(options), visitor_(visitor) {}

size_t CsvReader::buffer_capacity() const {
  return buf_.capacity() + scratch_.capacity() + fields_.capacity() * sizeof(FieldSpan) +
         views_.capacity() * sizeof(std::string_view);
}

Status CsvReader::Fail(Status status) {
  status_ = std::move(status);
  phase_ = Phase::kDone;
  return status_;
}

Status CsvReader::Feed(std::string_view chunk) {
  if (!status_.ok()) return status_;
  if (finished_) return Status::Internal("CsvReader::Feed called after Finish");
  // Slices keep the buffer bounded even when the caller hands over a huge chunk at once.
  while (!chunk.empty()) {
    const size_t n = std::min(chunk.size(), kChunkBytes);
    Append(chunk.substr(0, n));
    chunk.remove_prefix(n);
    NEXTIER_RETURN_IF_ERROR(Process(/*eof=*/false));
    Compact();
  }
  return Status::Ok();
}

Status CsvReader::Finish() {
  if (finished_) return status_;
  finished_ = true;
  if (!status_.ok()) return status_;
  NEXTIER_RETURN_IF_ERROR(Process(/*eof=*/true));
  if (records_ == 0) return Fail(NotCsv("no header row, the file holds only blank lines"));
  if (records_ == 1) {
    return Fail(Status::InvalidArgument("header only: no data rows after the header row (line " +
                                        std::to_string(header_line_) + ")"));
  }
  phase_ = Phase::kDone;
  return Status::Ok();
}

Status CsvReader::Process(bool eof) {
  if (phase_ == Phase::kSniff) NEXTIER_RETURN_IF_ERROR(Sniff(eof));
  if (phase_ == Phase::kDetect) NEXTIER_RETURN_IF_ERROR(Detect(eof));
  if (phase_ == Phase::kParse) NEXTIER_RETURN_IF_ERROR(Parse(eof));
  return Status::Ok();
}

Status CsvReader::Sniff(bool eof) {
  if (buf_.size() < kSniffBytes && !eof) return Status::Ok();
  const std::string_view head(buf_.data(), std::min(buf_.size(), kChunkBytes));
  if (std::string why = BinaryReason(head); !why.empty()) return Fail(NotCsv(std::move(why)));
  if (StartsWith(head, "\xEF\xBB\xBF")) buf_.erase(buf_.begin(), buf_.begin() + 3);
  if (buf_.empty()) return Fail(NotCsv("the file is empty"));
  const char d = options_.delimiter;
  if (d == '"' || d == '\r' || d == '\n') {
    return Fail(
        Status::InvalidArgument("a quote or line end cannot be the CSV delimiter", "delimiter"));
  }
  if (d != '\0') {
    SetDelimiter(d);
    phase_ = Phase::kParse;
  } else {
    phase_ = Phase::kDetect;
  }
  return Status::Ok();
}

// Counts the candidate delimiters outside quotes in the first non-blank line. A quote opens a
// quoted field only at the start of a field, as in the parser.
Status CsvReader::Detect(bool eof) {
  const size_t size = buf_.size();
  bool done = false;
  while (detect_pos_ < size && !done) {
    const char c = buf_[detect_pos_];
    if (detect_in_quote_) {
      if (c == '"') {
        if (detect_pos_ + 1 == size && !eof) break;  // "" or a closing quote? wait and see
        if (detect_pos_ + 1 < size && buf_[detect_pos_ + 1] == '"') {
          detect_pos_ += 2;
          continue;
        }
        detect_in_quote_ = false;
      }
    } else if (c == '\n' || c == '\r') {
      done = detect_seen_text_;
    } else {
      if (c == '"' && detect_field_start_) detect_in_quote_ = true;
      detect_field_start_ = c == ',' || c == ';' || c == '\t';
      if (c == ',') ++detect_counts_[0];
      if (c == ';') ++detect_counts_[1];
      if (c == '\t') ++detect_counts_[2];
      detect_seen_text_ = true;
    }
    if (!done) ++detect_pos_;
  }
  if (!done && !eof) {
    if (detect_pos_ > options_.max_record_bytes) return Fail(RecordTooLong(1));
    return Status::Ok();
  }
  static constexpr char kCandidates[3] = {',', ';', '\t'};
  size_t best = 0;
  for (size_t i = 1; i < 3; ++i) {
    if (detect_counts_[i] > detect_counts_[best]) best = i;
  }
  SetDelimiter(kCandidates[best]);
  phase_ = Phase::kParse;
  return Status::Ok();
}

void CsvReader::SetDelimiter(char delimiter) {
  delimiter_ = delimiter;
  for (unsigned char c : {static_cast<unsigned char>(delimiter), static_cast<unsigned char>('\r'),
                          static_cast<unsigned char>('\n')}) {
    unquoted_stop_[c] = true;
  }
  for (unsigned char c : {'"', '\r', '\n'}) quoted_stop_[c] = true;
}

Status CsvReader::RecordTooLong(uint64_t line) const {
  return NotCsv("the record starting on line " + std::to_string(line) + " is longer than " +
                std::to_string(options_.max_record_bytes) +
                " bytes (max_record_bytes): no line end, or a quote that never closes");
}

Status CsvReader::NeedMore() {
  if (state_ != State::kRecordStart && buf_.size() - rec_start_ > options_.max_record_bytes) {
    return Fail(RecordTooLong(record_line_));
  }
  return Status::Ok();
}

Status CsvReader::EndField(size_t end) {
  if (fields_.size() == options_.max_columns) {
    return Fail(NotCsv(Where(records_ + 1, record_line_) + " has more than " +
                       std::to_string(options_.max_columns) + " fields (max_columns)"));
  }
  fields_.push_back(FieldSpan{field_begin_, end - rec_start_, escaped_});
  return Status::Ok();
}

Status CsvReader::EndRecord(size_t end) {
  const uint64_t row = ++records_;
  const size_t bytes = end - rec_start_;
  if (bytes > options_.max_record_bytes) return Fail(RecordTooLong(record_line_));
  Status s;
  if (broken_) {
    if (row == 1) return Fail(NotCsv(Where(row, record_line_) + ": " + broken_reason_));
    ++row_errors_;
    s = visitor_->OnRowError(CsvRowError{row, record_line_, std::move(broken_reason_)});
  } else if (row > 1 && fields_.size() != expected_fields_) {
    ++row_errors_;
    s = visitor_->OnRowError(CsvRowError{row, record_line_,
                                         "expected " + std::to_string(expected_fields_) +
                                             " fields as in the header, found " +
                                             std::to_string(fields_.size())});
  } else {
    if (row == 1) {
      expected_fields_ = fields_.size();
      header_line_ = record_line_;
    }
    s = Deliver(row, bytes);
  }
  state_ = State::kRecordStart;
  rec_start_ = pos_;
  broken_ = false;
  fields_.clear();
  if (!s.ok()) return Fail(std::move(s));
  return Status::Ok();
}

Status CsvReader::Deliver(uint64_t row, size_t bytes) {
  const char* rec = buf_.data() + rec_start_;
  const bool ascii = IsAscii(rec, bytes);
  bool transcoded = false;
  size_t used = 0;
  views_.clear();
  for (const FieldSpan& f : fields_) {
    const char* b = rec + f.begin;
    const size_t n = f.end - f.begin;
    const bool utf8 = ascii || IsValidUtf8(b, n);
    if (utf8 && !f.escaped) {
      views_.emplace_back(b, n);
      continue;
    }
    // No field grows by more than 3x, so one resize per record keeps earlier views valid.
    if (scratch_.size() < 3 * bytes) scratch_.resize(3 * bytes);
    char* out = scratch_.data() + used;
    const size_t len = utf8 ? Unescape(b, n, out) : Cp1252ToUtf8(b, n, f.escaped, out);
    views_.emplace_back(out, len);
    used += len;
    transcoded |= !utf8;
  }
  return visitor_->OnRecord(CsvRecord{row, record_line_, views_, transcoded});
}

Status CsvReader::UnbalancedQuote(std::string why) {
  const uint64_t row = ++records_;
  const std::string reason = "the quote opening field " + std::to_string(fields_.size() + 1) +
                             " on line " + std::to_string(quote_line_) + " is not closed " + why;
  if (row == 1) return Fail(NotCsv(Where(row, record_line_) + ": " + reason));
  ++row_errors_;
  Status s = visitor_->OnRowError(CsvRowError{row, record_line_, reason});
  // Resume on the line after the quote: the lines it swallowed are most likely records.
  if (quote_resume_ != 0) {
    pos_ = rec_start_ + quote_resume_;
    line_ = quote_line_ + 1;
  }
  state_ = State::kRecordStart;
  rec_start_ = pos_;
  skip_lf_ = false;
  broken_ = false;
  fields_.clear();
  if (!s.ok()) return Fail(std::move(s));
  return Status::Ok();
}

// Grows the buffer geometrically but never past what the longest allowed record needs, so a
// file error for a too-long record comes before the buffer overshoots max_record_bytes.
void CsvReader::Append(std::string_view slice) {
  const size_t need = buf_.size() + slice.size();
  if (need > buf_.capacity()) {
    const size_t limit = options_.max_record_bytes + kChunkBytes + kSniffBytes;
    buf_.reserve(std::max(need, std::min(2 * buf_.capacity(), limit)));
  }
  buf_.insert(buf_.end(), slice.begin(), slice.end());
}

void CsvReader::Compact() {
  if (phase_ != Phase::kParse) return;
  if (rec_start_ > 0) {
    buf_.erase(buf_.begin(), buf_.begin() + static_cast<std::ptrdiff_t>(rec_start_));
    pos_ -= rec_start_;
    rec_start_ = 0;
  }
  if (buf_.capacity() > kShrinkAbove && buf_.size() < kChunkBytes) buf_.shrink_to_fit();
  if (scratch_.capacity() > kShrinkAbove) {
    scratch_.clear();
    scratch_.shrink_to_fit();
  }
}

// The record state machine. It stops only where the next byte is needed (returning to wait for
// more input), so a record split across any chunk boundary is scanned once.
Status CsvReader::Parse(bool eof) {
  const char* const data = buf_.data();
  const size_t size = buf_.size();
  for (;;) {
    switch (state_) {
      case State::kRecordStart: {
        if (pos_ == size) {
          rec_start_ = pos_;
          return Status::Ok();
        }
        const char c = data[pos_];
        if (skip_lf_) {
          skip_lf_ = false;
          if (c == '\n') {
            rec_start_ = ++pos_;
            continue;
          }
        }
        if (c == '\n' || c == '\r') {  // a blank line
          ++line_;
          skip_lf_ = c == '\r';
          rec_start_ = ++pos_;
          continue;
        }
        rec_start_ = pos_;
        record_line_ = line_;
        state_ = State::kFieldStart;
        [[fallthrough]];
      }
      case State::kFieldStart: {
        if (pos_ == size) {
          if (!eof) return NeedMore();
          field_begin_ = pos_ - rec_start_;  // the empty field after a final delimiter
          escaped_ = false;
          NEXTIER_RETURN_IF_ERROR(EndField(pos_));
          NEXTIER_RETURN_IF_ERROR(EndRecord(pos_));
          continue;
        }
        escaped_ = false;
        if (data[pos_] == '"') {
          ++pos_;
          field_begin_ = pos_ - rec_start_;
          quote_line_ = line_;
          quote_lines_ = 0;
          quote_resume_ = 0;
          state_ = State::kQuoted;
          continue;
        }
        field_begin_ = pos_ - rec_start_;
        state_ = State::kUnquoted;
        [[fallthrough]];
      }
      case State::kUnquoted: {
        pos_ = static_cast<size_t>(FindStop(data + pos_, data + size, unquoted_stop_) - data);
        if (pos_ == size) {
          if (!eof) return NeedMore();
          NEXTIER_RETURN_IF_ERROR(EndField(pos_));
          NEXTIER_RETURN_IF_ERROR(EndRecord(pos_));
          continue;
        }
        const char c = data[pos_];
        NEXTIER_RETURN_IF_ERROR(EndField(pos_));
        if (c == delimiter_) {
          ++pos_;
          state_ = State::kFieldStart;
          continue;
        }
        const size_t end = pos_++;
        ++line_;
        skip_lf_ = c == '\r';
        NEXTIER_RETURN_IF_ERROR(EndRecord(end));
        continue;
      }
      case State::kQuoted: {
        pos_ = static_cast<size_t>(FindStop(data + pos_, data + size, quoted_stop_) - data);
        if (pos_ == size) {
          if (!eof) return NeedMore();
          NEXTIER_RETURN_IF_ERROR(UnbalancedQuote("by the end of the file"));
          continue;
        }
        const char c = data[pos_];
        if (c == '"') {
          ++pos_;
          state_ = State::kQuotedQuote;
          continue;
        }
        // A line break inside the quotes: part of the field.
        if (c == '\r') {
          if (pos_ + 1 == size && !eof) return NeedMore();  // CRLF or a lone CR?
          pos_ += pos_ + 1 < size && data[pos_ + 1] == '\n' ? 2 : 1;
        } else {
          ++pos_;
        }
        ++line_;
        if (quote_resume_ == 0) quote_resume_ = pos_ - rec_start_;
        if (++quote_lines_ > options_.max_field_lines) {
          NEXTIER_RETURN_IF_ERROR(UnbalancedQuote("after " +
                                                  std::to_string(options_.max_field_lines) +
                                                  " line breaks (max_field_lines)"));
        }
        continue;
      }
      case State::kQuotedQuote: {  // just past a quote inside a quoted field
        if (pos_ == size) {
          if (!eof) return NeedMore();
          NEXTIER_RETURN_IF_ERROR(EndField(pos_ - 1));
          NEXTIER_RETURN_IF_ERROR(EndRecord(pos_));
          continue;
        }
        const char c = data[pos_];
        if (c == '"') {
          escaped_ = true;
          ++pos_;
          state_ = State::kQuoted;
          continue;
        }
        if (c == delimiter_) {
          NEXTIER_RETURN_IF_ERROR(EndField(pos_ - 1));
          ++pos_;
          state_ = State::kFieldStart;
          continue;
        }
        if (c == '\n' || c == '\r') {
          NEXTIER_RETURN_IF_ERROR(EndField(pos_ - 1));
          const size_t end = pos_++;
          ++line_;
          skip_lf_ = c == '\r';
          NEXTIER_RETURN_IF_ERROR(EndRecord(end));
          continue;
        }
        // Text after the closing quote: finish the record as if unquoted, then skip it.
        if (!broken_) {
          broken_ = true;
          broken_reason_ = "text after the closing quote of field " +
                           std::to_string(fields_.size() + 1) + " (a quote inside a quoted " +
                           "field must be doubled)";
        }
        state_ = State::kUnquoted;
        continue;
      }
    }
  }
}

Status ReadCsvStream(std::istream& in, const CsvOptions& options, CsvVisitor* visitor) {
  CsvReader reader(options, visitor);
  std::string chunk(CsvReader::kChunkBytes, '\0');
  while (in) {
    in.read(chunk.data(), static_cast<std::streamsize>(chunk.size()));
    const auto got = static_cast<size_t>(in.gcount());
    if (got > 0) NEXTIER_RETURN_IF_ERROR(reader.Feed(std::string_view(chunk.data(), got)));
  }
  if (in.bad()) return Status::Internal("reading the CSV input failed");
  return reader.Finish();
}

Status ReadCsvFile(const std::string& path, const CsvOptions& options, CsvVisitor* visitor) {
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> file(std::fopen(path.c_str(), "rb"),
                                                       &std::fclose);
  if (file == nullptr) {
    return Status::NotFound("cannot open " + path + ": " + std::strerror(errno));
  }
  CsvReader reader(options, visitor);
  std::string chunk(CsvReader::kChunkBytes, '\0');
  for (;;) {
    const size_t got = std::fread(chunk.data(), 1, chunk.size(), file.get());
    if (got > 0) NEXTIER_RETURN_IF_ERROR(reader.Feed(std::string_view(chunk.data(), got)));
    if (got < chunk.size()) break;
  }
  if (std::ferror(file.get())) {
    return Status::Internal("reading " + path + " failed: " + std::strerror(errno));
  }
  return reader.Finish();
}

}  // namespace nextier::adapters
