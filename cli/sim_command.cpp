// `gantry sim`: flags to scheduler/sim/sim.hpp.
#include <iostream>
#include <sstream>

#include "cli/commands.hpp"
#include "scheduler/sim/sim.hpp"

namespace gantry::cli {

int run_sim(const sim_cli_options& o) {
  auto seeds = sched::parse_seeds(o.seeds);
  if (!seeds) {
    std::cerr << "gantry sim: --seeds: " << seeds.error().message << "\n";
    return kExitUsage;
  }
  if (!(o.load > 0 && o.load <= 10)) {
    std::cerr << "gantry sim: --load must be above 0 and at most 10 (1.3 = 130%), got " << o.load
              << "\n";
    return kExitUsage;
  }
  sched::sim_options so;
  so.nodes_csv = o.nodes_csv;
  so.pods_csv = o.pods_csv;
  std::stringstream policies(o.policy);
  for (std::string p; std::getline(policies, p, ',');)
    if (!p.empty()) so.policies.push_back(p);
  so.seeds = *seeds;
  so.load = o.load;
  so.json = o.json;
  so.queues_csv = o.queues_csv;
  so.duration_s = o.duration;
  so.task_seconds = o.task_seconds;
  return sched::run_sim(so, std::cout, std::cerr);
}

}  // namespace gantry::cli
