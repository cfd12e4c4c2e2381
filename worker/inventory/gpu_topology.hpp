#pragma once
// Grouping a machine's GPUs into NVLink domains (gpu_info::nvlink_group), from pairwise facts
// that NVML reports. Pure: tests pass made-up facts.
#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/resources.hpp"

namespace gantry::inventory {

// How two GPUs of one machine are connected, as far as NVML could tell; nullopt = unknown.
struct gpu_pair_link {
  std::optional<bool> nvlink;            // peer-to-peer over NVLink (direct or via NVSwitch)
  std::optional<bool> same_pcie_switch;  // no host bridge between them (PCIe switch hierarchy)
};

// Sets nvlink_group on every GPU. `link(i, j)` (i < j, positions in `gpus`) describes a pair.
//   - some pair has NVLink: the groups are the connected components of the NVLink graph
//     (a GPU without NVLink peers is a group of its own);
//   - else some pair's PCIe relation is known: components of the same-PCIe-switch graph;
//   - else GPUs with the same known numa_node share a group; unknown NUMA gives -1.
// A single GPU is group 0. Group ids count from 0 in order of each group's first GPU.
// Returns one line on which rule was used.
std::string assign_nvlink_groups(std::vector<gpu_info>& gpus,
                                 const std::function<gpu_pair_link(size_t, size_t)>& link);

}  // namespace gantry::inventory
