#pragma once
// Durable records: what the coordinator persists and what `describe`, `jobs` and `watch`
// show. The store keeps them as JSON (storage/codec.hpp).
#include <cstdint>
#include <string>
#include <vector>

#include "core/launch.hpp"
#include "core/resources.hpp"
#include "core/spec.hpp"
#include "core/state.hpp"

namespace gantry {

// What one run of a task used, measured by its worker when it ended (like sacct's MaxRSS,
// TotalCPU and Elapsed). -1: not measured (no cgroups on that worker, or still running).
struct task_usage {
  int64_t peak_memory_bytes = -1;  // the task's cgroup's peak, all its processes together
  int64_t cpu_usec = -1;           // user + system CPU time of all its processes
  int64_t wall_ms = -1;            // from its start to its end
  friend bool operator==(const task_usage&, const task_usage&) = default;
};

struct rank_record {
  int32_t rank = 0;
  rank_state state = rank_state::pending;
  std::string node;              // empty until placed
  int64_t pid = 0;               // 0 until the worker reports the process
  int32_t attempt = 0;           // GANTRY_ATTEMPT of the current/last run
  std::vector<int32_t> gpus;     // GPU indices on `node`
  int32_t gpu_milli = 0;         // share of each GPU (1000 = whole)
  int64_t gpu_memory_bytes = 0;  // GPU memory reserved on each of `gpus`
  int32_t exit_code = -1;        // -1 until it exited; 128+N when killed by signal N
  std::string task_id;           // identifies the running process to its worker
  std::string reason;
  // The current attempt's task credential (GANTRY_TASK_TOKEN): its id and hash, never the
  // token; kept so that a restarted coordinator still accepts it while the task runs.
  std::string token_id;
  std::string token_hash;
  task_usage usage = {};  // of the last run that ended
  friend bool operator==(const rank_record&, const rank_record&) = default;
};

struct stage_record {
  std::string name;
  stage_state state = stage_state::waiting;
  std::string reason;            // e.g. why it cannot be placed
  int64_t checkpoint_step = -1;  // newest consistent checkpoint step; -1 none
  int32_t restarts = 0;
  std::vector<rank_record> ranks;
  friend bool operator==(const stage_record&, const stage_record&) = default;
};

struct job_record {
  std::string id;
  std::string owner;  // the user whose token submitted it
  job_spec spec;
  job_state state = job_state::pending;
  std::string reason;
  int32_t restarts = 0;
  uint64_t submit_seq = 0;   // submission order, for FIFO within a priority
  int64_t submitted_ms = 0;  // unix epoch milliseconds
  int64_t finished_ms = 0;
  uint64_t last_event_seq = 0;
  std::vector<stage_record> stages;
  friend bool operator==(const job_record&, const job_record&) = default;
};

// Builds the initial record of a freshly submitted job: every stage waiting or pending,
// every rank pending.
job_record make_job_record(std::string id, job_spec spec, uint64_t submit_seq, int64_t now_ms);

enum class event_kind { job, stage, rank };

// One change of a job, a stage or a rank. `seq` is per job, starting at 1, gapless.
struct job_event {
  std::string job_id;
  uint64_t seq = 0;
  int64_t time_ms = 0;
  event_kind kind = event_kind::job;
  std::string stage;  // for stage and rank events
  int32_t rank = -1;  // for rank events
  std::string state;  // the new state's name
  std::string node;   // rank events: where it runs
  int64_t pid = 0;
  int32_t exit_code = -1;
  int32_t attempt = 0;
  std::string message;
  task_usage usage = {};  // rank events of an ended run
  friend bool operator==(const job_event&, const job_event&) = default;
};

struct node_record {
  node_inventory inventory;
  bool cordoned = false;
  int64_t registered_ms = 0;
  friend bool operator==(const node_record&, const node_record&) = default;
};

// Identifies one run of one rank: "<job>.<stage>.<rank>.<attempt>".
std::string make_task_id(const std::string& job, const std::string& stage, int32_t rank,
                         int32_t attempt);

}  // namespace gantry

namespace gantry {

// A worker's account of one of its tasks (see TaskReport in protocol/gantry.capnp).
struct task_report {
  std::string task_id;
  int64_t pid = 0;
  bool running = false;
  int32_t exit_code = -1;  // when not running: exit status, or 128+N if killed by signal N
  std::string message;
  task_usage usage = {};             // when not running
  bool time_limit_exceeded = false;  // it was stopped by its time limit
  friend bool operator==(const task_report&, const task_report&) = default;
};

// A slice of a task's output file.
struct log_chunk {
  std::string data;
  uint64_t next_offset = 0;
  bool finished = false;  // the task ended and nothing follows next_offset
};

}  // namespace gantry
