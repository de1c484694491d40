// Template placeholders, checks and rendering.
#include "nextier/workflows/templates.h"

#include <gtest/gtest.h>

#include "testing/testing.h"

namespace nextier::workflows {
namespace {

TEST(RenderTest, ReplacesEveryPlaceholder) {
  const Result<std::string> out =
      Render("Hi {firstName}, {aiWorker} with {brand} here about {company}.",
             {{"firstName", "Ann"},
              {"aiWorker", "GIANNA"},
              {"brand", "Nextier"},
              {"company", "Ann's Realty"}});
  ASSERT_OK(out);
  EXPECT_EQ(*out, "Hi Ann, GIANNA with Nextier here about Ann's Realty.");
}

TEST(RenderTest, RepeatedPlaceholderRendersEachTime) {
  const Result<std::string> out = Render("{link} and again {link}", {{"link", "https://x.y/1"}});
  ASSERT_OK(out);
  EXPECT_EQ(*out, "https://x.y/1 and again https://x.y/1");
}

TEST(RenderTest, DoubledBracesAreLiteralBraces) {
  const Result<std::string> out = Render("{{firstName}} is {firstName}", {{"firstName", "Ann"}});
  ASSERT_OK(out);
  EXPECT_EQ(*out, "{firstName} is Ann");
}

TEST(RenderTest, ValuesAreNotRescannedForPlaceholders) {
  const Result<std::string> out = Render("Hi {firstName}", {{"firstName", "{lastName}"}});
  ASSERT_OK(out);
  EXPECT_EQ(*out, "Hi {lastName}");
}

TEST(RenderTest, TemplateWithoutPlaceholdersIsUnchanged) {
  const Result<std::string> out = Render("Reply STOP to opt out", {});
  ASSERT_OK(out);
  EXPECT_EQ(*out, "Reply STOP to opt out");
}

TEST(RenderTest, ExtraValuesAreIgnored) {
  const Result<std::string> out = Render("Hi {firstName}", {{"firstName", "A"}, {"email", "e"}});
  ASSERT_OK(out);
  EXPECT_EQ(*out, "Hi A");
}

TEST(RenderTest, MissingValueIsInvalidArgument) {
  const Result<std::string> out = Render("Hi {firstName} at {company}", {{"firstName", "Ann"}});
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(out.status().message(), "no value for placeholder {company}");
}

TEST(RenderTest, UnknownPlaceholderIsInvalidArgumentEvenWithAValue) {
  const Result<std::string> out = Render("Hi {nickname}", {{"nickname", "Annie"}});
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(out.status().message().find("unknown placeholder {nickname}"), std::string::npos);
}

TEST(RenderTest, UnbalancedBraceIsInvalidArgument) {
  EXPECT_FALSE(Render("Hi {firstName", {{"firstName", "Ann"}}).ok());
  EXPECT_FALSE(Render("Hi firstName}", {{"firstName", "Ann"}}).ok());
}

TEST(TemplateErrorsTest, WellFormedTemplateHasNone) {
  EXPECT_TRUE(TemplateErrors("Hi {firstName}, {{literal}} {meetingTime} {link}").empty());
  EXPECT_TRUE(TemplateErrors("plain text").empty());
}

TEST(TemplateErrorsTest, UnknownPlaceholderSuggestsTheKnownSpelling) {
  EXPECT_EQ(
      TemplateErrors("Hi {FirstName}"),
      std::vector<std::string>{"unknown placeholder {FirstName} (did you mean {firstName}?)"});
}

TEST(TemplateErrorsTest, UnknownPlaceholderWithoutNearMatchListsTheKnownOnes) {
  const std::vector<std::string> errors = TemplateErrors("Hi {nickname}");
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].rfind("unknown placeholder {nickname}; known: {firstName}, ", 0), 0u)
      << errors[0];
}

TEST(TemplateErrorsTest, UnmatchedOpeningBraceNamesItsCharacter) {
  EXPECT_EQ(
      TemplateErrors("Caf\u00e9 {firstName"),
      std::vector<std::string>{"unmatched '{' at character 6 (write {{ for a literal brace)"});
}

TEST(TemplateErrorsTest, UnmatchedClosingBraceNamesItsCharacter) {
  EXPECT_EQ(
      TemplateErrors("a}b"),
      std::vector<std::string>{"unmatched '}' at character 2 (write }} for a literal brace)"});
}

TEST(TemplateErrorsTest, NestedBracesAreReported) {
  EXPECT_FALSE(TemplateErrors("{first{Name}}").empty());
}

TEST(TemplateErrorsTest, EmptyAndMalformedPlaceholdersAreReported) {
  EXPECT_EQ(TemplateErrors("Hi {}"),
            std::vector<std::string>{"empty placeholder {} at character 4"});
  EXPECT_EQ(TemplateErrors("Hi { firstName }"),
            std::vector<std::string>{"malformed placeholder { firstName } at character 4"});
}

TEST(TemplateErrorsTest, EveryProblemIsReported) {
  EXPECT_EQ(TemplateErrors("{nope} } {").size(), 3u);
}

TEST(TemplatePlaceholdersTest, ListsDistinctNamesInOrderOfFirstUse) {
  EXPECT_EQ(TemplatePlaceholders("{link} {firstName} {{brand}} {link}"),
            (std::vector<std::string>{"link", "firstName"}));
}

TEST(KnownPlaceholdersTest, IsTheDocumentedSet) {
  EXPECT_EQ(KnownPlaceholders(),
            (std::vector<std::string_view>{"firstName", "lastName", "company", "aiWorker", "brand",
                                           "fromNumber", "partner", "email", "agentName",
                                           "meetingTime", "link"}));
  EXPECT_TRUE(IsKnownPlaceholder("meetingTime"));
  EXPECT_FALSE(IsKnownPlaceholder("meetingtime"));
}

}  // namespace
}  // namespace nextier::workflows
