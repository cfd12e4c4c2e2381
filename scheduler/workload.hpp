#pragma once
// FGD's target workload: the task types the cluster expects, with their shares.
#include <cstdint>
#include <string>
#include <vector>

namespace gantry::sched {

// One task type of FGD's target workload, with its share of tasks (weights sum to 1).
struct workload_type {
  int64_t cpu_milli = 0;
  int64_t memory_bytes = 0;  // 0: not considered (the paper ignores memory)
  int32_t gpu_count = 0;
  int32_t gpu_milli = 0;
  std::vector<std::string> gpu_models;  // any of these; empty = any
  double weight = 0;
};

// The most common types of `tasks` (each weighted by its count) up to `coverage` of all
// tasks, weights renormalised to 1: FGD's target workload as the paper builds it.
std::vector<workload_type> typical_workload(const std::vector<workload_type>& tasks,
                                            double coverage = 0.95);

}  // namespace gantry::sched
