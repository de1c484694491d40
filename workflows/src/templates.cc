#include "nextier/workflows/templates.h"

#include <algorithm>

#include "text.h"

namespace nextier::workflows {
namespace {

struct Piece {
  bool is_placeholder = false;
  std::string_view text;  // literal text, or the placeholder's name
};

struct Scan {
  std::vector<Piece> pieces;
  std::vector<std::string> errors;
};

bool IsNameStart(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool IsNameChar(char c) { return IsNameStart(c) || (c >= '0' && c <= '9') || c == '_'; }

bool IsWellFormedName(std::string_view name) {
  return !name.empty() && IsNameStart(name[0]) && std::all_of(name.begin(), name.end(), IsNameChar);
}

// 1-based position of byte offset `offset`, in code points, for messages.
std::string CharacterAt(std::string_view text, std::size_t offset) {
  return std::to_string(internal::CountCodePoints(text.substr(0, offset)) + 1);
}

std::string UnknownPlaceholder(std::string_view name) {
  std::string reason = "unknown placeholder {" + std::string(name) + "}";
  const std::string lower = internal::AsciiLower(name);
  for (const std::string_view known : KnownPlaceholders()) {
    if (internal::AsciiLower(known) == lower) {
      reason += " (did you mean {" + std::string(known) + "}?)";
      return reason;
    }
  }
  reason += "; known: ";
  bool first = true;
  for (const std::string_view known : KnownPlaceholders()) {
    if (!first) reason += ", ";
    first = false;
    reason += "{" + std::string(known) + "}";
  }
  return reason;
}

Scan ScanTemplate(std::string_view text) {
  Scan scan;
  std::size_t literal_start = 0;
  const auto flush = [&](std::size_t end) {
    if (end > literal_start)
      scan.pieces.push_back({false, text.substr(literal_start, end - literal_start)});
  };
  std::size_t i = 0;
  while (i < text.size()) {
    const char c = text[i];
    if (c != '{' && c != '}') {
      ++i;
      continue;
    }
    const bool doubled = i + 1 < text.size() && text[i + 1] == c;
    if (doubled) {
      // "{{" or "}}": keep the first brace as literal text, drop the second.
      flush(i + 1);
      i += 2;
      literal_start = i;
      continue;
    }
    if (c == '}') {
      scan.errors.push_back("unmatched '}' at character " + CharacterAt(text, i) +
                            " (write }} for a literal brace)");
      ++i;
      continue;
    }
    const std::size_t close = text.find_first_of("{}", i + 1);
    if (close == std::string_view::npos || text[close] == '{') {
      scan.errors.push_back("unmatched '{' at character " + CharacterAt(text, i) +
                            " (write {{ for a literal brace)");
      ++i;
      continue;
    }
    const std::string_view name = text.substr(i + 1, close - i - 1);
    if (name.empty()) {
      scan.errors.push_back("empty placeholder {} at character " + CharacterAt(text, i));
    } else if (!IsWellFormedName(name)) {
      scan.errors.push_back("malformed placeholder {" + std::string(name) + "} at character " +
                            CharacterAt(text, i));
    } else if (!IsKnownPlaceholder(name)) {
      scan.errors.push_back(UnknownPlaceholder(name));
    }
    flush(i);
    scan.pieces.push_back({true, name});
    i = close + 1;
    literal_start = i;
  }
  flush(text.size());
  return scan;
}

}  // namespace

const std::vector<std::string_view>& KnownPlaceholders() {
  static const std::vector<std::string_view> kNames = {
      "firstName", "lastName", "company",   "aiWorker",    "brand", "fromNumber",
      "partner",   "email",    "agentName", "meetingTime", "link",
  };
  return kNames;
}

bool IsKnownPlaceholder(std::string_view name) {
  const auto& names = KnownPlaceholders();
  return std::find(names.begin(), names.end(), name) != names.end();
}

std::vector<std::string> TemplateErrors(std::string_view text) { return ScanTemplate(text).errors; }

std::vector<std::string> TemplatePlaceholders(std::string_view text) {
  std::vector<std::string> names;
  for (const Piece& piece : ScanTemplate(text).pieces) {
    if (!piece.is_placeholder || !IsWellFormedName(piece.text)) continue;
    if (std::find(names.begin(), names.end(), piece.text) == names.end()) {
      names.emplace_back(piece.text);
    }
  }
  return names;
}

Result<std::string> Render(std::string_view text, const TemplateValues& values) {
  Scan scan = ScanTemplate(text);
  if (!scan.errors.empty()) return Status::InvalidArgument(std::move(scan.errors.front()));
  std::string out;
  out.reserve(text.size() + 64);
  for (const Piece& piece : scan.pieces) {
    if (!piece.is_placeholder) {
      out += piece.text;
      continue;
    }
    const auto it = values.find(piece.text);
    if (it == values.end()) {
      return Status::InvalidArgument("no value for placeholder {" + std::string(piece.text) + "}");
    }
    out += it->second;
  }
  return out;
}

}  // namespace nextier::workflows
