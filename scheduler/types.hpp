#pragma once
// The placement types every user of the scheduler shares: what a request asks for, what a
// placement reserves, what a scheduling round reports. Plain data; the coordinator's
// messages and records carry these.
#include <cstdint>
#include <map>
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

struct unschedulable {
  std::string request_id;
  std::string reason;  // "0/12 nodes: 8 insufficient gpu_memory, 4 no H100"
};

struct schedule_result {
  std::vector<placement> placed;       // already applied to the view
  std::vector<unschedulable> pending;  // still queued, with why
};

}  // namespace gantry::sched
