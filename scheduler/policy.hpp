#pragma once
// Node scores and GPU choice of each policy. A score is an integer 0..100, higher better;
// the engine picks the best node with ties broken uniformly at random (first-fit: the first
// node by name). Scores follow the FGD paper's simulator so its baselines can be checked.
#include <cstdint>
#include <vector>

#include "scheduler/fgd.hpp"
#include "scheduler/fit.hpp"
#include "scheduler/policy_kind.hpp"
#include "scheduler/random.hpp"

namespace gantry::sched {

struct score_context {
  policy_kind policy = policy_kind::fgd;
  const fgd_model* fgd = nullptr;
  // Normalisers: the largest node's CPU and GPU share (the paper's 128 cores, 8 GPUs).
  int64_t max_cpu_milli = 128000;
  int64_t max_gpu_milli = 8000;
};

// Score of one task of `s` on `n`. REQUIRES: check_fit(n, s) == fit_code::ok.
int32_t node_score(const node_state& n, const task_shape& s, const score_context& ctx);

// GPU slots for one task of `s` on `n`, chosen the policy's way. `near_group` (>= 0) asks
// for GPUs in that NVLink/NUMA group when possible (further ranks of a packed gang).
// Returns false when the node cannot take the task. Empty `out` for CPU-only tasks.
bool choose_gpus(const node_state& n, const task_shape& s, const score_context& ctx, rng& gen,
                 int32_t near_group, std::vector<int32_t>& out);

}  // namespace gantry::sched
