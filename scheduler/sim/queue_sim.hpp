#pragma once
// `gantry sim --queues`: the queue book replayed over simulated time on a trace's tasks.
// Every queue keeps a backlog of tasks drawn from the trace waiting while it is active; tasks
// run for exponentially distributed times; the book admits, reclaims and preempts through
// the real scheduler; victims stop after their grace and resume where they stopped. The
// report is each queue's share of the GPUs over time and the preemptions it caused and
// suffered (docs/scheduler.md, docs/queues.md).
#include <cstdint>
#include <iosfwd>
#include <string>
#include <vector>

#include "core/result.hpp"
#include "scheduler/queues/queue_book.hpp"
#include "scheduler/sim/sim.hpp"

namespace gantry::sched {

// One queue of the replay: its definition and how its users submit.
struct sim_queue {
  queue_spec spec;
  double start_s = 0;    // its users submit from this time...
  double stop_s = -1;    // ...until this one (-1: the end)
  int32_t backlog = 20;  // tasks kept waiting while it submits
  double grace_s = 30;   // its tasks stop this long after a stop order
};

// Queue list: header with `name` and any of weight, guarantee_gpu, guarantee_cpu,
// guarantee_memory, limit_gpu, limit_cpu, limit_memory (empty: none), start_s, stop_s,
// backlog, grace_s. Errors name file:line:column.
result<std::vector<sim_queue>> read_sim_queues(const std::string& path);

struct queue_sim_config {
  double duration_s = 14400;
  double task_seconds = 900;  // mean task duration (exponential)
  double round_s = 10;        // one scheduling round every
  int32_t points = 24;        // share samples over the run
};

struct queue_sim_queue {
  std::string name;
  double share_pct = 0;      // mean share of cluster GPUs over the second half of the run
  double preempted = 0;      // stop orders its tasks got
  double preempted_for = 0;  // stop orders made for its tasks
  double placed = 0;         // placements (a resumed victim counts again)
  double mean_wait_s = 0;    // submit (or stop) to placement, over placements
};

struct queue_sim_point {
  double t_s = 0;
  std::vector<double> share_pct;  // per queue, in the order of the queue list
  double allocated_pct = 0;       // all queues together
};

struct queue_sim_result {
  double seconds = 0;  // mean wall time of one run
  std::vector<queue_sim_queue> queues;
  std::vector<queue_sim_point> points;  // mean over seeds
};

// Runs the replay once per seed and averages. REQUIRES: the nodes have GPUs; queue names
// are unique (a `default` row only sets the default queue's weight).
queue_sim_result simulate_queues(const std::vector<node_inventory>& nodes,
                                 const std::vector<sim_task>& tasks,
                                 const std::vector<sim_queue>& queues, policy_kind policy,
                                 const std::vector<uint64_t>& seeds, const queue_sim_config& cfg);

// `gantry sim --queues`: reads the files, runs the replay for each policy and prints a table
// (or JSON, one object per policy). Returns 0, or 2 on bad input.
int run_queue_sim(const sim_options& opts, std::ostream& out, std::ostream& err);

}  // namespace gantry::sched
