// libFuzzer target: the workflow loader (the same validation serves workflows/*.json,
// `nextier workflow check` and PUT /api/workflows/{id}), and, for documents it accepts, what the
// engine then does with them: compile the classifier, render templates, score titles.
//
// Checks besides "no crash, no sanitizer report" (loader.h's and workflow.h's promises):
//  - a document is accepted iff it has no errors; CheckWorkflowText and ParseWorkflowText agree;
//  - every error has a reason, and errors serialise to JSON (the API sends them as JSON);
//  - an accepted document's canonical_json re-parses to the same version and canonical_json;
//  - every template of an accepted document renders with every placeholder given;
//  - "STOP" is an opt-out under any accepted rules; title scores stay within 0..100.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "nextier/engine/classifier.h"
#include "nextier/workflows/loader.h"
#include "nextier/workflows/matching.h"
#include "nextier/workflows/segments.h"
#include "nextier/workflows/templates.h"

namespace {

namespace wf = nextier::workflows;

[[noreturn]] void Fail(const char* what, const std::string& detail = {}) {
  std::fprintf(stderr, "workflow_fuzz: %s %s\n", what, detail.c_str());
  std::abort();
}

// The API answers errors as JSON: a message that is not UTF-8 would make dump() throw.
void MustSerialise(const std::string& field, const std::string& message) {
  try {
    (void)nlohmann::json{{"field", field}, {"message", message}}.dump();
  } catch (const nlohmann::json::exception& e) {
    Fail("error does not serialise to JSON:", std::string(e.what()) + " | " + field);
  }
}

void CheckTemplate(const wf::Template& t, const wf::TemplateValues& values) {
  auto rendered = wf::Render(t.text, values);
  if (!rendered.ok()) Fail("an accepted template does not render:", t.text);
  (void)wf::CountSegments(*rendered);
}

void CheckAccepted(const wf::Workflow& w) {
  if (w.version.size() != 16) Fail("version is not 16 hex digits:", w.version);
  auto again = wf::ParseWorkflowText(w.canonical_json, "canonical");
  if (!again.ok()) Fail("canonical_json does not re-parse:", again.status().ToString());
  if (again->version != w.version || again->canonical_json != w.canonical_json) {
    Fail("canonical_json re-parses to another document:", w.canonical_json);
  }

  wf::TemplateValues values;
  for (std::string_view name : wf::KnownPlaceholders()) values.emplace(name, "Value");
  const wf::Templates& t = w.templates;
  CheckTemplate(t.opener, values);
  for (const auto& f : t.follow_ups) CheckTemplate(f.body, values);
  for (const auto& [cls, reply] : t.auto_replies) CheckTemplate(reply, values);
  CheckTemplate(t.help, values);
  CheckTemplate(t.opt_out_confirmation, values);
  CheckTemplate(t.meeting_confirmation, values);
  CheckTemplate(t.reminders.before_24h, values);
  CheckTemplate(t.reminders.before_1h, values);
  CheckTemplate(t.reminders.before_15m, values);

  const nextier::engine::ReplyClassifier classifier(w);
  if (classifier.Classify("STOP").reply_class != wf::ReplyClass::kOptOut) {
    Fail("STOP is not an opt-out under", w.canonical_json);
  }
  for (const char* reply : {"Yes, tell me more", "not interested", "wrong number",
                            "how much is it?", "john at gmail dot com", "HELP"}) {
    (void)classifier.Classify(reply);
  }
  for (const char* title : {"Owner", "Vice President of Sales", "", "CEO/Founder", "Agent"}) {
    const int score = wf::ScoreTitle(w, title);
    if (score < 0 || score > 100) Fail("title score out of 0..100 for", title);
  }
  for (const auto& [first, last] : {std::pair{"John", "Smith"}, std::pair{"Acme", "Holdings LLC"},
                                    std::pair{"", "First Church of Christ"}}) {
    (void)wf::IsEntityName(w, first, last);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const wf::CheckResult check = wf::CheckWorkflowText(text);
  if (check.workflow.has_value() == !check.errors.empty()) {
    Fail("accepted with errors, or rejected without any");
  }
  for (const auto& e : check.errors) {
    if (e.reason.empty()) Fail("error without a reason at", e.field);
    MustSerialise(e.field, e.reason);
  }
  auto parsed = wf::ParseWorkflowText(text, "fuzz");
  if (parsed.ok() != check.workflow.has_value())
    Fail("CheckWorkflowText and ParseWorkflowText disagree");
  if (!parsed.ok()) {
    MustSerialise(parsed.status().field(), parsed.status().message());
    return 0;
  }
  if (parsed->version != check.workflow->version) Fail("two parses, two versions");
  CheckAccepted(*parsed);
  return 0;
}
