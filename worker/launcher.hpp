#pragma once
// Starting task processes. Each task runs in its own process group (so a kill reaches its
// children too), with stdin from /dev/null, stdout and stderr appended to one log file,
// its own working directory and environment (nothing inherited), and PR_SET_PDEATHSIG so it
// dies with the worker.
#include <string>
#include <utility>
#include <vector>

#include <sys/types.h>

#include "core/result.hpp"

namespace gantry {

struct process_spec {
  std::vector<std::string> argv;                         // argv[0] is looked up in env's PATH
  std::vector<std::pair<std::string, std::string>> env;  // the complete environment
  std::string working_dir;
  std::string log_path;
  // cgroup.procs files the process joins before anything else it does (writing "0"), so that
  // it and all it starts are inside its cgroups from the beginning.
  std::vector<std::string> cgroup_procs = {};
  // cgroup v2: the task's group directory. The process is created inside it (clone3 with
  // CLONE_INTO_CGROUP), so it never migrates: no cgroup.procs write, none of the kernel's
  // RCU grace period a migration waits for. Where the kernel cannot (before 5.7, or the fd
  // is not a usable group) the process joins cgroup_procs instead.
  std::string cgroup_dir = {};
  // With switch_user: the identity the process takes after joining its cgroups and before it
  // opens its log (which it then creates as that user), enters its directory or execs:
  // supplementary groups, then group, then user (real, effective and saved). Needs root.
  // PATH entries that user cannot search are skipped when argv[0] is looked up.
  bool switch_user = false;
  uid_t uid = 0;
  gid_t gid = 0;
  std::vector<gid_t> groups = {};
};

// Starts the process and returns its pid (also its process group id) once its program runs.
// A child that cannot start writes why to its log, exits 127 and is reaped here (unless
// another thread's waitpid(-1) took it first); the reason comes back as failed_precondition:
//   cannot execute nosuchprog: No such file or directory
//   cannot enter working directory /data/x: No such file or directory
//   cannot open the task's log /data/tasks/t/output.log: Permission denied
//   cannot join cgroup /sys/fs/cgroup/memory/gantry/t/cgroup.procs: No space left on device
//   cannot run as uid 1000 gid 1000: Operation not permitted
// The child shares the caller's memory until it execs (clone with CLONE_VM | CLONE_VFORK, as
// posix_spawn does; clone3 for cgroup_dir): the caller waits for the exec without copying its
// address space, so knowing that the program runs costs no more than a fork did.
result<pid_t> spawn_process(const process_spec& spec);

}  // namespace gantry
