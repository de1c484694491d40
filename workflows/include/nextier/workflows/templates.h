// Message templates: the fixed set of placeholders, template checks and rendering.
//
// A template is UTF-8 text with placeholders in braces, e.g. "Hi {firstName}". `{{` and `}}`
// stand for literal braces. Any other brace, a placeholder outside the fixed set below, or an
// empty or malformed name is an error. The set is closed on purpose: a typo such as
// {firstname} must fail when ops load the file, not when the engine sends the message.
//
// Thread-safety: pure functions over immutable tables.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "nextier/common/status.h"

namespace nextier::workflows {

// The placeholders a template may use, in documentation order:
//   firstName, lastName, company              the lead
//   aiWorker, brand, fromNumber, partner      the sender (workflow or campaign)
//   email                                     the email the lead gave (gold label)
//   agentName, meetingTime, link              the booked meeting
// Which template may use which group is a rule of the workflow loader (see README.md).
const std::vector<std::string_view>& KnownPlaceholders();
bool IsKnownPlaceholder(std::string_view name);

// Why `text` is not a well-formed template, one reason per problem, e.g.
// "unknown placeholder {firstname}" or "unmatched '{' at character 12" (characters counted in
// code points from 1). Empty when the template is well formed.
std::vector<std::string> TemplateErrors(std::string_view text);

// The distinct placeholder names `text` uses, in order of first use. Malformed parts are
// skipped; call TemplateErrors first when that matters.
std::vector<std::string> TemplatePlaceholders(std::string_view text);

// Placeholder name -> value. Transparent comparator, so lookups take string_view.
using TemplateValues = std::map<std::string, std::string, std::less<>>;

// `text` with every placeholder replaced by its value and `{{`/`}}` by `{`/`}`. Values are
// inserted verbatim (never re-scanned). Fails with InvalidArgument when the template is
// malformed or uses an unknown placeholder, or when `values` has no entry for a placeholder
// the template uses; extra entries are ignored.
Result<std::string> Render(std::string_view text, const TemplateValues& values);

}  // namespace nextier::workflows
