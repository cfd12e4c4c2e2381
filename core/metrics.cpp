#include "core/metrics.hpp"

#include <algorithm>

namespace gantry {

histogram::histogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)), buckets_(new std::atomic<uint64_t>[bounds_.size()]) {
  for (size_t i = 0; i < bounds_.size(); ++i) buckets_[i] = 0;
}

void histogram::observe_seconds(double seconds) {
  if (seconds < 0) seconds = 0;
  auto it = std::lower_bound(bounds_.begin(), bounds_.end(), seconds);
  if (it != bounds_.end()) buckets_[it - bounds_.begin()].fetch_add(1, std::memory_order_relaxed);
  sum_ns_.fetch_add(static_cast<uint64_t>(seconds * 1e9), std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_release);
}

histogram::snapshot histogram::read() const {
  snapshot s;
  s.count = count_.load(std::memory_order_acquire);
  s.sum_seconds = static_cast<double>(sum_ns_.load(std::memory_order_relaxed)) / 1e9;
  s.bounds = bounds_;
  uint64_t running = 0;
  for (size_t i = 0; i < bounds_.size(); ++i) {
    running += buckets_[i].load(std::memory_order_relaxed);
    s.cumulative.push_back(std::min(running, s.count));
  }
  return s;
}

namespace {
// 100 us .. 10 s: store writes and scheduler runs sit at the low end.
std::vector<double> fast_bounds() {
  return {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
          0.05,   0.1,     0.25,   0.5,   1,      2.5,   5,    10};
}
// 1 ms .. 1 h: a job may wait long for room.
std::vector<double> wait_bounds() {
  return {0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,  1,
          2.5,   5,     10,   30,    60,   300, 900,  1800, 3600};
}
}  // namespace

coordinator_metrics::coordinator_metrics()
    : submit_to_running(wait_bounds()),
      placement_decision(fast_bounds()),
      store_write(fast_bounds()) {}

}  // namespace gantry
