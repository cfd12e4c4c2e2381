// BestFit: the node left fullest, free CPU and GPU share after placing each over the
// largest node's, weighted half and half; a fraction takes the fullest GPU that fits.
#include "scheduler/policies/policies.hpp"

namespace gantry::sched::policies {

node_score best_fit(const node_state& n, const task_shape& s, const score_context& ctx) {
  const double cpu_left = static_cast<double>(n.cpu_free - s.cpu);
  const double gpu_left =
      static_cast<double>(n.gpu_milli_free_total() - static_cast<int64_t>(s.gpus) * s.milli);
  const double left = 0.5 * cpu_left / static_cast<double>(ctx.max_cpu_milli) +
                      0.5 * gpu_left / static_cast<double>(ctx.max_gpu_milli);
  return {clamp_score((1.0 - left) * kMaxScore), fullest_fraction_gpu(n, s)};
}

}  // namespace gantry::sched::policies
