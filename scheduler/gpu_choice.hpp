#pragma once
// GPUs within a node for one task. A policy chooses only a single fraction's GPU (with its
// score, node_score::gpu); every other choice is this rule, the same for all policies.
#include <cstdint>
#include <vector>

#include "scheduler/fit.hpp"
#include "scheduler/policy.hpp"
#include "scheduler/random.hpp"

namespace gantry::sched {

// The fullest GPU of `n` that can take one more task of `s` now, the lowest-numbered
// among equals; -1 when none can.
int32_t fullest_gpu(const node_state& n, const task_shape& s);

// The GPU slots one task of `s` takes on `n`, into `out` (empty for a CPU-only task):
//   - whole GPUs: without topology the lowest-numbered usable ones; with NVLink groups
//     (else NUMA nodes) `near_group` if it has room (>= 0: further ranks of a packed gang),
//     else the smallest group that holds them all (keeping big groups whole), else the
//     fewest groups;
//   - several fractions: the fullest usable GPUs;
//   - one fraction: `chosen` when >= 0 (the policy's choice), else the first usable GPU,
//     or under tie_rule::uniform a uniformly random one.
// Returns false when `n` cannot take the task. REQUIRES: `chosen` is -1 or usable.
bool choose_gpus(const node_state& n, const task_shape& s, int32_t chosen, tie_rule ties, rng& gen,
                 int32_t near_group, std::vector<int32_t>& out);

}  // namespace gantry::sched
