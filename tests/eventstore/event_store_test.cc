// The event store contract: every implementation of EventStore must pass these.
#include "nextier/eventstore/event_store.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cstring>
#include <functional>
#include <future>
#include <map>
#include <set>
#include <thread>

#include "store_test_util.h"
#include "testing/testing.h"

namespace nextier::eventstore {
namespace {

using testutil::Events;
using testutil::Opaque;
using testutil::ReadAllEvents;

struct StoreFactory {
  std::string name;
  std::function<Result<std::unique_ptr<EventStore>>(const std::string& dir)> open;
};

class StoreContractTest : public ::testing::TestWithParam<StoreFactory> {
 protected:
  void SetUp() override { Reopen(); }
  void Reopen() {
    store_.reset();
    auto s = GetParam().open(dir_.str());
    ASSERT_OK(s);
    store_ = std::move(s).value();
  }
  EventStore& store() { return *store_; }

  nextier::testing::TempDir dir_;
  std::unique_ptr<EventStore> store_;
};

TEST_P(StoreContractTest, AssignsDenseSequenceAndStreamVersions) {
  auto a = store().Append("lead-1", ExpectedVersion::NoStream(), Events({"a", "b"}));
  ASSERT_OK(a);
  EXPECT_EQ(a->first_seq, 1u);
  EXPECT_EQ(a->last_seq, 2u);
  ASSERT_EQ(a->streams.size(), 1u);
  EXPECT_EQ(a->streams[0].first_version, 1u);
  EXPECT_EQ(a->streams[0].last_version, 2u);
  auto b = store().Append("lead-2", ExpectedVersion::Any(), Events({"c"}));
  ASSERT_OK(b);
  EXPECT_EQ(b->first_seq, 3u);
  EXPECT_EQ(b->streams[0].first_version, 1u);
  auto c = store().Append("lead-1", ExpectedVersion::Exactly(2), Events({"d"}));
  ASSERT_OK(c);
  EXPECT_EQ(c->streams[0].first_version, 3u);
  EXPECT_EQ(store().Head(), 4u);

  auto all = ReadAllEvents(store());
  ASSERT_EQ(all.size(), 4u);
  EXPECT_EQ(all[3].stream, "lead-1");
  EXPECT_EQ(all[3].version, 3u);
  EXPECT_EQ(all[3].kind, "d");
}

TEST_P(StoreContractTest, StampsEnvelopeTypeTenantAndChainsHashes) {
  ASSERT_OK(store().Append("lead-1", ExpectedVersion::Any(), Events({"a", "b"})));
  std::vector<Hash> hashes;
  std::vector<Hash> prevs;
  ASSERT_OK(store().ReadAll(1, 10, [&](const EventView& ev) {
    EXPECT_EQ(std::string(ev.event().getType().cStr()), "Opaque");
    EXPECT_EQ(std::string(ev.event().getTenant().cStr()), store().tenant());
    EXPECT_EQ(std::string(ev.event().getActor().cStr()), "test");
    hashes.push_back(ev.hash());
    Hash p;
    std::memcpy(p.data(), ev.event().getPrevHash().begin(), 32);
    prevs.push_back(p);
    return true;
  }));
  ASSERT_EQ(hashes.size(), 2u);
  EXPECT_EQ(prevs[0], Hash{});
  EXPECT_EQ(prevs[1], hashes[0]);
}

TEST_P(StoreContractTest, RejectsWrongExpectedVersionNamingStreamExpectedAndActual) {
  ASSERT_OK(store().Append("lead-7", ExpectedVersion::Any(), Events({"a", "b", "c"})));
  auto r = store().Append("lead-7", ExpectedVersion::Exactly(2), Events({"x"}));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kConflict);
  EXPECT_NE(r.status().message().find("lead-7"), std::string::npos) << r.status().message();
  EXPECT_NE(r.status().message().find("expected version 2"), std::string::npos);
  EXPECT_NE(r.status().message().find("actual 3"), std::string::npos);
  EXPECT_EQ(store().Head(), 3u);
}

TEST_P(StoreContractTest, NoStreamFailsWhenTheStreamExists) {
  ASSERT_OK(store().Append("lead-1", ExpectedVersion::NoStream(), Events({"a"})));
  auto r = store().Append("lead-1", ExpectedVersion::NoStream(), Events({"b"}));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kConflict);
  EXPECT_NE(r.status().message().find("no stream"), std::string::npos);
}

TEST_P(StoreContractTest, ExactVersionOnMissingStreamIsAConflict) {
  auto r = store().Append("lead-9", ExpectedVersion::Exactly(1), Events({"a"}));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kConflict);
  EXPECT_NE(r.status().message().find("actual 0"), std::string::npos);
}

TEST_P(StoreContractTest, RepeatedIdempotencyKeyReturnsOriginalResultAndWritesNothing) {
  auto first = store().Append("lead-1", ExpectedVersion::Any(), Events({"a", "b"}), "delivery-42");
  ASSERT_OK(first);
  EXPECT_FALSE(first->duplicate);
  auto again = store().Append("lead-1", ExpectedVersion::Any(), Events({"a", "b"}), "delivery-42");
  ASSERT_OK(again);
  EXPECT_TRUE(again->duplicate);
  EXPECT_EQ(again->first_seq, first->first_seq);
  EXPECT_EQ(again->last_seq, first->last_seq);
  EXPECT_EQ(again->streams[0].last_version, 2u);
  EXPECT_EQ(store().Head(), 2u);
  // Even when the expected version would now fail, the key wins: the command already happened.
  auto late = store().Append("lead-1", ExpectedVersion::NoStream(), Events({"a"}), "delivery-42");
  ASSERT_OK(late);
  EXPECT_TRUE(late->duplicate);
}

TEST_P(StoreContractTest, IdempotencyKeysSurviveReopen) {
  ASSERT_OK(store().Append("lead-1", ExpectedVersion::Any(), Events({"a"}), "k1"));
  Reopen();
  auto again = store().Append("lead-1", ExpectedVersion::Any(), Events({"a"}), "k1");
  ASSERT_OK(again);
  EXPECT_TRUE(again->duplicate);
  EXPECT_EQ(store().Head(), 1u);
}

std::vector<StreamAppend> OneUnit(const std::string& stream, const std::string& type) {
  std::vector<StreamAppend> unit;
  unit.push_back({stream, ExpectedVersion::Any(), Events({type})});
  return unit;
}

TEST_P(StoreContractTest, AUnitUnderSeveralKeysIsRepeatedByAnyOfThem) {
  auto first = store().AppendUnitUnderKeys(OneUnit("lead-1", "reply"),
                                           {"inbound:m-1", "inbound-delivery:d-1"});
  ASSERT_OK(first);
  EXPECT_FALSE(first->duplicate);
  // The same delivery with another message id, and the same message under another delivery.
  auto by_delivery = store().AppendUnitUnderKeys(OneUnit("lead-1", "reply"),
                                                 {"inbound:m-2", "inbound-delivery:d-1"});
  ASSERT_OK(by_delivery);
  EXPECT_TRUE(by_delivery->duplicate);
  EXPECT_EQ(by_delivery->first_seq, first->first_seq);
  auto by_message = store().AppendUnitUnderKeys(OneUnit("lead-1", "reply"),
                                                {"inbound:m-1", "inbound-delivery:d-9"});
  ASSERT_OK(by_message);
  EXPECT_TRUE(by_message->duplicate);
  EXPECT_EQ(by_message->last_seq, first->last_seq);
  EXPECT_EQ(store().Head(), 1u);
  // A duplicate records none of its new keys: m-2 and d-9 are still free.
  auto fresh = store().AppendUnitUnderKeys(OneUnit("lead-1", "reply"),
                                           {"inbound:m-2", "inbound-delivery:d-9"});
  ASSERT_OK(fresh);
  EXPECT_FALSE(fresh->duplicate);
  EXPECT_EQ(fresh->first_seq, 2u);
  // Each key alone answers, also through the one-key call, and after a reopen.
  Reopen();
  auto single =
      store().Append("lead-1", ExpectedVersion::Any(), Events({"x"}), "inbound-delivery:d-9");
  ASSERT_OK(single);
  EXPECT_TRUE(single->duplicate);
  EXPECT_EQ(single->first_seq, 2u);
  EXPECT_EQ(store().Head(), 2u);
}

TEST_P(StoreContractTest, EmptyAndRepeatedKeysOfAUnitAreIgnored) {
  auto r = store().AppendUnitUnderKeys(OneUnit("lead-1", "a"), {"", "k", "k", ""});
  ASSERT_OK(r);
  auto again = store().AppendUnitUnderKeys(OneUnit("lead-1", "a"), {"k"});
  ASSERT_OK(again);
  EXPECT_TRUE(again->duplicate);
  auto keyless = store().AppendUnitUnderKeys(OneUnit("lead-1", "b"), {"", ""});
  ASSERT_OK(keyless);
  auto keyless2 = store().AppendUnitUnderKeys(OneUnit("lead-1", "b"), {});
  ASSERT_OK(keyless2);
  EXPECT_FALSE(keyless2->duplicate) << "no key: every append is new";
  EXPECT_EQ(store().Head(), 3u);
  auto long_key =
      store().AppendUnitUnderKeys(OneUnit("lead-1", "c"), {"k2", std::string(600, 'k')});
  EXPECT_EQ(long_key.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(store().Head(), 3u);
}

TEST_P(StoreContractTest, AnyStreamWithPrefixSeesOnlyWholePrefixes) {
  EXPECT_FALSE(*store().AnyStreamWithPrefix("delivery-"));
  EXPECT_FALSE(*store().AnyStreamWithPrefix("")) << "an empty store has no stream at all";
  ASSERT_OK(store().Append("deliverx-1", ExpectedVersion::Any(), Events({"a"})));
  ASSERT_OK(store().Append("lead-1", ExpectedVersion::Any(), Events({"a"})));
  EXPECT_FALSE(*store().AnyStreamWithPrefix("delivery-")) << "a near miss sorts before it";
  EXPECT_TRUE(*store().AnyStreamWithPrefix(""));
  EXPECT_TRUE(*store().AnyStreamWithPrefix("lead-"));
  EXPECT_TRUE(*store().AnyStreamWithPrefix("lead-1"));
  EXPECT_FALSE(*store().AnyStreamWithPrefix("lead-10"));
  EXPECT_FALSE(*store().AnyStreamWithPrefix("zzz")) << "past the last key";
  ASSERT_OK(store().Append("delivery-d-7", ExpectedVersion::NoStream(), Events({"a"})));
  EXPECT_TRUE(*store().AnyStreamWithPrefix("delivery-"));
}

TEST_P(StoreContractTest, ConcurrentUnitsSharingOneOfTheirKeysWriteOnce) {
  std::vector<std::thread> threads;
  std::atomic<int> originals{0};
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      auto r = store().AppendUnitUnderKeys(
          OneUnit("lead-1", "a"), {"inbound:m-" + std::to_string(t), "inbound-delivery:same"});
      if (r.ok() && !r->duplicate) ++originals;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(originals.load(), 1);
  EXPECT_EQ(store().Head(), 1u);
}

TEST_P(StoreContractTest, ConcurrentDuplicatesOfOneKeyWriteOnce) {
  std::vector<std::thread> threads;
  std::atomic<int> originals{0};
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      auto r = store().Append("lead-1", ExpectedVersion::Any(), Events({"a"}), "same-key");
      if (r.ok() && !r->duplicate) ++originals;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(originals.load(), 1);
  EXPECT_EQ(store().Head(), 1u);
}

TEST_P(StoreContractTest, RejectsBadAppendsWithInvalidArgument) {
  auto empty_stream = store().Append("", ExpectedVersion::Any(), Events({"a"}));
  EXPECT_EQ(empty_stream.status().code(), StatusCode::kInvalidArgument);
  auto no_events = store().Append("lead-1", ExpectedVersion::Any(), {});
  EXPECT_EQ(no_events.status().code(), StatusCode::kInvalidArgument);
  auto nul = store().Append(std::string("lead\0x", 6), ExpectedVersion::Any(), Events({"a"}));
  EXPECT_EQ(nul.status().code(), StatusCode::kInvalidArgument);
  auto huge = store().Append(std::string(1000, 's'), ExpectedVersion::Any(), Events({"a"}));
  EXPECT_EQ(huge.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(store().Head(), 0u);
}

TEST_P(StoreContractTest, MultiStreamUnitIsAllOrNothing) {
  ASSERT_OK(store().Append("quota-1", ExpectedVersion::Any(), Events({"q"})));
  std::vector<StreamAppend> unit;
  unit.push_back({"lead-1", ExpectedVersion::NoStream(), Events({"enriched"})});
  unit.push_back({"quota-1", ExpectedVersion::Exactly(5), Events({"counted"})});  // wrong
  auto r = store().AppendUnit(std::move(unit), "");
  EXPECT_EQ(r.status().code(), StatusCode::kConflict);
  EXPECT_EQ(store().Head(), 1u);
  ASSERT_EQ(*store().StreamVersion("lead-1"), 0u);

  std::vector<StreamAppend> good;
  good.push_back({"lead-1", ExpectedVersion::NoStream(), Events({"enriched"})});
  good.push_back({"quota-1", ExpectedVersion::Exactly(1), Events({"counted"})});
  good.push_back({"lead-1", ExpectedVersion::Exactly(1), Events({"more"})});
  auto ok = store().AppendUnit(std::move(good), "");
  ASSERT_OK(ok);
  EXPECT_EQ(ok->first_seq, 2u);
  EXPECT_EQ(ok->last_seq, 4u);
  ASSERT_EQ(ok->streams.size(), 2u);
  EXPECT_EQ(ok->streams[0].stream, "lead-1");
  EXPECT_EQ(ok->streams[0].last_version, 2u);
  EXPECT_EQ(*store().StreamVersion("lead-1"), 2u);
  EXPECT_EQ(*store().StreamVersion("quota-1"), 2u);
}

TEST_P(StoreContractTest, ReadsAStreamFromAVersionAndStopsEarly) {
  ASSERT_OK(store().Append("lead-1", ExpectedVersion::Any(), Events({"a", "b"})));
  ASSERT_OK(store().Append("lead-10", ExpectedVersion::Any(), Events({"other"})));
  ASSERT_OK(store().Append("lead-1", ExpectedVersion::Any(), Events({"c", "d"})));
  std::vector<std::string> kinds;
  ASSERT_OK(store().ReadStream("lead-1", 2, 100, [&](const EventView& ev) {
    kinds.push_back(ev.event().getPayload().getOpaque().getKind().cStr());
    return true;
  }));
  EXPECT_EQ(kinds, (std::vector<std::string>{"b", "c", "d"}));
  kinds.clear();
  ASSERT_OK(store().ReadStream("lead-1", 1, 100, [&](const EventView& ev) {
    kinds.push_back(ev.event().getPayload().getOpaque().getKind().cStr());
    return kinds.size() < 2;
  }));
  EXPECT_EQ(kinds.size(), 2u);
  kinds.clear();
  ASSERT_OK(store().ReadStream("lead-", 1, 100, [&](const EventView&) {
    kinds.push_back("x");
    return true;
  }));
  EXPECT_TRUE(kinds.empty()) << "a stream id prefix must not match other streams";
  EXPECT_EQ(*store().StreamVersion("nope"), 0u);
}

TEST_P(StoreContractTest, ReadsTheGlobalLogFromAPosition) {
  for (int i = 0; i < 10; ++i) {
    ASSERT_OK(store().Append("s-" + std::to_string(i % 3), ExpectedVersion::Any(),
                             Events({std::to_string(i)})));
  }
  auto tail = ReadAllEvents(store(), 7);
  ASSERT_EQ(tail.size(), 4u);
  EXPECT_EQ(tail[0].seq, 7u);
  EXPECT_EQ(tail[0].kind, "6");
}

TEST_P(StoreContractTest, ReopenKeepsEventsHeadAndChain) {
  ASSERT_OK(store().Append("lead-1", ExpectedVersion::Any(), Events({"a", "b"})));
  Reopen();
  EXPECT_EQ(store().Head(), 2u);
  ASSERT_OK(store().Append("lead-1", ExpectedVersion::Exactly(2), Events({"c"})));
  auto report = store().Verify();
  ASSERT_OK(report);
  EXPECT_TRUE(report->ok) << report->problem;
  EXPECT_EQ(report->events, 3u);
  EXPECT_EQ(report->streams, 1u);
}

// 8 threads x 10,000 appends to shared and own streams: no gaps, no duplicates, dense versions.
TEST_P(StoreContractTest, ConcurrentAppendsHaveNoGapsNoDuplicatesAndDenseVersions) {
  constexpr int kThreads = 8;
  constexpr int kPerThread = 10000;
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  std::vector<std::vector<uint64_t>> acked(kThreads);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        std::string stream =
            (i % 2 == 0) ? "shared-" + std::to_string(i % 4) : "own-" + std::to_string(t);
        auto r = store().Append(stream, ExpectedVersion::Any(),
                                Events({std::to_string(t) + ":" + std::to_string(i)}));
        if (!r.ok()) {
          ++failures;
          continue;
        }
        acked[t].push_back(r->first_seq);
      }
    });
  }
  for (auto& t : threads) t.join();
  ASSERT_EQ(failures.load(), 0);
  EXPECT_EQ(store().Head(), uint64_t{kThreads} * kPerThread);

  std::set<uint64_t> all_acked;
  for (auto& v : acked) all_acked.insert(v.begin(), v.end());
  EXPECT_EQ(all_acked.size(), size_t{kThreads} * kPerThread) << "two appends got one seq";

  auto events = ReadAllEvents(store());
  ASSERT_EQ(events.size(), size_t{kThreads} * kPerThread);
  std::map<std::string, uint64_t> last_version;
  std::set<std::string> kinds;
  for (size_t i = 0; i < events.size(); ++i) {
    EXPECT_EQ(events[i].seq, i + 1);
    uint64_t& v = last_version[events[i].stream];
    EXPECT_EQ(events[i].version, v + 1) << events[i].stream;
    v = events[i].version;
    kinds.insert(events[i].kind);
  }
  EXPECT_EQ(kinds.size(), events.size()) << "an event was written twice";
  EXPECT_EQ(last_version["shared-0"], uint64_t{kThreads} * kPerThread / 4);
  EXPECT_EQ(last_version["own-3"], uint64_t{kPerThread} / 2);
  auto stats = store().Stats();
  EXPECT_LT(stats.commits, stats.appends) << "appends that arrive together share commits";
  auto report = store().Verify();
  ASSERT_OK(report);
  EXPECT_TRUE(report->ok) << report->problem;
}

TEST_P(StoreContractTest, AsyncAppendCompletesAfterDurableCommit) {
  std::promise<Result<AppendResult>> p;
  std::vector<StreamAppend> unit;
  unit.push_back({"lead-1", ExpectedVersion::Any(), Events({"a"})});
  store().AppendAsync(std::move(unit), "",
                      [&](Result<AppendResult> r) { p.set_value(std::move(r)); });
  auto r = p.get_future().get();
  ASSERT_OK(r);
  EXPECT_GE(store().Head(), r->last_seq);
}

TEST_P(StoreContractTest, SubscriptionDeliversInOrderAcrossCatchUpAndLive) {
  for (int i = 0; i < 500; ++i) {
    ASSERT_OK(store().Append("s-" + std::to_string(i % 7), ExpectedVersion::Any(),
                             Events({std::to_string(i)})));
  }
  std::mutex mu;
  std::vector<uint64_t> seen;
  auto sub = store().Subscribe(100, [&](const EventView& ev) {
    std::lock_guard lock(mu);
    seen.push_back(ev.seq());
    return true;
  });
  std::thread writer([&] {
    for (int i = 500; i < 1500; ++i) {
      ASSERT_OK(store().Append("s-" + std::to_string(i % 7), ExpectedVersion::Any(),
                               Events({std::to_string(i)})));
    }
  });
  writer.join();
  for (int i = 0; i < 500 && sub->position() < 1500; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  sub.reset();
  std::lock_guard lock(mu);
  ASSERT_EQ(seen.size(), 1400u);
  for (size_t i = 0; i < seen.size(); ++i) ASSERT_EQ(seen[i], 101 + i);
}

TEST_P(StoreContractTest, ManySubscribersAtOnceEachSeeEverything) {
  constexpr int kSubs = 16;
  std::vector<std::atomic<uint64_t>> counts(kSubs);
  std::vector<std::unique_ptr<Subscription>> subs;
  for (int i = 0; i < kSubs; ++i) {
    subs.push_back(store().Subscribe(0, [&counts, i](const EventView&) {
      ++counts[i];
      return true;
    }));
  }
  for (int i = 0; i < 200; ++i)
    ASSERT_OK(store().Append("s", ExpectedVersion::Any(), Events({"x"})));
  for (int w = 0; w < 500; ++w) {
    bool all = true;
    for (auto& c : counts) all = all && c.load() == 200;
    if (all) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  for (auto& c : counts) EXPECT_EQ(c.load(), 200u);
}

TEST_P(StoreContractTest, ASlowSubscriberNeverBlocksAppends) {
  std::atomic<bool> release{false};
  auto sub = store().Subscribe(0, [&](const EventView&) {
    while (!release) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    return true;
  });
  // The subscriber is stuck on event 1; appends must still complete.
  for (int i = 0; i < 300; ++i)
    ASSERT_OK(store().Append("s", ExpectedVersion::Any(), Events({"x"})));
  EXPECT_EQ(store().Head(), 300u);
  EXPECT_LE(sub->position(), 1u);
  release = true;
  for (int w = 0; w < 500 && sub->position() < 300; ++w) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(sub->position(), 300u);
}

TEST_P(StoreContractTest, HotBackupWhileAppendingOpensAndVerifies) {
  std::atomic<bool> stop{false};
  std::thread writer([&] {
    int i = 0;
    while (!stop) {
      ASSERT_OK(store().Append("s-" + std::to_string(i % 5), ExpectedVersion::Any(),
                               Events({std::to_string(i)})));
      ++i;
    }
  });
  while (store().Head() < 200) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  nextier::testing::TempDir backup;
  const std::string target = backup.str() + "/copy";
  ASSERT_OK(store().Backup(target));
  stop = true;
  writer.join();
  auto copy = GetParam().open(target);
  ASSERT_OK(copy);
  auto report = (*copy)->Verify();
  ASSERT_OK(report);
  EXPECT_TRUE(report->ok) << report->problem;
  EXPECT_GE(report->events, 200u);
  EXPECT_LE(report->events, store().Head());
  EXPECT_EQ(store().Backup(target).code(), StatusCode::kConflict) << "never overwrite a backup";
}

TEST_P(StoreContractTest, VerifyIsCleanOnAFreshAndAnEmptyStore) {
  auto empty = store().Verify();
  ASSERT_OK(empty);
  EXPECT_TRUE(empty->ok);
  EXPECT_EQ(empty->events, 0u);
}

INSTANTIATE_TEST_SUITE_P(Implementations, StoreContractTest,
                         ::testing::Values(StoreFactory{"lmdb",
                                                        [](const std::string& dir) {
                                                          LmdbOptions o;
                                                          o.path = dir;
                                                          return OpenLmdbEventStore(o);
                                                        }}),
                         [](const ::testing::TestParamInfo<StoreFactory>& p) {
                           return p.param.name;
                         });

// --- LMDB-specific behaviour ----------------------------------------------------------------

TEST(LmdbStoreTest, MapGrowsByItselfPastTheInitialSize) {
  nextier::testing::TempDir dir;
  LmdbOptions o;
  o.path = dir.str();
  o.initial_map_size = 1 << 20;  // 1 MiB
  auto store = OpenLmdbEventStore(o);
  ASSERT_OK(store);
  const std::string blob(4000, 'x');
  for (int i = 0; i < 2000; ++i) {  // ~8 MB
    ASSERT_OK((*store)->Append("s-" + std::to_string(i % 10), ExpectedVersion::Any(), [&] {
      std::vector<NewEvent> v;
      v.push_back(Opaque("big", blob));
      return v;
    }()));
  }
  EXPECT_GT((*store)->Stats().map_size, uint64_t{8} << 20);
  auto report = (*store)->Verify();
  ASSERT_OK(report);
  EXPECT_TRUE(report->ok);
  EXPECT_EQ(report->events, 2000u);
}

TEST(LmdbStoreTest, FullStoreFailsWithResourceExhaustedAndStaysReadableAndConsistent) {
  nextier::testing::TempDir dir;
  LmdbOptions o;
  o.path = dir.str();
  o.initial_map_size = 1 << 20;
  o.max_map_size = 4 << 20;  // a capped map stands in for a full disk
  auto opened = OpenLmdbEventStore(o);
  ASSERT_OK(opened);
  auto& store = **opened;
  const std::string blob(8000, 'y');
  uint64_t acked = 0;
  Status last;
  for (int i = 0; i < 2000; ++i) {
    std::vector<NewEvent> v;
    v.push_back(Opaque("big", blob));
    auto r = store.Append("s", ExpectedVersion::Any(), std::move(v));
    if (!r.ok()) {
      last = r.status();
      break;
    }
    acked = r->last_seq;
  }
  ASSERT_FALSE(last.ok()) << "the capped store never filled up";
  EXPECT_EQ(last.code(), StatusCode::kResourceExhausted) << last.ToString();
  EXPECT_NE(last.message().find("full"), std::string::npos) << last.message();
  EXPECT_GT(acked, 0u);
  EXPECT_EQ(store.Head(), acked);
  // Small appends may still fit; the store stays readable and consistent.
  auto report = store.Verify();
  ASSERT_OK(report);
  EXPECT_TRUE(report->ok) << report->problem;
  EXPECT_EQ(report->events, store.Head());
  opened->reset();
  o.max_map_size = 64 << 20;  // room returns
  auto reopened = OpenLmdbEventStore(o);
  ASSERT_OK(reopened);
  std::vector<NewEvent> v;
  v.push_back(Opaque("big", blob));
  ASSERT_OK((*reopened)->Append("s", ExpectedVersion::Any(), std::move(v)));
}

TEST(LmdbStoreTest, OnlyOneWriterAtATimeButReadersAreWelcome) {
  nextier::testing::TempDir dir;
  LmdbOptions o;
  o.path = dir.str();
  auto writer = OpenLmdbEventStore(o);
  ASSERT_OK(writer);
  auto second = OpenLmdbEventStore(o);
  EXPECT_EQ(second.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(second.status().message().find("another process is writing"), std::string::npos);
  LmdbOptions ro = o;
  ro.read_only = true;
  EXPECT_OK(OpenLmdbEventStore(ro));
  writer->reset();
  EXPECT_OK(OpenLmdbEventStore(o));  // the lock goes with the writer
}

TEST(LmdbStoreTest, ReadOnlyOpenOfAMissingStoreIsNotFound) {
  nextier::testing::TempDir dir;
  LmdbOptions o;
  o.path = dir.str() + "/nothing-here";
  o.read_only = true;
  auto r = OpenLmdbEventStore(o);
  EXPECT_EQ(r.status().code(), StatusCode::kNotFound);
}

TEST(LmdbStoreTest, PayloadTypeNamesComeFromTheSchema) {
  EXPECT_EQ(PayloadTypeName(schema::Event::Payload::LEAD_IMPORTED), "LeadImported");
  EXPECT_EQ(PayloadTypeName(schema::Event::Payload::TIMER_FIRED), "TimerFired");
  EXPECT_EQ(PayloadTypeName(schema::Event::Payload::LEAD_GOLD_LABELED), "LeadGoldLabeled");
}

}  // namespace
}  // namespace nextier::eventstore
