// `gantry sim`: options to replays, and the report (a table, or JSON).
#include "scheduler/sim/queue_sim.hpp"
#include "scheduler/sim/sim.hpp"

#include <cmath>
#include <iomanip>
#include <limits>
#include <nlohmann/json.hpp>
#include <ostream>
#include <sstream>

namespace gantry::sched {

namespace {

constexpr double kNoFigure = std::numeric_limits<double>::quiet_NaN();

std::string seeds_text(const std::vector<uint64_t>& seeds) {
  bool contiguous = seeds.size() > 2;
  for (size_t i = 1; i < seeds.size(); ++i) contiguous &= seeds[i] == seeds[i - 1] + 1;
  if (contiguous) return std::to_string(seeds.front()) + ".." + std::to_string(seeds.back());
  std::string s;
  for (uint64_t x : seeds) s += (s.empty() ? "" : ",") + std::to_string(x);
  return s;
}

}  // namespace

int run_sim(const sim_options& opts, std::ostream& out, std::ostream& err) {
  if (!opts.queues_csv.empty()) return run_queue_sim(opts, out, err);
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
      double v = kNoFigure;
      for (const auto& pt : c.points) {
        if (pt.arrived_pct == x) v = pt.gpu_alloc_pct;
      }
      out << std::setw(8) << v;
    }
    double f = kNoFigure;
    for (const auto& pt : c.points) {
      if (pt.arrived_pct == max_pct) f = pt.frag_pct;
    }
    out << std::setw(10) << f << std::setw(9) << std::setprecision(1) << c.failed << std::setw(9)
        << std::setprecision(2) << c.seconds << "\n";
  }
  return 0;
}

}  // namespace gantry::sched
