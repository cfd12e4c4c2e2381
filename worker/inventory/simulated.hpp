#pragma once
// Simulated GPUs and DPUs, for development and tests on machines without them
// (`gantry worker --simulate-gpus 4xH100:80GiB --simulate-dpus 1`). Every simulated device
// carries simulated = true, so `gantry nodes` and the scheduler's callers can tell them apart.
#include <string_view>
#include <vector>

#include "core/resources.hpp"
#include "core/result.hpp"

namespace gantry::inventory {

// The form every spec error shows.
inline constexpr std::string_view kSimulatedGpuForm =
    "expected <count>x<model>:<memory> joined by commas, e.g. 4xH100:80GiB or "
    "2xA100:40GiB,2xT4:16GiB";

// Parses "<count>x<model>:<memory>[,<count>x<model>:<memory>...]": count 1..64, model
// [A-Za-z0-9-]+, memory as parse_bytes reads it (above 0). Spaces around parts are ignored.
// GPU i of n (numbered across all parts) gets nvlink_group i/8, numa_node i*2/n,
// uuid "SIM-<model>-<i>", simulated = true.
// Errors (invalid_argument) quote the bad part, say what is wrong and end with
// kSimulatedGpuForm, e.g.
//   simulated GPU spec "4xH100": missing ":<memory>"; expected <count>x<model>:<memory> ...
result<std::vector<gpu_info>> parse_simulated_gpus(std::string_view spec);

// `count` DPUs named "BlueField-3 (simulated)", indices 0..count-1. REQUIRES: count >= 0.
std::vector<dpu_info> make_simulated_dpus(int count);

}  // namespace gantry::inventory
