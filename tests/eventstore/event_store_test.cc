// The event store contract: every implementation of EventStore must pass these.
#include "nextier/eventstore/event_store.h"

#include <gtest/gtest.h>
#include <lmdb.h>

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

StoreFactory LmdbWithMergeEvery(std::string name, size_t keys) {
  return StoreFactory{std::move(name), [keys](const std::string& dir) {
                        LmdbOptions o;
                        o.path = dir;
                        o.idempotency_merge_keys = keys;
                        return OpenLmdbEventStore(o);
                      }};
}

// The default; idempotency keys merged almost at once (every merge path runs); keys written
// straight into the keyed table (the format before the recent table).
INSTANTIATE_TEST_SUITE_P(
    Implementations, StoreContractTest,
    ::testing::Values(LmdbWithMergeEvery("lmdb", LmdbOptions{}.idempotency_merge_keys),
                      LmdbWithMergeEvery("lmdb_merge_every_2_keys", 2),
                      LmdbWithMergeEvery("lmdb_keys_unbuffered", 0)),
    [](const ::testing::TestParamInfo<StoreFactory>& p) { return p.param.name; });

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

// --- idempotency keys: the recent table and the merge --------------------------------------

// Entries of one named table, read with raw LMDB (the store closed).
size_t RawCount(const std::string& dir, const char* table) {
  MDB_env* env = nullptr;
  size_t n = SIZE_MAX;
  if (mdb_env_create(&env) != 0) return n;
  mdb_env_set_maxdbs(env, 8);
  MDB_txn* txn = nullptr;
  MDB_dbi dbi;
  MDB_stat st;
  if (mdb_env_open(env, dir.c_str(), MDB_RDONLY, 0644) == 0 &&
      mdb_txn_begin(env, nullptr, MDB_RDONLY, &txn) == 0) {
    if (mdb_dbi_open(txn, table, 0, &dbi) == 0 && mdb_stat(txn, dbi, &st) == 0) n = st.ms_entries;
    mdb_txn_abort(txn);
  }
  mdb_env_close(env);
  return n;
}

// Runs `fn` in a raw LMDB write transaction on `table` (the store closed).
void RawEditTable(const std::string& dir, const char* table,
                  const std::function<void(MDB_txn*, MDB_dbi)>& fn) {
  MDB_env* env;
  ASSERT_EQ(mdb_env_create(&env), 0);
  mdb_env_set_maxdbs(env, 8);
  ASSERT_EQ(mdb_env_open(env, dir.c_str(), 0, 0644), 0);
  MDB_txn* txn;
  ASSERT_EQ(mdb_txn_begin(env, nullptr, 0, &txn), 0);
  MDB_dbi dbi;
  ASSERT_EQ(mdb_dbi_open(txn, table, 0, &dbi), 0);
  fn(txn, dbi);
  ASSERT_EQ(mdb_txn_commit(txn), 0);
  mdb_env_close(env);
}

// Writes one reply under `keys` to a new store at `o.path`, and closes it.
void StoreOneReply(const LmdbOptions& o, std::vector<std::string> keys) {
  auto store = OpenLmdbEventStore(o);
  ASSERT_OK(store);
  ASSERT_OK((*store)->AppendUnitUnderKeys(OneUnit("lead-1", "reply"), std::move(keys)));
}

TEST(LmdbIdempotencyTest, RecentKeysAnswerBeforeAndAfterTheyAreMergedAndAcrossReopens) {
  nextier::testing::TempDir dir;
  LmdbOptions o;
  o.path = dir.str();
  o.idempotency_merge_keys = 5;
  auto opened = OpenLmdbEventStore(o);
  ASSERT_OK(opened);
  // 13 replies, each under a message id and a delivery id (random-looking, like a provider's).
  auto keys_of = [](int i) {
    const std::string h = std::to_string((i * 7919) % 1000);
    return std::vector<std::string>{"inbound:m-" + h, "inbound-delivery:d-" + h};
  };
  std::vector<uint64_t> first_seq;
  for (int i = 0; i < 13; ++i) {
    auto r = (*opened)->AppendUnitUnderKeys(OneUnit("lead-" + std::to_string(i % 3), "reply"),
                                            keys_of(i));
    ASSERT_OK(r);
    ASSERT_FALSE(r->duplicate) << i;
    first_seq.push_back(r->first_seq);
    // Every reply so far answers as a duplicate, whether its keys are merged yet or not.
    for (int j = 0; j <= i; ++j) {
      auto again = (*opened)->AppendUnitUnderKeys(OneUnit("lead-0", "reply"),
                                                  {keys_of(j)[static_cast<size_t>(j % 2)]});
      ASSERT_OK(again);
      EXPECT_TRUE(again->duplicate) << i << " " << j;
      EXPECT_EQ(again->first_seq, first_seq[static_cast<size_t>(j)]) << i << " " << j;
    }
  }
  EXPECT_EQ((*opened)->Head(), 13u);
  opened->reset();
  // At most 5 keys wait: the third reply's commit merged 1 key, each later one 2 (21 in all).
  // The 5 waiting keys are spread over at least 3 records; records whose keys are all merged
  // are deleted once they reach the head of the table.
  EXPECT_EQ(RawCount(dir.str(), "idempotency"), 21u);
  EXPECT_GE(RawCount(dir.str(), "idempotency_recent"), 3u);
  EXPECT_LT(RawCount(dir.str(), "idempotency_recent"), 13u);

  // Reopened, also by a writer that no longer defers keys: every key still answers.
  for (size_t merge : {size_t{5}, size_t{0}}) {
    o.idempotency_merge_keys = merge;
    auto store = OpenLmdbEventStore(o);
    ASSERT_OK(store);
    for (int j = 0; j < 13; ++j) {
      for (const auto& key : keys_of(j)) {
        auto again = (*store)->AppendUnitUnderKeys(OneUnit("lead-1", "reply"), {key});
        ASSERT_OK(again);
        EXPECT_TRUE(again->duplicate) << merge << " " << key;
        EXPECT_EQ(again->first_seq, first_seq[static_cast<size_t>(j)]);
      }
    }
    EXPECT_EQ((*store)->Head(), 13u);
    auto report = (*store)->Verify();
    ASSERT_OK(report);
    EXPECT_TRUE(report->ok) << report->problem;
  }
  // Reopened mid-sweep (some records hold keys already merged), the sweep goes on: 20 more
  // replies, then every one of the 33 still answers, and the recent table stays small.
  o.idempotency_merge_keys = 5;
  {
    auto store = OpenLmdbEventStore(o);
    ASSERT_OK(store);
    for (int i = 13; i < 33; ++i) {
      auto r = (*store)->AppendUnitUnderKeys(OneUnit("lead-2", "reply"), keys_of(i));
      ASSERT_OK(r);
      ASSERT_FALSE(r->duplicate) << i;
      first_seq.push_back(r->first_seq);
    }
    for (int j = 0; j < 33; ++j) {
      for (const auto& key : keys_of(j)) {
        auto again = (*store)->AppendUnitUnderKeys(OneUnit("lead-1", "reply"), {key});
        ASSERT_OK(again);
        EXPECT_TRUE(again->duplicate) << key;
        EXPECT_EQ(again->first_seq, first_seq[static_cast<size_t>(j)]);
      }
    }
  }
  EXPECT_EQ(RawCount(dir.str(), "idempotency"), 66u - 5u);
  EXPECT_LE(RawCount(dir.str(), "idempotency_recent"), 15u);
}

TEST(LmdbIdempotencyTest, ConcurrentRepeatsAcrossBatchesAndMergesAreWrittenOnce) {
  nextier::testing::TempDir dir;
  LmdbOptions o;
  o.path = dir.str();
  o.idempotency_merge_keys = 7;
  auto opened = OpenLmdbEventStore(o);
  ASSERT_OK(opened);
  EventStore& store = **opened;
  constexpr int kThreads = 8, kPerThread = 150, kDistinct = 300;
  std::mutex mu;
  std::map<int, std::set<uint64_t>> seen;  // key number -> first_seq answered
  std::map<int, int> fresh;                // key number -> appends that were not duplicates
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        const int n = (t * 37 + i * 11) % kDistinct;  // every key is sent by several threads
        auto r = store.AppendUnitUnderKeys(OneUnit("lead-" + std::to_string(n % 5), "reply"),
                                           {"m-" + std::to_string(n), "d-" + std::to_string(n)});
        if (!r.ok()) {
          ++failures;
          continue;
        }
        std::lock_guard lock(mu);
        seen[n].insert(r->first_seq);
        if (!r->duplicate) ++fresh[n];
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  for (const auto& [n, seqs] : seen) {
    EXPECT_EQ(seqs.size(), 1u) << "key " << n << " answered with different units";
    EXPECT_EQ(fresh[n], 1) << "key " << n << " was written " << fresh[n] << " times";
  }
  EXPECT_EQ(store.Head(), seen.size());
  auto report = store.Verify();
  ASSERT_OK(report);
  EXPECT_TRUE(report->ok) << report->problem;
  opened->reset();
  // At most 7 keys wait; every other key is in the keyed table, and the records of merged keys
  // are gone from the recent table (a few may wait behind an older one).
  const size_t keys = 2 * seen.size();
  EXPECT_GE(RawCount(dir.str(), "idempotency"), keys - 7);
  EXPECT_LE(RawCount(dir.str(), "idempotency"), keys);
  EXPECT_LE(RawCount(dir.str(), "idempotency_recent"), 21u);
}

TEST(LmdbIdempotencyTest, VerifyCatchesARecentRecordPointingPastTheLog) {
  nextier::testing::TempDir dir;
  LmdbOptions o;
  o.path = dir.str();
  ASSERT_NO_FATAL_FAILURE(StoreOneReply(o, {"m-1", "d-1"}));
  ASSERT_EQ(RawCount(dir.str(), "idempotency_recent"), 1u);
  // The record's result starts with first_seq then last_seq (8 bytes big-endian each), after
  // the 4-byte length: make last_seq 99.
  RawEditTable(dir.str(), "idempotency_recent", [](MDB_txn* txn, MDB_dbi dbi) {
    MDB_cursor* c;
    ASSERT_EQ(mdb_cursor_open(txn, dbi, &c), 0);
    MDB_val k, v;
    ASSERT_EQ(mdb_cursor_get(c, &k, &v, MDB_FIRST), 0);
    std::string rec(static_cast<const char*>(v.mv_data), v.mv_size);
    rec[4 + 15] = 99;
    MDB_val nv{rec.size(), rec.data()};
    ASSERT_EQ(mdb_cursor_put(c, &k, &nv, MDB_CURRENT), 0);
    mdb_cursor_close(c);
  });
  LmdbOptions ro = o;
  ro.read_only = true;
  auto store = OpenLmdbEventStore(ro);
  ASSERT_OK(store);
  auto report = (*store)->Verify();
  ASSERT_OK(report);
  EXPECT_FALSE(report->ok);
  EXPECT_NE(report->problem.find("recent idempotency record points outside the log"),
            std::string::npos)
      << report->problem;
}

TEST(LmdbIdempotencyTest, AnUnreadableRecentRecordRefusesTheWritableOpen) {
  nextier::testing::TempDir dir;
  LmdbOptions o;
  o.path = dir.str();
  ASSERT_NO_FATAL_FAILURE(StoreOneReply(o, {"m-1"}));
  RawEditTable(dir.str(), "idempotency_recent", [](MDB_txn* txn, MDB_dbi dbi) {
    uint8_t kb[8] = {0, 0, 0, 0, 0, 0, 0, 2};
    MDB_val k{8, kb}, v{3, const_cast<char*>("\x7f\0\0")};
    ASSERT_EQ(mdb_put(txn, dbi, &k, &v, 0), 0);
  });
  auto store = OpenLmdbEventStore(o);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), StatusCode::kCorruption);
  EXPECT_NE(store.status().message().find("idempotency_recent"), std::string::npos)
      << store.status().message();
}

TEST(LmdbIdempotencyTest, AStoreFromBeforeTheRecentTableOpensReadOnlyAndGainsItWhenWritten) {
  nextier::testing::TempDir dir;
  LmdbOptions o;
  o.path = dir.str();
  ASSERT_NO_FATAL_FAILURE(StoreOneReply(o, {"m-1"}));
  // Take the store back to the old format: its keys in `idempotency`, no recent table.
  RawEditTable(dir.str(), "idempotency_recent",
               [](MDB_txn* txn, MDB_dbi dbi) { ASSERT_EQ(mdb_drop(txn, dbi, 1), 0); });
  RawEditTable(dir.str(), "idempotency", [](MDB_txn* txn, MDB_dbi dbi) {
    // The result encoding (FORMAT.md): first_seq, last_seq, then no streams.
    uint8_t buf[20] = {0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0};
    MDB_val k{3, const_cast<char*>("m-1")}, v{20, buf};
    ASSERT_EQ(mdb_put(txn, dbi, &k, &v, 0), 0);
  });
  ASSERT_EQ(RawCount(dir.str(), "idempotency_recent"), SIZE_MAX);
  LmdbOptions ro = o;
  ro.read_only = true;
  {
    auto store = OpenLmdbEventStore(ro);
    ASSERT_OK(store);
    auto report = (*store)->Verify();
    ASSERT_OK(report);
    EXPECT_TRUE(report->ok) << report->problem;
  }
  auto store = OpenLmdbEventStore(o);
  ASSERT_OK(store);
  auto again = (*store)->AppendUnitUnderKeys(OneUnit("lead-1", "reply"), {"m-1"});
  ASSERT_OK(again);
  EXPECT_TRUE(again->duplicate);
  ASSERT_OK((*store)->AppendUnitUnderKeys(OneUnit("lead-1", "reply"), {"m-2"}));
  store->reset();
  EXPECT_EQ(RawCount(dir.str(), "idempotency_recent"), 1u);
}

TEST(LmdbStoreTest, PayloadTypeNamesComeFromTheSchema) {
  EXPECT_EQ(PayloadTypeName(schema::Event::Payload::LEAD_IMPORTED), "LeadImported");
  EXPECT_EQ(PayloadTypeName(schema::Event::Payload::TIMER_FIRED), "TimerFired");
  EXPECT_EQ(PayloadTypeName(schema::Event::Payload::LEAD_GOLD_LABELED), "LeadGoldLabeled");
}

}  // namespace
}  // namespace nextier::eventstore
