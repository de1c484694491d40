// The sandbox SMS provider: one durable record per idempotency key, in order, across reopen and
// under concurrent sends; its refusals and its test knobs.
#include "nextier/adapters/sandbox_sms.h"

#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <set>
#include <thread>
#include <vector>

#include "testing/testing.h"

namespace nextier::adapters {
namespace {

using engine::OutboundSms;
using engine::SmsSendOutcome;
using Kind = SmsSendOutcome::Kind;

OutboundSms Sms(std::string key, std::string to = "+15164079249") {
  OutboundSms s;
  s.message_key = std::move(key);
  s.from = "+12125550100";
  s.to = std::move(to);
  s.body = "Hi, is this the owner of 12 Main St?";
  s.kind = "opener";
  s.campaign_id = "cmp-1";
  s.lead_id = "lead-1";
  s.at = 1'790'000'000'000'000;
  return s;
}

class SandboxSmsTest : public ::testing::Test {
 protected:
  std::unique_ptr<SandboxSms> OpenSms() {
    auto r = SandboxSms::Open(dir_.str() + "/sandbox-sms");
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? std::move(r).value() : nullptr;
  }
  nextier::testing::TempDir dir_;
};

TEST_F(SandboxSmsTest, AcceptsAndListsOldestFirst) {
  auto sms = OpenSms();
  ASSERT_NE(sms, nullptr);
  EXPECT_EQ(sms->name(), "sandbox");
  std::vector<std::string> ids;
  for (int i = 0; i < 5; ++i) {
    auto r = sms->Send(Sms("k" + std::to_string(i)));
    ASSERT_OK(r);
    EXPECT_EQ(r->kind, Kind::kAccepted);
    EXPECT_FALSE(r->provider_message_id.empty());
    ids.push_back(r->provider_message_id);
  }
  EXPECT_EQ(std::set<std::string>(ids.begin(), ids.end()).size(), 5u);
  auto all = sms->List(0, 100);
  ASSERT_OK(all);
  ASSERT_EQ(all->size(), 5u);
  for (size_t i = 0; i < 5; ++i) {
    const auto& m = (*all)[i];
    EXPECT_EQ(m.seq, i + 1);
    EXPECT_EQ(m.id, ids[i]);
    EXPECT_EQ(m.message_key, "k" + std::to_string(i));
    EXPECT_EQ(m.from, "+12125550100");
    EXPECT_EQ(m.to, "+15164079249");
    EXPECT_EQ(m.body, "Hi, is this the owner of 12 Main St?");
    EXPECT_EQ(m.kind, "opener");
    EXPECT_EQ(m.campaign_id, "cmp-1");
    EXPECT_EQ(m.lead_id, "lead-1");
    EXPECT_EQ(m.at, 1'790'000'000'000'000);
  }
  // Pages continue after a sequence number.
  auto page = sms->List(2, 2);
  ASSERT_OK(page);
  ASSERT_EQ(page->size(), 2u);
  EXPECT_EQ((*page)[0].seq, 3u);
  EXPECT_EQ((*page)[1].seq, 4u);
  auto count = sms->Count();
  ASSERT_OK(count);
  EXPECT_EQ(*count, 5u);
}

TEST_F(SandboxSmsTest, SameKeyTwiceAnswersTheFirstOutcomeAndStoresOnce) {
  auto sms = OpenSms();
  ASSERT_NE(sms, nullptr);
  auto first = sms->Send(Sms("dup"));
  ASSERT_OK(first);
  auto other = Sms("dup");
  other.body = "a different body";
  auto second = sms->Send(other);
  ASSERT_OK(second);
  EXPECT_EQ(second->kind, Kind::kAccepted);
  EXPECT_EQ(second->provider_message_id, first->provider_message_id);
  EXPECT_EQ(*sms->Count(), 1u);
  EXPECT_EQ((*sms->List(0, 10))[0].body, "Hi, is this the owner of 12 Main St?");
}

TEST_F(SandboxSmsTest, SurvivesReopen) {
  std::string id;
  {
    auto sms = OpenSms();
    ASSERT_NE(sms, nullptr);
    auto r = sms->Send(Sms("durable"));
    ASSERT_OK(r);
    id = r->provider_message_id;
    ASSERT_OK(sms->Send(Sms("second")));
  }
  auto sms = OpenSms();
  ASSERT_NE(sms, nullptr);
  EXPECT_EQ(*sms->Count(), 2u);
  auto again = sms->Send(Sms("durable"));
  ASSERT_OK(again);
  EXPECT_EQ(again->provider_message_id, id);
  EXPECT_EQ(*sms->Count(), 2u);
  // The sequence goes on where it stopped.
  auto third = sms->Send(Sms("third"));
  ASSERT_OK(third);
  auto all = sms->List(0, 10);
  ASSERT_OK(all);
  ASSERT_EQ(all->size(), 3u);
  EXPECT_EQ((*all)[2].seq, 3u);
  EXPECT_EQ((*all)[2].id, third->provider_message_id);
}

TEST_F(SandboxSmsTest, LookupAnswersKnownKeysAndNulloptForUnknown) {
  auto sms = OpenSms();
  ASSERT_NE(sms, nullptr);
  auto sent = sms->Send(Sms("known"));
  ASSERT_OK(sent);
  auto known = sms->Lookup("known");
  ASSERT_OK(known);
  ASSERT_TRUE(known->has_value());
  EXPECT_EQ((*known)->kind, Kind::kAccepted);
  EXPECT_EQ((*known)->provider_message_id, sent->provider_message_id);
  auto unknown = sms->Lookup("never-sent");
  ASSERT_OK(unknown);
  EXPECT_FALSE(unknown->has_value());
}

TEST_F(SandboxSmsTest, OptedOutNumbersAnswerOutAndAreNotInTheOutbox) {
  auto sms = OpenSms();
  ASSERT_NE(sms, nullptr);
  sms->SetOptedOutNumbers({"+15165550199"});
  auto r = sms->Send(Sms("to-optout", "+15165550199"));
  ASSERT_OK(r);
  EXPECT_EQ(r->kind, Kind::kOptedOut);
  EXPECT_EQ(r->code, "OUT");
  EXPECT_EQ(*sms->Count(), 0u);
  // The outcome is the key's: a repeat (even after the knob is cleared) answers it again.
  sms->SetOptedOutNumbers({});
  auto again = sms->Send(Sms("to-optout", "+15165550199"));
  ASSERT_OK(again);
  EXPECT_EQ(again->kind, Kind::kOptedOut);
  auto looked = sms->Lookup("to-optout");
  ASSERT_OK(looked);
  ASSERT_TRUE(looked->has_value());
  EXPECT_EQ((*looked)->kind, Kind::kOptedOut);
  // Other numbers are unaffected.
  auto ok = sms->Send(Sms("other"));
  ASSERT_OK(ok);
  EXPECT_EQ(ok->kind, Kind::kAccepted);
}

TEST_F(SandboxSmsTest, InvalidNumbersAreRejectedPermanently) {
  auto sms = OpenSms();
  ASSERT_NE(sms, nullptr);
  for (const std::string to : {"5164079249", "+1516", "+1516407924x", "", "+1234567890123456"}) {
    auto r = sms->Send(Sms("bad-" + to, to));
    ASSERT_OK(r);
    EXPECT_EQ(r->kind, Kind::kRejected) << to;
    EXPECT_EQ(r->code, "invalid_number") << to;
    EXPECT_TRUE(r->permanent);
  }
  auto bad_from = Sms("bad-from");
  bad_from.from = "12125550100";
  auto r = sms->Send(bad_from);
  ASSERT_OK(r);
  EXPECT_EQ(r->code, "invalid_number");
  EXPECT_EQ(*sms->Count(), 0u);
  EXPECT_FALSE(sms->Lookup("bad-from")->has_value());
}

TEST_F(SandboxSmsTest, FailNextSendsIsAnOutageThatStoresNothing) {
  auto sms = OpenSms();
  ASSERT_NE(sms, nullptr);
  sms->FailNextSends(2);
  for (int i = 0; i < 2; ++i) {
    auto r = sms->Send(Sms("k"));
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), StatusCode::kUnavailable);
  }
  EXPECT_FALSE(sms->Lookup("k")->has_value());
  auto r = sms->Send(Sms("k"));
  ASSERT_OK(r);
  EXPECT_EQ(r->kind, Kind::kAccepted);
  EXPECT_EQ(*sms->Count(), 1u);
}

TEST_F(SandboxSmsTest, ConcurrentSendsStoreExactlyOneRecordPerKey) {
  auto sms = OpenSms();
  ASSERT_NE(sms, nullptr);
  constexpr int kThreads = 8;
  constexpr int kKeys = 20;
  // Every thread sends every shared key and a few keys of its own, in a different order.
  std::vector<std::map<std::string, std::string>> seen(kThreads);
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kKeys; ++i) {
        const std::string shared = "shared-" + std::to_string((i * (t + 1)) % kKeys);
        const std::string own = "own-" + std::to_string(t) + "-" + std::to_string(i % 3);
        for (const auto& key : {shared, own}) {
          auto r = sms->Send(Sms(key));
          if (!r.ok() || r->kind != Kind::kAccepted) {
            ++failures;
            continue;
          }
          auto [it, fresh] = seen[t].emplace(key, r->provider_message_id);
          if (!fresh && it->second != r->provider_message_id) ++failures;
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);

  auto all = sms->List(0, 10000);
  ASSERT_OK(all);
  std::map<std::string, std::string> by_key;
  for (const auto& m : *all) {
    EXPECT_TRUE(by_key.emplace(m.message_key, m.id).second) << "two records for " << m.message_key;
  }
  EXPECT_EQ(by_key.size(), static_cast<size_t>(kKeys + kThreads * 3));
  // Every thread was answered the stored id for every key it sent.
  for (const auto& per_thread : seen) {
    for (const auto& [key, id] : per_thread) EXPECT_EQ(by_key[key], id) << key;
  }
  for (size_t i = 0; i < all->size(); ++i) EXPECT_EQ((*all)[i].seq, i + 1);
}

}  // namespace
}  // namespace nextier::adapters
