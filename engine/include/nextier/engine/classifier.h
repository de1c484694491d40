// Inbound SMS reply classifier: reads a reply against a workflow's classification rules
// (workflows/README.md, "Classification") and says which ReplyClass it is, with the email
// address when the reply gives one (the GOLD LABEL).
//
// Rules come from the workflow's keyword data; on top of them the classifier always applies a
// few built-in rules that no workflow can switch off (see classifier.cc for the lists):
//   - carrier opt-out keywords (STOP, STOPALL, UNSUBSCRIBE, CANCEL, END, QUIT, REVOKE, OPTOUT,
//     OPT OUT), common free-text revocations and their Spanish forms (ALTO, "no más
//     mensajes"), so that a workflow that forgot one can never miss an opt-out;
//   - AYUDA as a HELP keyword;
//   - refusals of email ("don't email me", "no email"): an address in such a reply is not a
//     gold label;
//   - reactions (`Liked "..."`) and auto-replies (driving, out of office) are OTHER unless they
//     are an opt-out: the quoted text of a reaction is our own message, never the lead's words.
//
// Thread-safety: every function may be called from any thread. A ReplyClassifier is immutable
// after construction and may be shared.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "nextier/common/status.h"
#include "nextier/workflows/workflow.h"

namespace nextier::engine {

struct Classified {
  workflows::ReplyClass reply_class = workflows::ReplyClass::kOther;
  // Set only when reply_class is EMAIL and the reply holds an address: lowercase, validated
  // (local@domain.tld with a known TLD). A workflow that lists EMAIL keywords can classify a
  // reply as EMAIL without an address; the shipped workflows list none.
  std::optional<std::string> email;
  // What decided, for the evidence and the logs: `keyword "not interested"`,
  // `exact "no"`, `built-in keyword "lose my number"`, `email address`, `reaction`,
  // `auto-reply "out of office"`, or `nothing matched` for OTHER.
  std::string matched;
};

// Rules compiled from one workflow's classification section. Build once per workflow version
// and reuse: classifying is then a few microseconds per reply.
class ReplyClassifier {
 public:
  explicit ReplyClassifier(const workflows::Workflow& workflow);
  Classified Classify(std::string_view body) const;

  struct Rules;  // private to classifier.cc

 private:
  std::shared_ptr<const Rules> rules_;
};

// Classifies `body` (UTF-8; invalid bytes are read as separators) with `workflow`'s rules.
// Compiled rules are cached per thread by workflow id and version, so a loaded Workflow costs
// the compilation once per thread. A hand-built Workflow (empty version) is compiled on every
// call; a Workflow whose rules were edited after loading must clear its version.
Classified ClassifyReply(const workflows::Workflow& workflow, std::string_view body);

// An outside classifier (an AI model behind an HTTP endpoint: adapters/http_providers.h) asked
// for a second opinion on each reply. Classify may block for its own timeout; any error means
// "no opinion" and the rules decide alone. Called from several threads at once.
class ExternalClassifier {
 public:
  virtual ~ExternalClassifier() = default;
  virtual std::string_view name() const = 0;
  virtual Result<workflows::ReplyClass> Classify(std::string_view body) = 0;
};

// The rules' answer with an outside opinion folded in:
//   - an OPT_OUT from either side wins (opt-out beats everything; a missed one is a legal
//     problem, a false one only loses a lead);
//   - otherwise the rules' HELP stands (the carrier keyword must be answered), and so does
//     their EMAIL with an address (the address makes the gold label); a model's EMAIL without
//     an address the rules found changes nothing;
//   - otherwise the opinion wins, with `matched` = "model <name>".
// No opinion (nullptr): the rules' answer as it is.
Classified Reconcile(const Classified& rules, const workflows::ReplyClass* opinion,
                     std::string_view model_name);

// The first valid email address in `body`, lowercase; nullopt when there is none. Reads the
// obfuscated forms people type: `john at gmail dot com`, `john[at]gmail[dot]com`,
// `john (at) gmail (dot) com`, `john @ gmail . com`, `mailto:john@gmail.com`, surrounding
// brackets and trailing punctuation. Does not look at refusals ("don't email me"); that is the
// classifier's business.
std::optional<std::string> ExtractEmail(std::string_view body);

}  // namespace nextier::engine
