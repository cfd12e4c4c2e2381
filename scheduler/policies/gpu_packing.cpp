// GpuPacking: shared GPUs first, fuller ones better (50..100), then free GPUs on nodes
// already in use (33..50), then idle nodes (0..33). A fraction takes the fullest GPU that
// fits.
#include <vector>

#include "scheduler/policies/policies.hpp"

namespace gantry::sched::policies {

namespace {

int32_t packing_score(const node_state& n, const task_shape& s) {
  if (s.gpus == 0) return 0;
  int32_t fully_free = 0;
  for (int32_t m : n.gpu_milli) fully_free += m >= kGpuMilliWhole ? 1 : 0;
  if (fully_free == n.gpu_count()) return std::max(kMaxScore / 3 - fully_free, fully_free);
  std::vector<int32_t> order;
  for (int32_t i = 0; i < n.gpu_count(); ++i) order.push_back(i);
  std::stable_sort(order.begin(), order.end(),
                   [&](int32_t a, int32_t b) { return n.gpu_milli[a] < n.gpu_milli[b]; });
  int32_t need = s.gpus, free_used = 0;
  int64_t free_pct = 0;
  for (int32_t i : order) {
    if (need == 0) break;
    if (!gpu_usable(n, i, s)) continue;
    --need;
    if (n.gpu_milli[i] >= kGpuMilliWhole) ++free_used;
    free_pct += n.gpu_milli[i] * 100 / kGpuMilliWhole;
  }
  if (need != 0) return 0;
  if (free_used > 0) return std::max(kMaxScore / 2 - free_used, kMaxScore / 3);
  return std::max(static_cast<int32_t>(kMaxScore - free_pct / 10), kMaxScore / 2);
}

}  // namespace

node_score gpu_packing(const node_state& n, const task_shape& s, const score_context&) {
  return {packing_score(n, s), fullest_fraction_gpu(n, s)};
}

}  // namespace gantry::sched::policies
