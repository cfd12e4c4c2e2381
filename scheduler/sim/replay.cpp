// `gantry sim`: the replay loop, one run per policy and seed, averaged into a curve.
#include "scheduler/sim/sim.hpp"

#include <chrono>
#include <cmath>
#include <limits>

namespace gantry::sched {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

struct run_result {
  std::vector<double> alloc;  // per integer arrived %, NaN when no task landed near it
  std::vector<double> frag;
  size_t tasks = 0, failed = 0;
  double seconds = 0;
};

run_result run_once(const cluster_view& base, int64_t capacity, const std::vector<sim_task>& tasks,
                    const std::vector<workload_type>& workload, policy_kind policy, uint64_t seed,
                    double load) {
  const auto start = std::chrono::steady_clock::now();
  const auto order = sim_order(tasks, seed, load, capacity);
  cluster_view view = base;
  scheduler sched(policy, seed);
  sched.set_target_workload(workload);
  const auto max_pct = static_cast<int32_t>(std::floor(load * 100 + 1e-9));
  std::vector<double> sum(max_pct + 2, 0), frag(max_pct + 1, kNaN);
  std::vector<int64_t> count(max_pct + 2, 0);
  int32_t next_frag = 0;
  int64_t arrived = 0, allocated = 0;
  run_result r;
  placement_request req;
  placement p;
  std::string reason;
  const double cap = static_cast<double>(capacity);
  for (const sim_task* t : order) {
    req.id = t->name;
    req.per_task = t->resources;
    arrived += t->gpu_demand();
    if (sched.place_now(view, req, p, reason)) {
      allocated += t->gpu_demand();
    } else {
      ++r.failed;
    }
    const double arrived_pct = 100.0 * static_cast<double>(arrived) / cap;
    // The paper buckets events by arrived % rounded half to even (Python's round()).
    const auto bucket = static_cast<int64_t>(std::nearbyint(arrived_pct));
    if (bucket >= 0 && bucket <= max_pct + 1) {
      sum[bucket] += 100.0 * static_cast<double>(allocated) / cap;
      ++count[bucket];
    }
    while (next_frag <= max_pct && arrived_pct >= next_frag) {
      frag[next_frag++] = 100.0 * sched.fragmentation(view) / cap;
    }
  }
  // Arrived demand stops just short of the load: the last points get the final state.
  const double final_frag = 100.0 * sched.fragmentation(view) / cap;
  while (next_frag <= max_pct) frag[next_frag++] = final_frag;
  r.tasks = order.size();
  r.alloc.assign(max_pct + 1, kNaN);
  for (int32_t x = 0; x <= max_pct; ++x) {
    if (count[x] > 0) {
      r.alloc[x] = sum[x] / static_cast<double>(count[x]);
      continue;
    }
    double s = 0;  // none exactly at x: the paper then averages x-1..x+1
    int64_t n = 0;
    for (int32_t y = std::max(0, x - 1); y <= x + 1; ++y) {
      s += sum[y];
      n += count[y];
    }
    if (n > 0) r.alloc[x] = s / static_cast<double>(n);
  }
  r.frag = std::move(frag);
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return r;
}

double mean_of(const std::vector<double>& v) {
  double s = 0;
  int n = 0;
  for (double x : v) {
    if (!std::isnan(x)) {
      s += x;
      ++n;
    }
  }
  return n > 0 ? s / n : kNaN;
}

}  // namespace

std::vector<workload_type> trace_workload(const std::vector<sim_task>& tasks) {
  std::vector<workload_type> all;
  all.reserve(tasks.size());
  for (const auto& t : tasks) {
    workload_type w;
    w.cpu_milli = t.resources.cpu_milli;
    w.gpu_count = t.resources.gpu_count;
    w.gpu_milli = t.resources.gpu_milli;
    w.gpu_models = t.resources.gpu_models;
    w.weight = 1;
    all.push_back(std::move(w));
  }
  return typical_workload(all, 0.95);
}

sim_curve simulate(const std::vector<node_inventory>& nodes, const std::vector<sim_task>& tasks,
                   policy_kind policy, const std::vector<uint64_t>& seeds, double load) {
  cluster_view base;
  int64_t capacity = 0;
  for (const auto& n : nodes) {
    base.upsert_node(n);
    capacity += static_cast<int64_t>(n.gpus.size()) * kGpuMilliWhole;
  }
  const auto workload = trace_workload(tasks);
  sim_curve c;
  c.policy = policy;
  const auto max_pct = static_cast<int32_t>(std::floor(load * 100 + 1e-9));
  std::vector<std::vector<double>> alloc(max_pct + 1), frag(max_pct + 1);
  for (uint64_t seed : seeds) {
    const run_result r = run_once(base, capacity, tasks, workload, policy, seed, load);
    c.total_seconds += r.seconds;
    c.tasks += static_cast<double>(r.tasks);
    c.failed += static_cast<double>(r.failed);
    for (int32_t x = 0; x <= max_pct; ++x) {
      alloc[x].push_back(r.alloc[x]);
      frag[x].push_back(r.frag[x]);
    }
  }
  const auto runs = static_cast<double>(std::max<size_t>(1, seeds.size()));
  c.seconds = c.total_seconds / runs;
  c.tasks /= runs;
  c.failed /= runs;
  for (int32_t x = 0; x <= max_pct; ++x) {
    const double a = mean_of(alloc[x]);
    if (std::isnan(a)) continue;
    c.points.push_back({x, a, mean_of(frag[x])});
  }
  return c;
}

}  // namespace gantry::sched
