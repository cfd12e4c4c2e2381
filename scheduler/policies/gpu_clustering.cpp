// GpuClustering: nodes already running only tasks of this GPU shape first (75+), then
// nodes running it among others (50+), then idle nodes (25+), then the rest (0+); within a
// band fuller nodes first (+0..25). A fraction takes the fullest GPU that fits.
#include "scheduler/policies/policies.hpp"

namespace gantry::sched::policies {

node_score gpu_clustering(const node_state& n, const task_shape& s, const score_context& ctx) {
  if (s.gpus == 0) return {0, -1};
  const int64_t mg = ctx.max_gpu_milli;
  const int64_t used = std::max<int64_t>(0, mg - n.gpu_milli_free_total());
  const auto base = static_cast<int32_t>(kMaxScore / 4 * used / mg);
  int32_t kinds = 0;
  for (int32_t c : n.affinity) kinds += c > 0 ? 1 : 0;
  int32_t band = kinds == 0 ? 25 : 0;
  if (n.affinity[affinity_slot(s.gpus, s.milli)] > 0) band = kinds == 1 ? 75 : 50;
  return {base + band, fullest_fraction_gpu(n, s)};
}

}  // namespace gantry::sched::policies
