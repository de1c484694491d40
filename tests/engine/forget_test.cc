// Forgetting a lead: LeadForgotten with its effects (timers cancelled, the call entry closed)
// appended first, the keys destroyed second; a repeat appends nothing and destroys what a crash
// left; the orphan replies from the lead's numbers go with it; the log still verifies.
#include "nextier/engine/forget.h"

#include <capnp/message.h>
#include <capnp/serialize.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "nextier/engine/call_queue.h"
#include "nextier/engine/lead.h"
#include "nextier/engine/lead_commands.h"
#include "nextier/engine/timers.h"
#include "nextier/projections/sending.h"
#include "testing/testing.h"

namespace nextier::engine {
namespace {

namespace es = nextier::eventstore;
namespace pj = nextier::projections;

// 2026-11-28T15:00:00Z.
constexpr Micros kStart = Micros{1'795'878'000} * kMicrosPerSecond;
constexpr char kPhone[] = "+12122340101";
constexpr char kOtherPhone[] = "+12122340202";

capnp::Data::Reader Bytes(const std::string& s) {
  return capnp::Data::Reader(reinterpret_cast<const capnp::byte*>(s.data()), s.size());
}
std::string Str(capnp::Data::Reader d) {
  return std::string(reinterpret_cast<const char*>(d.begin()), d.size());
}

class ForgetTest : public ::testing::Test {
 protected:
  void SetUp() override {
    es::LmdbOptions o;
    o.path = dir_.str() + "/log";
    o.sync = false;
    auto store = es::OpenLmdbEventStore(o);
    ASSERT_OK(store);
    store_ = std::move(store).value();
    handler_ = std::make_unique<LeadCommandHandler>(*store_, clock_);
    service_ = std::make_unique<ForgetService>(*store_, *handler_);
  }

  std::string PhoneHash(const std::string& phone) {
    return store_->keys().BlindIndex(pj::kPhonePurpose, phone);
  }

  // Lead `id` with a sealed name and number, a pending follow-up timer and an open call entry.
  void ImportLead(const std::string& id) {
    LeadCommand create;
    create.lead_id = id;
    create.actor = "test";
    create.build = [&](const Lead&, LeadEvents& out) {
      auto e = out.Add();
      auto sealed = out.SealPersonal(e, [&](es::schema::Personal::Builder p) {
        p.setFirstName("Pat");
        p.setLastName("Smith");
        p.initPhones(1).set(0, kPhone);
        p.setEmail("pat@example.com");
      });
      if (!sealed.ok()) return sealed.status();
      auto li = e.getPayload().initLeadImported();
      li.setLeadId(id);
      li.setPersonal(Bytes(*sealed));
      li.initPhoneHashes(1).set(0, Bytes(PhoneHash(kPhone)));
      return Status::Ok();
    };
    ASSERT_OK(handler_->Create(create));
    LeadCommand more;
    more.lead_id = id;
    more.actor = "test";
    more.build = [&](const Lead& lead, LeadEvents& out) {
      out.events().push_back(MakeTimerScheduled(
          "sms:followup:" + id, kStart + 3600 * kMicrosPerSecond, "sms", lead.stream, "{}"));
      out.events().push_back(MakeCallQueued("call-" + id + "-1", 1.0, "", "gold_label"));
      return Status::Ok();
    };
    ASSERT_OK(handler_->Execute(more));
  }

  // An orphan reply from `phone`, sealed under "orphan:<id>"; returns the subject.
  std::string AppendOrphan(const std::string& id, const std::string& phone) {
    const std::string subject = "orphan:" + id;
    capnp::MallocMessageBuilder m;
    auto p = m.initRoot<es::schema::Personal>();
    p.setFromNumber(phone);
    p.setBody("who is this?");
    auto words = capnp::messageToFlatArray(m);
    auto bytes = words.asBytes();
    auto sealed = store_->keys().Seal(
        subject, std::string_view(reinterpret_cast<const char*>(bytes.begin()), bytes.size()));
    EXPECT_OK(sealed);
    std::vector<es::NewEvent> v(1);
    v[0].builder().setKeySubject(subject);
    auto r = v[0].builder().getPayload().initReplyReceived();
    r.setProviderMessageId(id);
    r.setPersonal(Bytes(*sealed));
    r.setFromHash(Bytes(PhoneHash(phone)));
    EXPECT_OK(store_->Append(std::string(kOrphanRepliesStream), es::ExpectedVersion::Any(),
                             std::move(v)));
    return subject;
  }

  // The sealed personal bytes of the lead's LeadImported.
  std::string ImportedPersonal(const std::string& id) {
    std::string sealed;
    EXPECT_OK(store_->ReadStream(LeadStreamId(id), 1, 1, [&](const es::EventView& v) {
      sealed = Str(v.event().getPayload().getLeadImported().getPersonal());
      return false;
    }));
    return sealed;
  }

  std::vector<std::string> Types(const std::string& id) {
    std::vector<std::string> out;
    EXPECT_OK(store_->ReadStream(LeadStreamId(id), 1, SIZE_MAX, [&](const es::EventView& v) {
      out.emplace_back(v.event().getType().cStr());
      return true;
    }));
    return out;
  }

  nextier::testing::TempDir dir_;
  SimulatedClock clock_{kStart};
  std::unique_ptr<es::EventStore> store_;
  std::unique_ptr<LeadCommandHandler> handler_;
  std::unique_ptr<ForgetService> service_;
};

TEST_F(ForgetTest, AppendsLeadForgottenWithItsEffectsThenDestroysTheKey) {
  ImportLead("7");
  const std::string sealed = ImportedPersonal("7");
  ASSERT_OK(store_->keys().Open("lead-7", sealed));  // readable before
  clock_.AdvanceTo(clock_.Now() + 60 * kMicrosPerSecond);

  auto out = service_->Forget("7", "admin:alice");
  ASSERT_OK(out);
  EXPECT_EQ(out->lead_id, "7");
  EXPECT_FALSE(out->already);
  EXPECT_EQ(out->at, clock_.Now());
  EXPECT_EQ(out->subjects, std::vector<std::string>{"lead-7"});

  // One unit: the LeadForgotten, the timer cancelled, the call entry closed.
  const auto types = Types("7");
  ASSERT_EQ(types.size(), 6u);
  EXPECT_EQ(types[3], "LeadForgotten");
  EXPECT_EQ(types[4], "TimerCancelled");
  EXPECT_EQ(types[5], "CallClosed");
  EXPECT_OK(store_->ReadStream("lead-7", 4, 3, [&](const es::EventView& v) {
    const auto e = v.event();
    EXPECT_EQ(std::string(e.getActor().cStr()), "admin:alice");
    EXPECT_EQ(std::string(e.getCommandId().cStr()), "forget:7");
    if (e.getPayload().isLeadForgotten()) {
      EXPECT_EQ(v.seq(), out->seq);
      EXPECT_EQ(std::string(e.getPayload().getLeadForgotten().getReason().cStr()), "request");
    }
    if (e.getPayload().isTimerCancelled()) {
      EXPECT_EQ(std::string(e.getPayload().getTimerCancelled().getTimerId().cStr()),
                "sms:followup:7");
    }
    if (e.getPayload().isCallClosed()) {
      EXPECT_EQ(std::string(e.getPayload().getCallClosed().getReason().cStr()), "forgotten");
    }
    return true;
  }));

  // The key is gone for good: the sealed data reads as erased, and nothing new can be sealed.
  EXPECT_TRUE(store_->keys().IsForgotten("lead-7"));
  auto opened = store_->keys().Open("lead-7", sealed);
  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(opened.status().code(), StatusCode::kNotFound);
  EXPECT_FALSE(store_->keys().Seal("lead-7", "x").ok());

  auto lead = LoadLead(*store_, "7");
  ASSERT_OK(lead);
  EXPECT_TRUE(lead->forgotten);
  EXPECT_TRUE(lead->pending_timers.empty());
  EXPECT_TRUE(lead->open_call_entry_id.empty());
  // Blind indexes do not hang on the lead's key: the number still hashes the same.
  EXPECT_EQ(lead->phone_hashes, std::vector<std::string>{PhoneHash(kPhone)});

  // The chain covers the ciphertext, not the key: the log verifies.
  auto report = store_->Verify();
  ASSERT_OK(report);
  EXPECT_TRUE(report->ok) << report->problem;
}

TEST_F(ForgetTest, ForgettingAgainAppendsNothingAndAnswersWithTheOriginalTime) {
  ImportLead("7");
  auto first = service_->Forget("7", "admin:alice");
  ASSERT_OK(first);
  const uint64_t head = store_->Head();
  clock_.AdvanceTo(clock_.Now() + 3600 * kMicrosPerSecond);
  auto again = service_->Forget("7", "cli:bob");
  ASSERT_OK(again);
  EXPECT_TRUE(again->already);
  EXPECT_EQ(again->at, first->at);
  EXPECT_EQ(again->seq, first->seq);
  EXPECT_EQ(store_->Head(), head);
  EXPECT_EQ(Types("7").size(), 6u);
}

TEST_F(ForgetTest, AnUnknownLeadIsNotFoundAndAnEmptyIdIsInvalid) {
  auto unknown = service_->Forget("nope", "admin:alice");
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.status().code(), StatusCode::kNotFound);
  auto empty = service_->Forget("", "admin:alice");
  ASSERT_FALSE(empty.ok());
  EXPECT_EQ(empty.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(store_->Head(), 0u);
}

TEST_F(ForgetTest, ARepeatDestroysTheKeyACrashAfterTheAppendLeftBehind) {
  ImportLead("7");
  // What a crash between the append and the destruction leaves: the event, and the key.
  std::vector<es::NewEvent> v(1);
  v[0].builder().getPayload().initLeadForgotten().setReason("request");
  ASSERT_OK(store_->Append("lead-7", es::ExpectedVersion::Any(), std::move(v)));
  ASSERT_FALSE(store_->keys().IsForgotten("lead-7"));
  ASSERT_OK(store_->keys().Open("lead-7", ImportedPersonal("7")));

  auto out = service_->Forget("7", "admin:alice");
  ASSERT_OK(out);
  EXPECT_TRUE(out->already);
  EXPECT_TRUE(store_->keys().IsForgotten("lead-7"));
  EXPECT_FALSE(store_->keys().Open("lead-7", ImportedPersonal("7")).ok());
}

TEST_F(ForgetTest, OrphanRepliesFromTheLeadsNumberAreForgottenWithIt) {
  const std::string mine = AppendOrphan("in-1", kPhone);
  const std::string other = AppendOrphan("in-2", kOtherPhone);
  ImportLead("7");
  auto out = service_->Forget("7", "admin:alice");
  ASSERT_OK(out);
  EXPECT_EQ(out->subjects, (std::vector<std::string>{"lead-7", mine}));
  EXPECT_TRUE(store_->keys().IsForgotten(mine));
  EXPECT_FALSE(store_->keys().IsForgotten(other)) << "another number's reply stays readable";
  // The event names the subject, so a replay after a crash destroys it too.
  std::vector<std::string> named;
  EXPECT_OK(store_->ReadStream("lead-7", 1, SIZE_MAX, [&](const es::EventView& v) {
    if (!v.event().getPayload().isLeadForgotten()) return true;
    for (auto s : v.event().getPayload().getLeadForgotten().getSubjects()) {
      named.emplace_back(s.cStr());
    }
    return true;
  }));
  EXPECT_EQ(named, std::vector<std::string>{mine});
}

}  // namespace
}  // namespace nextier::engine
