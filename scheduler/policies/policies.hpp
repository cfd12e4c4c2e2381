#pragma once
// Each policy's node score, one file each in this folder (docs/scheduler.md gives the
// formulas); policy_table.cpp makes each one a row.
#include <algorithm>
#include <cstdint>

#include "scheduler/gpu_choice.hpp"
#include "scheduler/policy.hpp"

namespace gantry::sched::policies {

node_score best_fit(const node_state& n, const task_shape& s, const score_context& ctx);
node_score dot_product(const node_state& n, const task_shape& s, const score_context& ctx);
node_score fgd(const node_state& n, const task_shape& s, const score_context& ctx);
node_score first_fit(const node_state& n, const task_shape& s, const score_context& ctx);
node_score gpu_clustering(const node_state& n, const task_shape& s, const score_context& ctx);
node_score gpu_packing(const node_state& n, const task_shape& s, const score_context& ctx);
node_score random(const node_state& n, const task_shape& s, const score_context& ctx);

// Helpers the scores share.
inline constexpr int32_t kMaxScore = 100;

// `v` truncated to an integer score in 0..kMaxScore.
inline int32_t clamp_score(double v) {
  return std::clamp(static_cast<int32_t>(v), 0, kMaxScore);
}

// For a task on one fractional GPU the fullest GPU that fits (the best-fit choice), else -1.
inline int32_t fullest_fraction_gpu(const node_state& n, const task_shape& s) {
  return s.one_fraction() ? fullest_gpu(n, s) : -1;
}

}  // namespace gantry::sched::policies
