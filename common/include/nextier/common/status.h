// Status and Result<T>: expected failures as values, with a closed set of codes.
//
// Every layer returns these; only the adapters map them to HTTP statuses. A Status is cheap to
// copy when ok (no allocation). Thread-safety: values, no shared state.
#pragma once

#include <cassert>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace nextier {

enum class StatusCode {
  kOk = 0,
  kInvalidArgument,    // the caller passed bad input; retrying the same call will not help
  kNotFound,           // the thing named does not exist (or was erased)
  kConflict,           // a precondition on current state failed (version, state machine, holder)
  kResourceExhausted,  // a limit or the disk is full; retry later may help
  kUnavailable,        // transient: shutting down, provider down; retry may help
  kCorruption,         // stored data failed a check; needs an operator
  kInternal,           // a bug or an unexpected system failure
};

std::string_view StatusCodeName(StatusCode code);

class Status {
 public:
  Status() = default;
  static Status Ok() { return Status(); }
  static Status InvalidArgument(std::string message, std::string field = {}) {
    return Status(StatusCode::kInvalidArgument, std::move(message), std::move(field));
  }
  static Status NotFound(std::string message) {
    return Status(StatusCode::kNotFound, std::move(message));
  }
  static Status Conflict(std::string message) {
    return Status(StatusCode::kConflict, std::move(message));
  }
  static Status ResourceExhausted(std::string message) {
    return Status(StatusCode::kResourceExhausted, std::move(message));
  }
  static Status Unavailable(std::string message) {
    return Status(StatusCode::kUnavailable, std::move(message));
  }
  static Status Corruption(std::string message) {
    return Status(StatusCode::kCorruption, std::move(message));
  }
  static Status Internal(std::string message) {
    return Status(StatusCode::kInternal, std::move(message));
  }

  Status(StatusCode code, std::string message, std::string field = {})
      : code_(code), message_(std::move(message)), field_(std::move(field)) {}

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }
  // The input field the error is about ("" when none), e.g. "limits.batchSize".
  const std::string& field() const { return field_; }
  // Whether the same call may succeed later without the caller changing anything.
  bool retryable() const {
    return code_ == StatusCode::kUnavailable || code_ == StatusCode::kResourceExhausted;
  }

  // "Conflict: stream lead-1: expected version 3, actual 5"
  std::string ToString() const;

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
  std::string field_;
};

// Either a T or a non-ok Status.
template <typename T>
class Result {
 public:
  Result(T value) : v_(std::move(value)) {}        // NOLINT: implicit by design
  Result(Status status) : v_(std::move(status)) {  // NOLINT: implicit by design
    assert(!std::get<Status>(v_).ok() && "Result built from an ok Status");
  }

  bool ok() const { return v_.index() == 0; }
  const Status& status() const {
    static const Status kOk;
    return ok() ? kOk : std::get<Status>(v_);
  }
  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace nextier

// Returns early from the enclosing function when `expr` (a Status) is not ok.
#define NEXTIER_RETURN_IF_ERROR(expr)                  \
  do {                                                 \
    ::nextier::Status nextier_status_ = (expr);        \
    if (!nextier_status_.ok()) return nextier_status_; \
  } while (0)
