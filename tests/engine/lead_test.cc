// The lead fold: a stream of events -> the Lead value.
#include "nextier/engine/lead.h"

#include <gtest/gtest.h>

#include <memory>

#include "lead_events.h"
#include "testing/testing.h"

namespace nextier::engine {
namespace {

namespace es = nextier::eventstore;
using namespace test;  // NOLINT: the event helpers

// Folds `fills` in memory, each event stamped with the next version.
Lead FoldInMemory(std::initializer_list<Fill> fills, Lead lead = {}) {
  if (lead.stream.empty()) {
    lead.id = "9";
    lead.stream = "lead-9";
  }
  for (const auto& fill : fills) {
    es::NewEvent e;
    auto b = e.builder();
    b.setStreamId(lead.stream);
    b.setStreamVersion(lead.version + 1);
    b.setRecordedAt(1000 + static_cast<int64_t>(lead.version));
    fill(b);
    Apply(lead, b.asReader());
  }
  return lead;
}

class LeadFoldTest : public ::testing::Test {
 protected:
  void SetUp() override {
    es::LmdbOptions o;
    o.path = dir_.str();
    o.sync = false;
    auto s = es::OpenLmdbEventStore(o);
    ASSERT_OK(s);
    store_ = std::move(s).value();
  }
  void Append(std::initializer_list<Fill> fills, int64_t at, const char* workflow = "") {
    auto events = Events(fills, at);
    for (auto& e : events) {
      e.builder().setWorkflowId(workflow);
      e.builder().setWorkflowVersion(*workflow ? "v-abc" : "");
    }
    ASSERT_OK(store_->Append("lead-42", es::ExpectedVersion::Any(), std::move(events)));
  }

  nextier::testing::TempDir dir_;
  std::unique_ptr<es::EventStore> store_;
};

TEST_F(LeadFoldTest, FoldsAWholeJourneyFromARealStream) {
  Append({Imported("42")}, 100);
  Append({Enriched("NXT-000042")}, 200);
  Append({Queued("camp-7", 2, 3)}, 300, "real-estate-agents");
  Append({Intended("msg-key-1"), TimerScheduled("t-follow", "followup", 9000)}, 400);
  Append({SmsSent("msg-key-1", "sh-1")}, 500);
  Append({Delivered("sh-1")}, 600);
  Append({Reply("EMAIL"), GoldLabeled(650), TimerCancelled("t-follow")}, 700);
  Append({CallQueued("call-1"), CallAssigned("call-1", "agent:bob")}, 800);
  Append({CallCompleted("call-1", "booked"), MeetingBooked("meet-1", 5000),
          TimerScheduled("t-24h", "reminder", 4000), TimerScheduled("t-1h", "reminder", 4900)},
         900);
  Append({TimerFired("t-24h")}, 4000);

  auto loaded = LoadLead(*store_, "42");
  ASSERT_OK(loaded);
  const Lead& lead = *loaded;
  EXPECT_EQ(lead.id, "42");
  EXPECT_EQ(lead.stream, "lead-42");
  EXPECT_EQ(lead.state, LeadState::kBooked);
  EXPECT_EQ(lead.version, 17u);
  EXPECT_EQ(lead.file_id, "file-1");
  EXPECT_EQ(lead.row, 7u);
  EXPECT_EQ(lead.company, "Acme Realty");
  EXPECT_EQ(lead.title, "Owner");
  EXPECT_EQ(lead.role_score, 100);
  EXPECT_FALSE(lead.is_entity);
  EXPECT_EQ(lead.phone_hashes, (std::vector<std::string>{"phone-hash-1", "phone-hash-2"}));
  EXPECT_EQ(lead.email_hash, "email-hash-2");
  EXPECT_EQ(lead.name_key_hash, "name-key-1");
  EXPECT_EQ(lead.human_id, "NXT-000042");
  EXPECT_EQ(lead.campaign_id, "camp-7");
  EXPECT_EQ(lead.block_number, 2u);
  EXPECT_EQ(lead.batch_number, 3u);
  EXPECT_EQ(lead.workflow_id, "real-estate-agents");
  EXPECT_EQ(lead.workflow_version, "v-abc");
  EXPECT_EQ(lead.initial_message_key, "msg-key-1");
  EXPECT_EQ(lead.initial_message_id, "sh-1");
  EXPECT_EQ(lead.replies, 1u);
  EXPECT_EQ(lead.last_classification, "EMAIL");
  EXPECT_EQ(lead.gold_labeled_at, 650);
  EXPECT_EQ(lead.open_call_entry_id, "");
  EXPECT_EQ(lead.last_disposition, "booked");
  EXPECT_EQ(lead.meeting_id, "meet-1");
  EXPECT_EQ(lead.meeting_starts_at, 5000);
  ASSERT_EQ(lead.pending_timers.size(), 1u);
  EXPECT_EQ(lead.pending_timers[0].id, "t-1h");
  EXPECT_EQ(lead.pending_timers[0].kind, "reminder");
  EXPECT_EQ(lead.pending_timers[0].due_at, 4900);
  EXPECT_EQ(lead.created_at, 100);
  EXPECT_EQ(lead.updated_at, 4000);
  EXPECT_EQ(lead.inconsistent_events, 0u);
}

TEST_F(LeadFoldTest, AnOpenCallIsRememberedUntilItCompletes) {
  Append({Imported("42"), Enriched(), Queued(), SmsSent("k", "sh-1"), GoldLabeled()}, 100);
  Append({CallQueued("call-1"), CallAssigned("call-1", "agent:bob")}, 200);
  auto lead = LoadLead(*store_, "42");
  ASSERT_OK(lead);
  EXPECT_EQ(lead->state, LeadState::kGold);
  EXPECT_EQ(lead->open_call_entry_id, "call-1");
  EXPECT_EQ(lead->call_agent, "agent:bob");
}

TEST_F(LeadFoldTest, LoadingAMissingLeadIsNotFound) {
  auto lead = LoadLead(*store_, "404");
  ASSERT_EQ(lead.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(lead.status().message(), "lead lead-404 does not exist");
  EXPECT_EQ(LoadLead(*store_, "").status().code(), StatusCode::kInvalidArgument);
}

TEST(LeadApplyTest, TheOpenersDeliveryFailureFailsTheLeadAndAFollowUpsDoesNot) {
  Lead sent =
      FoldInMemory({Imported(), Enriched(), Queued(), Intended("k-open"),
                    SmsSent("k-open", "sh-open"), SmsSent("k-follow", "sh-follow", "followup")});
  EXPECT_EQ(sent.state, LeadState::kSent);
  EXPECT_EQ(sent.initial_message_id, "sh-open");
  EXPECT_EQ(FoldInMemory({DeliveryFailed("sh-follow")}, sent).state, LeadState::kSent);
  EXPECT_EQ(FoldInMemory({DeliveryFailed("sh-open")}, sent).state, LeadState::kFailed);
}

TEST(LeadApplyTest, OnlyAPermanentSendFailureOfTheOpenerFailsAQueuedLead) {
  Lead queued = FoldInMemory({Imported(), Enriched(), Queued(), Intended("k-open")});
  EXPECT_EQ(queued.state, LeadState::kQueued);
  EXPECT_EQ(FoldInMemory({SendFailed("k-open", false)}, queued).state, LeadState::kQueued);
  EXPECT_EQ(FoldInMemory({SendFailed("k-other", true)}, queued).state, LeadState::kQueued);
  EXPECT_EQ(FoldInMemory({SendFailed("k-open", true)}, queued).state, LeadState::kFailed);
}

TEST(LeadApplyTest, ACancelledMeetingReturnsTheLeadToCalledAndForgetsTheMeeting) {
  Lead lead = FoldInMemory({Imported(), Enriched(), Queued(), SmsSent("k", "sh"), Reply(),
                            Responded(), GoldLabeled(), MeetingBooked("meet-1", 5000),
                            MeetingRescheduled("meet-1", 6000)});
  EXPECT_EQ(lead.state, LeadState::kBooked);
  EXPECT_EQ(lead.meeting_starts_at, 6000);
  lead = FoldInMemory({MeetingCancelled("meet-1")}, lead);
  EXPECT_EQ(lead.state, LeadState::kCalled);
  EXPECT_EQ(lead.meeting_id, "");
  EXPECT_EQ(lead.meeting_starts_at, 0);
}

TEST(LeadApplyTest, AnIllegalEventInTheHistoryLeavesTheStateAndIsCounted) {
  Lead lead = FoldInMemory({Imported(), MeetingBooked("meet-1", 5000), Enriched()});
  EXPECT_EQ(lead.state, LeadState::kEnriched);
  EXPECT_EQ(lead.version, 3u);
  EXPECT_EQ(lead.inconsistent_events, 1u);
  EXPECT_EQ(lead.first_inconsistency,
            "version 2: lead is raw: cannot Book (raw allows Enrich, Reject, NoHit)");
}

TEST(LeadApplyTest, ApplyCheckedRefusesAnIllegalEventAndLeavesTheLeadUntouched) {
  Lead lead = FoldInMemory({Imported(), Enriched(), Queued(), SmsSent("k", "sh"), OptedOut()});
  ASSERT_EQ(lead.state, LeadState::kOptedOut);
  es::NewEvent e;
  Queued()(e.builder());
  const uint64_t version = lead.version;
  Status s = ApplyChecked(lead, e.builder().asReader());
  ASSERT_EQ(s.code(), StatusCode::kConflict);
  EXPECT_EQ(s.message(),
            "lead lead-9 is opted_out: cannot Queue (opted_out is final) [LeadQueued]");
  EXPECT_EQ(lead.version, version);
  EXPECT_EQ(lead.state, LeadState::kOptedOut);

  es::NewEvent again;
  Imported()(again.builder());
  EXPECT_EQ(ApplyChecked(lead, again.builder().asReader()).message(), "lead lead-9 already exists");
}

TEST(LeadApplyTest, EachStateChangingEventMapsToItsTrigger) {
  Lead lead;
  lead.initial_message_key = "k-open";
  lead.initial_message_id = "sh-open";
  struct Case {
    Fill fill;
    std::optional<LeadTrigger> trigger;
  };
  const std::vector<Case> cases = {
      {Imported(), std::nullopt},
      {Rejected(), LeadTrigger::kReject},
      {Enriched(), LeadTrigger::kEnrich},
      {Queued(), LeadTrigger::kQueue},
      {Intended("k-open"), std::nullopt},
      {SmsSent("k-open", "sh-open"), LeadTrigger::kSent},
      {SmsSent("k-2", "sh-2", "followup"), std::nullopt},
      {SendFailed("k-open", true), LeadTrigger::kDeliveryFailed},
      {Delivered("sh-open"), std::nullopt},
      {DeliveryFailed("sh-open"), LeadTrigger::kDeliveryFailed},
      {DeliveryFailed("sh-2"), std::nullopt},
      {Reply(), std::nullopt},
      {Responded(), LeadTrigger::kReply},
      {GoldLabeled(), LeadTrigger::kGoldLabel},
      {OptedOut(), LeadTrigger::kOptOut},
      {NotInterested(), LeadTrigger::kNotInterested},
      {CallQueued("c"), std::nullopt},
      {CallAssigned("c", "a"), std::nullopt},
      {CallCompleted("c", "no_answer"), LeadTrigger::kCallCompleted},
      {MeetingBooked("m", 1), LeadTrigger::kBook},
      {MeetingCancelled("m"), LeadTrigger::kCancelMeeting},
      {MeetingRescheduled("m", 2), LeadTrigger::kRescheduleMeeting},
      {TimerScheduled("t", "followup", 1), std::nullopt},
      {TimerFired("t"), std::nullopt},
  };
  for (const auto& c : cases) {
    es::NewEvent e;
    c.fill(e.builder());
    SCOPED_TRACE(es::PayloadTypeName(e.builder().getPayload().which()));
    EXPECT_EQ(TriggerOf(lead, e.builder().asReader()), c.trigger);
  }
}

}  // namespace
}  // namespace nextier::engine
