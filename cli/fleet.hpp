#pragma once
// `gantry worker --fleet N`: N simulated workers in one process, each its own node over its
// own connection (registration, heartbeats, launches, exit reports exactly as a worker sends
// them), starting no process. How scale is tested (docs/scale.md).
#include <string>

#include "core/records.hpp"
#include "protocol/worker_link.hpp"

namespace gantry::cli {

struct fleet_options {
  int members = 0;
  std::string name_prefix;  // members are PREFIX00001, PREFIX00002, ...
  std::string data_dir;     // each member's node credential in DATA_DIR/NAME/
};

// `inventory` and `link` are every member's (the name and credential file are set per
// member). Runs until SIGTERM or SIGINT; returns the exit code.
int run_fleet(const fleet_options& o, const node_inventory& inventory,
              const worker_link_options& link);

}  // namespace gantry::cli
