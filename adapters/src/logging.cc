#include "nextier/adapters/logging.h"

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <cctype>

namespace nextier::adapters {
namespace {

bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsPhoneSeparator(char c) {
  return c == ' ' || c == '-' || c == '.' || c == '(' || c == ')' || c == '+';
}
bool IsEmailChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '%' ||
         c == '+' || c == '-';
}

// Masks runs of 7+ digits (allowing phone separators between them), keeping the last 3 digits.
std::string MaskPhones(std::string_view in) {
  std::string out(in);
  size_t i = 0;
  while (i < out.size()) {
    if (!IsDigit(out[i])) {
      ++i;
      continue;
    }
    size_t j = i, digits = 0, last_digit = i;
    while (j < out.size() && (IsDigit(out[j]) || (IsPhoneSeparator(out[j]) && out[j] != '+'))) {
      if (IsDigit(out[j])) {
        ++digits;
        last_digit = j;
      }
      ++j;
    }
    if (digits >= 7) {
      size_t seen = 0;
      for (size_t k = i; k <= last_digit; ++k) {
        if (IsDigit(out[k]) && ++seen <= digits - 3) out[k] = '*';
      }
    }
    i = last_digit + 1;
  }
  return out;
}

std::string MaskEmails(std::string_view in) {
  std::string out;
  out.reserve(in.size());
  size_t i = 0;
  while (i < in.size()) {
    const size_t at = in.find('@', i);
    if (at == std::string_view::npos) {
      out.append(in.substr(i));
      break;
    }
    size_t start = at;
    while (start > i && IsEmailChar(in[start - 1])) --start;
    size_t end = at + 1;
    while (end < in.size() && IsEmailChar(in[end])) ++end;
    const std::string_view local = in.substr(start, at - start);
    const std::string_view domain = in.substr(at + 1, end - at - 1);
    const size_t dot = domain.rfind('.');
    out.append(in.substr(i, start - i));
    if (local.empty() || dot == std::string_view::npos || dot == 0) {
      out.append(in.substr(start, end - start));  // not an address
    } else {
      out.push_back(local[0]);
      out.append("***@");
      out.push_back(domain[0]);
      out.append("***");
      out.append(domain.substr(dot));
    }
    i = end;
  }
  return out;
}

}  // namespace

std::string MaskPii(std::string_view text) { return MaskPhones(MaskEmails(text)); }

void InitLogging(std::string_view level) {
  auto logger = spdlog::stderr_color_mt("nextier");
  logger->set_pattern("%Y-%m-%dT%H:%M:%S.%eZ %^%l%$ %v", spdlog::pattern_time_type::utc);
  logger->set_level(spdlog::level::from_str(std::string(level)));
  spdlog::set_default_logger(logger);
}

void LogInfo(std::string_view message) { spdlog::info("{}", MaskPii(message)); }
void LogWarn(std::string_view message) { spdlog::warn("{}", MaskPii(message)); }
void LogError(std::string_view message) { spdlog::error("{}", MaskPii(message)); }

}  // namespace nextier::adapters
