// A streaming reader of multipart/form-data bodies (RFC 7578) that hands out the bytes of one
// named part (the upload's `file`) as they arrive, never holding the body: it keeps at most one
// part header block (16 KiB) and a delimiter's length of body bytes.
//
// Thread-safety: none; one reader per request.
#pragma once

#include <functional>
#include <string>
#include <string_view>

#include "nextier/common/status.h"

namespace nextier::adapters {

// The boundary parameter of a multipart Content-Type ("multipart/form-data; boundary=xyz"),
// unquoted. InvalidArgument (field "Content-Type") when missing or longer than 70 bytes.
Result<std::string> MultipartBoundary(std::string_view content_type);

class MultipartFileReader {
 public:
  // `on_data` gets the bytes of the first part named `part_name`, in order; a non-ok Status from
  // it stops the reader and is returned by Feed.
  MultipartFileReader(std::string boundary, std::string part_name,
                      std::function<Status(std::string_view)> on_data);

  Status Feed(std::string_view chunk);
  // InvalidArgument when the body ended before its closing delimiter or had no such part.
  Status Finish();
  // The part's filename parameter ("" when none).
  const std::string& filename() const { return filename_; }
  bool found() const { return found_; }

 private:
  enum class State { kPreamble, kAfterDelimiter, kHeaders, kBody, kEpilogue };
  Status Process();
  Status Fail(Status s);
  void ParseHeaders(std::string_view block);

  std::string delimiter_;  // "\r\n--" + boundary
  std::string part_name_;
  std::function<Status(std::string_view)> on_data_;
  State state_ = State::kPreamble;
  std::string buf_;
  bool in_file_ = false;
  bool found_ = false;
  bool done_file_ = false;
  std::string filename_;
  Status status_;
};

}  // namespace nextier::adapters
