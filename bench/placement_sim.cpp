// bench_placement_sim: runs scheduler/sim/sim.hpp's replay (what `gantry sim` runs) from the
// command line, for measuring packing quality and the replay's own run time.
//   bench_placement_sim --nodes CSV --pods CSV [--policy P|all]... [--seeds 42..51]
//                       [--load 1.3] [--json]
#include <cstdlib>
#include <iostream>
#include <string>

#include "scheduler/sim/sim.hpp"

int main(int argc, char** argv) {
  gantry::sched::sim_options opts;
  const std::string data = "/work/shared/data/alibaba-gpu-2023/";
  opts.nodes_csv = data + "openb_node_list_gpu_node.csv";
  opts.pods_csv = data + "openb_pod_list_default.csv";
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::cerr << arg << ": missing value\n";
        std::exit(2);
      }
      return argv[++i];
    };
    if (arg == "--nodes") {
      opts.nodes_csv = value();
    } else if (arg == "--pods") {
      opts.pods_csv = value();
    } else if (arg == "--policy") {
      opts.policies.push_back(value());
    } else if (arg == "--seed" || arg == "--seeds") {
      auto seeds = gantry::sched::parse_seeds(value());
      if (!seeds) {
        std::cerr << seeds.error().message << "\n";
        return 2;
      }
      opts.seeds = *seeds;
    } else if (arg == "--load") {
      opts.load = std::atof(value().c_str());
    } else if (arg == "--json") {
      opts.json = true;
    } else {
      std::cerr << "usage: bench_placement_sim [--nodes CSV] [--pods CSV] [--policy P|all] "
                   "[--seeds 42..51] [--load 1.3] [--json]\n";
      return 2;
    }
  }
  return gantry::sched::run_sim(opts, std::cout, std::cerr);
}
