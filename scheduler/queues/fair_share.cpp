#include "scheduler/queues/fair_share.hpp"

#include <algorithm>

namespace gantry::sched {

namespace {

double ratio(int64_t a, int64_t b) {
  return b > 0 && b != kNoLimit ? static_cast<double>(a) / static_cast<double>(b) : 0.0;
}

}  // namespace

queue_resources capacity_of(const cluster_view& view) {
  queue_resources c;
  for (const auto& [name, n] : view.nodes()) {
    if (!n.schedulable) continue;
    c.cpu_milli += n.inventory.cpu_milli;
    c.memory_bytes += n.inventory.memory_bytes;
    c.gpu_milli += static_cast<int64_t>(n.inventory.gpus.size()) * kGpuMilliWhole;
  }
  return c;
}

double dominant_share(const queue_resources& amount, const queue_resources& capacity) {
  return std::max({ratio(amount.cpu_milli, capacity.cpu_milli),
                   ratio(amount.memory_bytes, capacity.memory_bytes),
                   ratio(amount.gpu_milli, capacity.gpu_milli)});
}

double borrowed_share(const queue_resources& usage, const queue_resources& guarantee,
                      const queue_resources& capacity, double weight) {
  return dominant_share(excess(usage, guarantee), capacity) / weight;
}

bool within_guarantee(const queue_resources& usage, const queue_resources& need,
                      const queue_resources& guarantee) {
  const queue_resources part = guaranteed_part(need, guarantee);
  return !part.zero() && fits_within(guaranteed_part(usage, guarantee) + part, guarantee);
}

double guarantee_fill(const queue_resources& usage, const queue_resources& guarantee) {
  return std::max({ratio(usage.cpu_milli, guarantee.cpu_milli),
                   ratio(usage.memory_bytes, guarantee.memory_bytes),
                   ratio(usage.gpu_milli, guarantee.gpu_milli)});
}

}  // namespace gantry::sched
