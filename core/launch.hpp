#pragma once
// What the coordinator tells a worker about one launch: a typed description of the task
// (who it is, what it runs, its share of the machine, its place in a gang). The worker
// turns it into the process's environment with task_environment (core/task_environment.hpp),
// adding what only it knows; nothing else builds a task's environment.
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/rendezvous.hpp"

namespace gantry {

// torchrun's view of one rank of a collective stage. The stage is torchrun's single role
// (ROLE_RANK = RANK, ROLE_WORLD_SIZE = WORLD_SIZE).
struct gang_coordinates {
  int32_t local_rank = 0;        // among the gang's ranks on this node, by rank
  int32_t local_world_size = 1;  // the gang's ranks on this node
  int32_t group_rank = 0;        // this node among the gang's nodes, ordered by lowest rank
  int32_t group_world_size = 1;  // the gang's nodes
  std::string master_addr;       // rank 0's host
  int32_t master_port = 0;       // reserved on rank 0's node before the gang launched
  int32_t max_restarts = 0;      // the job's max_restarts (TORCHELASTIC_MAX_RESTARTS)
  rendezvous_scope rendezvous;   // this gang attempt's scope at the coordinator
  friend bool operator==(const gang_coordinates&, const gang_coordinates&) = default;
};

// Fills the local_* and group_* coordinates of `rank` in a gang whose rank r runs on
// nodes_by_rank[r]. REQUIRES: 0 <= rank < nodes_by_rank.size().
gang_coordinates place_in_gang(const std::vector<std::string>& nodes_by_rank, int32_t rank);

// What a worker needs to start one rank.
struct task_spec {
  std::string task_id;  // "<job>.<stage>.<rank>.<attempt>", unique per process
  std::string job_id;
  std::string job_name;
  std::string stage;
  int32_t rank = 0;
  int32_t world_size = 1;  // the stage's replicas
  int32_t attempt = 0;     // 0 on the first run, +1 on every restart
  std::vector<std::string> command;
  // The stage's own `env`, as written in the manifest.
  std::vector<std::pair<std::string, std::string>> env;
  std::string working_dir;               // absolute; empty: the task's own directory
  int64_t cpu_milli = 0;                 // the stage's CPUs per rank
  int64_t memory_bytes = 0;              // the stage's memory per rank (the cgroup's limit)
  std::vector<int32_t> gpus;             // GPU indices on the node, in the task's ordinal order
  int32_t gpu_milli = 0;                 // share of each GPU (1000 = whole)
  int64_t gpu_memory_bytes = 0;          // GPU memory reserved on each of `gpus`
  std::string fabric;                    // the stage's required libfabric provider; empty = any
  std::string checkpoint_dir;            // empty when the stage does not checkpoint
  int64_t restore_step = -1;             // newest consistent checkpoint step; -1 none
  std::optional<gang_coordinates> gang;  // collective stages only
  // The task credential (GANTRY_TASK_TOKEN) for this attempt: valid while it runs, for its own
  // job's rendezvous only. A secret: never logged or persisted (only its hash is).
  std::string task_token;
  // The job's owner; the worker runs the task as the Unix user its user map gives for it
  // (empty: unmapped).
  std::string owner;
  int64_t time_limit_ms = 0;  // wall clock per attempt, enforced by the worker; 0 none
  friend bool operator==(const task_spec&, const task_spec&) = default;
};

}  // namespace gantry
