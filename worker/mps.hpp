#pragma once
// NVIDIA MPS (Multi-Process Service) control daemons for the GPUs that host fractional
// tasks. Without a control daemon a CUDA client ignores every CUDA_MPS_* variable and
// shares its GPU time-sliced, with no compute or memory cap (nvidia-cuda-mps-control(1));
// with one, CUDA_MPS_ACTIVE_THREAD_PERCENTAGE and CUDA_MPS_PINNED_DEVICE_MEM_LIMIT fence it.
//
// One daemon per GPU, each with its own directories (<root>/<gpu index>/pipe and /log,
// CUDA_MPS_PIPE_DIRECTORY and CUDA_MPS_LOG_DIRECTORY) and CUDA_VISIBLE_DEVICES set to the
// GPU's UUID, so it serves that GPU alone. The first fractional task on a GPU starts its
// daemon (`nvidia-cuda-mps-control -d`, then waits until it answers `get_server_list`, so no
// task starts before it can connect), or adopts one that already answers in those
// directories (left by an earlier worker); the last one to end stops it (`echo quit |
// nvidia-cuda-mps-control`). Tasks reach the daemon through the same two directories.
//
// Not thread-safe: one owner (the worker's supervisor actor) calls it. Each call runs the
// control program and waits for it, at most `timeout_ms`.
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "core/launch.hpp"
#include "core/resources.hpp"
#include "core/result.hpp"
#include "core/task_environment.hpp"

namespace gantry {

struct mps_options {
  // The control program; without a '/', looked up on the PATH of `env`.
  std::string control = "nvidia-cuda-mps-control";
  std::string root_dir;  // daemons' directories: <root_dir>/<gpu index>/{pipe,log}
  // The environment daemons and control commands run with (the worker's own); the MPS
  // variables are set over it.
  std::vector<std::pair<std::string, std::string>> env;
  int timeout_ms = 10000;  // per control command
};

// Where a task finds the daemon of its GPU.
struct mps_endpoint {
  std::string pipe_dir;  // CUDA_MPS_PIPE_DIRECTORY
  std::string log_dir;   // CUDA_MPS_LOG_DIRECTORY
};

class mps_manager {
 public:
  explicit mps_manager(mps_options opts);
  ~mps_manager();  // stops the daemons it still holds
  mps_manager(const mps_manager&) = delete;
  mps_manager& operator=(const mps_manager&) = delete;

  // The control program's path when it is an executable file (found on PATH); empty when
  // it is not, and MPS cannot run here.
  std::string control_path() const;

  // One more task shares GPU `index` (whose UUID is `uuid`): its daemon is started, or
  // adopted, when this is the GPU's first. Fails (unavailable) when the GPU has no UUID or
  // the daemon does not start; the GPU then has no daemon and the count is unchanged.
  result<mps_endpoint> acquire(int32_t index, const std::string& uuid);
  // One task less on GPU `index`; the last one stops its daemon. No-op for a GPU with none.
  void release(int32_t index);
  // Tasks counted on GPU `index` (0 when it has no daemon).
  int32_t users(int32_t index) const;

 private:
  struct daemon {
    mps_endpoint where;
    std::string uuid;
    int32_t users = 0;
  };
  mps_endpoint endpoint(int32_t index) const;
  // Runs the control program with `args`, `input` on its stdin, the daemon's environment
  // for (`where`, `uuid`). Succeeds when it exits 0 within the timeout.
  result<void> control(const std::vector<std::string>& args, const std::string& input,
                       const mps_endpoint& where, const std::string& uuid) const;
  // Succeeds once the daemon in `where` answers get_server_list, within the timeout.
  result<void> answering(const mps_endpoint& where, const std::string& uuid) const;
  void stop(int32_t index, daemon& d);

  mps_options opts_;
  std::map<int32_t, daemon> daemons_;
};

// For a task that shares one GPU, with `mps` non-null: acquires that GPU's daemon and
// returns the GPU's index (release it when the task ends), with `paths` naming the daemon.
// -1 for other tasks, and when the daemon cannot run (logged; the task then shares its GPU
// time-sliced).
int32_t mps_for_task(mps_manager* mps, const task_spec& task, const std::vector<gpu_info>& gpus,
                     task_paths& paths);

}  // namespace gantry
