#include "scheduler/queues/fair_share.hpp"

#include <algorithm>
#include <cmath>

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

queue_resources borrowed_of(const queue_resources& usage, const queue_resources& guarantee) {
  const queue_resources over = excess(usage, guarantee);
  double beyond = -1;  // fraction of the work beyond the guarantee
  auto covered = [&](int64_t u, int64_t g, int64_t o) {
    if (g > 0 && u > 0) beyond = std::max(beyond, static_cast<double>(o) / static_cast<double>(u));
  };
  covered(usage.cpu_milli, guarantee.cpu_milli, over.cpu_milli);
  covered(usage.memory_bytes, guarantee.memory_bytes, over.memory_bytes);
  covered(usage.gpu_milli, guarantee.gpu_milli, over.gpu_milli);
  if (beyond < 0) beyond = 1;
  auto dim = [&](int64_t u, int64_t g, int64_t o) {
    return g > 0 ? o : static_cast<int64_t>(std::llround(static_cast<double>(u) * beyond));
  };
  return {dim(usage.cpu_milli, guarantee.cpu_milli, over.cpu_milli),
          dim(usage.memory_bytes, guarantee.memory_bytes, over.memory_bytes),
          dim(usage.gpu_milli, guarantee.gpu_milli, over.gpu_milli)};
}

double borrowed_share(const queue_resources& usage, const queue_resources& guarantee,
                      const queue_resources& capacity, double weight) {
  return dominant_share(borrowed_of(usage, guarantee), capacity) / weight;
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
