#pragma once
// The scheduler's snapshot of the cluster: every node's capacity and what is reserved on it.
// The coordinator's cluster actor owns one; `gantry sim` and the benchmarks build their own.
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "core/resources.hpp"
#include "scheduler/node_state.hpp"
#include "scheduler/types.hpp"

namespace gantry::sched {

struct gpu_slot {
  gpu_info info;
  int32_t free_milli = kGpuMilliWhole;
  int64_t free_memory_bytes = 0;
};

struct node_view {
  node_inventory inventory;
  bool schedulable = true;  // false when cordoned, draining, lost
  int64_t free_cpu_milli = 0;
  int64_t free_memory_bytes = 0;
  int32_t free_dpus = 0;
  std::vector<gpu_slot> gpus;
};

// Copies are deep and independent.
class cluster_view {
 public:
  cluster_view() = default;
  cluster_view(const cluster_view& other);
  cluster_view& operator=(const cluster_view& other);
  cluster_view(cluster_view&&) noexcept = default;
  cluster_view& operator=(cluster_view&&) noexcept = default;

  // Adds a node with nothing reserved, or replaces its inventory keeping reservations
  // (free amounts shift by the change in capacity; GPUs matched by index).
  void upsert_node(const node_inventory& inv);
  void remove_node(const std::string& name);
  void set_schedulable(const std::string& name, bool schedulable);
  const node_view* find(const std::string& name) const;
  const std::map<std::string, node_view>& nodes() const { return nodes_; }

  // Reserves every task of `p`. REQUIRES: p came from a successful try on this view.
  void apply(const placement& p);
  // Returns exactly what `a` reserved. Unknown nodes are ignored (the node went away).
  void release(const task_assignment& a);

  // Internal to the scheduler: dense per-node state sorted by name, and counters that
  // tell caches what changed.
  const std::vector<node_state>& dense() const { return dense_; }
  const std::vector<uint64_t>& versions() const { return versions_; }  // dense_[i].version
  int32_t dense_index(std::string_view name) const;                    // -1 when unknown
  // Changes (to a process-wide unique value) with every mutation of this view.
  uint64_t mutations() const { return mutations_; }
  int64_t max_cpu_milli() const { return max_cpu_milli_; }  // largest node, for scores
  int32_t max_gpus() const { return max_gpus_; }

 private:
  void take(int32_t idx, const task_assignment& a, int sign);
  void rebuild_dense();
  void refresh_maxima();

  std::map<std::string, node_view> nodes_;
  std::vector<node_state> dense_;
  std::vector<uint64_t> versions_;
  uint64_t mutations_ = 0;
  int64_t max_cpu_milli_ = 0;
  int32_t max_gpus_ = 0;
};

}  // namespace gantry::sched
