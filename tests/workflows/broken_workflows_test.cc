// Broken workflow documents: each is one edit of a seed file, and each must be rejected with
// the exact field path of the problem.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "nextier/workflows/loader.h"
#include "testing/testing.h"
#include "workflow_test_util.h"

namespace nextier::workflows {
namespace {

using nlohmann::json;
using testing::SeedJson;

constexpr const char* kRealEstate = "real-estate-agents.json";
constexpr const char* kBusiness = "business-owners.json";
constexpr const char* kRemove = "<remove>";

struct BrokenCase {
  const char* name;     // what is wrong, as the test name
  const char* seed;     // the seed file edited
  const char* pointer;  // JSON pointer of the edit
  const char* value;    // JSON text of the new value, or kRemove
  const char* field;    // the field path the first error must name
};

void PrintTo(const BrokenCase& c, std::ostream* os) { *os << c.name; }

const std::vector<BrokenCase>& Cases() {
  // 700 letters and a curly quote: UCS-2, 731 code units, 11 segments.
  static const std::string kLongOpener =
      "\"{brand}: Reply STOP to opt out " + std::string(700, 'x') + "\u2019\"";
  static const std::vector<BrokenCase> kCases = {
      // Top level.
      {"MissingId", kRealEstate, "/id", kRemove, "id"},
      {"IdNotASlug", kRealEstate, "/id", R"("Real Estate")", "id"},
      {"UnknownTopLevelField", kRealEstate, "/owner", R"("ops")", "owner"},
      {"EmptyName", kRealEstate, "/name", R"("")", "name"},
      {"NameWithControlCharacter", kRealEstate, "/name", R"("Real\testate")", "name"},
      {"PitchNotAString", kRealEstate, "/pitch", "42", "pitch"},
      {"UnknownCampaignKind", kRealEstate, "/campaignKind", R"("DEMO")", "campaignKind"},
      {"UnsupportedFormatVersion", kRealEstate, "/formatVersion", "2", "formatVersion"},
      // SignalHouse.
      {"LowercaseBrandId", kRealEstate, "/signalhouse/brand", R"("bzoypih")", "signalhouse.brand"},
      {"MissingAiWorker", kRealEstate, "/signalhouse/aiWorker", kRemove, "signalhouse.aiWorker"},
      {"FromNumberNotE164", kRealEstate, "/signalhouse/fromNumber", R"("516-407-9249")",
       "signalhouse.fromNumber"},
      {"NanpFromNumberTooShort", kRealEstate, "/signalhouse/fromNumber", R"("+1516407924")",
       "signalhouse.fromNumber"},
      {"NullCampaignId", kRealEstate, "/signalhouse/campaignId", "null", "signalhouse.campaignId"},
      {"UnknownVolumeTier", kRealEstate, "/signalhouse/volumeTier", R"("HIGH_VOLUME")",
       "signalhouse.volumeTier"},
      {"UnknownSignalHouseField", kRealEstate, "/signalhouse/apiKey", R"("secret")",
       "signalhouse.apiKey"},
      // Hand-off partner.
      {"PartnerHandoffWithoutPartner", kBusiness, "/handoffPartner", kRemove, "handoffPartner"},
      {"PlatformDemoWithPartner", kRealEstate, "/handoffPartner", R"({"name": "Someone"})",
       "handoffPartner"},
      {"PartnerWithoutName", kBusiness, "/handoffPartner", "{}", "handoffPartner.name"},
      // Limits.
      {"BatchSizeAboveBlockSize", kRealEstate, "/limits/batchSize", "2500", "limits.batchSize"},
      {"ZeroBatchDelay", kRealEstate, "/limits/batchDelaySeconds", "0", "limits.batchDelaySeconds"},
      {"FractionalBlockSize", kRealEstate, "/limits/blockSize", "2000.5", "limits.blockSize"},
      {"BlockSizeAsString", kRealEstate, "/limits/blockSize", R"("2000")", "limits.blockSize"},
      {"NegativeSkipTraceLimit", kRealEstate, "/limits/skipTraceDailyLimit", "-1",
       "limits.skipTraceDailyLimit"},
      {"DailyCapAboveLowVolume", kRealEstate, "/limits/dailySmsCap", "5000", "limits.dailySmsCap"},
      {"MisspelledLimit", kRealEstate, "/limits/batchsize", "100", "limits.batchsize"},
      {"QuietHoursStartNotHHMM", kRealEstate, "/limits/quietHours/start", R"("8am")",
       "limits.quietHours.start"},
      {"QuietHoursStartMinute60", kRealEstate, "/limits/quietHours/start", R"("08:60")",
       "limits.quietHours.start"},
      {"QuietHoursStartBefore8", kRealEstate, "/limits/quietHours/start", R"("07:30")",
       "limits.quietHours.start"},
      {"QuietHoursEndAfter9pm", kRealEstate, "/limits/quietHours/end", R"("22:00")",
       "limits.quietHours.end"},
      {"QuietHoursEndBeforeStart", kRealEstate, "/limits/quietHours/end", R"("08:00")",
       "limits.quietHours.end"},
      {"QuietHoursInUtc", kRealEstate, "/limits/quietHours/timezone", R"("UTC")",
       "limits.quietHours.timezone"},
      // Role scores and entity patterns.
      {"RoleScoreAbove100", kRealEstate, "/roleScores/roles/0/score", "150",
       "roleScores.roles[0].score"},
      {"SynonymOfTwoRoles", kRealEstate, "/roleScores/roles/4/synonyms/0", R"("Founder")",
       "roleScores.roles[4].synonyms[0]"},
      {"SpellingVariantOfOtherRole", kRealEstate, "/roleScores/roles/4/synonyms/0", R"("v.p")",
       "roleScores.roles[4].synonyms[0]"},
      {"NoRoles", kRealEstate, "/roleScores/roles", "[]", "roleScores.roles"},
      {"MissingDefaultScore", kRealEstate, "/roleScores/defaultScore", kRemove,
       "roleScores.defaultScore"},
      {"RoleNotAnObject", kRealEstate, "/roleScores/roles/2", R"("President")",
       "roleScores.roles[2]"},
      {"NoEntityPatterns", kRealEstate, "/entityPatterns", "[]", "entityPatterns"},
      {"DuplicateEntityPattern", kRealEstate, "/entityPatterns/1", R"("llc")", "entityPatterns[1]"},
      {"PunctuationOnlyEntityPattern", kRealEstate, "/entityPatterns/0", R"("&")",
       "entityPatterns[0]"},
      {"AmbiguousWordNotAPattern", kRealEstate, "/ambiguousEntityWords/0", R"("Smith")",
       "ambiguousEntityWords[0]"},
      {"AmbiguousPhrase", kRealEstate, "/ambiguousEntityWords/0", R"("Family Trust")",
       "ambiguousEntityWords[0]"},
      // Templates.
      {"UnknownPlaceholderInOpener", kRealEstate, "/templates/opener",
       R"("Hi {firstname}, {brand} here. Reply STOP to opt out")", "templates.opener"},
      {"UnbalancedBraceInOpener", kRealEstate, "/templates/opener",
       R"("Hi {firstName, {brand} here. Reply STOP to opt out")", "templates.opener"},
      {"StrayClosingBrace", kRealEstate, "/templates/opener",
       R"("Hi firstName}, {brand} here. Reply STOP to opt out")", "templates.opener"},
      {"OpenerWithoutOptOut", kRealEstate, "/templates/opener",
       R"("Hi {firstName}, this is {aiWorker} with {brand}. Want a demo?")", "templates.opener"},
      {"OpenerWithoutSender", kRealEstate, "/templates/opener",
       R"("Hi {firstName}, want a demo? Reply STOP to opt out")", "templates.opener"},
      {"MeetingTimeInOpener", kRealEstate, "/templates/opener",
       R"("Hi {firstName}, {brand} here, see you {meetingTime}. Reply STOP to opt out")",
       "templates.opener"},
      {"PartnerWithoutHandoffPartner", kRealEstate, "/templates/opener",
       R"("Hi {firstName}, {brand} and {partner} here. Reply STOP to opt out")",
       "templates.opener"},
      {"OpenerOverTenSegments", kRealEstate, "/templates/opener", kLongOpener.c_str(),
       "templates.opener"},
      {"EmptyFollowUpBody", kRealEstate, "/templates/followUps/1/body", R"("")",
       "templates.followUps[1].body"},
      {"ZeroFollowUpDelay", kRealEstate, "/templates/followUps/0/delayHours", "0",
       "templates.followUps[0].delayHours"},
      {"DuplicateFollowUpName", kRealEstate, "/templates/followUps/1/name", R"("nudge")",
       "templates.followUps[1].name"},
      {"FollowUpsNotAnArray", kRealEstate, "/templates/followUps", R"({"nudge": "hi"})",
       "templates.followUps"},
      {"MissingPositiveAutoReply", kRealEstate, "/templates/autoReplies/POSITIVE", kRemove,
       "templates.autoReplies.POSITIVE"},
      {"PositiveAutoReplyNotAskingEmail", kRealEstate, "/templates/autoReplies/POSITIVE",
       R"("Great, talk soon!")", "templates.autoReplies.POSITIVE"},
      {"AutoReplyForOptOut", kRealEstate, "/templates/autoReplies/OPT_OUT", R"("Bye")",
       "templates.autoReplies.OPT_OUT"},
      {"AutoReplyForUnknownClass", kRealEstate, "/templates/autoReplies/MAYBE", R"("Hmm")",
       "templates.autoReplies.MAYBE"},
      {"EmailPlaceholderInQuestionReply", kRealEstate, "/templates/autoReplies/QUESTION",
       R"("We will write to {email}")", "templates.autoReplies.QUESTION"},
      {"FirstNameInHelp", kRealEstate, "/templates/help",
       R"("{brand} help for {firstName}. Reply STOP to opt out.")", "templates.help"},
      {"HelpWithTrailingNewline", kRealEstate, "/templates/help",
       R"("{brand} help. Reply STOP to opt out.\n")", "templates.help"},
      {"OptOutConfirmationWithoutSender", kRealEstate, "/templates/optOutConfirmation",
       R"("You are unsubscribed.")", "templates.optOutConfirmation"},
      {"MeetingConfirmationWithoutTime", kRealEstate, "/templates/meetingConfirmation",
       R"("You're booked with {agentName}: {link}")", "templates.meetingConfirmation"},
      {"FifteenMinuteReminderWithoutLink", kRealEstate, "/templates/reminders/15m",
       R"("Starting in 15 min with {agentName}!")", "templates.reminders.15m"},
      {"MissingOneHourReminder", kRealEstate, "/templates/reminders/1h", kRemove,
       "templates.reminders.1h"},
      {"UnknownReminder", kRealEstate, "/templates/reminders/2h", R"("Soon: {meetingTime}")",
       "templates.reminders.2h"},
      {"TemplatesNotAnObject", kRealEstate, "/templates", R"("hi")", "templates"},
      // Classification.
      {"OptOutNotFirst", kRealEstate, "/classification/precedence",
       R"(["HELP","OPT_OUT","EMAIL","WRONG_NUMBER","POSITIVE","NEGATIVE","QUESTION","OTHER"])",
       "classification.precedence[0]"},
      {"OtherNotLast", kRealEstate, "/classification/precedence",
       R"(["OPT_OUT","HELP","EMAIL","WRONG_NUMBER","POSITIVE","NEGATIVE","OTHER","QUESTION"])",
       "classification.precedence[7]"},
      {"PrecedenceMissingClass", kRealEstate, "/classification/precedence",
       R"(["OPT_OUT","HELP","EMAIL","WRONG_NUMBER","POSITIVE","NEGATIVE","OTHER"])",
       "classification.precedence"},
      {"PrecedenceUnknownClass", kRealEstate, "/classification/precedence/3", R"("MAYBE")",
       "classification.precedence[3]"},
      {"PrecedenceDuplicateClass", kRealEstate, "/classification/precedence/3", R"("HELP")",
       "classification.precedence[3]"},
      {"OptOutRuleWithoutStop", kRealEstate, "/classification/rules/OPT_OUT",
       R"({"keywords": ["unsubscribe"], "exactReplies": ["quit"]})",
       "classification.rules.OPT_OUT"},
      {"HelpRuleWithoutHelp", kRealEstate, "/classification/rules/HELP",
       R"({"exactReplies": ["info"]})", "classification.rules.HELP"},
      {"KeywordInTwoClasses", kRealEstate, "/classification/rules/NEGATIVE/keywords/0",
       R"("interested")", "classification.rules.NEGATIVE.keywords[0]"},
      {"RulesForOther", kRealEstate, "/classification/rules/OTHER", R"({"keywords": ["hmm"]})",
       "classification.rules.OTHER"},
      {"MissingQuestionRule", kRealEstate, "/classification/rules/QUESTION", kRemove,
       "classification.rules.QUESTION"},
      {"EmptyNegativeRule", kRealEstate, "/classification/rules/NEGATIVE",
       R"({"keywords": [], "exactReplies": []})", "classification.rules.NEGATIVE"},
      {"KeywordWithoutWords", kRealEstate, "/classification/rules/QUESTION/keywords/0", R"("?")",
       "classification.rules.QUESTION.keywords[0]"},
      {"KeywordNotAString", kRealEstate, "/classification/rules/POSITIVE/keywords/0", "true",
       "classification.rules.POSITIVE.keywords[0]"},
      // Call queue and meeting.
      {"WeightAboveOne", kRealEstate, "/callQueue/weights/recency", "1.5",
       "callQueue.weights.recency"},
      {"AllWeightsZero", kRealEstate, "/callQueue/weights",
       R"({"roleScore": 0, "recency": 0, "campaign": 0})", "callQueue.weights"},
      {"MeetingTooShort", kRealEstate, "/meeting/durationMinutes", "0", "meeting.durationMinutes"},
  };
  return kCases;
}

json Broken(const BrokenCase& c) {
  json doc = SeedJson(c.seed);
  const json::json_pointer pointer(c.pointer);
  json op;
  op["path"] = c.pointer;
  if (std::string(c.value) == kRemove) {
    op["op"] = "remove";
  } else {
    op["op"] = doc.contains(pointer) ? "replace" : "add";
    op["value"] = json::parse(c.value);
  }
  return doc.patch(json::array({op}));
}

class BrokenWorkflowTest : public ::testing::TestWithParam<BrokenCase> {};

TEST_P(BrokenWorkflowTest, IsRejectedWithTheFieldPath) {
  const BrokenCase& c = GetParam();
  const CheckResult checked = CheckWorkflow(Broken(c));
  EXPECT_FALSE(checked.workflow.has_value());
  ASSERT_FALSE(checked.errors.empty());
  std::string all;
  for (const FieldError& e : checked.errors) all += "\n  " + e.field + ": " + e.reason;
  RecordProperty("errors", all);
  EXPECT_EQ(checked.errors.front().field, c.field) << "errors:" << all;
  EXPECT_FALSE(checked.errors.front().reason.empty());

  const Result<Workflow> parsed = ParseWorkflow(Broken(c), "broken.json");
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(parsed.status().field(), c.field);
  EXPECT_NE(parsed.status().message().find("broken.json"), std::string::npos);
}

INSTANTIATE_TEST_SUITE_P(SeedEdits, BrokenWorkflowTest, ::testing::ValuesIn(Cases()),
                         [](const ::testing::TestParamInfo<BrokenCase>& param_info) {
                           return std::string(param_info.param.name);
                         });

TEST(BrokenWorkflowTableTest, HoldsAtLeastThirtyDistinctCases) {
  std::set<std::string> names;
  for (const BrokenCase& c : Cases()) names.insert(c.name);
  EXPECT_EQ(names.size(), Cases().size());
  EXPECT_GE(names.size(), 30u);
}

TEST(BrokenWorkflowTextTest, SyntaxErrorNamesLineAndColumn) {
  const CheckResult checked = CheckWorkflowText("{\n  \"id\": \"x\",\n  \"name\": }\n");
  ASSERT_EQ(checked.errors.size(), 1u);
  EXPECT_EQ(checked.errors[0].field, "");
  EXPECT_NE(checked.errors[0].reason.find("invalid JSON at line 3, column 11"), std::string::npos)
      << checked.errors[0].reason;
}

// Found by fuzz_workflow (tests/fuzz/corpus/workflow/invalid_utf8.json): the parser's message
// quotes the bytes it read last, and bytes that are not UTF-8 made the reason impossible to send
// as JSON (dump() throws).
TEST(BrokenWorkflowTextTest, SyntaxErrorOnBytesThatAreNotUtf8IsItselfUtf8) {
  const CheckResult checked = CheckWorkflowText("{\"id\":\"caf\xe9\",\"name\":\"\xff\xfe\"}");
  ASSERT_EQ(checked.errors.size(), 1u);
  const std::string& reason = checked.errors[0].reason;
  EXPECT_EQ(reason.rfind("invalid JSON at line 1, column ", 0), 0u) << reason;
  EXPECT_NE(reason.find("caf\\xE9"), std::string::npos) << reason;
  EXPECT_NO_THROW((void)json(reason).dump()) << reason;
}

// Found by fuzz_workflow (tests/fuzz/corpus/workflow/regress_number_overflow*.json): nlohmann
// reports a number no double holds as out_of_range, not parse_error, and it escaped the loader
// (`nextier workflow check` and serve's start-up ended on std::terminate).
TEST(BrokenWorkflowTextTest, NumberTooLargeForADoubleIsAnError) {
  const CheckResult checked =
      CheckWorkflowText("{\"id\": \"x\", \"limits\": {\"batchSize\": 1e999}}");
  ASSERT_EQ(checked.errors.size(), 1u);
  EXPECT_EQ(checked.errors[0].field, "");
  EXPECT_EQ(checked.errors[0].reason, "invalid JSON: number overflow parsing '1e999'");
  EXPECT_FALSE(ParseWorkflowText("[-1e400]", "api").ok());
}

TEST(BrokenWorkflowTextTest, TrailingCommaIsASyntaxError) {
  const CheckResult checked = CheckWorkflowText("{\"id\": \"x\",}");
  ASSERT_EQ(checked.errors.size(), 1u);
  EXPECT_NE(checked.errors[0].reason.find("line 1, column 12"), std::string::npos)
      << checked.errors[0].reason;
}

TEST(BrokenWorkflowTextTest, DuplicateKeyIsReportedOnItsPath) {
  std::string text = testing::ReadText(testing::SeedPath(kRealEstate));
  const std::string needle = "\"batchSize\": 250,";
  const std::size_t at = text.find(needle);
  ASSERT_NE(at, std::string::npos);
  text.insert(at + needle.size(), " \"batchSize\": 100,");
  const CheckResult checked = CheckWorkflowText(text);
  ASSERT_EQ(checked.errors.size(), 1u);
  EXPECT_EQ(checked.errors[0], (FieldError{"limits.batchSize", "duplicate key"}));
}

TEST(BrokenWorkflowTextTest, DuplicateKeyInsideAnArrayElementIsReportedOnItsPath) {
  std::string text = testing::ReadText(testing::SeedPath(kRealEstate));
  const std::string needle = "\"name\": \"last-touch\",";
  const std::size_t at = text.find(needle);
  ASSERT_NE(at, std::string::npos);
  text.insert(at + needle.size(), " \"name\": \"again\",");
  const CheckResult checked = CheckWorkflowText(text);
  ASSERT_EQ(checked.errors.size(), 1u);
  EXPECT_EQ(checked.errors[0].field, "templates.followUps[1].name");
}

TEST(BrokenWorkflowTextTest, DocumentThatIsNotAnObjectIsRejected) {
  const CheckResult checked = CheckWorkflowText("[1, 2]");
  ASSERT_EQ(checked.errors.size(), 1u);
  EXPECT_EQ(checked.errors[0].field, "");
}

TEST(BrokenWorkflowTextTest, InvalidUtf8IsASyntaxError) {
  const CheckResult checked = CheckWorkflowText("{\"id\": \"\xC3\x28\"}");
  ASSERT_EQ(checked.errors.size(), 1u);
  EXPECT_NE(checked.errors[0].reason.find("invalid JSON"), std::string::npos);
}

TEST(BrokenWorkflowTextTest, OversizedDocumentIsRejectedBeforeParsing) {
  const std::string text(kMaxWorkflowBytes + 1, ' ');
  const CheckResult checked = CheckWorkflowText(text);
  ASSERT_EQ(checked.errors.size(), 1u);
  EXPECT_NE(checked.errors[0].reason.find("larger than"), std::string::npos);
}

TEST(BrokenWorkflowTest, EveryErrorIsReportedNotJustTheFirst) {
  json doc = SeedJson(kRealEstate);
  doc["limits"]["batchSize"] = 5000;
  doc["signalhouse"]["fromNumber"] = "12345";
  doc["templates"]["followUps"][1]["body"] = "Hi {nickname}";
  doc["meeting"]["durationMinutes"] = "15";
  const CheckResult checked = CheckWorkflow(doc);
  std::vector<std::string> fields;
  for (const FieldError& e : checked.errors) fields.push_back(e.field);
  EXPECT_EQ(fields,
            (std::vector<std::string>{"signalhouse.fromNumber", "limits.batchSize",
                                      "templates.followUps[1].body", "meeting.durationMinutes"}));
}

TEST(BrokenWorkflowTest, UnknownPlaceholderReasonSuggestsTheRightSpelling) {
  json doc = SeedJson(kRealEstate);
  doc["templates"]["opener"] = "Hi {firstname}, {brand} here. Reply STOP to opt out";
  const CheckResult checked = CheckWorkflow(doc);
  ASSERT_EQ(checked.errors.size(), 1u);
  EXPECT_EQ(checked.errors[0].reason,
            "unknown placeholder {firstname} (did you mean {firstName}?)");
}

}  // namespace
}  // namespace nextier::workflows
