#include "nextier/workflows/matching.h"

#include <algorithm>

#include "matchers.h"
#include "text.h"

namespace nextier::workflows {
namespace {

struct Word {
  std::string_view text;
  int column = 0;
};

// Per-thread scratch space, so matching a row allocates nothing once warmed up.
struct Scratch {
  std::string buffer;
  std::vector<std::size_t> bounds;  // begin, end, column triples into `buffer`
  std::vector<Word> words;
};

// Splits `columns` into normalised words (see matching.h) in `scratch.words`.
void SplitWords(std::initializer_list<std::string_view> columns, Scratch& scratch) {
  scratch.buffer.clear();
  scratch.bounds.clear();
  scratch.words.clear();
  std::size_t column = 0;
  for (const std::string_view text : columns) {
    bool in_word = false;
    for (const char ch : text) {
      const auto c = static_cast<unsigned char>(ch);
      if (internal::IsDroppedByte(c)) continue;
      if (internal::IsWordByte(c)) {
        if (!in_word) {
          scratch.bounds.push_back(scratch.buffer.size());
          in_word = true;
        }
        scratch.buffer.push_back(internal::LowerByte(c));
      } else if (in_word) {
        scratch.bounds.push_back(scratch.buffer.size());
        scratch.bounds.push_back(column);
        in_word = false;
      }
    }
    if (in_word) {
      scratch.bounds.push_back(scratch.buffer.size());
      scratch.bounds.push_back(column);
    }
    ++column;
  }
  // Views are taken only now: the buffer no longer moves.
  const std::string_view all = scratch.buffer;
  for (std::size_t k = 0; k + 2 < scratch.bounds.size(); k += 3) {
    const std::size_t begin = scratch.bounds[k];
    const std::size_t end = scratch.bounds[k + 1];
    scratch.words.push_back(
        {all.substr(begin, end - begin), static_cast<int>(scratch.bounds[k + 2])});
  }
}

Scratch& ThreadScratch() {
  thread_local Scratch scratch;
  return scratch;
}

// Whether `rest` matches the words after position `i`.
template <typename PhraseT>
bool MatchesAt(const PhraseT& phrase, const std::vector<Word>& words, std::size_t i) {
  if (i + phrase.rest.size() >= words.size()) return false;
  for (std::size_t k = 0; k < phrase.rest.size(); ++k) {
    if (words[i + 1 + k].text != phrase.rest[k]) return false;
  }
  return true;
}

}  // namespace

std::shared_ptr<const Matchers> Matchers::Build(const RoleScores& role_scores,
                                                const std::vector<std::string>& entity_patterns,
                                                const std::vector<std::string>& ambiguous_words) {
  auto matchers = std::make_shared<Matchers>();
  matchers->default_score_ = role_scores.default_score;
  for (const Role& role : role_scores.roles) {
    Add(matchers->titles_, internal::PhraseWords(role.name), role.score, false);
    for (const std::string& synonym : role.synonyms) {
      Add(matchers->titles_, internal::PhraseWords(synonym), role.score, false);
    }
  }
  std::vector<std::vector<std::string>> ambiguous;
  for (const std::string& word : ambiguous_words) ambiguous.push_back(internal::PhraseWords(word));
  for (const std::string& pattern : entity_patterns) {
    const std::vector<std::string> words = internal::PhraseWords(pattern);
    const bool is_ambiguous =
        std::find(ambiguous.begin(), ambiguous.end(), words) != ambiguous.end();
    Add(matchers->entities_, words, 0, is_ambiguous);
  }
  return matchers;
}

void Matchers::Add(Index& index, const std::vector<std::string>& words, int value, bool ambiguous) {
  if (words.empty()) return;
  std::vector<Phrase>& phrases = index[words.front()];
  Phrase phrase{std::vector<std::string>(words.begin() + 1, words.end()), value, ambiguous};
  // Equal spellings ("LLC", "L.L.C.") compile to one phrase; keep the higher value.
  for (Phrase& existing : phrases) {
    if (existing.rest == phrase.rest) {
      existing.value = std::max(existing.value, phrase.value);
      existing.ambiguous = existing.ambiguous && phrase.ambiguous;
      return;
    }
  }
  phrases.push_back(std::move(phrase));
  std::stable_sort(phrases.begin(), phrases.end(),
                   [](const Phrase& a, const Phrase& b) { return a.rest.size() > b.rest.size(); });
}

int Matchers::ScoreTitle(std::string_view title) const {
  Scratch& scratch = ThreadScratch();
  SplitWords({title}, scratch);
  const std::vector<Word>& words = scratch.words;
  int best = -1;
  std::size_t i = 0;
  while (i < words.size()) {
    std::size_t taken = 1;
    if (const auto it = titles_.find(words[i].text); it != titles_.end()) {
      for (const Phrase& phrase : it->second) {  // longest first
        if (MatchesAt(phrase, words, i)) {
          best = std::max(best, phrase.value);
          taken = 1 + phrase.rest.size();
          break;
        }
      }
    }
    i += taken;
  }
  return best < 0 ? default_score_ : best;
}

bool Matchers::IsEntityName(std::string_view first, std::string_view last) const {
  Scratch& scratch = ThreadScratch();
  SplitWords({first, last}, scratch);
  const std::vector<Word>& words = scratch.words;
  std::size_t column_words[2] = {0, 0};
  for (const Word& word : words) ++column_words[word.column];
  for (std::size_t i = 0; i < words.size(); ++i) {
    const auto it = entities_.find(words[i].text);
    if (it == entities_.end()) continue;
    for (const Phrase& phrase : it->second) {
      if (!MatchesAt(phrase, words, i)) continue;
      // "Sara" / "Church": an ambiguous word alone in its column is a person's name.
      if (phrase.ambiguous && column_words[words[i].column] == 1) continue;
      return true;
    }
  }
  return false;
}

int ScoreTitle(const Workflow& workflow, std::string_view title) {
  if (workflow.matchers) return workflow.matchers->ScoreTitle(title);
  return Matchers::Build(workflow.role_scores, workflow.entity_patterns,
                         workflow.ambiguous_entity_words)
      ->ScoreTitle(title);
}

bool IsEntityName(const Workflow& workflow, std::string_view first, std::string_view last) {
  if (workflow.matchers) return workflow.matchers->IsEntityName(first, last);
  return Matchers::Build(workflow.role_scores, workflow.entity_patterns,
                         workflow.ambiguous_entity_words)
      ->IsEntityName(first, last);
}

}  // namespace nextier::workflows
