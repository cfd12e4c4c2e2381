#pragma once
// Placement as plain C++ over a snapshot of the cluster. No CAF, Cap'n Proto or RocksDB:
// the coordinator's cluster actor, `gantry sim` and bench/placement all call this.
// docs/scheduler.md describes the model, filters, policies, the gang rule and the figures.
//
// Contract used by the coordinator (actors/cluster_actor.cpp):
//   - cluster_view holds every node's capacity and what is reserved on it;
//   - scheduler::enqueue() queues a request; scheduler::schedule() places what it can,
//     in queue order, applying each placement to the view atomically (all ranks or none);
//   - when a task ends the coordinator calls cluster_view::release() with its assignment.
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/resources.hpp"
#include "core/result.hpp"
#include "core/spec.hpp"
#include "scheduler/node_state.hpp"

namespace gantry::sched {

// Everything reserved for one task on one node; release() gives exactly this back.
struct task_assignment {
  std::string node;
  int64_t cpu_milli = 0;
  int64_t memory_bytes = 0;
  std::vector<int32_t> gpus;     // GPU indices on the node (gpu_info::index)
  int32_t gpu_milli = 0;         // share taken on each of `gpus`
  int64_t gpu_memory_bytes = 0;  // memory taken on each of `gpus`
  int32_t dpus = 0;
  friend bool operator==(const task_assignment&, const task_assignment&) = default;
};

// Places `count` identical tasks: all ranks of a gang stage, or one rank of a plain stage
// (the coordinator queues one request per rank for those). Always all `count` or none.
struct placement_request {
  std::string id;           // unique while queued, e.g. "<job>/<stage>"
  int32_t priority = 0;     // higher first
  uint64_t submit_seq = 0;  // then older first
  resource_request per_task;
  int32_t count = 1;
  bool gang = false;                                // a collective stage
  placement_pref placement = placement_pref::none;  // pack: fewest nodes; spread: most
  std::map<std::string, std::string> node_selector;
  std::string fabric;                       // required fabric provider; empty = any
  std::vector<std::string> colocate_nodes;  // non-empty: only these nodes
};

struct placement {
  std::string request_id;
  std::vector<task_assignment> tasks;  // tasks[i] is for rank i
};

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

// The scheduler's snapshot of the cluster: capacities and reservations per node.
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

struct unschedulable {
  std::string request_id;
  std::string reason;  // "0/12 nodes: 8 insufficient gpu_memory, 4 no H100"
};

struct schedule_result {
  std::vector<placement> placed;       // already applied to the view
  std::vector<unschedulable> pending;  // still queued, with why
};

// Node-choice policies. fgd is the default; the rest are the FGD paper's baselines plus
// first-fit (docs/scheduler.md gives each one's score).
enum class policy_kind {
  first_fit,
  best_fit,
  fgd,
  random,
  dot_product,
  gpu_clustering,
  gpu_packing
};

const char* to_string(policy_kind p);  // "FirstFit", "BestFit", "FGD", "Random", ...
// Accepts the names above in any case, plus first_fit/best_fit/dot_product/... spellings.
result<policy_kind> parse_policy(std::string_view name);
std::vector<policy_kind> all_policies();  // the paper's order, then FirstFit

// One task type of FGD's target workload, with its share of tasks (weights sum to 1).
struct workload_type {
  int64_t cpu_milli = 0;
  int64_t memory_bytes = 0;  // 0: not considered (the paper ignores memory)
  int32_t gpu_count = 0;
  int32_t gpu_milli = 0;
  std::vector<std::string> gpu_models;  // any of these; empty = any
  double weight = 0;
};

// The most common types of `tasks` (each weighted by its count) up to `coverage` of all
// tasks, weights renormalised to 1: FGD's target workload as the paper builds it.
std::vector<workload_type> typical_workload(const std::vector<workload_type>& tasks,
                                            double coverage = 0.95);

class engine;

class scheduler {
 public:
  explicit scheduler(policy_kind policy = policy_kind::fgd, uint64_t seed = 1);
  ~scheduler();
  scheduler(scheduler&&) noexcept;
  scheduler& operator=(scheduler&&) noexcept;

  void enqueue(placement_request req);
  // Removes a queued request; no-op when it is not queued.
  void withdraw(const std::string& request_id);
  size_t queued() const { return queue_.size(); }
  policy_kind policy() const;

  // Places what fits, in priority then submission order, applying each placement to
  // `view`. Placed requests leave the queue. The first request that does not fit now but
  // would fit the cluster's capacity reserves nodes: later requests are placed only on
  // other nodes (backfill) until it runs, so a big gang is not starved by small tasks.
  schedule_result schedule(cluster_view& view);

  // Tries one request without changing the view; on failure `reason` says why.
  bool try_place(const cluster_view& view, const placement_request& req, placement& out,
                 std::string& reason) const;
  // try_place() and, on success, view.apply(out). The queue is not involved.
  bool place_now(cluster_view& view, const placement_request& req, placement& out,
                 std::string& reason);

  // FGD's target workload. Without one the scheduler learns it from enqueued requests.
  void set_target_workload(std::vector<workload_type> types);
  // FGD's fragmentation (GPU milli) of one node, or summed over all nodes, for the
  // current target workload; 0 for an unknown node or without a workload.
  double node_fragmentation(const cluster_view& view, const std::string& node) const;
  double fragmentation(const cluster_view& view) const;

 private:
  std::unique_ptr<engine> engine_;
  std::vector<placement_request> queue_;
};

}  // namespace gantry::sched
