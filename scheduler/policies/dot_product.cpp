// DotProd (Tetris): 1 - <free, request>/2, both normalised by the largest node's CPU and
// GPU share; a fraction takes the fullest GPU that fits.
#include "scheduler/policies/policies.hpp"

namespace gantry::sched::policies {

node_score dot_product(const node_state& n, const task_shape& s, const score_context& ctx) {
  const double mc = static_cast<double>(ctx.max_cpu_milli);
  const double mg = static_cast<double>(ctx.max_gpu_milli);
  const double dot = (static_cast<double>(n.cpu_free) / mc) * (static_cast<double>(s.cpu) / mc) +
                     (static_cast<double>(n.gpu_milli_free_total()) / mg) *
                         (static_cast<double>(s.gpus) * s.milli / mg);
  return {clamp_score((1.0 - dot / 2.0) * kMaxScore), fullest_fraction_gpu(n, s)};
}

}  // namespace gantry::sched::policies
