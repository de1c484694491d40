// The reply classifier: the labelled corpus (tests/data/replies.tsv) against both shipped
// workflows, and focused cases for word boundaries, email forms, refusals, emoji and precedence.
#include "nextier/engine/classifier.h"

#include <gtest/gtest.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "nextier/workflows/loader.h"
#include "testing/testing.h"

namespace nextier::engine {
namespace {

using workflows::ReplyClass;
using workflows::ReplyClassFromName;
using workflows::ReplyClassName;
using workflows::Workflow;

constexpr int kClasses = workflows::kReplyClassCount;

Workflow LoadShipped(const std::string& file) {
  auto loaded = workflows::LoadWorkflowFile(std::string(NEXTIER_SOURCE_DIR) + "/workflows/" + file);
  EXPECT_TRUE(loaded.ok()) << loaded.status().ToString();
  return loaded.ok() ? std::move(loaded).value() : Workflow{};
}

struct Labelled {
  int line = 0;
  ReplyClass label = ReplyClass::kOther;
  std::string text;
};

std::vector<Labelled> LoadCorpus() {
  const std::string path = std::string(NEXTIER_SOURCE_DIR) + "/tests/data/replies.tsv";
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in.good()) << "cannot open " << path;
  std::vector<Labelled> out;
  std::string line;
  int number = 0;
  while (std::getline(in, line)) {
    ++number;
    if (number == 1) {
      EXPECT_EQ(line, "class\ttext") << "header";
      continue;
    }
    if (line.empty()) continue;
    const std::size_t tab = line.find('\t');
    if (tab == std::string::npos) {
      ADD_FAILURE() << path << ":" << number << ": no tab";
      continue;
    }
    const auto label = ReplyClassFromName(line.substr(0, tab));
    if (!label) {
      ADD_FAILURE() << path << ":" << number << ": unknown class " << line.substr(0, tab);
      continue;
    }
    out.push_back(Labelled{number, *label, line.substr(tab + 1)});
  }
  return out;
}

class CorpusTest : public ::testing::TestWithParam<const char*> {};

TEST_P(CorpusTest, MeetsAccuracyAndOptOutRecall) {
  const Workflow workflow = LoadShipped(GetParam());
  ASSERT_FALSE(workflow.version.empty());
  const std::vector<Labelled> corpus = LoadCorpus();
  ASSERT_GE(corpus.size(), 300u);

  std::array<std::array<int, kClasses>, kClasses> confusion{};  // [label][predicted]
  std::vector<std::string> misses;
  int correct = 0;
  for (const Labelled& l : corpus) {
    const Classified c = ClassifyReply(workflow, l.text);
    const int want = static_cast<int>(l.label);
    const int got = static_cast<int>(c.reply_class);
    ++confusion[want][got];
    if (want == got) {
      ++correct;
    } else {
      misses.push_back(
          "  line " + std::to_string(l.line) + ": " + std::string(ReplyClassName(l.label)) +
          " -> " + std::string(ReplyClassName(c.reply_class)) + " [" + c.matched + "] " + l.text);
    }
  }

  std::printf("\nworkflow %s: %zu replies\n", GetParam(), corpus.size());
  std::printf("  %-13s %6s %9s %7s\n", "class", "count", "precision", "recall");
  for (int k = 0; k < kClasses; ++k) {
    int count = 0;
    int predicted = 0;
    for (int j = 0; j < kClasses; ++j) {
      count += confusion[k][j];
      predicted += confusion[j][k];
    }
    const double precision = predicted == 0 ? 1.0 : double(confusion[k][k]) / predicted;
    const double recall = count == 0 ? 1.0 : double(confusion[k][k]) / count;
    std::printf("  %-13s %6d %8.1f%% %6.1f%%\n",
                std::string(ReplyClassName(static_cast<ReplyClass>(k))).c_str(), count,
                100 * precision, 100 * recall);
  }
  const double accuracy = double(correct) / corpus.size();
  std::printf("  overall accuracy %.1f%% (%d/%zu)\n", 100 * accuracy, correct, corpus.size());
  if (!misses.empty()) std::printf("misclassified:\n");
  for (const std::string& m : misses) std::printf("%s\n", m.c_str());

  const int opt = static_cast<int>(ReplyClass::kOptOut);
  int opt_outs = 0;
  int false_opt_outs = 0;
  for (int k = 0; k < kClasses; ++k) {
    if (k == opt) {
      for (int j = 0; j < kClasses; ++j) opt_outs += confusion[k][j];
    } else {
      false_opt_outs += confusion[k][opt];
    }
  }
  EXPECT_GE(accuracy, 0.95);
  EXPECT_EQ(confusion[opt][opt], opt_outs) << "every opt-out must be caught";
  EXPECT_LE(false_opt_outs, 2) << "replies wrongly read as opt-outs";
}

INSTANTIATE_TEST_SUITE_P(ShippedWorkflows, CorpusTest,
                         ::testing::Values("business-owners.json", "real-estate-agents.json"),
                         [](const auto& param_info) {
                           std::string name = param_info.param;
                           name = name.substr(0, name.find('.'));
                           for (char& c : name) {
                             if (c == '-') c = '_';
                           }
                           return name;
                         });

class ClassifierTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { workflow_ = new Workflow(LoadShipped("real-estate-agents.json")); }
  static void TearDownTestSuite() {
    delete workflow_;
    workflow_ = nullptr;
  }
  static ReplyClass ClassOf(std::string_view body) {
    return ClassifyReply(*workflow_, body).reply_class;
  }
  static Workflow* workflow_;
};
Workflow* ClassifierTest::workflow_ = nullptr;

TEST_F(ClassifierTest, CarrierKeywordsAreOptOutsWhateverTheCaseAndPunctuation) {
  for (const char* body : {"STOP", "stop", "Stop!!!", "  stop  ", "STOPALL", "Unsubscribe.",
                           "CANCEL", "end", "Quit!", "REVOKE", "optout", "OPT OUT", "opt-out",
                           "*STOP*", "🛑 stop 🛑", "\"End\"", "Cancel please"}) {
    EXPECT_EQ(ClassOf(body), ReplyClass::kOptOut) << body;
  }
}

TEST_F(ClassifierTest, MatchesWholeWordsOnly) {
  EXPECT_EQ(ClassOf("weekend works"), ReplyClass::kPositive);
  EXPECT_EQ(ClassOf("hello"), ReplyClass::kOther);
  EXPECT_EQ(ClassOf("nonstop"), ReplyClass::kOther);
  EXPECT_EQ(ClassOf("Endless options"), ReplyClass::kOther);
  EXPECT_EQ(ClassOf("Quite"), ReplyClass::kOther);
  EXPECT_EQ(ClassOf("Helpful"), ReplyClass::kOther);
  EXPECT_EQ(ClassOf("Stopping"), ReplyClass::kOther);
  // END, CANCEL and QUIT are opt-outs only as the whole reply.
  EXPECT_EQ(ClassOf("The end of the month works"), ReplyClass::kPositive);
  EXPECT_EQ(ClassOf("end"), ReplyClass::kOptOut);
}

TEST_F(ClassifierTest, BuiltInOptOutsApplyEvenWhenTheWorkflowOmitsThem) {
  Workflow bare = *workflow_;
  bare.version.clear();  // edited after loading: no cache
  auto& rule = bare.classification.rules[static_cast<int>(ReplyClass::kOptOut)];
  rule.keywords = {"stop"};
  rule.exact_replies.clear();
  for (const char* body : {"UNSUBSCRIBE", "quit", "END", "alto", "No más mensajes",
                           "lose my number", "take me off your list", "Don’t text me again"}) {
    EXPECT_EQ(ClassifyReply(bare, body).reply_class, ReplyClass::kOptOut) << body;
  }
}

TEST_F(ClassifierTest, ReadsCurlyApostrophesAndAccents) {
  EXPECT_EQ(ClassOf("Don’t text me"), ReplyClass::kOptOut);
  EXPECT_EQ(ClassOf("no ma\xCC\x81s mensajes"), ReplyClass::kOptOut);  // decomposed á
  EXPECT_EQ(ClassOf("NO MÁS"), ReplyClass::kOptOut);
  EXPECT_EQ(ClassOf("I’m not interested"), ReplyClass::kNegative);
  EXPECT_EQ(ClassOf("¿Ayuda?"), ReplyClass::kHelp);
}

TEST_F(ClassifierTest, EmojiAreNotWords) {
  EXPECT_EQ(ClassOf("👍"), ReplyClass::kOther);
  EXPECT_EQ(ClassOf("😂😂😂"), ReplyClass::kOther);
  EXPECT_EQ(ClassOf("👍🏽"), ReplyClass::kOther);  // skin tone modifier
  EXPECT_EQ(ClassOf("STOP😡"), ReplyClass::kOptOut);
  EXPECT_EQ(ClassOf("yes🙌"), ReplyClass::kPositive);
  EXPECT_EQ(ClassOf("🛑"), ReplyClass::kOptOut);
  EXPECT_EQ(ClassOf(""), ReplyClass::kOther);
  EXPECT_EQ(ClassOf("\xFF\xFE stop"), ReplyClass::kOptOut);  // invalid UTF-8 separates
}

TEST_F(ClassifierTest, HelpIsTheBareKeyword) {
  EXPECT_EQ(ClassOf("HELP"), ReplyClass::kHelp);
  EXPECT_EQ(ClassOf("help?"), ReplyClass::kHelp);
  EXPECT_EQ(ClassOf("INFO"), ReplyClass::kHelp);
  EXPECT_EQ(ClassOf("AYUDA"), ReplyClass::kHelp);
  EXPECT_EQ(ClassOf("send me some info"), ReplyClass::kPositive);
  EXPECT_EQ(ClassOf("Can you send info?"), ReplyClass::kPositive);
}

TEST_F(ClassifierTest, OkAndReactionsAreOther) {
  EXPECT_EQ(ClassOf("ok"), ReplyClass::kOther);
  EXPECT_EQ(ClassOf("Okay."), ReplyClass::kOther);
  const Classified liked =
      ClassifyReply(*workflow_, "Liked “Open to a demo? Reply STOP to opt out”");
  EXPECT_EQ(liked.reply_class, ReplyClass::kOther);
  EXPECT_EQ(liked.matched, "reaction");
  EXPECT_EQ(ClassOf("I'm Driving with Do Not Disturb While Driving turned on."),
            ReplyClass::kOther);
}

TEST_F(ClassifierTest, OptOutBeatsEverything) {
  const Classified c = ClassifyReply(*workflow_, "STOP john@gmail.com");
  EXPECT_EQ(c.reply_class, ReplyClass::kOptOut);
  EXPECT_FALSE(c.email.has_value()) << "an email in a stop message is not a gold label";
  EXPECT_EQ(ClassOf("unsubscribe me@x.com"), ReplyClass::kOptOut);
  EXPECT_EQ(ClassOf("Yes, stop"), ReplyClass::kOptOut);
  EXPECT_EQ(ClassOf("Wrong number, remove me"), ReplyClass::kOptOut);
  EXPECT_EQ(ClassOf("Who is this? STOP"), ReplyClass::kOptOut);
}

TEST_F(ClassifierTest, PrecedenceAfterOptOut) {
  // "help" with more words is not the bare keyword, so the email wins.
  EXPECT_EQ(ClassOf("help john@gmail.com"), ReplyClass::kEmail);
  EXPECT_EQ(ClassOf("Yes! john@gmail.com"), ReplyClass::kEmail);
  EXPECT_EQ(ClassOf("Wrong number"), ReplyClass::kWrongNumber);
  EXPECT_EQ(ClassOf("Who is this? How much is it?"), ReplyClass::kPositive);
  EXPECT_EQ(ClassOf("No thanks, who is this?"), ReplyClass::kNegative);
  // A workflow that puts HELP after EMAIL changes nothing for a bare HELP.
  Workflow w = *workflow_;
  w.version.clear();
  w.classification.precedence = {
      ReplyClass::kOptOut,   ReplyClass::kEmail,    ReplyClass::kHelp,     ReplyClass::kWrongNumber,
      ReplyClass::kNegative, ReplyClass::kPositive, ReplyClass::kQuestion, ReplyClass::kOther};
  EXPECT_EQ(ClassifyReply(w, "help").reply_class, ReplyClass::kHelp);
  EXPECT_EQ(ClassifyReply(w, "no thanks, tell me more later").reply_class, ReplyClass::kNegative);
}

TEST_F(ClassifierTest, AnOutsideOpinionNeverCostsAnOptOutAHelpOrAnAddress) {
  auto with = [&](std::string_view body, const ReplyClass* opinion) {
    return Reconcile(ClassifyReply(*workflow_, body), opinion, "m");
  };
  const ReplyClass negative = ReplyClass::kNegative, positive = ReplyClass::kPositive,
                   email = ReplyClass::kEmail, opt_out = ReplyClass::kOptOut,
                   question = ReplyClass::kQuestion;
  // The opinion wins where the rules' answer is not one of those.
  const Classified vague = with("hmm maybe, we will see", &negative);
  EXPECT_EQ(vague.reply_class, ReplyClass::kNegative);
  EXPECT_EQ(vague.matched, "model m");
  EXPECT_EQ(with("Wrong number", &positive).reply_class, ReplyClass::kPositive);
  // The rules' OPT_OUT, HELP and EMAIL-with-address stand.
  EXPECT_EQ(with("STOP", &positive).reply_class, ReplyClass::kOptOut);
  EXPECT_EQ(with("remove me from your list", &positive).reply_class, ReplyClass::kOptOut);
  EXPECT_EQ(with("HELP", &question).reply_class, ReplyClass::kHelp);
  const Classified gold = with("sure, john@gmail.com", &positive);
  EXPECT_EQ(gold.reply_class, ReplyClass::kEmail);
  EXPECT_EQ(gold.email, "john@gmail.com");
  // A model's EMAIL without an address the rules found changes nothing.
  EXPECT_EQ(with("Sounds good, what's the price?", &email).reply_class, ReplyClass::kPositive);
  // A model's OPT_OUT beats everything, an address too.
  const Classified out = with("john@gmail.com", &opt_out);
  EXPECT_EQ(out.reply_class, ReplyClass::kOptOut);
  EXPECT_FALSE(out.email.has_value());
  // No opinion: the rules as they are.
  const Classified alone = with("hmm maybe, we will see", nullptr);
  EXPECT_EQ(alone.reply_class, ClassOf("hmm maybe, we will see"));
  EXPECT_NE(alone.matched, "model m");
}

TEST_F(ClassifierTest, NegationCancelsInterestInItsClause) {
  EXPECT_EQ(ClassOf("Not interested in a demo"), ReplyClass::kNegative);
  EXPECT_EQ(ClassOf("Not right now, but call me next year"), ReplyClass::kPositive);
  EXPECT_EQ(ClassOf("not interested"), ReplyClass::kNegative);
}

TEST_F(ClassifierTest, EmailIsNormalisedAndReported) {
  const Classified c = ClassifyReply(*workflow_, "Sure! It's John.Smith@Gmail.COM.");
  EXPECT_EQ(c.reply_class, ReplyClass::kEmail);
  ASSERT_TRUE(c.email.has_value());
  EXPECT_EQ(*c.email, "john.smith@gmail.com");
  EXPECT_EQ(c.matched, "email address");
}

TEST_F(ClassifierTest, RefusedEmailIsNotAGoldLabel) {
  EXPECT_NE(ClassOf("Don't email me"), ReplyClass::kEmail);
  EXPECT_NE(ClassOf("no email, call me"), ReplyClass::kEmail);
  const Classified c = ClassifyReply(*workflow_, "Do not email me at john@gmail.com, just call");
  EXPECT_NE(c.reply_class, ReplyClass::kEmail);
  EXPECT_FALSE(c.email.has_value());
  EXPECT_EQ(ClassOf("Not giving you my email"), ReplyClass::kNegative);
}

TEST(ExtractEmailTest, ReadsObfuscatedForms) {
  const std::pair<const char*, const char*> cases[] = {
      {"john@gmail.com", "john@gmail.com"},
      {"John@Gmail.Com", "john@gmail.com"},
      {"john at gmail dot com", "john@gmail.com"},
      {"john[at]gmail[dot]com", "john@gmail.com"},
      {"john (at) gmail (dot) com", "john@gmail.com"},
      {"john(at)gmail(dot)com", "john@gmail.com"},
      {"john {at} gmail {dot} com", "john@gmail.com"},
      {"john @ gmail . com", "john@gmail.com"},
      {"john@ gmail.com", "john@gmail.com"},
      {"john @gmail.com", "john@gmail.com"},
      {"john@gmail dot com", "john@gmail.com"},
      {"mailto:john@gmail.com", "john@gmail.com"},
      {"<john@gmail.com>", "john@gmail.com"},
      {"(john@gmail.com)", "john@gmail.com"},
      {"email: john@gmail.com.", "john@gmail.com"},
      {"john@gmail.com!!", "john@gmail.com"},
      {"'john@gmail.com'", "john@gmail.com"},
      {"“john@gmail.com”", "john@gmail.com"},
      {"john dot smith at gmail dot com", "john.smith@gmail.com"},
      {"email me at mary dot lee at yahoo dot co dot uk", "mary.lee@yahoo.co.uk"},
      {"reach me at john@gmail.com", "john@gmail.com"},
      {"j.doe+homes@kw-realty.com", "j.doe+homes@kw-realty.com"},
      {"frank＠gmail.com", "frank@gmail.com"},
      {"ana@casa.realty", "ana@casa.realty"},
  };
  for (const auto& [body, want] : cases) {
    const auto got = ExtractEmail(body);
    ASSERT_TRUE(got.has_value()) << body;
    EXPECT_EQ(*got, want) << body;
  }
}

TEST(ExtractEmailTest, RejectsWhatIsNotAnAddress) {
  for (const char* body :
       {"", "call me at 5", "meet at 5.30", "I'm at work", "john at gmail", "john@gmail",
        "@johnsmith on instagram", "john@@gmail.com", "john@gmail.c", "john@gmail.123",
        "john@-gmail.com", ".john@gmail.com.x", "john..doe@gmail.com", "call me at 555.123.4567",
        "john@gmail.notatld", "at dot com"}) {
    EXPECT_FALSE(ExtractEmail(body).has_value())
        << body << " -> " << ExtractEmail(body).value_or("");
  }
}

TEST_F(ClassifierTest, ClassifierObjectMatchesTheFunction) {
  const ReplyClassifier classifier(*workflow_);
  for (const char* body : {"STOP", "yes", "john@gmail.com", "who is this", "ok", "nope"}) {
    EXPECT_EQ(classifier.Classify(body).reply_class, ClassOf(body)) << body;
  }
}

TEST_F(ClassifierTest, PrintsTimePerReply) {
  const std::vector<Labelled> corpus = LoadCorpus();
  const auto start = std::chrono::steady_clock::now();
  int rounds = 20;
  std::size_t n = 0;
  for (int r = 0; r < rounds; ++r) {
    for (const Labelled& l : corpus) n += static_cast<std::size_t>(ClassOf(l.text));
  }
  const auto elapsed = std::chrono::steady_clock::now() - start;
  const double us =
      std::chrono::duration<double, std::micro>(elapsed).count() / (rounds * corpus.size());
  std::printf("%.2f us per reply (this build; %zu)\n", us, n % 2);
}

}  // namespace
}  // namespace nextier::engine
