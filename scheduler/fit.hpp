#pragma once
// Filters: whether one task of a request fits one node, and if not, which filter said no.
// Static filters look at what the node is (cordon, labels, fabrics, GPU models and sizes);
// dynamic ones at what it has free. The first failing filter is the node's reason.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "scheduler/cluster_view.hpp"

namespace gantry::sched {

enum class fit_code : uint8_t {
  ok,
  unschedulable,   // cordoned, draining or lost
  selector,        // node_selector labels do not match
  colocate,        // not one of colocate_nodes
  fabric,          // lacks the fabric provider
  no_gpu,          // the node has no GPU
  gpu_model,       // no GPU of the requested models
  gpu_count,       // fewer such GPUs than requested
  gpu_memory_cap,  // such GPUs are too small for gpu_memory
  reserved,        // held for an older request (scheduler's anti-starvation rule)
  cpu,
  memory,
  dpu,
  gpu_memory,  // GPUs have the compute share free but not the memory
  gpu,         // not enough free GPU share
};

// A request compiled for fast filtering and scoring.
struct task_shape {
  int64_t cpu = 0;
  int64_t mem = 0;
  int32_t dpus = 0;
  int32_t gpus = 0;     // GPUs per task
  int32_t milli = 0;    // share of each, 1..1000
  int64_t gpu_mem = 0;  // per GPU; 0 = none asked (fractions then get a proportional slice)
  bool any_model = true;
  model_mask models;
  std::string models_text;                 // "H100" or "A100/H100", for reasons
  const placement_request* req = nullptr;  // selector, fabric, colocate
  std::string key;                         // equal keys filter and score identically

  bool whole() const { return milli >= kGpuMilliWhole; }
  bool fractional() const { return gpus > 0 && milli < kGpuMilliWhole; }
  bool one_fraction() const { return gpus == 1 && milli < kGpuMilliWhole; }
};

// REQUIRES: req outlives the shape.
task_shape compile_shape(const placement_request& req);

fit_code static_fit(const node_state& n, const task_shape& s);
fit_code dynamic_fit(const node_state& n, const task_shape& s);
inline fit_code check_fit(const node_state& n, const task_shape& s) {
  const fit_code c = static_fit(n, s);
  return c != fit_code::ok ? c : dynamic_fit(n, s);
}

// The words a reason uses for `c`, e.g. "insufficient gpu_memory" or "no H100".
std::string fit_text(fit_code c, const task_shape& s, std::string_view reserved_for);

bool gpu_model_ok(const node_state& n, int32_t slot, const task_shape& s);
// Memory one task of `s` reserves on GPU `slot`.
int64_t gpu_mem_need(const node_state& n, int32_t slot, const task_shape& s);
// Whether GPU `slot` can take one more task of `s` now.
bool gpu_usable(const node_state& n, int32_t slot, const task_shape& s);

// How many tasks of `s` fit on `n` now, at most `limit`. Ignores static filters.
int32_t capacity(const node_state& n, const task_shape& s, int32_t limit);
// `n` with nothing reserved: its totals as free amounts.
node_state empty_copy(const node_state& n);

// What one task of `s` on `n` using GPU `slots` (from choose_gpus) would take.
task_assignment make_assignment(const node_state& n, const task_shape& s,
                                const std::vector<int32_t>& slots);
// Reserves one task of `s` on `n` using GPU `slots` (from choose_gpus) and returns what
// it took. REQUIRES: check_fit(n, s) == ok and the slots are usable.
task_assignment take_task(node_state& n, const task_shape& s, const std::vector<int32_t>& slots);

}  // namespace gantry::sched
