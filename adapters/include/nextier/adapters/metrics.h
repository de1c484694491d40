// Metrics in the Prometheus text format: counters, gauges read at scrape time, and latency
// histograms. Label sets are fixed at registration; values are lock-free to update.
//
// Thread-safety: registration and Render() take a lock; Add/Observe are lock-free.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace nextier::adapters {

class Counter {
 public:
  void Add(uint64_t n = 1) { value_.fetch_add(n, std::memory_order_relaxed); }
  uint64_t value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> value_{0};
};

// Buckets in seconds; Observe takes seconds.
class Histogram {
 public:
  explicit Histogram(std::vector<double> bounds);
  void Observe(double seconds);
  std::string Render(const std::string& name, const std::string& labels) const;

 private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> counts_;  // one per bound, plus +Inf
  std::atomic<uint64_t> sum_micros_{0};
  std::atomic<uint64_t> count_{0};
};

class Metrics {
 public:
  // Returns the counter for `name` with `labels` (e.g. `method="GET",code="200"`), creating it.
  Counter& GetCounter(const std::string& name, const std::string& help, const std::string& labels);
  Histogram& GetHistogram(const std::string& name, const std::string& help,
                          const std::string& labels);
  // A value read when scraped (events appended, projection lag, open connections).
  void AddGauge(const std::string& name, const std::string& help, std::function<double()> read);
  // Drops a gauge whose source is going away.
  void RemoveGauge(const std::string& name);
  std::string Render() const;

 private:
  struct Family {
    std::string help;
    std::string type;
    std::map<std::string, std::unique_ptr<Counter>> counters;
    std::map<std::string, std::unique_ptr<Histogram>> histograms;
    std::function<double()> gauge;
  };
  mutable std::mutex mu_;
  std::map<std::string, Family> families_;
};

}  // namespace nextier::adapters
