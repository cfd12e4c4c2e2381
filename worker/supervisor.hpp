#pragma once
// The worker's supervisor actor owns the tasks running on this machine: it launches them
// (worker/launcher.hpp) with the environment core/task_environment.hpp builds, in the
// stage's working_dir or else their own directory; it kills them (SIGTERM to the process
// group, SIGKILL after the grace period), learns of their exits from a reaper thread,
// reports exits to the coordinator link, and serves their log files. A launch is answered
// once the program runs, or with why it could not start. For tasks with a checkpoint dir it
// looks for commit markers ($GANTRY_CHECKPOINT_DIR/step-N/rank-R.done) every 250 ms and
// reports each new one once. A task that shares a GPU holds that GPU's MPS daemon from its
// launch to its exit (worker/mps.hpp). A finished task's directory is removed
// retain_task_files_ms after it ended (worker/task_files.hpp), checked at start and then
// periodically.
#include <memory>
#include <string>

#include <caf/all.hpp>

#include "core/ports.hpp"
#include "core/task_environment.hpp"
#include "worker/mps.hpp"

namespace gantry {

struct supervisor_options {
  std::string data_dir;    // tasks live in <data_dir>/tasks/<task id>/ (log: output.log)
  std::string shared_dir;  // jobs share <shared_dir>/<job id>/ (GANTRY_OUTPUT_DIR)
  // What tasks' environments are built from besides their launch (the coordinator's
  // address, this node's GPUs, the worker's own environment and pass-env patterns).
  worker_facts facts;
  // MPS daemons for GPUs that tasks share (worker/mps.hpp); null: shared GPUs are
  // time-sliced.
  std::shared_ptr<mps_manager> mps;
  // How long a finished task's directory (its log, its scratch files) stays; 0 = forever.
  int64_t retain_task_files_ms = kDefaultRetainTaskFilesMs;
  static constexpr int64_t kDefaultRetainTaskFilesMs = 7 * 24 * 3'600'000LL;
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

  // SIGTERM to every task, SIGKILL after grace_ms; `done` runs once all have exited.
  void stop_all(uint32_t grace_ms, callback<void> done);

  struct impl;

 private:
  std::unique_ptr<impl> impl_;
};

}  // namespace gantry
