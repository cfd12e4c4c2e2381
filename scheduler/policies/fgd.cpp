// FGD (Weng et al., USENIX ATC'23): sigmoid((frag_before - frag_after) / 1000) * 100, where
// frag is the target workload's fragmentation of the node (fgd.hpp). A fraction goes to the
// GPU where fragmentation grows least, and that GPU is the one scored.
#include <utility>
#include <vector>

#include "scheduler/policies/policies.hpp"

namespace gantry::sched::policies {

namespace {

// Every usable GPU is tried, the best wins (the first on ties); GPUs with equal free share
// and model give the same result, so only the first of them is tried.
node_score fraction(const node_state& n, const task_shape& s, const fgd_model& model) {
  const double before = model.frag(n);
  std::vector<int32_t> milli(n.gpu_milli);
  std::vector<std::pair<int32_t, int16_t>> tried;
  node_score best{-1, -1};
  for (int32_t i = 0; i < n.gpu_count(); ++i) {
    if (!gpu_usable(n, i, s)) continue;
    const std::pair<int32_t, int16_t> key{n.gpu_milli[i], n.gpu_model[i]};
    if (std::find(tried.begin(), tried.end(), key) != tried.end()) continue;
    tried.push_back(key);
    milli[i] -= s.milli;
    const int32_t sc =
        fgd_score(before, model.frag(n, n.cpu_free - s.cpu, n.mem_free - s.mem, milli.data()));
    milli[i] += s.milli;
    if (sc > best.score) best = {sc, i};
  }
  best.score = std::max(0, best.score);
  return best;
}

// Whole GPUs (or several fractions): scored on the lowest-numbered usable GPUs.
node_score other(const node_state& n, const task_shape& s, const fgd_model& model) {
  const double before = model.frag(n);
  std::vector<int32_t> milli(n.gpu_milli);
  int32_t need = s.gpus;
  for (int32_t i = 0; i < n.gpu_count() && need > 0; ++i) {
    if (!gpu_usable(n, i, s)) continue;
    milli[i] -= s.milli;
    --need;
  }
  return {fgd_score(before, model.frag(n, n.cpu_free - s.cpu, n.mem_free - s.mem, milli.data())),
          -1};
}

}  // namespace

node_score fgd(const node_state& n, const task_shape& s, const score_context& ctx) {
  return s.one_fraction() ? fraction(n, s, *ctx.fgd) : other(n, s, *ctx.fgd);
}

}  // namespace gantry::sched::policies
