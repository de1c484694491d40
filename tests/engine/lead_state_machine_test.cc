// The lead state machine: every legal transition of DESIGN.md's table, and that nothing else is.
#include <gtest/gtest.h>

#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "nextier/engine/lead_state.h"
#include "testing/testing.h"

namespace nextier::engine {
namespace {

using S = LeadState;
using T = LeadTrigger;

struct Row {
  S from;
  T trigger;
  S to;
};

// Written out from DESIGN.md ("Shape") independently of the MSM table it checks.
const std::vector<Row>& LegalRows() {
  static const std::vector<Row> rows = {
      {S::kRaw, T::kEnrich, S::kEnriched},
      {S::kRaw, T::kReject, S::kRejected},
      {S::kRaw, T::kNoHit, S::kNoHit},
      {S::kEnriched, T::kQueue, S::kQueued},
      {S::kQueued, T::kSent, S::kSent},
      {S::kQueued, T::kDeliveryFailed, S::kFailed},
      {S::kSent, T::kDeliveryFailed, S::kFailed},
      {S::kSent, T::kReply, S::kResponded},
      {S::kSent, T::kGoldLabel, S::kGold},
      {S::kResponded, T::kGoldLabel, S::kGold},
      {S::kResponded, T::kNotInterested, S::kNotInterested},
      {S::kGold, T::kNotInterested, S::kNotInterested},
      {S::kCalled, T::kNotInterested, S::kNotInterested},
      {S::kGold, T::kCallCompleted, S::kCalled},
      {S::kGold, T::kBook, S::kBooked},
      {S::kCalled, T::kBook, S::kBooked},
      {S::kBooked, T::kCancelMeeting, S::kCalled},
      // Opt-out from every state from sent on.
      {S::kSent, T::kOptOut, S::kOptedOut},
      {S::kResponded, T::kOptOut, S::kOptedOut},
      {S::kGold, T::kOptOut, S::kOptedOut},
      {S::kCalled, T::kOptOut, S::kOptedOut},
      {S::kBooked, T::kOptOut, S::kOptedOut},
      {S::kNotInterested, T::kOptOut, S::kOptedOut},
      {S::kFailed, T::kOptOut, S::kOptedOut},
      // Legal and the state stays.
      {S::kResponded, T::kReply, S::kResponded},
      {S::kGold, T::kReply, S::kGold},
      {S::kCalled, T::kReply, S::kCalled},
      {S::kBooked, T::kReply, S::kBooked},
      {S::kNotInterested, T::kReply, S::kNotInterested},
      {S::kGold, T::kGoldLabel, S::kGold},
      {S::kCalled, T::kCallCompleted, S::kCalled},
      {S::kBooked, T::kCallCompleted, S::kBooked},
      {S::kBooked, T::kRescheduleMeeting, S::kBooked},
  };
  return rows;
}

std::string Describe(S from, T trigger) {
  return std::string(LeadStateName(from)) + " + " + std::string(LeadTriggerName(trigger));
}

TEST(LeadStateMachineTest, EveryLegalTransitionLeadsToItsTarget) {
  ASSERT_EQ(LegalRows().size(), 33u);
  for (const Row& row : LegalRows()) {
    SCOPED_TRACE(Describe(row.from, row.trigger));
    auto to = ApplyTrigger(row.from, row.trigger);
    ASSERT_OK(to);
    EXPECT_EQ(LeadStateName(*to), LeadStateName(row.to));
    EXPECT_TRUE(IsLegal(row.from, row.trigger));
  }
}

TEST(LeadStateMachineTest, EveryOtherTriggerIsAConflictNamingTheStateAndTheTrigger) {
  std::set<std::pair<S, T>> legal;
  for (const Row& row : LegalRows()) legal.insert({row.from, row.trigger});
  int illegal = 0;
  for (S from : kAllLeadStates) {
    for (T trigger : kAllLeadTriggers) {
      if (legal.count({from, trigger})) continue;
      SCOPED_TRACE(Describe(from, trigger));
      ++illegal;
      EXPECT_FALSE(IsLegal(from, trigger));
      auto to = ApplyTrigger(from, trigger);
      ASSERT_FALSE(to.ok());
      EXPECT_EQ(to.status().code(), StatusCode::kConflict);
      const std::string& msg = to.status().message();
      EXPECT_NE(msg.find("is " + std::string(LeadStateName(from)) + ":"), std::string::npos) << msg;
      EXPECT_NE(msg.find("cannot " + std::string(LeadTriggerName(trigger))), std::string::npos)
          << msg;
    }
  }
  EXPECT_EQ(illegal, 13 * 14 - 33);
}

TEST(LeadStateMachineTest, MainLineRunsFromRawToBooked) {
  S s = S::kRaw;
  for (T t :
       {T::kEnrich, T::kQueue, T::kSent, T::kReply, T::kGoldLabel, T::kCallCompleted, T::kBook}) {
    auto next = ApplyTrigger(s, t);
    ASSERT_OK(next);
    s = *next;
  }
  EXPECT_EQ(s, S::kBooked);
}

TEST(LeadStateMachineTest, BookingARawLeadIsAConflict) {
  auto r = ApplyTrigger(S::kRaw, T::kBook);
  ASSERT_EQ(r.status().code(), StatusCode::kConflict);
  EXPECT_EQ(r.status().message(), "lead is raw: cannot Book (raw allows Enrich, Reject, NoHit)");
}

TEST(LeadStateMachineTest, TextingOrQueueingAnOptedOutLeadIsAConflict) {
  for (T t : {T::kSent, T::kQueue}) {
    auto r = ApplyTrigger(S::kOptedOut, t);
    ASSERT_EQ(r.status().code(), StatusCode::kConflict);
    EXPECT_EQ(r.status().message(), "lead is opted_out: cannot " + std::string(LeadTriggerName(t)) +
                                        " (opted_out is final)");
  }
}

TEST(LeadStateMachineTest, EnrichingASentLeadIsAConflict) {
  auto r = ApplyTrigger(S::kSent, T::kEnrich);
  ASSERT_EQ(r.status().code(), StatusCode::kConflict);
  EXPECT_EQ(r.status().message(),
            "lead is sent: cannot Enrich (sent allows DeliveryFailed, Reply, GoldLabel, OptOut)");
}

TEST(LeadStateMachineTest, OptedOutIsTerminal) {
  for (T t : kAllLeadTriggers) {
    SCOPED_TRACE(LeadTriggerName(t));
    EXPECT_EQ(ApplyTrigger(S::kOptedOut, t).status().code(), StatusCode::kConflict);
  }
  EXPECT_EQ(LegalTriggerNames(S::kOptedOut), "");
}

TEST(LeadStateMachineTest, OptOutIsLegalFromSentOnAndNotBefore) {
  for (S s : {S::kRaw, S::kEnriched, S::kQueued, S::kRejected, S::kNoHit, S::kOptedOut}) {
    SCOPED_TRACE(LeadStateName(s));
    EXPECT_FALSE(IsLegal(s, T::kOptOut));
  }
  for (S s :
       {S::kSent, S::kResponded, S::kGold, S::kCalled, S::kBooked, S::kNotInterested, S::kFailed}) {
    SCOPED_TRACE(LeadStateName(s));
    auto r = ApplyTrigger(s, T::kOptOut);
    ASSERT_OK(r);
    EXPECT_EQ(*r, S::kOptedOut);
  }
}

TEST(LeadStateMachineTest, ABookedLeadStaysBookedWhenItsCallCompletesAndACancelReturnsItToCalled) {
  EXPECT_EQ(*ApplyTrigger(S::kBooked, T::kCallCompleted), S::kBooked);
  EXPECT_EQ(*ApplyTrigger(S::kBooked, T::kCancelMeeting), S::kCalled);
  EXPECT_EQ(ApplyTrigger(S::kCalled, T::kCancelMeeting).status().code(), StatusCode::kConflict);
}

TEST(LeadStateMachineTest, RejectedAndNoHitLeadsAcceptNothing) {
  EXPECT_EQ(LegalTriggerNames(S::kRejected), "");
  EXPECT_EQ(LegalTriggerNames(S::kNoHit), "");
}

TEST(LeadStateMachineTest, LegalTriggersAreListedInDeclarationOrder) {
  EXPECT_EQ(LegalTriggerNames(S::kGold),
            "Reply, GoldLabel, NotInterested, CallCompleted, Book, OptOut");
  EXPECT_EQ(LegalTriggerNames(S::kBooked),
            "Reply, CallCompleted, CancelMeeting, "
            "RescheduleMeeting, OptOut");
}

TEST(LeadStateNamesTest, StatesHaveApiNamesThatParseBack) {
  const std::vector<std::string> expected = {
      "raw",    "enriched", "queued", "sent",   "responded", "gold",          "called",
      "booked", "rejected", "no_hit", "failed", "opted_out", "not_interested"};
  ASSERT_EQ(kAllLeadStates.size(), expected.size());
  for (size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ(LeadStateName(kAllLeadStates[i]), expected[i]);
    auto parsed = ParseLeadState(expected[i]);
    ASSERT_OK(parsed);
    EXPECT_EQ(*parsed, kAllLeadStates[i]);
  }
}

TEST(LeadStateNamesTest, TriggersHaveNamesThatParseBack) {
  std::set<std::string_view> seen;
  for (T t : kAllLeadTriggers) {
    auto parsed = ParseLeadTrigger(LeadTriggerName(t));
    ASSERT_OK(parsed);
    EXPECT_EQ(*parsed, t);
    EXPECT_TRUE(seen.insert(LeadTriggerName(t)).second) << LeadTriggerName(t);
  }
  EXPECT_EQ(LeadTriggerName(T::kOptOut), "OptOut");
  EXPECT_EQ(LeadTriggerName(T::kQueue), "Queue");
}

TEST(LeadStateNamesTest, UnknownNamesAreInvalidArgumentsNamingTheText) {
  auto s = ParseLeadState("Opted_Out");
  ASSERT_EQ(s.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.status().message().find("'Opted_Out'"), std::string::npos);
  EXPECT_EQ(s.status().field(), "state");
  auto t = ParseLeadTrigger("Text");
  ASSERT_EQ(t.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(t.status().field(), "trigger");
}

}  // namespace
}  // namespace nextier::engine
