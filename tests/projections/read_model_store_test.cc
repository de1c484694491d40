#include "nextier/projections/read_model_store.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
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

TEST(ReadModelStoreTest, InsertSortedKeepsExistingValuesAndTellsWhichItInserted) {
  nextier::testing::TempDir dir;
  auto store = OpenStore(dir.str());
  Table t = *store->OpenTable("t");
  auto w = store->BeginWrite();
  ASSERT_OK(w->Put(t, "b", "old"));
  // Sorted, with a key twice (the first wins) and one already stored; then one out of order.
  std::vector<bool> inserted;
  ASSERT_OK(
      w->InsertSorted(t, {{"a", "1"}, {"b", "2"}, {"c", "3"}, {"c", "4"}, {"a0", "5"}}, &inserted));
  EXPECT_EQ(inserted, (std::vector<bool>{true, false, true, false, true}));
  ASSERT_OK(w->InsertSorted(t, {}));
  ASSERT_OK(w->Commit());
  auto r = store->BeginRead();
  EXPECT_EQ(ScanAll(*r, t), (KV{{"a", "1"}, {"a0", "5"}, {"b", "old"}, {"c", "3"}}));
  EXPECT_EQ(r->InsertSorted(t, {{"d", "1"}}).code(), StatusCode::kInvalidArgument);
  r->Abort();

  // A bad key anywhere refuses the whole call before anything is written.
  w = store->BeginWrite();
  EXPECT_EQ(w->InsertSorted(t, {{"e", "1"}, {"", "2"}}, &inserted).code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(inserted, (std::vector<bool>{false, false}));
  EXPECT_EQ(w->InsertSorted(t, {{std::string(512, 'k'), "1"}}).code(),
            StatusCode::kInvalidArgument);
  std::string_view v;
  EXPECT_EQ(w->Get(t, "e", &v).code(), StatusCode::kNotFound);
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

// --- Lazy sync (ReadModelOptions::sync with sync_each_commit false) -----------------------

ReadModelOptions LazyOptions(const std::string& path, const std::string& boot) {
  ReadModelOptions o;
  o.path = path;
  o.boot_id = boot;  // a stand-in for /proc/sys/kernel/random/boot_id
  return o;
}

std::unique_ptr<ReadModelStore> OpenLazy(const std::string& path, const std::string& boot) {
  auto s = ReadModelStore::Open(LazyOptions(path, boot));
  EXPECT_OK(s);
  return s.ok() ? std::move(*s) : nullptr;
}

std::optional<std::string> Marker(const std::string& dir) {
  std::ifstream in(dir + "/unsynced", std::ios::binary);
  if (!in) return std::nullopt;
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

void PutOne(ReadModelStore& store, const std::string& key, const std::string& value) {
  Table t = *store.OpenTable("t");
  auto w = store.BeginWrite();
  ASSERT_OK(w);
  ASSERT_OK(w->Put(t, key, value));
  ASSERT_OK(w->Commit());
}

KV All(ReadModelStore& store) {
  Table t = *store.OpenTable("t");
  auto r = store.BeginRead();
  return ScanAll(*r, t);
}

// A process that opens the store in `boot`, commits k=v and dies without closing anything
// (no sync, no destructor): what a crash leaves.
void CommitAndDie(const std::string& path, const std::string& boot) {
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    auto s = ReadModelStore::Open(LazyOptions(path, boot));
    if (!s.ok()) _exit(2);
    Table t = *(*s)->OpenTable("t");
    auto w = (*s)->BeginWrite();
    if (!w.ok() || !w->Put(t, "k", "v").ok() || !w->Commit().ok()) _exit(3);
    _exit(0);
  }
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "child status " << status;
}

TEST(ReadModelLazySyncTest, TheMarkerNamesTheBootWhileOpenAndGoesWhenClosed) {
  nextier::testing::TempDir dir;
  {
    auto store = OpenLazy(dir.str(), "boot-a");
    ASSERT_NE(store, nullptr);
    EXPECT_TRUE(store->lazy_sync());
    EXPECT_FALSE(store->reset_after_power_loss());
    EXPECT_EQ(Marker(dir.str()), "boot-a");
    PutOne(*store, "k", "v");
  }
  EXPECT_EQ(Marker(dir.str()), std::nullopt) << "a clean close syncs and removes the marker";
  // Synced before closing: a later boot keeps it.
  auto store = OpenLazy(dir.str(), "boot-b");
  EXPECT_FALSE(store->reset_after_power_loss());
  EXPECT_EQ(All(*store), (KV{{"k", "v"}}));
}

TEST(ReadModelLazySyncTest, AProcessCrashInTheSameBootKeepsEveryCommit) {
  nextier::testing::TempDir dir;
  CommitAndDie(dir.str(), "boot-a");
  EXPECT_EQ(Marker(dir.str()), "boot-a") << "a crash leaves the marker";
  {
    auto store = OpenLazy(dir.str(), "boot-a");
    EXPECT_FALSE(store->reset_after_power_loss()) << "the page cache kept the writes";
    EXPECT_EQ(All(*store), (KV{{"k", "v"}}));
  }
  EXPECT_EQ(Marker(dir.str()), std::nullopt);
}

TEST(ReadModelLazySyncTest, AFileLeftUnsyncedByAnotherBootIsDeletedAndStartsEmpty) {
  nextier::testing::TempDir dir;
  CommitAndDie(dir.str(), "boot-a");
  {
    // The machine restarted before anything synced the file: it may be damaged.
    auto store = OpenLazy(dir.str(), "boot-b");
    ASSERT_NE(store, nullptr);
    EXPECT_TRUE(store->reset_after_power_loss());
    EXPECT_EQ(All(*store), KV{});
    EXPECT_EQ(Marker(dir.str()), "boot-b");
    PutOne(*store, "k2", "v2");
  }
  auto store = OpenLazy(dir.str(), "boot-b");
  EXPECT_FALSE(store->reset_after_power_loss());
  EXPECT_EQ(All(*store), (KV{{"k2", "v2"}}));
}

TEST(ReadModelLazySyncTest, AnEmptyOrTornMarkerIsNotTrusted) {
  nextier::testing::TempDir dir;
  CommitAndDie(dir.str(), "boot-a");
  std::ofstream(dir.str() + "/unsynced", std::ios::trunc) << "boot-";  // cut short
  auto store = OpenLazy(dir.str(), "boot-a");
  EXPECT_TRUE(store->reset_after_power_loss());
  EXPECT_EQ(All(*store), KV{});
}

TEST(ReadModelLazySyncTest, TheMarkerStaysUntilTheLastOpenerCloses) {
  nextier::testing::TempDir dir;
  auto first = OpenLazy(dir.str(), "boot-a");
  auto second = OpenLazy(dir.str(), "boot-a");  // a second opener (as another process would)
  PutOne(*second, "k", "v");
  second.reset();
  EXPECT_EQ(Marker(dir.str()), "boot-a") << "the first opener may still write unsynced";
  PutOne(*first, "k2", "v2");
  first.reset();
  EXPECT_EQ(Marker(dir.str()), std::nullopt);
}

TEST(ReadModelLazySyncTest, WithoutALockFileItSyncsEachCommitAndStillDistrustsAnotherBoot) {
  nextier::testing::TempDir dir;
  CommitAndDie(dir.str(), "boot-a");
  // A lock file that cannot be opened (here a directory in its place) stands for a file
  // system without flock.
  std::filesystem::remove(dir.path() / "sync.lock");
  std::filesystem::create_directory(dir.path() / "sync.lock");
  {
    auto store = OpenLazy(dir.str(), "boot-b");
    ASSERT_NE(store, nullptr);
    EXPECT_FALSE(store->lazy_sync());
    EXPECT_TRUE(store->reset_after_power_loss());
    EXPECT_EQ(All(*store), KV{});
    EXPECT_EQ(Marker(dir.str()), std::nullopt) << "the deleted file's marker goes with it";
    PutOne(*store, "k", "v");
  }
  auto store = OpenLazy(dir.str(), "boot-c");
  EXPECT_FALSE(store->reset_after_power_loss()) << "synced each commit: nothing to distrust";
  EXPECT_EQ(All(*store), (KV{{"k", "v"}}));
}

TEST(ReadModelLazySyncTest, SyncingEachCommitOrNotAtAllKeepsNoMarker) {
  nextier::testing::TempDir dir;
  ReadModelOptions each = LazyOptions(dir.str(), "boot-a");
  each.sync_each_commit = true;
  {
    auto store = ReadModelStore::Open(each);
    ASSERT_OK(store);
    EXPECT_FALSE((*store)->lazy_sync());
    EXPECT_EQ(Marker(dir.str()), std::nullopt);
  }
  auto store = OpenStore(dir.str());  // sync = false
  EXPECT_FALSE(store->lazy_sync());
  EXPECT_EQ(Marker(dir.str()), std::nullopt);
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
