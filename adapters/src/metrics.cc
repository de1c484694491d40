#include "nextier/adapters/metrics.h"

#include <cmath>
#include <cstdio>

namespace nextier::adapters {
namespace {

std::string FormatDouble(double v) {
  if (std::isinf(v)) return "+Inf";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.9g", v);
  return buf;
}

std::string WithLabels(const std::string& name, const std::string& labels) {
  return labels.empty() ? name : name + "{" + labels + "}";
}

}  // namespace

Histogram::Histogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)), counts_(new std::atomic<uint64_t>[bounds_.size() + 1]) {
  for (size_t i = 0; i <= bounds_.size(); ++i) counts_[i] = 0;
}

void Histogram::Observe(double seconds) {
  size_t i = 0;
  while (i < bounds_.size() && seconds > bounds_[i]) ++i;
  counts_[i].fetch_add(1, std::memory_order_relaxed);
  sum_micros_.fetch_add(static_cast<uint64_t>(seconds * 1e6), std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
}

std::string Histogram::Render(const std::string& name, const std::string& labels) const {
  std::string out;
  uint64_t cumulative = 0;
  const std::string sep = labels.empty() ? "" : ",";
  for (size_t i = 0; i <= bounds_.size(); ++i) {
    cumulative += counts_[i].load(std::memory_order_relaxed);
    const std::string le = i < bounds_.size() ? FormatDouble(bounds_[i]) : "+Inf";
    out += name + "_bucket{" + labels + sep + "le=\"" + le + "\"} " + std::to_string(cumulative) +
           "\n";
  }
  out += WithLabels(name + "_sum", labels) + " " +
         FormatDouble(static_cast<double>(sum_micros_.load()) / 1e6) + "\n";
  out += WithLabels(name + "_count", labels) + " " + std::to_string(count_.load()) + "\n";
  return out;
}

Counter& Metrics::GetCounter(const std::string& name, const std::string& help,
                             const std::string& labels) {
  std::lock_guard lock(mu_);
  auto& f = families_[name];
  f.help = help;
  f.type = "counter";
  auto& c = f.counters[labels];
  if (!c) c = std::make_unique<Counter>();
  return *c;
}

Histogram& Metrics::GetHistogram(const std::string& name, const std::string& help,
                                 const std::string& labels) {
  std::lock_guard lock(mu_);
  auto& f = families_[name];
  f.help = help;
  f.type = "histogram";
  auto& h = f.histograms[labels];
  if (!h) {
    h = std::make_unique<Histogram>(
        std::vector<double>{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5});
  }
  return *h;
}

void Metrics::AddGauge(const std::string& name, const std::string& help,
                       std::function<double()> read) {
  std::lock_guard lock(mu_);
  auto& f = families_[name];
  f.help = help;
  f.type = "gauge";
  f.gauge = std::move(read);
}

void Metrics::RemoveGauge(const std::string& name) {
  std::lock_guard lock(mu_);
  auto it = families_.find(name);
  if (it != families_.end() && it->second.gauge) families_.erase(it);
}

std::string Metrics::Render() const {
  std::lock_guard lock(mu_);
  std::string out;
  for (const auto& [name, f] : families_) {
    out += "# HELP " + name + " " + f.help + "\n";
    out += "# TYPE " + name + " " + f.type + "\n";
    if (f.gauge) out += name + " " + FormatDouble(f.gauge()) + "\n";
    for (const auto& [labels, c] : f.counters) {
      out += WithLabels(name, labels) + " " + std::to_string(c->value()) + "\n";
    }
    for (const auto& [labels, h] : f.histograms) out += h->Render(name, labels);
  }
  return out;
}

}  // namespace nextier::adapters
