// Matching helpers over a workflow's tables, used by the CSV data hub on every row: role/title
// scoring and entity-name detection.
//
// Both normalise their input the same way: ASCII letters are lowercased, '.' and '\'' are
// dropped ("V.P." reads "vp", "O'Neil" reads "oneil"), and every other ASCII character that is
// not a letter or digit separates words. Bytes of non-ASCII characters belong to words, so
// "José" stays one word. Table entries are phrases of whole words matched against whole words
// only: "Inc" never matches inside "Inca", nor "Co" inside "Coco".
//
// They use matchers the loader compiled into the Workflow (no regex); a call allocates
// nothing once its thread has seen an input of that size.
//
// Thread-safety: safe to call concurrently on the same Workflow.
#pragma once

#include <string_view>

#include "nextier/workflows/workflow.h"

namespace nextier::workflows {

// The score of a job title. The title is read left to right; at each word the longest role
// phrase (a role's name or synonym) starting there is taken and its words skipped, so
// "Vice President" is VP, not President. The highest score among the phrases taken wins;
// with none, the table's default score. "Owner/CEO" -> 100, "V.P. Sales" -> 75,
// "Assistant" -> default.
int ScoreTitle(const Workflow& workflow, std::string_view title);

// Whether an owner name belongs to an entity (company, trust, estate, ...) rather than a
// person, judged on the name alone. `first` and `last` are the name columns, either possibly
// empty or holding the whole name; a pattern may also span them ("Stone Family" / "Trust").
// An ambiguous word (Workflow::ambiguous_entity_words, e.g. "Church") counts only when its
// column holds other words too, so "Sara" / "Church" is a person.
bool IsEntityName(const Workflow& workflow, std::string_view first, std::string_view last);

}  // namespace nextier::workflows
