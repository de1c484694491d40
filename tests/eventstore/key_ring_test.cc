// Personal data is sealed per subject, keys live beside the log, and forgetting destroys them.
#include "nextier/eventstore/key_ring.h"

#include <gtest/gtest.h>

#include <fstream>
#include <iterator>

#include "nextier/eventstore/event_store.h"
#include "store_test_util.h"
#include "testing/testing.h"

namespace nextier::eventstore {
namespace {

class KeyRingTest : public ::testing::Test {
 protected:
  void SetUp() override { Reopen(); }
  void Reopen() {
    store_.reset();
    LmdbOptions o;
    o.path = dir_.str();
    auto s = OpenLmdbEventStore(o);
    ASSERT_OK(s);
    store_ = std::move(s).value();
  }
  // Appends `e` as a LeadImported of `lead` carrying `sealed` personal data.
  Result<AppendResult> AppendLead(NewEvent e, const std::string& lead, const std::string& sealed,
                                  ExpectedVersion expected = ExpectedVersion::NoStream()) {
    auto b = e.builder();
    b.setKeySubject(lead);
    auto li = b.getPayload().initLeadImported();
    li.setLeadId(lead);
    li.setPersonal(
        capnp::Data::Reader(reinterpret_cast<const capnp::byte*>(sealed.data()), sealed.size()));
    std::vector<NewEvent> v;
    v.push_back(std::move(e));
    return store_->Append(lead, expected, std::move(v));
  }
  // Appends a LeadImported whose personal data is sealed under the lead's key.
  void ImportLead(const std::string& lead, const std::string& phone, bool new_subject = false) {
    auto sealed =
        new_subject ? store_->keys().SealNew(lead, phone) : store_->keys().Seal(lead, phone);
    ASSERT_OK(sealed);
    ASSERT_OK(AppendLead(NewEvent(), lead, *sealed));
  }
  Result<std::string> ReadPhone(const std::string& lead) {
    Result<std::string> out = Status::NotFound("no event");
    Status s = store_->ReadStream(lead, 1, 1, [&](const EventView& ev) {
      auto p = ev.event().getPayload().getLeadImported().getPersonal();
      out =
          store_->keys().Open(ev.event().getKeySubject().cStr(),
                              std::string_view(reinterpret_cast<const char*>(p.begin()), p.size()));
      return false;
    });
    if (!s.ok()) return s;
    return out;
  }

  nextier::testing::TempDir dir_;
  std::unique_ptr<EventStore> store_;
};

TEST_F(KeyRingTest, SealedDataRoundTripsAndNeverAppearsInClearOnDisk) {
  ImportLead("lead-1", "+15164079249");
  auto phone = ReadPhone("lead-1");
  ASSERT_OK(phone);
  EXPECT_EQ(*phone, "+15164079249");
  store_.reset();
  std::ifstream in(dir_.str() + "/data.mdb", std::ios::binary);
  std::string bytes(std::istreambuf_iterator<char>(in), {});
  EXPECT_EQ(bytes.find("+15164079249"), std::string::npos);
  EXPECT_EQ(bytes.find("5164079249"), std::string::npos);
}

TEST_F(KeyRingTest, KeyIsDurableWithTheEventThatUsesIt) {
  ImportLead("lead-1", "+15550001111");
  Reopen();
  auto phone = ReadPhone("lead-1");
  ASSERT_OK(phone);
  EXPECT_EQ(*phone, "+15550001111");
}

// SealNew (the importer's path) skips looking for a stored key; the key it makes is stored with
// the first event, like Seal's, and a second seal of the same pending subject shares it.
TEST_F(KeyRingTest, SealNewKeyIsDurableWithItsEventAndSharedWhilePending) {
  auto first = store_->keys().SealNew("lead-2", "one");
  ASSERT_OK(first);
  ImportLead("lead-2", "+15550002222", /*new_subject=*/true);
  auto opened = store_->keys().Open("lead-2", *first);
  ASSERT_OK(opened);
  EXPECT_EQ(*opened, "one");
  Reopen();
  auto phone = ReadPhone("lead-2");
  ASSERT_OK(phone);
  EXPECT_EQ(*phone, "+15550002222");
  opened = store_->keys().Open("lead-2", *first);
  ASSERT_OK(opened);
  EXPECT_EQ(*opened, "one");
  EXPECT_FALSE(store_->keys().SealNew("", "x").ok());
}

// The importer's bulk path: the key travels with its event (NewEvent::fresh_key) instead of
// waiting in the ring; it is readable once that event is stored, survives a restart, and is
// never stored when the event is not.
TEST_F(KeyRingTest, AFreshKeyCarriedByItsEventIsStoredWithIt) {
  auto append = [&](const std::string& lead, ExpectedVersion expected) -> Result<std::string> {
    NewEvent e;
    auto sealed = store_->keys().SealNew(lead, "+15550003333", &e.fresh_key());
    if (!sealed.ok()) return sealed.status();
    EXPECT_EQ(e.fresh_key().size(), 32u);
    auto r = AppendLead(std::move(e), lead, *sealed, expected);
    if (!r.ok()) return r.status();
    return *sealed;
  };
  // Not kept in the ring: nothing can open it before its event is stored.
  std::string key;
  auto pending = store_->keys().SealNew("lead-5", "x", &key);
  ASSERT_OK(pending);
  EXPECT_EQ(store_->keys().Open("lead-5", *pending).status().code(), StatusCode::kNotFound);

  auto sealed = append("lead-3", ExpectedVersion::NoStream());
  ASSERT_OK(sealed);
  auto opened = store_->keys().Open("lead-3", *sealed);
  ASSERT_OK(opened);
  EXPECT_EQ(*opened, "+15550003333");
  // A unit that fails (its stream exists) stores neither the event nor its other key.
  EXPECT_EQ(append("lead-3", ExpectedVersion::NoStream()).status().code(), StatusCode::kConflict);
  Reopen();
  auto phone = ReadPhone("lead-3");
  ASSERT_OK(phone);
  EXPECT_EQ(*phone, "+15550003333");
  EXPECT_FALSE(store_->keys().SealNew("", "x", &key).ok());
  // A carried key that is not a key is refused before anything is written.
  NewEvent odd;
  odd.fresh_key() = "short";
  EXPECT_EQ(AppendLead(std::move(odd), "lead-4", *sealed).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(store_->StreamVersion("lead-4").value(), 0u);
}

TEST_F(KeyRingTest, EachSubjectHasItsOwnKey) {
  auto sealed = store_->keys().Seal("lead-1", "secret");
  ASSERT_OK(sealed);
  auto wrong = store_->keys().Open("lead-2", *sealed);
  EXPECT_FALSE(wrong.ok());
  auto tampered = *sealed;
  tampered[14] ^= 1;
  EXPECT_EQ(store_->keys().Open("lead-1", tampered).status().code(), StatusCode::kCorruption);
}

TEST_F(KeyRingTest, ForgettingAKeyErasesTheDataButTheChainStillVerifies) {
  ImportLead("lead-1", "+15550001111");
  ImportLead("lead-2", "+15550002222");
  ASSERT_OK(store_->keys().Forget("lead-1"));
  EXPECT_TRUE(store_->keys().IsForgotten("lead-1"));
  auto erased = ReadPhone("lead-1");
  EXPECT_EQ(erased.status().code(), StatusCode::kNotFound);
  EXPECT_NE(erased.status().message().find("forgotten"), std::string::npos);
  auto other = ReadPhone("lead-2");
  ASSERT_OK(other);
  EXPECT_EQ(*other, "+15550002222");
  // A forgotten subject never gets a fresh key, even after a restart.
  Reopen();
  EXPECT_TRUE(store_->keys().IsForgotten("lead-1"));
  EXPECT_EQ(store_->keys().Seal("lead-1", "again").status().code(), StatusCode::kNotFound);
  auto report = store_->Verify();
  ASSERT_OK(report);
  EXPECT_TRUE(report->ok) << report->problem;
}

TEST_F(KeyRingTest, BlindIndexIsStableAcrossRestartsAndKeyed) {
  const std::string a = store_->keys().BlindIndex("phone", "+15164079249");
  EXPECT_EQ(a.size(), 32u);
  EXPECT_EQ(a, store_->keys().BlindIndex("phone", "+15164079249"));
  EXPECT_NE(a, store_->keys().BlindIndex("email", "+15164079249"));
  EXPECT_NE(a, store_->keys().BlindIndex("phone", "+15164079248"));
  Reopen();
  EXPECT_EQ(a, store_->keys().BlindIndex("phone", "+15164079249"));
  nextier::testing::TempDir other_dir;
  LmdbOptions o;
  o.path = other_dir.str();
  auto other = OpenLmdbEventStore(o);
  ASSERT_OK(other);
  EXPECT_NE(a, (*other)->keys().BlindIndex("phone", "+15164079249"))
      << "another store has another secret";
}

TEST_F(KeyRingTest, ConcurrentFirstUseOfOneSubjectGivesOneKey) {
  std::vector<std::thread> threads;
  std::vector<std::string> sealed(8);
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      auto s = store_->keys().Seal("lead-x", "v" + std::to_string(t));
      if (s.ok()) sealed[t] = *s;
    });
  }
  for (auto& t : threads) t.join();
  for (int t = 0; t < 8; ++t) {
    auto opened = store_->keys().Open("lead-x", sealed[t]);
    ASSERT_OK(opened);
    EXPECT_EQ(*opened, "v" + std::to_string(t));
  }
}

}  // namespace
}  // namespace nextier::eventstore
