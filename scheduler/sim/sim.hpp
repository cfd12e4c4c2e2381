#pragma once
// `gantry sim`: replays a GPU cluster trace (the Alibaba openb format) through the real
// scheduler, by the FGD paper's method (shared/data/alibaba-gpu-2023/README.md and
// docs/scheduler.md): arrival only, each task tried once, GPU allocation measured against
// arrived GPU demand, averaged over seeds.
#include <cstdint>
#include <iosfwd>
#include <string>
#include <string_view>
#include <vector>

#include "core/resources.hpp"
#include "core/result.hpp"
#include "scheduler/scheduler.hpp"

namespace gantry::sched {

struct sim_options {
  std::string nodes_csv, pods_csv;
  std::vector<std::string> policies;  // "all" expands; empty = FGD
  std::vector<uint64_t> seeds;        // empty = {42}
  double load = 1.3;                  // arrived GPU demand to reach, over cluster capacity
  bool json = false;
  // With a queue list: the multi-queue replay over time instead (queue_sim.hpp).
  std::string queues_csv;
  double duration_s = 14400;  // simulated time
  double task_seconds = 900;  // mean task duration
};

// Runs the replay and prints a table (or JSON: one object per policy, {policy, seconds,
// points: [{arrived_pct, gpu_alloc_pct, frag_pct}], ...}); with `queues_csv`, the
// multi-queue replay's report (run_queue_sim). Returns 0, or 2 on bad input with an error
// naming the file, line and column on `err`.
int run_sim(const sim_options& opts, std::ostream& out, std::ostream& err);

// "42", "42..51", "1,2,3" (items may mix: "1,5..7").
result<std::vector<uint64_t>> parse_seeds(std::string_view text);

// One trace row.
struct sim_task {
  std::string name;
  resource_request resources;
  int64_t gpu_demand() const {
    return static_cast<int64_t>(resources.gpu_count) * resources.gpu_milli;
  }
};

// Node list: header with sn (or name), cpu_milli, memory_mib, gpu, model.
result<std::vector<node_inventory>> read_sim_nodes(const std::string& path);
// Task list: header with name, cpu_milli, memory_mib, num_gpu, gpu_milli[, gpu_spec].
result<std::vector<sim_task>> read_sim_tasks(const std::string& path);

struct sim_point {
  int32_t arrived_pct = 0;
  double gpu_alloc_pct = 0;
  double frag_pct = 0;  // FGD fragmentation, % of cluster GPU capacity
};

struct sim_curve {
  policy_kind policy = policy_kind::fgd;
  double seconds = 0;  // mean wall time of one run (one seed)
  double total_seconds = 0;
  double tasks = 0;               // mean tasks per run (after tuning to the load)
  double failed = 0;              // mean tasks that fit nowhere
  std::vector<sim_point> points;  // mean over seeds, for each integer arrived %
};

// The paper's order for one seed: sort by name, shuffle, then append tasks drawn with
// replacement (or drop random ones) until arrived GPU demand is at most load * capacity.
std::vector<const sim_task*> sim_order(const std::vector<sim_task>& tasks, uint64_t seed,
                                       double load, int64_t cluster_gpu_milli);

// FGD's target workload for a trace: its task types, the most common up to 95% of tasks
// (memory ignored, as in the paper).
std::vector<workload_type> trace_workload(const std::vector<sim_task>& tasks);

sim_curve simulate(const std::vector<node_inventory>& nodes, const std::vector<sim_task>& tasks,
                   policy_kind policy, const std::vector<uint64_t>& seeds, double load);

}  // namespace gantry::sched
