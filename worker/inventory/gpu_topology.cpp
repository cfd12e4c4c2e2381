#include "worker/inventory/gpu_topology.hpp"

#include <algorithm>
#include <map>
#include <numeric>

namespace gantry::inventory {
namespace {

struct disjoint_sets {
  explicit disjoint_sets(size_t n) : parent_(n) { std::iota(parent_.begin(), parent_.end(), 0); }
  size_t find(size_t x) {
    while (parent_[x] != x) x = parent_[x] = parent_[parent_[x]];
    return x;
  }
  void join(size_t a, size_t b) {
    a = find(a);
    b = find(b);
    if (a != b) parent_[std::max(a, b)] = std::min(a, b);  // the lowest position is the root
  }

 private:
  std::vector<size_t> parent_;
};

// Numbers the components 0, 1, ... in order of their first GPU.
void number_components(std::vector<gpu_info>& gpus, disjoint_sets& sets) {
  std::map<size_t, int32_t> ids;
  for (size_t i = 0; i < gpus.size(); ++i) {
    auto [it, added] = ids.try_emplace(sets.find(i), static_cast<int32_t>(ids.size()));
    gpus[i].nvlink_group = it->second;
  }
}

}  // namespace

std::string assign_nvlink_groups(std::vector<gpu_info>& gpus,
                                 const std::function<gpu_pair_link(size_t, size_t)>& link) {
  const size_t n = gpus.size();
  if (n == 0) return "no GPUs";
  if (n == 1) {
    gpus[0].nvlink_group = 0;
    return "one GPU: group 0";
  }
  disjoint_sets nvlink(n);
  disjoint_sets pcie(n);
  bool any_nvlink = false;
  bool pcie_known = false;
  for (size_t i = 0; i < n; ++i) {
    for (size_t j = i + 1; j < n; ++j) {
      gpu_pair_link l = link(i, j);
      if (l.nvlink.value_or(false)) {
        any_nvlink = true;
        nvlink.join(i, j);
      }
      if (l.same_pcie_switch) {
        pcie_known = true;
        if (*l.same_pcie_switch) pcie.join(i, j);
      }
    }
  }
  if (any_nvlink) {
    number_components(gpus, nvlink);
    return "groups are NVLink domains";
  }
  if (pcie_known) {
    number_components(gpus, pcie);
    return "no NVLink between any GPUs: groups are GPUs under one PCIe switch";
  }
  std::map<int32_t, int32_t> by_numa;
  bool any_unknown = false;
  for (auto& g : gpus) {
    if (g.numa_node < 0) {
      g.nvlink_group = -1;
      any_unknown = true;
      continue;
    }
    auto [it, added] = by_numa.try_emplace(g.numa_node, static_cast<int32_t>(by_numa.size()));
    g.nvlink_group = it->second;
  }
  return any_unknown ? "no NVLink or PCIe topology: groups by NUMA node, -1 where unknown"
                     : "no NVLink or PCIe topology: groups are NUMA nodes";
}

}  // namespace gantry::inventory
