// eventstore_bench: prints figures, asserts nothing. Release build.
//
//   eventstore_bench [--data DIR] [--producers N] [--quick]
//
// Measures, in one run and on one disk, the event store against the raw LMDB ceiling:
//   1. durable 1-event appends/s from 64 concurrent producers (group commit)
//      vs raw mdb_put, one value per synced transaction
//   2. durable 1-event append latency p50/p99 of a single producer
//   3. 1,000-event appends: events/s vs raw mdb_put, 1,000 values per transaction
//   4. full replay of the global log decoding every event vs a raw cursor scan
// With --data DIR the store is left in DIR/eventstore, so `nextier verify --data DIR` can check
// it; otherwise everything is written under a temporary folder and removed.
#include <lmdb.h>
#include <stdlib.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "nextier/eventstore/event_store.h"

namespace es = nextier::eventstore;
using Clock = std::chrono::steady_clock;

namespace {

double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

void Die(const std::string& what) {
  std::fprintf(stderr, "eventstore_bench: %s\n", what.c_str());
  std::exit(1);
}

// A representative event: envelope metadata plus ~160 bytes of payload.
es::NewEvent MakeEvent(uint64_t n) {
  es::NewEvent e;
  auto b = e.builder();
  b.setRecordedAt(1'764'000'000'000'000 + static_cast<int64_t>(n));
  b.setCorrelationId("corr-" + std::to_string(n / 7));
  b.setActor("system:bench");
  b.setWorkflowId("real-estate-agents");
  b.setWorkflowVersion("3f1c2a9b7d6e5f40");
  auto o = b.getPayload().initOpaque();
  o.setKind("bench");
  std::string data(160, 'a');
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>('a' + (n + i) % 26);
  o.setData(capnp::Data::Reader(reinterpret_cast<const capnp::byte*>(data.data()), data.size()));
  return e;
}

std::vector<es::NewEvent> One(uint64_t n) {
  std::vector<es::NewEvent> v;
  v.push_back(MakeEvent(n));
  return v;
}

void Check(int rc, const char* what) {
  if (rc != 0) Die(std::string(what) + ": " + mdb_strerror(rc));
}

struct RawEnv {
  MDB_env* env = nullptr;
  MDB_dbi dbi = 0;
  explicit RawEnv(const std::string& path) {
    std::filesystem::create_directories(path);
    Check(mdb_env_create(&env), "mdb_env_create");
    Check(mdb_env_set_mapsize(env, uint64_t{8} << 30), "mdb_env_set_mapsize");
    Check(mdb_env_open(env, path.c_str(), MDB_NOTLS, 0644), "mdb_env_open");
    MDB_txn* txn;
    Check(mdb_txn_begin(env, nullptr, 0, &txn), "begin");
    Check(mdb_dbi_open(txn, nullptr, 0, &dbi), "dbi");
    Check(mdb_txn_commit(txn), "commit");
  }
  ~RawEnv() { mdb_env_close(env); }
};

void Key(uint64_t n, uint8_t* out) {
  for (int i = 7; i >= 0; --i) {
    out[i] = static_cast<uint8_t>(n);
    n >>= 8;
  }
}

// Raw: one value per synced transaction. Returns commits/s.
double RawOnePerTxn(RawEnv& raw, uint64_t first, int count, size_t value_size) {
  std::string value(value_size, 'v');
  auto start = Clock::now();
  for (int i = 0; i < count; ++i) {
    MDB_txn* txn;
    Check(mdb_txn_begin(raw.env, nullptr, 0, &txn), "begin");
    uint8_t kb[8];
    Key(first + static_cast<uint64_t>(i), kb);
    MDB_val k{8, kb}, v{value.size(), value.data()};
    Check(mdb_put(txn, raw.dbi, &k, &v, MDB_APPEND), "put");
    Check(mdb_txn_commit(txn), "commit");
  }
  return count / Seconds(Clock::now() - start);
}

// Raw: `per_txn` values per synced transaction. Returns records/s.
double RawBatched(RawEnv& raw, uint64_t first, int txns, int per_txn, size_t value_size) {
  std::string value(value_size, 'v');
  auto start = Clock::now();
  uint64_t n = first;
  for (int t = 0; t < txns; ++t) {
    MDB_txn* txn;
    Check(mdb_txn_begin(raw.env, nullptr, 0, &txn), "begin");
    for (int i = 0; i < per_txn; ++i) {
      uint8_t kb[8];
      Key(n++, kb);
      MDB_val k{8, kb}, v{value.size(), value.data()};
      Check(mdb_put(txn, raw.dbi, &k, &v, MDB_APPEND), "put");
    }
    Check(mdb_txn_commit(txn), "commit");
  }
  return static_cast<double>(txns) * per_txn / Seconds(Clock::now() - start);
}

// Raw: a cursor scan touching every value. Returns records/s.
double RawScan(RawEnv& raw, uint64_t* records) {
  auto start = Clock::now();
  MDB_txn* txn;
  Check(mdb_txn_begin(raw.env, nullptr, MDB_RDONLY, &txn), "begin");
  MDB_cursor* c;
  Check(mdb_cursor_open(txn, raw.dbi, &c), "cursor");
  MDB_val k, v;
  uint64_t n = 0, sum = 0;
  for (int rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0;
       rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
    sum += static_cast<const uint8_t*>(v.mv_data)[v.mv_size - 1] + v.mv_size;
    ++n;
  }
  mdb_cursor_close(c);
  mdb_txn_abort(txn);
  const double rate = n / Seconds(Clock::now() - start);
  if (sum == 42) std::printf(" ");  // keep the loop
  *records = n;
  return rate;
}

}  // namespace

int main(int argc, char** argv) {
  std::string data_dir;
  int producers = 64;
  bool quick = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--data" && i + 1 < argc) {
      data_dir = argv[++i];
    } else if (a == "--producers" && i + 1 < argc) {
      producers = std::atoi(argv[++i]);
    } else if (a == "--quick") {
      quick = true;
    } else {
      std::fprintf(stderr, "usage: eventstore_bench [--data DIR] [--producers N] [--quick]\n");
      return 2;
    }
  }
  const bool keep = !data_dir.empty();
  if (!keep) {
    std::string tmpl = (std::filesystem::temp_directory_path() / "nextier-bench-XXXXXX").string();
    if (mkdtemp(tmpl.data()) == nullptr) Die("mkdtemp failed");
    data_dir = tmpl;
  }
  const std::string store_dir = data_dir + "/eventstore";
  const std::string raw_dir = data_dir + "/raw-lmdb";
  if (std::filesystem::exists(store_dir + "/data.mdb")) Die(store_dir + " already holds a store");
  const int per_producer = quick ? 300 : 2000;
  const int single_count = quick ? 300 : 2000;
  const int big_appends = quick ? 30 : 300;

  es::LmdbOptions opts;
  opts.path = store_dir;
  opts.initial_map_size = uint64_t{4} << 30;
  auto opened = es::OpenLmdbEventStore(opts);
  if (!opened.ok()) Die(opened.status().ToString());
  auto& store = **opened;

  std::printf("eventstore_bench: data in %s (%s)\n", data_dir.c_str(), keep ? "kept" : "temporary");

  // 1. Concurrent durable 1-event appends.
  std::atomic<uint64_t> counter{0};
  auto start = Clock::now();
  {
    std::vector<std::thread> threads;
    for (int p = 0; p < producers; ++p) {
      threads.emplace_back([&, p] {
        for (int i = 0; i < per_producer; ++i) {
          uint64_t n = counter++;
          auto r = store.Append("lead-" + std::to_string(p) + "-" + std::to_string(i % 50),
                                es::ExpectedVersion::Any(), One(n));
          if (!r.ok()) Die(r.status().ToString());
        }
      });
    }
    for (auto& t : threads) t.join();
  }
  const double concurrent_rate = counter.load() / Seconds(Clock::now() - start);
  const auto stats1 = store.Stats();

  // The record size of the events just written, for the raw baselines.
  size_t record_size = 0;
  (void)store.ReadAll(1, 1, [&](const es::EventView& ev) {
    record_size = ev.body().size() + 32;
    return false;
  });

  // 2. Single-producer latency.
  std::vector<double> lat;
  lat.reserve(single_count);
  for (int i = 0; i < single_count; ++i) {
    auto t0 = Clock::now();
    auto r = store.Append("single-" + std::to_string(i % 100), es::ExpectedVersion::Any(),
                          One(counter++));
    if (!r.ok()) Die(r.status().ToString());
    lat.push_back(Seconds(Clock::now() - t0) * 1e6);
  }
  std::sort(lat.begin(), lat.end());
  const double p50 = lat[lat.size() / 2];
  const double p99 = lat[lat.size() * 99 / 100];

  // 3. 1,000-event appends. Only the Append calls are timed: building the events is the
  // caller's work, and the raw ceiling builds nothing either.
  Clock::duration in_append{};
  for (int a = 0; a < big_appends; ++a) {
    std::vector<es::NewEvent> events;
    events.reserve(1000);
    for (int i = 0; i < 1000; ++i) events.push_back(MakeEvent(counter++));
    const auto t0 = Clock::now();
    auto r = store.Append("import-" + std::to_string(a), es::ExpectedVersion::NoStream(),
                          std::move(events));
    in_append += Clock::now() - t0;
    if (!r.ok()) Die(r.status().ToString());
  }
  const double big_rate = big_appends * 1000.0 / Seconds(in_append);

  // 4. Full replay decoding every event.
  uint64_t replayed = 0, checksum = 0;
  start = Clock::now();
  auto rs = store.ReadAll(1, SIZE_MAX, [&](const es::EventView& ev) {
    auto e = ev.event();
    checksum += e.getSeq() + e.getStreamVersion() + e.getStreamId().size() +
                static_cast<uint64_t>(e.getPayload().which()) + e.getType().size();
    ++replayed;
    return true;
  });
  if (!rs.ok()) Die(rs.ToString());
  const double replay_rate = replayed / Seconds(Clock::now() - start);

  // Raw LMDB ceilings with values of the same size, same disk.
  RawEnv raw(raw_dir);
  const double raw_one = RawOnePerTxn(raw, 1, quick ? 300 : 2000, record_size);
  const double raw_batched = RawBatched(raw, 1'000'000, big_appends, 1000, record_size);
  uint64_t raw_records = 0;
  const double raw_scan = RawScan(raw, &raw_records);

  std::printf("\nevent record size: %zu bytes; events in the log: %llu\n", record_size,
              static_cast<unsigned long long>(store.Head()));
  std::printf("%-58s %14s %14s %8s\n", "measure", "event store", "raw LMDB", "ratio");
  std::printf("%-58s %14.0f %14.0f %7.1fx\n",
              ("1. durable 1-event appends/s, " + std::to_string(producers) + " producers").c_str(),
              concurrent_rate, raw_one, concurrent_rate / raw_one);
  std::printf("   (group commit: %llu appends in %llu commits, %.1f per commit)\n",
              static_cast<unsigned long long>(stats1.appends),
              static_cast<unsigned long long>(stats1.commits),
              static_cast<double>(stats1.appends) / std::max<uint64_t>(1, stats1.commits));
  std::printf("%-58s %10.0f us %10.0f us\n", "2. single producer durable append latency p50", p50,
              1e6 / raw_one);
  std::printf("%-58s %10.0f us\n", "   p99", p99);
  std::printf("%-58s %14.0f %14.0f %7.0f%%\n",
              "3. events/s in 1,000-event appends (Append calls timed)", big_rate, raw_batched,
              100.0 * big_rate / raw_batched);
  std::printf("%-58s %14.0f %14.0f %7.0f%%\n", "4. replay, events/s decoded (raw: cursor scan)",
              replay_rate, raw_scan, 100.0 * replay_rate / raw_scan);
  std::printf("(checksum %llu, raw records %llu)\n", static_cast<unsigned long long>(checksum),
              static_cast<unsigned long long>(raw_records));

  opened->reset();
  std::filesystem::remove_all(raw_dir);
  if (!keep) std::filesystem::remove_all(data_dir);
  return 0;
}
