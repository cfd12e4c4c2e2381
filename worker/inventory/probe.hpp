#pragma once
// The worker's inventory: what this machine offers (CPU, memory, GPUs, DPUs, fabrics), as
// reported when the worker registers. Including this header gives every probe.
#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "core/resources.hpp"
#include "core/result.hpp"
#include "worker/inventory/dpus.hpp"
#include "worker/inventory/fabric.hpp"
#include "worker/inventory/host.hpp"
#include "worker/inventory/nvml_gpus.hpp"
#include "worker/inventory/simulated.hpp"

namespace gantry::inventory {

struct probe_options {
  std::string name;                     // node name; empty = the host name
  std::optional<int64_t> cpu_milli;     // --cpus: replaces the probed CPU
  std::optional<int64_t> memory_bytes;  // --memory: replaces the probed memory
  std::string simulate_gpus;            // --simulate-gpus "4xH100:80GiB"; empty = probe real GPUs
  int simulate_dpus = 0;                // --simulate-dpus N; 0 = probe real DPUs
  std::map<std::string, std::string> labels;
};

// This machine's inventory. CPU: the affinity mask capped by the cgroup quota; memory:
// MemTotal capped by the cgroup limit (each replaced by its override when given). GPUs: the
// simulated ones when simulate_gpus is set (real GPUs are then not probed), else NVML's
// (none without a driver). DPUs: simulate_dpus simulated ones when above 0, else BlueField
// cards on the PCI bus. Fabrics: libfabric providers. hostname: gethostname().
// Fails (invalid_argument, naming the flag) on a bad simulate_gpus spec, an override <= 0 or
// simulate_dpus < 0; finding nothing is not an error. `notes`, when given, receives
// human-readable lines (one per resource) on what was found, simulated or missing and why.
result<node_inventory> probe(const probe_options& opts, std::string* notes = nullptr);

}  // namespace gantry::inventory
