// `gantry sim`: the replay loop and its report.
#include "scheduler/sim.hpp"

#include <chrono>
#include <cmath>
#include <iomanip>
#include <limits>
#include <nlohmann/json.hpp>
#include <ostream>
#include <sstream>

namespace gantry::sched {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// FGD's target workload: the trace's task types (memory ignored, as in the paper).
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

std::string seeds_text(const std::vector<uint64_t>& seeds) {
  bool contiguous = seeds.size() > 2;
  for (size_t i = 1; i < seeds.size(); ++i) contiguous &= seeds[i] == seeds[i - 1] + 1;
  if (contiguous) return std::to_string(seeds.front()) + ".." + std::to_string(seeds.back());
  std::string s;
  for (uint64_t x : seeds) s += (s.empty() ? "" : ",") + std::to_string(x);
  return s;
}

}  // namespace

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

int run_sim(const sim_options& opts, std::ostream& out, std::ostream& err) {
  if (!(opts.load > 0 && opts.load <= 10)) {
    err << "gantry sim: --load " << opts.load << ": expected a ratio in (0, 10], e.g. 1.3\n";
    return 2;
  }
  std::vector<policy_kind> policies;
  for (const auto& name : opts.policies.empty() ? std::vector<std::string>{"fgd"} : opts.policies) {
    if (name == "all" || name == "ALL" || name == "All") {
      for (auto p : all_policies()) policies.push_back(p);
      continue;
    }
    auto p = parse_policy(name);
    if (!p) {
      err << "gantry sim: --policy: " << p.error().message << "\n";
      return 2;
    }
    policies.push_back(*p);
  }
  const std::vector<uint64_t> seeds = opts.seeds.empty() ? std::vector<uint64_t>{42} : opts.seeds;
  auto nodes = read_sim_nodes(opts.nodes_csv);
  if (!nodes) {
    err << "gantry sim: --nodes " << nodes.error().message << "\n";
    return 2;
  }
  auto tasks = read_sim_tasks(opts.pods_csv);
  if (!tasks) {
    err << "gantry sim: --pods " << tasks.error().message << "\n";
    return 2;
  }
  int64_t gpus = 0;
  for (const auto& n : *nodes) gpus += static_cast<int64_t>(n.gpus.size());
  if (gpus == 0) {
    err << "gantry sim: --nodes " << opts.nodes_csv << ": no node has a GPU\n";
    return 2;
  }
  std::vector<sim_curve> curves;
  for (policy_kind p : policies) curves.push_back(simulate(*nodes, *tasks, p, seeds, opts.load));

  if (opts.json) {
    nlohmann::json all = nlohmann::json::array();
    for (const auto& c : curves) {
      nlohmann::json points = nlohmann::json::array();
      for (const auto& pt : c.points) {
        points.push_back({{"arrived_pct", pt.arrived_pct},
                          {"gpu_alloc_pct", std::round(pt.gpu_alloc_pct * 100) / 100},
                          {"frag_pct", std::round(pt.frag_pct * 100) / 100}});
      }
      all.push_back({{"policy", to_string(c.policy)},
                     {"seconds", c.seconds},
                     {"total_seconds", c.total_seconds},
                     {"seeds", seeds},
                     {"load", opts.load},
                     {"nodes", nodes->size()},
                     {"gpus", gpus},
                     {"tasks", c.tasks},
                     {"failed_tasks", c.failed},
                     {"points", points}});
    }
    out << all.dump(2) << "\n";
    return 0;
  }
  const auto max_pct = static_cast<int32_t>(std::floor(opts.load * 100 + 1e-9));
  std::vector<int32_t> cols;
  for (int32_t x = 100; x <= max_pct; x += 10) cols.push_back(x);
  if (cols.empty() || cols.back() != max_pct) cols.push_back(max_pct);
  out << "gantry sim: " << nodes->size() << " nodes, " << gpus << " GPUs; " << tasks->size()
      << " tasks; load " << max_pct << "%; seeds " << seeds_text(seeds) << " (" << seeds.size()
      << " runs per policy)\n";
  out << "GPU allocation, % of cluster GPUs, at arrived GPU demand (% of cluster GPUs):\n";
  std::ostringstream head;
  head << std::left << std::setw(15) << "policy" << std::right;
  for (int32_t x : cols) head << std::setw(8) << (std::to_string(x) + "%");
  head << std::setw(10) << "frag@" + std::to_string(max_pct) << std::setw(9) << "failed"
       << std::setw(9) << "s/run";
  out << head.str() << "\n";
  for (const auto& c : curves) {
    out << std::left << std::setw(15) << to_string(c.policy) << std::right << std::fixed
        << std::setprecision(2);
    for (int32_t x : cols) {
      double v = kNaN;
      for (const auto& pt : c.points) {
        if (pt.arrived_pct == x) v = pt.gpu_alloc_pct;
      }
      out << std::setw(8) << v;
    }
    double f = kNaN;
    for (const auto& pt : c.points) {
      if (pt.arrived_pct == max_pct) f = pt.frag_pct;
    }
    out << std::setw(10) << f << std::setw(9) << std::setprecision(1) << c.failed << std::setw(9)
        << std::setprecision(2) << c.seconds << "\n";
  }
  return 0;
}

}  // namespace gantry::sched
