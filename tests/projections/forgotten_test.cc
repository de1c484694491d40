// What the read models do when a lead is forgotten: the forgotten projection destroys the keys a
// LeadForgotten names (so a crash between the append and the destruction is repaired by the
// next catch-up, and no checkpoint passes an event whose key survives), the lead index lets go
// of the person (a new file imports them again), the suppression list still knows their
// opted-out number by blind index, the personal fields of leads, replies and gold labels read
// as empty, meeting reminders are cancelled — and all of it again after a rebuild.
#include "nextier/projections/forgotten.h"

#include <capnp/message.h>
#include <capnp/serialize.h>
#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "nextier/projections/calls_meetings.h"
#include "nextier/projections/lead_index.h"
#include "nextier/projections/leads.h"
#include "nextier/projections/responses.h"
#include "nextier/projections/sending.h"
#include "testing/testing.h"

namespace nextier::projections {
namespace {

namespace es = nextier::eventstore;

constexpr char kPhone[] = "+12122340101";
constexpr int64_t kAt = int64_t{1'795'878'000} * 1'000'000;  // 2026-11-28T15:00:00Z

capnp::Data::Reader Bytes(const std::string& s) {
  return capnp::Data::Reader(reinterpret_cast<const capnp::byte*>(s.data()), s.size());
}

// The store's key ring, whose Forget can be made to fail (a full disk, a read-only store).
class FailingKeyRing final : public es::KeyRing {
 public:
  explicit FailingKeyRing(es::KeyRing& real) : real_(real) {}
  Result<std::string> Seal(std::string_view s, std::string_view p) override {
    return real_.Seal(s, p);
  }
  Result<std::string> Open(std::string_view s, std::string_view b) override {
    return real_.Open(s, b);
  }
  Status Forget(std::string_view s) override {
    if (fail) return Status::Unavailable("the store is open read-only");
    return real_.Forget(s);
  }
  bool IsForgotten(std::string_view s) override { return real_.IsForgotten(s); }
  std::string BlindIndex(std::string_view purpose, std::string_view value) const override {
    return real_.BlindIndex(purpose, value);
  }
  std::atomic<bool> fail{false};

 private:
  es::KeyRing& real_;
};

class ForgottenTest : public ::testing::Test {
 protected:
  void SetUp() override {
    es::LmdbOptions lo;
    lo.path = dir_.str() + "/log";
    lo.sync = false;
    log_ = es::OpenLmdbEventStore(lo).value();
    keys_ = std::make_unique<FailingKeyRing>(log_->keys());
    ReadModelOptions ro;
    ro.path = dir_.str() + "/models";
    ro.sync = false;
    models_ = ReadModelStore::Open(ro).value();
    forgotten_ = ForgottenProjection::Open(*models_, *keys_).value();
    index_ = LeadIndexProjection::Open(*models_).value();
    leads_ = LeadsProjection::Open(*models_, log_->keys()).value();
    responses_ = ResponsesProjection::Open(*models_, log_->keys()).value();
    suppression_ = SuppressionProjection::Open(*models_).value();
    meetings_ = MeetingsProjection::Open(*models_).value();
    runner_ = std::make_unique<ProjectionRunner>(*log_, *models_);
    for (Projection* p : std::initializer_list<Projection*>{forgotten_.get(), index_.get(),
                                                            leads_.get(), responses_.get(),
                                                            suppression_.get(), meetings_.get()}) {
      ASSERT_OK(runner_->Add(*p));
    }
  }

  std::string PhoneHash(const std::string& phone) {
    return log_->keys().BlindIndex(kPhonePurpose, phone);
  }

  std::string Seal(const std::string& subject,
                   const std::function<void(es::schema::Personal::Builder)>& fill) {
    capnp::MallocMessageBuilder m;
    fill(m.initRoot<es::schema::Personal>());
    auto words = capnp::messageToFlatArray(m);
    auto bytes = words.asBytes();
    auto sealed = log_->keys().Seal(
        subject, std::string_view(reinterpret_cast<const char*>(bytes.begin()), bytes.size()));
    EXPECT_OK(sealed);
    return sealed.ok() ? *sealed : std::string();
  }

  // Appends one event to `stream`, filled by `fill`; `subject` becomes its keySubject.
  void Append(const std::string& stream,
              const std::function<void(es::schema::Event::Builder)>& fill,
              const std::string& subject = {}) {
    std::vector<es::NewEvent> v(1);
    v[0].builder().setRecordedAt(kAt);
    v[0].builder().setActor("admin:alice");
    if (!subject.empty()) v[0].builder().setKeySubject(subject);
    fill(v[0].builder());
    ASSERT_OK(log_->Append(stream, es::ExpectedVersion::Any(), std::move(v)));
  }

  void Import(const std::string& id, const std::string& phone, const std::string& first_name) {
    const std::string stream = "lead-" + id;
    const std::string sealed = Seal(stream, [&](es::schema::Personal::Builder p) {
      p.setFirstName(first_name);
      p.setLastName("Smith");
      p.initPhones(1).set(0, phone);
    });
    const std::string hash = PhoneHash(phone);
    const std::string name_key = log_->keys().BlindIndex("lead.name_key", first_name + " smith");
    Append(
        stream,
        [&](es::schema::Event::Builder b) {
          auto li = b.getPayload().initLeadImported();
          li.setLeadId(id);
          li.setPersonal(Bytes(sealed));
          li.initPhoneHashes(1).set(0, Bytes(hash));
          li.setNameKeyHash(Bytes(name_key));
        },
        stream);
  }

  // A reply with an email (a gold label), then an opt-out, from the lead's number.
  void ReplyAndOptOut(const std::string& id, const std::string& phone) {
    const std::string stream = "lead-" + id;
    const std::string reply = Seal(stream, [&](es::schema::Personal::Builder p) {
      p.setFromNumber(phone);
      p.setBody("yes, write to pat@example.com");
      p.setRawBody("{\"messageBody\":\"yes, write to pat@example.com\"}");
      p.setEmail("pat@example.com");
    });
    Append(
        stream,
        [&](es::schema::Event::Builder b) {
          auto r = b.getPayload().initReplyReceived();
          r.setProviderMessageId("in-" + id);
          r.setLeadId(id);
          r.setClassification("EMAIL");
          r.setGoldLabel(true);
          r.setPersonal(Bytes(reply));
          r.setFromHash(Bytes(PhoneHash(phone)));
        },
        stream);
    const std::string gold = Seal(stream, [&](es::schema::Personal::Builder p) {
      p.setEmail("pat@example.com");
      p.initPhones(1).set(0, phone);
    });
    Append(
        stream,
        [&](es::schema::Event::Builder b) {
          auto g = b.getPayload().initLeadGoldLabeled();
          g.setPersonal(Bytes(gold));
          g.setPhoneVerified(true);
          g.setGoldLabeledAt(kAt);
        },
        stream);
    Append(stream, [&](es::schema::Event::Builder b) {
      auto o = b.getPayload().initLeadOptedOut();
      o.setSource("reply");
      o.setPhoneHash(Bytes(PhoneHash(phone)));
    });
  }

  // LeadForgotten on lead `id`, as the engine appends it, naming `subjects`; the keys are NOT
  // destroyed here (what a crash right after the append leaves).
  void AppendForgotten(const std::string& id, const std::vector<std::string>& subjects = {}) {
    Append("lead-" + id, [&](es::schema::Event::Builder b) {
      auto f = b.getPayload().initLeadForgotten();
      f.setReason("request");
      auto list = f.initSubjects(static_cast<unsigned>(subjects.size()));
      for (size_t i = 0; i < subjects.size(); ++i) list.set(static_cast<unsigned>(i), subjects[i]);
    });
  }

  // Everything personal the read models show about the lead, concatenated.
  std::string Shown(const std::string& id) {
    std::string out;
    auto lead = leads_->Get(id);
    EXPECT_OK(lead);
    if (lead.ok()) {
      out += lead->first_name + lead->last_name + lead->full_name + lead->email;
      for (const auto& p : lead->phones) out += p;
    }
    std::optional<std::string> next;
    auto replies = responses_->List({}, 100, "", &next);
    EXPECT_OK(replies);
    for (const auto& r : *replies) {
      if (r.lead_id == id) out += r.from + r.body + r.email;
    }
    auto gold = responses_->GoldLabels(100, "", &next);
    EXPECT_OK(gold);
    for (const auto& g : *gold) {
      if (g.lead_id == id) out += g.email + g.phone;
    }
    return out;
  }

  nextier::testing::TempDir dir_;
  std::unique_ptr<es::EventStore> log_;
  std::unique_ptr<FailingKeyRing> keys_;
  std::unique_ptr<ReadModelStore> models_;
  std::unique_ptr<ForgottenProjection> forgotten_;
  std::unique_ptr<LeadIndexProjection> index_;
  std::unique_ptr<LeadsProjection> leads_;
  std::unique_ptr<ResponsesProjection> responses_;
  std::unique_ptr<SuppressionProjection> suppression_;
  std::unique_ptr<MeetingsProjection> meetings_;
  std::unique_ptr<ProjectionRunner> runner_;
};

TEST_F(ForgottenTest, ApplyingALeadForgottenDestroysTheKeysACrashLeftBehind) {
  Import("7", kPhone, "Pat");
  Import("8", "+12122340202", "Lee");
  const std::string orphan = "orphan:in-9";
  Seal(orphan, [](es::schema::Personal::Builder p) { p.setBody("hello?"); });
  // "lead-8" is not an orphan subject: a LeadForgotten of lead 7 must never erase lead 8.
  AppendForgotten("7", {orphan, "lead-8"});
  ASSERT_FALSE(log_->keys().IsForgotten("lead-7"));

  ASSERT_OK(runner_->CatchUp());
  EXPECT_TRUE(log_->keys().IsForgotten("lead-7"));
  EXPECT_TRUE(log_->keys().IsForgotten(orphan));
  EXPECT_FALSE(log_->keys().IsForgotten("lead-8"));
  auto row = forgotten_->Get("7");
  ASSERT_OK(row);
  ASSERT_TRUE(row->has_value());
  EXPECT_EQ((*row)->seq, log_->Head());
  EXPECT_EQ((*row)->at, kAt);
  EXPECT_EQ((*row)->actor, "admin:alice");
  EXPECT_FALSE(forgotten_->Get("8")->has_value());
  EXPECT_EQ(*forgotten_->Count(), 1u);
}

TEST_F(ForgottenTest, NoCheckpointPassesALeadForgottenWhoseKeyCouldNotBeDestroyed) {
  Import("7", kPhone, "Pat");
  ASSERT_OK(runner_->CatchUp());
  const uint64_t before = runner_->position();
  AppendForgotten("7");
  keys_->fail = true;
  EXPECT_FALSE(runner_->CatchUp().ok());
  EXPECT_EQ(*runner_->checkpoint("forgotten"), before);
  EXPECT_FALSE(log_->keys().IsForgotten("lead-7"));
  // Once destroying works again, the next catch-up applies the event and destroys the key.
  keys_->fail = false;
  ASSERT_OK(runner_->Rebuild());
  EXPECT_TRUE(log_->keys().IsForgotten("lead-7"));
  EXPECT_EQ(*runner_->checkpoint("forgotten"), log_->Head());
}

TEST_F(ForgottenTest, TheLeadIndexLetsGoOfAForgottenLeadSoANewFileImportsThePerson) {
  Import("7", kPhone, "Pat");
  Import("8", "+12122340202", "Lee");
  ASSERT_OK(runner_->CatchUp());
  const std::string hash = PhoneHash(kPhone);
  ASSERT_EQ(index_->Find(LeadKeyKind::kPhone, hash)->value_or(""), "7");

  AppendForgotten("7");
  ASSERT_OK(log_->keys().Forget("lead-7"));
  ASSERT_OK(runner_->CatchUp());
  EXPECT_FALSE(index_->Find(LeadKeyKind::kPhone, hash)->has_value());
  const std::string pat = log_->keys().BlindIndex("lead.name_key", "Pat smith");
  EXPECT_FALSE(index_->Find(LeadKeyKind::kNameCompanyZip, pat)->has_value());
  // Another lead keeps what it holds.
  EXPECT_EQ(index_->Find(LeadKeyKind::kPhone, PhoneHash("+12122340202"))->value_or(""), "8");

  // The same person in a new file is a new lead, the first to hold the number again.
  Import("9", kPhone, "Pat");
  ASSERT_OK(runner_->CatchUp());
  EXPECT_EQ(index_->Find(LeadKeyKind::kPhone, hash)->value_or(""), "9");
  ASSERT_OK(runner_->Rebuild());
  EXPECT_EQ(index_->Find(LeadKeyKind::kPhone, hash)->value_or(""), "9");
  EXPECT_EQ(index_->Find(LeadKeyKind::kPhone, PhoneHash("+12122340202"))->value_or(""), "8");
}

TEST_F(ForgottenTest, AnOptedOutNumberStaysSuppressedByBlindIndexAfterForgettingAndRebuilding) {
  Import("7", kPhone, "Pat");
  ReplyAndOptOut("7", kPhone);
  ASSERT_OK(runner_->CatchUp());
  ASSERT_TRUE(*suppression_->IsOptedOut(PhoneHash(kPhone)));

  AppendForgotten("7");
  ASSERT_OK(runner_->CatchUp());
  ASSERT_TRUE(log_->keys().IsForgotten("lead-7"));
  // The hash is computed from the number alone, under the store's index secret: forgetting
  // the lead's key changes nothing about it, before or after a rebuild.
  EXPECT_TRUE(*suppression_->IsOptedOut(PhoneHash(kPhone)));
  ASSERT_OK(runner_->Rebuild());
  EXPECT_TRUE(*suppression_->IsOptedOut(PhoneHash(kPhone)));
  EXPECT_FALSE(*suppression_->IsOptedOut(PhoneHash("+12122340202")));
}

TEST_F(ForgottenTest, PersonalFieldsOfAForgottenLeadReadAsEmptyEvenAfterARebuild) {
  Import("7", kPhone, "Pat");
  ReplyAndOptOut("7", kPhone);
  Import("8", "+12122340202", "Lee");
  ASSERT_OK(runner_->CatchUp());
  const std::string before = Shown("7");
  EXPECT_NE(before.find("Pat"), std::string::npos) << before;
  EXPECT_NE(before.find(kPhone), std::string::npos);
  EXPECT_NE(before.find("pat@example.com"), std::string::npos);

  AppendForgotten("7");
  ASSERT_OK(runner_->CatchUp());
  EXPECT_EQ(Shown("7"), "");
  EXPECT_TRUE(leads_->Get("7")->forgotten);
  ASSERT_OK(runner_->Rebuild());
  EXPECT_EQ(Shown("7"), "");
  EXPECT_TRUE(leads_->Get("7")->forgotten);
  EXPECT_EQ(leads_->Get("8")->first_name, "Lee") << "another lead is untouched";
}

TEST_F(ForgottenTest, AForgottenLeadsMeetingRemindersAreCancelled) {
  Import("7", kPhone, "Pat");
  Append("lead-7", [](es::schema::Event::Builder b) {
    auto m = b.getPayload().initMeetingBooked();
    m.setMeetingId("mtg-7-1");
    m.setStartsAt(kAt + int64_t{48} * 3600 * 1'000'000);
    m.setDurationMinutes(15);
    m.setAgent("ana");
  });
  ASSERT_OK(runner_->CatchUp());
  auto booked = meetings_->Get("mtg-7-1");
  ASSERT_OK(booked);
  ASSERT_EQ(booked->reminders.size(), 3u);
  EXPECT_EQ(booked->reminders[0].status, "pending");

  AppendForgotten("7");
  ASSERT_OK(runner_->CatchUp());
  auto after = meetings_->Get("mtg-7-1");
  ASSERT_OK(after);
  for (const auto& r : after->reminders) EXPECT_EQ(r.status, "cancelled") << r.offset;
}

}  // namespace
}  // namespace nextier::projections
