#pragma once
// The one place a task's environment is built: from the coordinator's description of the
// launch (task_spec) and what only the worker knows. Pure: no I/O, no global state.
//
// A task's environment is clean: it does not inherit the worker's. It holds, later layers
// winning over earlier ones:
//   1. from the worker's own environment: PATH, HOME, LANG, LC_*, and whatever matches the
//      worker's pass-env patterns (`--pass-env NCCL_*,FOO`); HOME is task_paths::home instead
//      when that is set;
//   2. OMP_NUM_THREADS: the stage's CPUs per rank rounded down, at least 1;
//   3. the stage's `env`;
//   4. gantry's own variables, which a stage's `env` cannot change:
//      GANTRY_JOB_ID, GANTRY_JOB_NAME, GANTRY_STAGE, GANTRY_RANK, GANTRY_WORLD_SIZE,
//      GANTRY_ATTEMPT, GANTRY_TASK_ID, GANTRY_NODE, GANTRY_OUTPUT_DIR, GANTRY_TASK_DIR,
//      GANTRY_COORDINATOR (when the worker has one); GANTRY_TASK_TOKEN (the task's
//      credential, when the launch carries one) and GANTRY_CA (the CA file the worker trusts,
//      when it has one), with which the task reaches its rendezvous;
//      checkpointing stages: GANTRY_CHECKPOINT_DIR, and GANTRY_RESTORE_STEP once a step is
//      consistent;
//      a required fabric: FI_PROVIDER and NCCL's matching transport (core/fabric_env.hpp);
//      collective stages, as torchrun sets them: RANK, WORLD_SIZE, LOCAL_RANK,
//      LOCAL_WORLD_SIZE, GROUP_RANK, GROUP_WORLD_SIZE, ROLE_RANK, ROLE_WORLD_SIZE,
//      ROLE_NAME ("default"), MASTER_ADDR, MASTER_PORT, TORCHELASTIC_RESTART_COUNT (the
//      attempt), TORCHELASTIC_MAX_RESTARTS (the job's max_restarts), TORCHELASTIC_RUN_ID (the
//      job id), and GANTRY_RENDEZVOUS ("HOST:PORT/JOB/STAGE/ATTEMPT", when the worker has a
//      coordinator);
//      GPU tasks: CUDA_DEVICE_ORDER=PCI_BUS_ID and CUDA_VISIBLE_DEVICES naming the task's
//      GPUs by UUID in the task's order (so CUDA ordinal i is task_spec::gpus[i]); by index
//      instead when one of them has no UUID. A share of a GPU also gets
//      CUDA_MPS_ACTIVE_THREAD_PERCENTAGE (its share, at least 1) and, when its memory is
//      known, CUDA_MPS_PINNED_DEVICE_MEM_LIMIT keyed by CUDA ordinal ("0=20480M"); these
//      fence it only under an MPS daemon: then CUDA_MPS_PIPE_DIRECTORY and
//      CUDA_MPS_LOG_DIRECTORY name it and GANTRY_GPU_SHARING=mps, else
//      GANTRY_GPU_SHARING=time-sliced;
//      tasks given no GPU: CUDA_VISIBLE_DEVICES="" (they must not take others' GPUs).
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/launch.hpp"
#include "core/resources.hpp"
#include "core/result.hpp"

namespace gantry {

using environment = std::vector<std::pair<std::string, std::string>>;

// What the worker knows and the coordinator does not; the same for every task it runs.
struct worker_facts {
  std::string node;                   // the worker's node name (GANTRY_NODE)
  std::string coordinator;            // HOST:PORT it dialed; empty: none
  std::string ca_file;                // the CA it trusts (GANTRY_CA); empty: --insecure
  std::vector<gpu_info> gpus;         // this node's GPUs, for their UUIDs
  environment own_env;                // the worker's own environment
  std::vector<std::string> pass_env;  // names, or globs with '*', passed through from own_env
};

// Where this task's files live on the worker.
struct task_paths {
  std::string output_dir;  // GANTRY_OUTPUT_DIR: shared by the job's ranks on this worker
  std::string task_dir;    // GANTRY_TASK_DIR: the task's own directory
  // The MPS control daemon serving a shared GPU (worker/mps.hpp): its pipe and log
  // directories; empty when the task's GPU is shared time-sliced.
  std::string mps_pipe_dir;
  std::string mps_log_dir;
  // HOME, in place of the worker's: for a task run as another user than the worker's, who
  // may not be able to write the worker's HOME. Empty: the worker's HOME.
  std::string home = {};
};

// The complete environment of the task, one entry per name, sorted by name. Fails
// (invalid_argument) when the task names a GPU this node does not have.
result<environment> task_environment(const task_spec& task, const worker_facts& facts,
                                     const task_paths& paths);

// True when `name` matches `pattern`, in which '*' stands for any run of characters.
bool env_name_matches(std::string_view pattern, std::string_view name);

// Checks one --pass-env entry: a variable name ([A-Za-z_][A-Za-z0-9_]*) in which '*' may
// stand for any run of characters. The error says what was expected.
result<void> check_pass_env(std::string_view pattern);

}  // namespace gantry
