// Tamper detection: a flipped byte, a deleted event, two events swapped, a truncated tail.
#include <gtest/gtest.h>
#include <lmdb.h>
#include <openssl/sha.h>

#include <fstream>
#include <iterator>

#include "nextier/eventstore/event_store.h"
#include "store_test_util.h"
#include "testing/testing.h"

namespace nextier::eventstore {
namespace {

using testutil::Opaque;

class TamperTest : public ::testing::Test {
 protected:
  void SetUp() override {
    LmdbOptions o;
    o.path = dir_.str();
    auto store = OpenLmdbEventStore(o);
    ASSERT_OK(store);
    for (int i = 1; i <= 10; ++i) {
      std::vector<NewEvent> v;
      v.push_back(Opaque(i == 6 ? "TAMPER-MARKER-000006" : "event-" + std::to_string(i)));
      ASSERT_OK(
          (*store)->Append("lead-" + std::to_string(i % 3), ExpectedVersion::Any(), std::move(v)));
    }
  }

  Result<VerifyReport> VerifyStore() {
    LmdbOptions o;
    o.path = dir_.str();
    o.read_only = true;
    auto store = OpenLmdbEventStore(o);
    if (!store.ok()) return store.status();
    return (*store)->Verify();
  }

  // Runs `fn` inside a raw LMDB write transaction on the events database.
  void RawEdit(const std::function<void(MDB_txn*, MDB_dbi)>& fn) {
    MDB_env* env;
    ASSERT_EQ(mdb_env_create(&env), 0);
    mdb_env_set_maxdbs(env, 8);
    ASSERT_EQ(mdb_env_open(env, dir_.str().c_str(), 0, 0644), 0);
    MDB_txn* txn;
    ASSERT_EQ(mdb_txn_begin(env, nullptr, 0, &txn), 0);
    MDB_dbi dbi;
    ASSERT_EQ(mdb_dbi_open(txn, "events", 0, &dbi), 0);
    fn(txn, dbi);
    ASSERT_EQ(mdb_txn_commit(txn), 0);
    mdb_env_close(env);
  }

  static MDB_val Key(uint64_t seq, uint8_t* buf) {
    for (int i = 7; i >= 0; --i) {
      buf[i] = static_cast<uint8_t>(seq);
      seq >>= 8;
    }
    return MDB_val{8, buf};
  }

  nextier::testing::TempDir dir_;
};

TEST_F(TamperTest, CleanStoreVerifies) {
  auto r = VerifyStore();
  ASSERT_OK(r);
  EXPECT_TRUE(r->ok) << r->problem;
  EXPECT_EQ(r->events, 10u);
  EXPECT_EQ(r->streams, 3u);
}

TEST_F(TamperTest, FlippedByteInTheDataFileNamesTheEvent) {
  const std::string file = dir_.str() + "/data.mdb";
  std::string bytes;
  {
    std::ifstream in(file, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), {});
  }
  // Old copies of a page may linger in free pages; flip the marker wherever it is.
  size_t flipped = 0;
  for (size_t pos = bytes.find("TAMPER-MARKER-000006"); pos != std::string::npos;
       pos = bytes.find("TAMPER-MARKER-000006", pos + 1)) {
    bytes[pos] = 'X';
    ++flipped;
  }
  ASSERT_GT(flipped, 0u);
  {
    std::ofstream out(file, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  }
  auto r = VerifyStore();
  ASSERT_OK(r);
  EXPECT_FALSE(r->ok);
  EXPECT_EQ(r->first_bad, 6u) << r->problem;
  EXPECT_NE(r->problem.find("altered"), std::string::npos) << r->problem;
}

TEST_F(TamperTest, DeletedEventNamesTheGap) {
  RawEdit([](MDB_txn* txn, MDB_dbi dbi) {
    uint8_t buf[8];
    MDB_val k = Key(4, buf);
    ASSERT_EQ(mdb_del(txn, dbi, &k, nullptr), 0);
  });
  auto r = VerifyStore();
  ASSERT_OK(r);
  EXPECT_FALSE(r->ok);
  EXPECT_EQ(r->first_bad, 4u) << r->problem;
}

TEST_F(TamperTest, DeletedLastEventIsCaughtByTheHeadRecord) {
  RawEdit([](MDB_txn* txn, MDB_dbi dbi) {
    uint8_t buf[8];
    MDB_val k = Key(10, buf);
    ASSERT_EQ(mdb_del(txn, dbi, &k, nullptr), 0);
  });
  auto r = VerifyStore();
  ASSERT_OK(r);
  EXPECT_FALSE(r->ok);
  EXPECT_EQ(r->first_bad, 10u) << r->problem;
  // A writable open refuses to extend a damaged chain.
  LmdbOptions o;
  o.path = dir_.str();
  EXPECT_EQ(OpenLmdbEventStore(o).status().code(), StatusCode::kCorruption);
}

TEST_F(TamperTest, SwappedEventsAreReportedAsReordered) {
  RawEdit([](MDB_txn* txn, MDB_dbi dbi) {
    uint8_t b3[8], b7[8];
    MDB_val k3 = Key(3, b3), k7 = Key(7, b7), v3, v7;
    ASSERT_EQ(mdb_get(txn, dbi, &k3, &v3), 0);
    ASSERT_EQ(mdb_get(txn, dbi, &k7, &v7), 0);
    std::string s3(static_cast<char*>(v3.mv_data), v3.mv_size);
    std::string s7(static_cast<char*>(v7.mv_data), v7.mv_size);
    MDB_val n3{s7.size(), s7.data()}, n7{s3.size(), s3.data()};
    ASSERT_EQ(mdb_put(txn, dbi, &k3, &n3, 0), 0);
    ASSERT_EQ(mdb_put(txn, dbi, &k7, &n7, 0), 0);
  });
  auto r = VerifyStore();
  ASSERT_OK(r);
  EXPECT_FALSE(r->ok);
  EXPECT_EQ(r->first_bad, 3u) << r->problem;
  EXPECT_NE(r->problem.find("reordered"), std::string::npos) << r->problem;
}

TEST_F(TamperTest, ReplacedEventWithARecomputedHashBreaksTheNextLink) {
  // Re-hashing an edited event does not help: the next event's prevHash still names the old.
  RawEdit([](MDB_txn* txn, MDB_dbi dbi) {
    uint8_t b5[8];
    MDB_val k5 = Key(5, b5), v5;
    ASSERT_EQ(mdb_get(txn, dbi, &k5, &v5), 0);
    std::string rec(static_cast<char*>(v5.mv_data), v5.mv_size);
    rec[rec.size() - 9] ^= 1;  // somewhere in the body
    // Recompute the record's own hash.
    SHA256(reinterpret_cast<const unsigned char*>(rec.data()) + 32, rec.size() - 32,
           reinterpret_cast<unsigned char*>(rec.data()));
    MDB_val nv{rec.size(), rec.data()};
    ASSERT_EQ(mdb_put(txn, dbi, &k5, &nv, 0), 0);
  });
  auto r = VerifyStore();
  ASSERT_OK(r);
  EXPECT_FALSE(r->ok);
  EXPECT_TRUE(r->first_bad == 5u || r->first_bad == 6u) << r->first_bad << " " << r->problem;
}

}  // namespace
}  // namespace nextier::eventstore
