#pragma once
// The worker's supervisor actor owns the tasks running on this machine: it launches them
// (worker/launcher.hpp) with the environment core/task_environment.hpp builds, in the
// stage's working_dir or else their own directory, as the Unix user its user map gives for the
// task's owner when it has one (worker/user_map.hpp), each in its own cgroup when the worker
// has cgroups (worker/cgroup.hpp: memory, CPU and pids limits); it kills them (SIGTERM to the
// process group, then SIGKILL to the whole tree: process group and cgroup) on request, at
// their time limit and when their main process exits; it learns of exits from a reaper
// thread, reports them with the run's usage (peak memory, CPU time, wall time) and an OOM
// or time-limit reason to the coordinator link, and serves their log files. A launch is answered
// once the program runs, or with why it could not start. For tasks with a checkpoint dir it
// looks for commit markers ($GANTRY_CHECKPOINT_DIR/step-N/rank-R.done) every 250 ms and
// reports each new one once. A task that shares a GPU holds that GPU's MPS daemon from its
// launch to its exit (worker/mps.hpp). A finished task's directory is removed
// retain_task_files_ms after it ended (worker/task_files.hpp), checked at start and then
// periodically. Running tasks' logs are held to max_log_bytes, their oldest output dropped.
#include <memory>
#include <string>

#include <caf/all.hpp>

#include "core/ports.hpp"
#include "core/task_environment.hpp"
#include "worker/cgroup.hpp"
#include "worker/device_rules.hpp"
#include "worker/log_cap.hpp"
#include "worker/mps.hpp"
#include "worker/task_files.hpp"
#include "worker/user_map.hpp"

namespace gantry {

struct supervisor_options {
  std::string data_dir;    // tasks live in <data_dir>/tasks/<task id>/ (log: output.log)
  std::string shared_dir;  // jobs share <shared_dir>/<job id>/ (GANTRY_OUTPUT_DIR)
  // What tasks' environments are built from besides their launch (the coordinator's
  // address, this node's GPUs, the worker's own environment and pass-env patterns).
  worker_facts facts;
  // Each task gets a group there with its memory and CPU as limits (null: no cgroups).
  std::shared_ptr<cgroup_driver> cgroups;
  int64_t pids_max = 0;  // per task, with cgroups; 0 none
  // This node's real GPU device files: with cgroups, a task may open only its own GPUs'.
  std::vector<dev_entry> gpu_devices;
  // After a task's time limit: SIGTERM, then SIGKILL to its whole tree this much later.
  uint32_t time_limit_grace_ms = 10000;
  // MPS daemons for GPUs that tasks share (worker/mps.hpp); null: shared GPUs are
  // time-sliced.
  std::shared_ptr<mps_manager> mps;
  // Who tasks run as (worker/user_map.hpp): each task as the user mapped from its owner, its
  // directory and its job's shared directory handed to that user, the data dir closed to
  // tasks (0711). Needs root. Null: tasks run as the worker itself.
  std::shared_ptr<const user_map> users;
  // How long a finished task's directory (its log, its scratch files) stays; 0 = forever.
  int64_t retain_task_files_ms = kDefaultRetainTaskFilesMs;
  // A task's log keeps its newest output, at most this many bytes (worker/log_cap.hpp),
  // checked 4 times a second and when the task exits; 0 = uncapped.
  int64_t max_log_bytes = kDefaultMaxLogBytes;
};

// A running task's usage now, for the worker's /metrics. -1: not known.
struct task_sample {
  std::string task_id;
  std::string job_id;
  int64_t cpu_usec = -1;           // its cgroup's CPU time; without one, its main process's
  int64_t peak_memory_bytes = -1;  // its cgroup's peak; without one, its main process's VmHWM
  bool from_cgroup = false;
};

class supervisor {
 public:
  // Spawns the supervisor actor and its reaper thread. `reports` receives exits.
  supervisor(caf::actor_system& sys, supervisor_options opts, std::shared_ptr<report_sink> reports);
  ~supervisor();
  supervisor(const supervisor&) = delete;
  supervisor& operator=(const supervisor&) = delete;

  // The supervisor as a task_agent (what the coordinator's NodeAgent calls reach).
  task_agent& agent();

  // The running tasks' usage.
  void sample(callback<std::vector<task_sample>> done);

  // SIGTERM to every task, SIGKILL after grace_ms; `done` runs once all have exited.
  void stop_all(uint32_t grace_ms, callback<void> done);

  struct impl;

 private:
  std::unique_ptr<impl> impl_;
};

}  // namespace gantry
