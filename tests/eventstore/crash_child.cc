// Appends forever from 4 threads (each unit under an idempotency key) and reports each acknowledged
// append on stdout as "ACK <round> <thread> <i> <events> <first_seq>". Killed by crash_test with
// SIGKILL.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "nextier/eventstore/event_store.h"

using namespace nextier::eventstore;

int main(int argc, char** argv) {
  if (argc != 3 && argc != 4) {
    std::fprintf(stderr, "usage: eventstore_crash_child DIR ROUND [IDEMPOTENCY_MERGE_KEYS]\n");
    return 2;
  }
  LmdbOptions o;
  o.path = argv[1];
  if (argc == 4) o.idempotency_merge_keys = std::strtoul(argv[3], nullptr, 10);
  const std::string round = argv[2];
  auto store = OpenLmdbEventStore(o);
  if (!store.ok()) {
    std::fprintf(stderr, "open: %s\n", store.status().ToString().c_str());
    return 1;
  }
  std::mutex out_mu;
  auto say = [&](const std::string& line) {
    std::lock_guard lock(out_mu);
    const char* p = line.data();
    size_t n = line.size();
    while (n > 0) {
      ssize_t w = write(1, p, n);
      if (w <= 0) _exit(1);
      p += w;
      n -= static_cast<size_t>(w);
    }
  };
  say("READY\n");
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0;; ++i) {
        const int count = 1 + i % 3;
        std::vector<NewEvent> events;
        for (int k = 0; k < count; ++k) {
          NewEvent e;
          auto b = e.builder();
          auto op = b.getPayload().initOpaque();
          op.setKind(round + ":" + std::to_string(t) + ":" + std::to_string(i) + ":" +
                     std::to_string(k));
          events.push_back(std::move(e));
        }
        auto r = (*store)->Append("crash-" + std::to_string(t) + "-" + std::to_string(i % 10),
                                  ExpectedVersion::Any(), std::move(events),
                                  "r" + round + "-" + std::to_string(t) + "-" + std::to_string(i));
        if (!r.ok()) {
          std::fprintf(stderr, "append: %s\n", r.status().ToString().c_str());
          _exit(1);
        }
        say("ACK " + round + " " + std::to_string(t) + " " + std::to_string(i) + " " +
            std::to_string(count) + " " + std::to_string(r->first_seq) + "\n");
      }
    });
  }
  for (auto& th : threads) th.join();
}
