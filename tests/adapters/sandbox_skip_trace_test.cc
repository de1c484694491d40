#include "nextier/adapters/sandbox_skip_trace.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "nextier/engine/providers.h"
#include "nextier/engine/send_window.h"
#include "testing/testing.h"

namespace nextier::adapters {
namespace {

using engine::SkipTraceAnswer;
using engine::SkipTraceQuery;

SkipTraceQuery Person(std::string first, std::string last, std::string state = "NY") {
  SkipTraceQuery q;
  q.first_name = std::move(first);
  q.last_name = std::move(last);
  q.street = "1 Main St";
  q.city = "Somewhere";
  q.state = std::move(state);
  q.zip = "10001";
  return q;
}

// 50 x 40 = 2,000 distinct names.
std::vector<SkipTraceQuery> People(const std::string& state) {
  const char* firsts[] = {"James",   "Mary",     "Robert",      "Patricia",  "John",    "Jennifer",
                          "Michael", "Linda",    "David",       "Elizabeth", "William", "Barbara",
                          "Richard", "Susan",    "Joseph",      "Jessica",   "Thomas",  "Sarah",
                          "Charles", "Karen",    "Christopher", "Lisa",      "Daniel",  "Nancy",
                          "Matthew", "Betty",    "Anthony",     "Sandra",    "Mark",    "Margaret",
                          "Donald",  "Ashley",   "Steven",      "Kimberly",  "Paul",    "Emily",
                          "Andrew",  "Donna",    "Joshua",      "Michelle",  "Kenneth", "Carol",
                          "Kevin",   "Amanda",   "Brian",       "Melissa",   "George",  "Deborah",
                          "Timothy", "Stephanie"};
  const char* lasts[] = {"Smith",    "Johnson", "Williams",  "Brown",    "Jones",     "Garcia",
                         "Miller",   "Davis",   "Rodriguez", "Martinez", "Hernandez", "Lopez",
                         "Gonzalez", "Wilson",  "Anderson",  "Thomas",   "Taylor",    "Moore",
                         "Jackson",  "Martin",  "Lee",       "Perez",    "Thompson",  "White",
                         "Harris",   "Sanchez", "Clark",     "Ramirez",  "Lewis",     "Robinson",
                         "Walker",   "Young",   "Allen",     "King",     "Wright",    "Scott",
                         "Torres",   "Nguyen",  "Hill",      "Flores"};
  std::vector<SkipTraceQuery> people;
  for (const char* f : firsts) {
    for (const char* l : lasts) people.push_back(Person(f, l, state));
  }
  return people;
}

bool SameAnswer(const SkipTraceAnswer& a, const SkipTraceAnswer& b) {
  if (a.phones.size() != b.phones.size() || a.emails != b.emails) return false;
  for (size_t i = 0; i < a.phones.size(); ++i) {
    const auto& p = a.phones[i];
    const auto& q = b.phones[i];
    if (p.number != q.number || p.type != q.type || p.connected != q.connected ||
        p.do_not_call != q.do_not_call) {
      return false;
    }
  }
  return true;
}

TEST(SandboxSkipTraceTest, IsNamedSandbox) {
  SandboxSkipTrace provider;
  EXPECT_EQ(provider.name(), "sandbox");
}

TEST(SandboxSkipTraceTest, SameNameSameAnswer) {
  SandboxSkipTrace a;
  SandboxSkipTrace b;
  for (const SkipTraceQuery& q : People("TX")) {
    auto first = a.Lookup(q);
    auto second = b.Lookup(q);
    ASSERT_OK(first);
    ASSERT_OK(second);
    EXPECT_TRUE(SameAnswer(*first, *second)) << q.first_name << " " << q.last_name;
  }
  // Case and surrounding spaces do not change who a person is.
  auto plain = a.Lookup(Person("John", "Smith"));
  auto shouted = a.Lookup(Person("  JOHN ", "SMITH"));
  ASSERT_OK(plain);
  ASSERT_OK(shouted);
  EXPECT_TRUE(SameAnswer(*plain, *shouted));
}

TEST(SandboxSkipTraceTest, FindsAboutEightyFivePercent) {
  SandboxSkipTrace provider;
  int hits = 0;
  int with_landline = 0;
  int with_dnc = 0;
  int with_email = 0;
  const std::vector<SkipTraceQuery> people = People("CA");
  for (const SkipTraceQuery& q : people) {
    auto answer = provider.Lookup(q);
    ASSERT_OK(answer);
    if (answer->phones.empty()) {
      EXPECT_TRUE(answer->emails.empty());
      continue;
    }
    ++hits;
    // Exactly one usable mobile, listed last, and it is what ChooseSkipTracePhone picks.
    const auto& mobile = answer->phones.back();
    EXPECT_EQ(mobile.type, "mobile");
    EXPECT_TRUE(mobile.connected);
    EXPECT_FALSE(mobile.do_not_call);
    auto chosen = engine::ChooseSkipTracePhone(*answer);
    ASSERT_TRUE(chosen.has_value());
    EXPECT_EQ(chosen->number, mobile.number);
    for (const auto& p : answer->phones) {
      if (p.type == "landline") ++with_landline;
      if (p.do_not_call) ++with_dnc;
    }
    if (!answer->emails.empty()) {
      ++with_email;
      EXPECT_NE(answer->emails[0].find("@example."), std::string::npos) << answer->emails[0];
    }
  }
  const double rate = 100.0 * hits / static_cast<double>(people.size());
  EXPECT_GE(rate, 80.0);
  EXPECT_LE(rate, 90.0);
  // The extras appear, rarely.
  EXPECT_GT(with_landline, 0);
  EXPECT_LT(with_landline, hits / 10);
  EXPECT_GT(with_dnc, 0);
  EXPECT_LT(with_dnc, hits / 10);
  EXPECT_GT(with_email, hits / 5);
  EXPECT_LT(with_email, hits * 3 / 5);
}

TEST(SandboxSkipTraceTest, NumbersAreValidAndInTheLeadsState) {
  SandboxSkipTrace provider(100);
  for (const char* state : {"NY", "CA", "TX", "FL", "AK", "HI", "IL", "az", "DC", "PR"}) {
    std::string upper = state;
    std::transform(upper.begin(), upper.end(), upper.begin(),
                   [](char c) { return c >= 'a' && c <= 'z' ? static_cast<char>(c - 32) : c; });
    const std::vector<std::string> codes = engine::AreaCodesForState(upper);
    ASSERT_FALSE(codes.empty()) << state;
    const std::vector<SkipTraceQuery> people = People(state);
    for (size_t i = 0; i < people.size(); i += 20) {
      auto answer = provider.Lookup(people[i]);
      ASSERT_OK(answer);
      ASSERT_FALSE(answer->phones.empty()) << state;
      for (const auto& p : answer->phones) {
        ASSERT_EQ(p.number.size(), 12u) << p.number;
        // StateForPhone answers only for numbers libphonenumber holds valid.
        EXPECT_EQ(engine::StateForPhone(p.number), upper) << p.number;
        const std::string code = p.number.substr(2, 3);
        EXPECT_NE(std::find(codes.begin(), codes.end(), code), codes.end()) << p.number;
        EXPECT_NE(p.number.substr(5, 3), "555") << p.number;
      }
    }
  }
}

TEST(SandboxSkipTraceTest, UnknownStateStillGivesValidUsNumbers) {
  SandboxSkipTrace provider(100);
  for (const char* state : {"", "ZZ", "Ontario"}) {
    for (const SkipTraceQuery& q : {Person("Ann", "Lee", state), Person("Bo", "Diaz", state)}) {
      auto answer = provider.Lookup(q);
      ASSERT_OK(answer);
      ASSERT_FALSE(answer->phones.empty());
      for (const auto& p : answer->phones) EXPECT_NE(engine::StateForPhone(p.number), "");
    }
  }
}

TEST(SandboxSkipTraceTest, NeverFindsACompany) {
  SandboxSkipTrace provider(100);
  SkipTraceQuery company = Person("John", "Smith");
  company.is_entity = true;
  auto answer = provider.Lookup(company);
  ASSERT_OK(answer);
  EXPECT_TRUE(answer->phones.empty());
  EXPECT_TRUE(answer->emails.empty());

  answer = provider.Lookup(Person("", " "));
  ASSERT_OK(answer);
  EXPECT_TRUE(answer->phones.empty());

  // One name is still a person.
  answer = provider.Lookup(Person("", "Smith"));
  ASSERT_OK(answer);
  EXPECT_FALSE(answer->phones.empty());
}

TEST(SandboxSkipTraceTest, HitRateKnobOnlyTurnsHitsIntoMisses) {
  SandboxSkipTrace none(0);
  SandboxSkipTrace some(50);
  SandboxSkipTrace usual;
  int some_hits = 0;
  for (const SkipTraceQuery& q : People("NY")) {
    auto n = none.Lookup(q);
    auto s = some.Lookup(q);
    auto u = usual.Lookup(q);
    ASSERT_OK(n);
    ASSERT_OK(s);
    ASSERT_OK(u);
    EXPECT_TRUE(n->phones.empty());
    if (!s->phones.empty()) {
      ++some_hits;
      EXPECT_TRUE(SameAnswer(*s, *u));
    }
  }
  EXPECT_GT(some_hits, 800);
  EXPECT_LT(some_hits, 1200);
}

}  // namespace
}  // namespace nextier::adapters
