#include "nextier/projections/read_model_store.h"

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "testing/testing.h"

namespace nextier::projections {
namespace {

using KV = std::vector<std::pair<std::string, std::string>>;

std::unique_ptr<ReadModelStore> OpenStore(const std::string& path) {
  ReadModelOptions o;
  o.path = path;
  o.sync = false;
  auto s = ReadModelStore::Open(o);
  EXPECT_OK(s);
  return std::move(*s);
}

KV ScanAll(const Txn& txn, Table t, std::string_view from = {}, std::string_view to = {}) {
  KV out;
  EXPECT_OK(txn.Scan(t, from, to, [&](std::string_view k, std::string_view v) {
    out.emplace_back(k, v);
    return true;
  }));
  return out;
}

TEST(ReadModelStoreTest, PutGetDeleteRoundTrip) {
  nextier::testing::TempDir dir;
  auto store = OpenStore(dir.str());
  Table t = *store->OpenTable("things");
  auto w = store->BeginWrite();
  ASSERT_OK(w);
  ASSERT_OK(w->Put(t, "a", "1"));
  ASSERT_OK(w->Put(t, "a", "2"));  // replaces
  std::string_view v;
  ASSERT_OK(w->Get(t, "a", &v));
  EXPECT_EQ(v, "2");
  bool existed = false;
  ASSERT_OK(w->Delete(t, "a", &existed));
  EXPECT_TRUE(existed);
  ASSERT_OK(w->Delete(t, "a", &existed));
  EXPECT_FALSE(existed);
  EXPECT_EQ(w->Get(t, "a", &v).code(), StatusCode::kNotFound);
  ASSERT_OK(w->Put(t, "b", std::string("\0x\0", 3)));
  ASSERT_OK(w->Commit());

  auto r = store->BeginRead();
  ASSERT_OK(r);
  ASSERT_OK(r->Get(t, "b", &v));
  EXPECT_EQ(v, std::string("\0x\0", 3));
}

TEST(ReadModelStoreTest, ScansAreOrderedAndBoundedHalfOpen) {
  nextier::testing::TempDir dir;
  auto store = OpenStore(dir.str());
  Table t = *store->OpenTable("ordered");
  auto w = store->BeginWrite();
  for (const char* k : {"b", "a", "ab", "c", "ba", "d"}) ASSERT_OK(w->Put(t, k, k));
  ASSERT_OK(w->Put(t, Be64(2), "two"));
  ASSERT_OK(w->Put(t, Be64(256), "256"));
  ASSERT_OK(w->Commit());
  auto r = store->BeginRead();
  KV all = ScanAll(*r, t);
  ASSERT_EQ(all.size(), 8u);
  // Big-endian integers sort numerically and before printable keys here.
  EXPECT_EQ(all[0].second, "two");
  EXPECT_EQ(all[1].second, "256");
  EXPECT_EQ(all[2].first, "a");
  EXPECT_EQ(all[3].first, "ab");
  EXPECT_EQ(ScanAll(*r, t, "ab", "c"), (KV{{"ab", "ab"}, {"b", "b"}, {"ba", "ba"}}));
  EXPECT_EQ(ScanAll(*r, t, "bb"), (KV{{"c", "c"}, {"d", "d"}}));
  KV prefixed;
  ASSERT_OK(r->ScanPrefix(t, "b", [&](std::string_view k, std::string_view v) {
    prefixed.emplace_back(k, v);
    return true;
  }));
  EXPECT_EQ(prefixed, (KV{{"b", "b"}, {"ba", "ba"}}));
  int visited = 0;
  ASSERT_OK(r->Scan(t, {}, {}, [&](std::string_view, std::string_view) { return ++visited < 3; }));
  EXPECT_EQ(visited, 3) << "returning false stops the scan";
}

TEST(ReadModelStoreTest, TablesAreSeparateAndCountable) {
  nextier::testing::TempDir dir;
  auto store = OpenStore(dir.str());
  Table a = *store->OpenTable("a");
  Table b = *store->OpenTable("b");
  EXPECT_FALSE(a == b);
  EXPECT_TRUE(*store->OpenTable("a") == a) << "opening again gives the same table";
  EXPECT_EQ(store->table_name(b), "b");
  auto w = store->BeginWrite();
  ASSERT_OK(w->Put(a, "k", "in a"));
  ASSERT_OK(w->Put(b, "k", "in b"));
  ASSERT_OK(w->Put(b, "k2", "in b"));
  EXPECT_EQ(*w->Count(a), 1u);
  EXPECT_EQ(*w->Count(b), 2u);
  ASSERT_OK(w->Clear(b));
  EXPECT_EQ(*w->Count(b), 0u);
  std::string_view v;
  ASSERT_OK(w->Get(a, "k", &v));
  EXPECT_EQ(v, "in a");
  ASSERT_OK(w->Commit());
}

TEST(ReadModelStoreTest, UncommittedWritesVanishWhenTheTxnIsDropped) {
  nextier::testing::TempDir dir;
  auto store = OpenStore(dir.str());
  Table t = *store->OpenTable("t");
  {
    auto w = store->BeginWrite();
    ASSERT_OK(w->Put(t, "k", "v"));
  }  // aborted
  {
    auto w = store->BeginWrite();
    ASSERT_OK(w->Put(t, "k2", "v"));
    w->Abort();
    w->Abort();  // twice is fine
  }
  auto r = store->BeginRead();
  EXPECT_EQ(*r->Count(t), 0u);
}

TEST(ReadModelStoreTest, ReadersSeeOneSnapshot) {
  nextier::testing::TempDir dir;
  auto store = OpenStore(dir.str());
  Table t = *store->OpenTable("t");
  {
    auto w = store->BeginWrite();
    ASSERT_OK(w->Put(t, "k", "old"));
    ASSERT_OK(w->Commit());
  }
  auto r = store->BeginRead();
  {
    auto w = store->BeginWrite();
    ASSERT_OK(w->Put(t, "k", "new"));
    ASSERT_OK(w->Commit());
  }
  std::string_view v;
  ASSERT_OK(r->Get(t, "k", &v));
  EXPECT_EQ(v, "old");
  auto r2 = store->BeginRead();
  ASSERT_OK(r2->Get(t, "k", &v));
  EXPECT_EQ(v, "new");
}

TEST(ReadModelStoreTest, RejectsWritesInReadTxnAndBadKeys) {
  nextier::testing::TempDir dir;
  auto store = OpenStore(dir.str());
  Table t = *store->OpenTable("t");
  auto r = store->BeginRead();
  EXPECT_EQ(r->Put(t, "k", "v").code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(r->Clear(t).code(), StatusCode::kInvalidArgument);
  r->Abort();
  auto w = store->BeginWrite();
  EXPECT_EQ(w->Put(t, "", "v").code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(w->Put(t, std::string(512, 'k'), "v").code(), StatusCode::kInvalidArgument);
  EXPECT_OK(w->Put(t, std::string(511, 'k'), std::string(100000, 'v')));
  EXPECT_EQ(w->Put(Table(), "k", "v").code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(store->OpenTable("").status().code(), StatusCode::kInvalidArgument);
  EXPECT_OK(w->Commit());
  EXPECT_EQ(w->Commit().code(), StatusCode::kInternal) << "a finished txn cannot commit again";
}

TEST(ReadModelStoreTest, CommittedDataSurvivesReopen) {
  nextier::testing::TempDir dir;
  {
    auto store = OpenStore(dir.str());
    Table t = *store->OpenTable("t");
    auto w = store->BeginWrite();
    ASSERT_OK(w->Put(t, "k", "kept"));
    ASSERT_OK(w->Commit());
    auto w2 = store->BeginWrite();
    ASSERT_OK(w2->Put(t, "lost", "x"));
  }
  auto store = OpenStore(dir.str());
  Table t = *store->OpenTable("t");
  auto r = store->BeginRead();
  EXPECT_EQ(ScanAll(*r, t), (KV{{"k", "kept"}}));
}

TEST(ReadModelStoreTest, SignedOrderingSurvivesEncoding) {
  std::vector<int64_t> values = {INT64_MIN, -5, -1, 0, 1, 7, INT64_MAX};
  for (size_t i = 0; i + 1 < values.size(); ++i) {
    EXPECT_LT(Be64(OrderedFromSigned(values[i])), Be64(OrderedFromSigned(values[i + 1])));
    EXPECT_EQ(SignedFromOrdered(OrderedFromSigned(values[i])), values[i]);
  }
}

}  // namespace
}  // namespace nextier::projections
