#include <iostream>

#include "cli/commands.hpp"

namespace gantry::cli {

int run_sim(const sim_cli_options& o) {
  std::cerr << "gantry sim: not available in this build\n";
  return kExitUsage;
}

}  // namespace gantry::cli
