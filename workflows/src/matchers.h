// Compiled title and entity matchers (private): phrase tables indexed by their first word, so
// a lookup costs one hash probe per input word.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "nextier/workflows/workflow.h"

namespace nextier::workflows {

class Matchers {
 public:
  static std::shared_ptr<const Matchers> Build(const RoleScores& role_scores,
                                               const std::vector<std::string>& entity_patterns,
                                               const std::vector<std::string>& ambiguous_words);

  int ScoreTitle(std::string_view title) const;
  bool IsEntityName(std::string_view first, std::string_view last) const;

 private:
  struct Phrase {
    std::vector<std::string> rest;  // the words after the first
    int value = 0;                  // role score; unused for entities
    bool ambiguous = false;         // a one-word entity pattern that is also a person's name
  };
  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  // First word -> phrases starting with it, longest first.
  using Index = std::unordered_map<std::string, std::vector<Phrase>, Hash, std::equal_to<>>;

  static void Add(Index& index, const std::vector<std::string>& words, int value, bool ambiguous);

  int default_score_ = 0;
  Index titles_;
  Index entities_;
};

}  // namespace nextier::workflows
