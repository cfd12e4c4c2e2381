#pragma once
// A placement policy is one row of the table in policy_table.cpp: its name, its node score
// (one file per policy under policies/), its tie rule, and whether it learns FGD's target
// workload. The engine runs every decision through the same chain, in one direction:
//   filters (fit.hpp) -> the row's score, which also chooses a fraction's GPU (cached per
//   request shape and node version) -> the best score, ties by the row's tie rule
//   -> the GPUs (gpu_choice.hpp) -> the assignment.
// Plain functions, no virtual calls: a decision scores thousands of nodes.
#include <cstdint>

#include "scheduler/fgd.hpp"
#include "scheduler/fit.hpp"
#include "scheduler/policy_kind.hpp"

namespace gantry::sched {

// What a score may read besides the node and the task.
struct score_context {
  const fgd_model* fgd = nullptr;  // the target workload
  // Normalisers: the largest node's CPU and GPU share (the paper's 128 cores, 8 GPUs).
  int64_t max_cpu_milli = 128000;
  int64_t max_gpu_milli = 8000;
};

// A policy's verdict on one node for one task.
struct node_score {
  int32_t score = 0;  // 0..100, higher better
  // For a task on one fractional GPU: the GPU slot the policy chose (the one its score
  // assumed). -1: no preference, the tie rule picks (gpu_choice.hpp). Other tasks' GPUs
  // follow the topology rule every policy shares.
  int32_t gpu = -1;
};

// REQUIRES: check_fit(n, s) == fit_code::ok. Depends only on its arguments.
using score_fn = node_score (*)(const node_state& n, const task_shape& s, const score_context& ctx);

// How nodes with equal scores, and GPUs a policy left open, are chosen.
enum class tie_rule : uint8_t {
  node_rank,   // a random rank per node, fixed for the scheduler's life (seeded), so ties
               // keep going to the same nodes and pack; the first GPU that fits
  name_order,  // the first node by name; the first GPU that fits
  uniform,     // a fresh uniform draw per decision, among nodes and among GPUs that fit
};

struct placement_policy {
  policy_kind kind;
  const char* name;  // as reports print it, e.g. "BestFit"
  const char* id;    // the enumerator's spelling, e.g. "best_fit"
  score_fn score;
  tie_rule ties;
  bool learns_workload;  // learns FGD's workload from enqueued requests unless one is set
};

// The table's row for `kind`.
const placement_policy& policy_of(policy_kind kind);

}  // namespace gantry::sched
