#pragma once
// Placement as plain C++ over a snapshot of the cluster. No CAF, Cap'n Proto or RocksDB:
// the coordinator's cluster actor, `gantry sim` and bench/placement all call this.
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
#include <vector>

#include "core/resources.hpp"
#include "core/spec.hpp"

namespace gantry::sched {

// Everything reserved for one task on one node; release() gives exactly this back.
struct task_assignment {
  std::string node;
  int64_t cpu_milli = 0;
  int64_t memory_bytes = 0;
  std::vector<int32_t> gpus;      // GPU indices on the node
  int32_t gpu_milli = 0;          // share taken on each of `gpus`
  int64_t gpu_memory_bytes = 0;   // memory taken on each of `gpus`
  int32_t dpus = 0;
  friend bool operator==(const task_assignment&, const task_assignment&) = default;
};

// Places `count` identical tasks: all ranks of a gang stage, or one rank of a plain stage
// (the coordinator queues one request per rank for those). Always all `count` or none.
struct placement_request {
  std::string id;                 // unique while queued, e.g. "<job>/<stage>"
  int32_t priority = 0;           // higher first
  uint64_t submit_seq = 0;        // then older first
  resource_request per_task;
  int32_t count = 1;
  bool gang = false;              // a collective stage (placement may prefer packing)
  placement_pref placement = placement_pref::none;
  std::map<std::string, std::string> node_selector;
  std::string fabric;             // required fabric provider; empty = any
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
  bool schedulable = true;   // false when cordoned, draining, lost
  int64_t free_cpu_milli = 0;
  int64_t free_memory_bytes = 0;
  int32_t free_dpus = 0;
  std::vector<gpu_slot> gpus;
};

// The scheduler's snapshot of the cluster: capacities and reservations per node.
class cluster_view {
 public:
  // Adds a node with nothing reserved, or replaces its inventory keeping reservations
  // that still fit.
  void upsert_node(const node_inventory& inv);
  void remove_node(const std::string& name);
  void set_schedulable(const std::string& name, bool schedulable);
  const node_view* find(const std::string& name) const;
  const std::map<std::string, node_view>& nodes() const { return nodes_; }

  // Reserves every task of `p`. REQUIRES: p came from a successful try on this view.
  void apply(const placement& p);
  // Returns exactly what `a` reserved. Unknown nodes are ignored (the node went away).
  void release(const task_assignment& a);

 private:
  friend class scheduler;
  std::map<std::string, node_view> nodes_;
};

struct unschedulable {
  std::string request_id;
  std::string reason;   // "0/12 nodes: 8 insufficient gpu_memory, 4 missing H100"
};

struct schedule_result {
  std::vector<placement> placed;         // already applied to the view
  std::vector<unschedulable> pending;    // still queued, with why
};

enum class policy_kind { first_fit, best_fit, fgd };

class scheduler {
 public:
  explicit scheduler(policy_kind policy = policy_kind::first_fit) : policy_(policy) {}

  void enqueue(placement_request req);
  // Removes a queued request; no-op when it is not queued.
  void withdraw(const std::string& request_id);
  size_t queued() const { return queue_.size(); }

  // Places what fits, in priority then submission order, applying each placement to
  // `view`. Placed requests leave the queue.
  schedule_result schedule(cluster_view& view);

  // Tries one request without changing anything; on failure `reason` says why.
  bool try_place(const cluster_view& view, const placement_request& req, placement& out,
                 std::string& reason) const;

 private:
  policy_kind policy_;
  std::vector<placement_request> queue_;
};

}  // namespace gantry::sched
