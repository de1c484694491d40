// Title scoring and entity-name detection on the seed tables.
#include "nextier/workflows/matching.h"

#include <gtest/gtest.h>

#include "nextier/workflows/loader.h"
#include "testing/testing.h"
#include "workflow_test_util.h"

namespace nextier::workflows {
namespace {

class MatchingTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    Result<Workflow> w = LoadWorkflowFile(testing::SeedPath("real-estate-agents.json"));
    ASSERT_OK(w);
    workflow_ = new Workflow(std::move(*w));
  }
  static void TearDownTestSuite() {
    delete workflow_;
    workflow_ = nullptr;
  }
  static int Score(std::string_view title) { return ScoreTitle(*workflow_, title); }
  static bool Entity(std::string_view first, std::string_view last) {
    return IsEntityName(*workflow_, first, last);
  }
  static Workflow* workflow_;
};
Workflow* MatchingTest::workflow_ = nullptr;

TEST_F(MatchingTest, ScoresEachRoleByNameAndSynonym) {
  EXPECT_EQ(Score("Owner"), 100);
  EXPECT_EQ(Score("Founder"), 100);
  EXPECT_EQ(Score("Principal"), 100);
  EXPECT_EQ(Score("Proprietor"), 100);
  EXPECT_EQ(Score("Managing Member"), 100);
  EXPECT_EQ(Score("CEO"), 90);
  EXPECT_EQ(Score("Chief Executive Officer"), 90);
  EXPECT_EQ(Score("President"), 85);
  EXPECT_EQ(Score("VP"), 75);
  EXPECT_EQ(Score("Vice President"), 75);
  EXPECT_EQ(Score("Manager"), 50);
}

TEST_F(MatchingTest, TitleScoringIgnoresCaseAndPunctuation) {
  EXPECT_EQ(Score("OWNER"), 100);
  EXPECT_EQ(Score("  ceo. "), 90);
  EXPECT_EQ(Score("V.P. Sales"), 75);
  EXPECT_EQ(Score("v.p., marketing"), 75);
  EXPECT_EQ(Score("Sr. Vice-President"), 75);
}

TEST_F(MatchingTest, HighestMatchInATitleWins) {
  EXPECT_EQ(Score("Owner/CEO"), 100);
  EXPECT_EQ(Score("President & CEO"), 90);
  EXPECT_EQ(Score("Manager, Co-Founder"), 100);
}

TEST_F(MatchingTest, VicePresidentIsNotScoredAsPresident) {
  EXPECT_EQ(Score("Vice President of Operations"), 75);
  EXPECT_EQ(Score("Executive Vice President"), 75);
}

TEST_F(MatchingTest, UnmatchedTitleGetsTheDefaultScore) {
  EXPECT_EQ(Score("Assistant"), 10);
  EXPECT_EQ(Score(""), 10);
  EXPECT_EQ(Score("Realtor"), 10);
}

TEST_F(MatchingTest, TitleWordsMatchOnlyWholeWords) {
  EXPECT_EQ(Score("Ownership Analyst"), 10);
  EXPECT_EQ(Score("Presidential Aide"), 10);
  EXPECT_EQ(Score("Management Trainee"), 10);
  EXPECT_EQ(Score("CEOs Assistant"), 10);
}

TEST_F(MatchingTest, TrustIsAnEntityInEitherColumnOrSplitAcrossBoth) {
  EXPECT_TRUE(Entity("Stone Family Trust", ""));
  EXPECT_TRUE(Entity("", "Stone Family Trust"));
  EXPECT_TRUE(Entity("Stone", "Family Trust"));
  EXPECT_TRUE(Entity("Stone Family", "Trust"));
  EXPECT_TRUE(Entity("John Stone", "Revocable Trust"));
}

TEST_F(MatchingTest, CompaniesEstatesAndDbaAreEntities) {
  EXPECT_TRUE(Entity("Smith Holdings LLC", ""));
  EXPECT_TRUE(Entity("Smith Holdings", "L.L.C."));
  EXPECT_TRUE(Entity("ESTATE OF JOHN DOE", ""));
  EXPECT_TRUE(Entity("Estate of", "John Doe"));
  EXPECT_TRUE(Entity("John Doe Et Al", ""));
  EXPECT_TRUE(Entity("John Doe Et", "Al"));
  EXPECT_TRUE(Entity("ABC Realty", ""));
  EXPECT_TRUE(Entity("Acme, Inc.", ""));
  EXPECT_TRUE(Entity("Jones & Co", ""));
  EXPECT_TRUE(Entity("John Smith DBA Smith Plumbing", ""));
  EXPECT_TRUE(Entity("Jane Roe C/O Acme", ""));
  EXPECT_TRUE(Entity("First Baptist Church", ""));
  EXPECT_TRUE(Entity("Harbor", "Savings Bank"));
}

TEST_F(MatchingTest, PeopleAreNotEntities) {
  EXPECT_FALSE(Entity("Sara", "Stone"));
  EXPECT_FALSE(Entity("Sara Stone", ""));
  EXPECT_FALSE(Entity("Coco", "Smith"));
  EXPECT_FALSE(Entity("Paco", "Diaz"));
  EXPECT_FALSE(Entity("Inca", "Jones"));
  EXPECT_FALSE(Entity("Grouper", ""));
  EXPECT_FALSE(Entity("Trusty", "McTrustface"));
  EXPECT_FALSE(Entity("Mary-Kate", "O'Brien"));
  EXPECT_FALSE(Entity("José", "Núñez"));
  EXPECT_FALSE(Entity("", ""));
}

TEST_F(MatchingTest, AmbiguousWordAloneInAColumnIsAPersonsName) {
  EXPECT_FALSE(Entity("Sarah", "Church"));
  EXPECT_FALSE(Entity("Tyra", "Bank"));
  EXPECT_FALSE(Entity("Charlotte", "Church"));
  // With other words in its column it marks an entity again.
  EXPECT_TRUE(Entity("Grace Community Church", ""));
  EXPECT_TRUE(Entity("Grace", "Community Church"));
  EXPECT_TRUE(Entity("Sarah", "Church LLC"));
  // The price of the rule: a split church name reads as a person (one wasted skip trace).
  EXPECT_FALSE(Entity("Grace Community", "Church"));
}

TEST_F(MatchingTest, CopiesShareTheCompiledMatchers) {
  const Workflow copy = *workflow_;
  EXPECT_EQ(copy.matchers, workflow_->matchers);
  EXPECT_EQ(ScoreTitle(copy, "Owner"), 100);
}

TEST(MatchingWithoutMatchersTest, HandBuiltWorkflowStillMatches) {
  Workflow w;
  w.role_scores.default_score = 7;
  w.role_scores.roles.push_back({"Owner", 100, {"Founder"}});
  w.entity_patterns = {"LLC"};
  EXPECT_EQ(ScoreTitle(w, "Founder"), 100);
  EXPECT_EQ(ScoreTitle(w, "Clerk"), 7);
  EXPECT_TRUE(IsEntityName(w, "Acme LLC", ""));
  EXPECT_FALSE(IsEntityName(w, "Al", "Lc"));
}

}  // namespace
}  // namespace nextier::workflows
