#include "nextier/adapters/multipart.h"

#include <algorithm>
#include <cctype>

namespace nextier::adapters {

namespace {

constexpr size_t kMaxHeaderBlock = 16 * 1024;

std::string Lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// The value of `param` in a header like `form-data; name="file"; filename="a.csv"`.
std::string Param(std::string_view header, std::string_view param) {
  const std::string lower = Lower(header);
  size_t at = 0;
  while ((at = lower.find(param, at)) != std::string::npos) {
    const bool starts = at == 0 || lower[at - 1] == ';' || lower[at - 1] == ' ';
    size_t eq = at + param.size();
    while (eq < lower.size() && lower[eq] == ' ') ++eq;
    if (!starts || eq >= lower.size() || lower[eq] != '=') {
      at += param.size();
      continue;
    }
    size_t v = eq + 1;
    while (v < header.size() && header[v] == ' ') ++v;
    if (v < header.size() && header[v] == '"') {
      const size_t end = header.find('"', v + 1);
      return std::string(header.substr(v + 1, end == std::string_view::npos ? end : end - v - 1));
    }
    const size_t end = header.find(';', v);
    std::string out(header.substr(v, end == std::string_view::npos ? end : end - v));
    while (!out.empty() && out.back() == ' ') out.pop_back();
    return out;
  }
  return {};
}

}  // namespace

Result<std::string> MultipartBoundary(std::string_view content_type) {
  std::string b = Param(content_type, "boundary");
  if (b.empty() || b.size() > 70) {
    return Status::InvalidArgument("multipart/form-data needs a boundary of 1 to 70 characters",
                                   "Content-Type");
  }
  return b;
}

MultipartFileReader::MultipartFileReader(std::string boundary, std::string part_name,
                                         std::function<Status(std::string_view)> on_data)
    : delimiter_("\r\n--" + boundary),
      part_name_(std::move(part_name)),
      on_data_(std::move(on_data)) {
  // The first delimiter may open the body without a line break before it.
  buf_ = "\r\n";
}

Status MultipartFileReader::Fail(Status s) {
  if (status_.ok()) status_ = std::move(s);
  return status_;
}

void MultipartFileReader::ParseHeaders(std::string_view block) {
  in_file_ = false;
  size_t at = 0;
  while (at < block.size()) {
    size_t end = block.find("\r\n", at);
    if (end == std::string_view::npos) end = block.size();
    const std::string_view line = block.substr(at, end - at);
    at = end + 2;
    const size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    if (Lower(line.substr(0, colon)) != "content-disposition") continue;
    const std::string_view value = line.substr(colon + 1);
    if (Param(value, "name") == part_name_ && !done_file_) {
      in_file_ = true;
      found_ = true;
      filename_ = Param(value, "filename");
    }
  }
}

Status MultipartFileReader::Process() {
  while (true) {
    switch (state_) {
      case State::kPreamble: {
        const size_t at = buf_.find(delimiter_);
        if (at == std::string::npos) {
          if (buf_.size() > delimiter_.size()) buf_.erase(0, buf_.size() - delimiter_.size());
          return Status::Ok();
        }
        buf_.erase(0, at + delimiter_.size());
        state_ = State::kAfterDelimiter;
        break;
      }
      case State::kAfterDelimiter: {
        if (buf_.size() < 2) return Status::Ok();
        if (buf_.compare(0, 2, "--") == 0) {
          state_ = State::kEpilogue;
          buf_.clear();
          return Status::Ok();
        }
        // Transport padding (spaces, tabs) may follow the delimiter before its CRLF.
        const size_t crlf = buf_.find("\r\n");
        if (crlf == std::string::npos) {
          if (buf_.size() > 256)
            return Fail(Status::InvalidArgument("malformed multipart delimiter line", "file"));
          return Status::Ok();
        }
        buf_.erase(0, crlf + 2);
        state_ = State::kHeaders;
        break;
      }
      case State::kHeaders: {
        const size_t end = buf_.find("\r\n\r\n");
        const bool empty_block = buf_.compare(0, 2, "\r\n") == 0;
        if (empty_block) {
          ParseHeaders({});
          buf_.erase(0, 2);
          state_ = State::kBody;
          break;
        }
        if (end == std::string::npos) {
          if (buf_.size() > kMaxHeaderBlock) {
            return Fail(Status::InvalidArgument("a multipart part header exceeds 16 KiB", "file"));
          }
          return Status::Ok();
        }
        ParseHeaders(std::string_view(buf_).substr(0, end));
        buf_.erase(0, end + 4);
        state_ = State::kBody;
        break;
      }
      case State::kBody: {
        const size_t at = buf_.find(delimiter_);
        const size_t emit =
            at != std::string::npos
                ? at
                : (buf_.size() > delimiter_.size() ? buf_.size() - delimiter_.size() : 0);
        if (emit > 0 && in_file_) {
          Status s = on_data_(std::string_view(buf_).substr(0, emit));
          if (!s.ok()) return Fail(std::move(s));
        }
        if (at == std::string::npos) {
          buf_.erase(0, emit);
          return Status::Ok();
        }
        buf_.erase(0, at + delimiter_.size());
        if (in_file_) done_file_ = true;
        in_file_ = false;
        state_ = State::kAfterDelimiter;
        break;
      }
      case State::kEpilogue:
        buf_.clear();
        return Status::Ok();
    }
  }
}

Status MultipartFileReader::Feed(std::string_view chunk) {
  if (!status_.ok()) return status_;
  buf_.append(chunk);
  return Process();
}

Status MultipartFileReader::Finish() {
  if (!status_.ok()) return status_;
  if (state_ != State::kEpilogue) {
    return Fail(
        Status::InvalidArgument("the multipart body ended before its closing boundary", "file"));
  }
  if (!found_) {
    return Fail(
        Status::InvalidArgument("the multipart body has no '" + part_name_ + "' part", "file"));
  }
  return Status::Ok();
}

}  // namespace nextier::adapters
