#pragma once
// Control groups for tasks: one group per task under a directory the worker owns, with the
// task's memory, CPU and pids limits, a kill that reaches every process in it (also the ones
// that double-forked away from the task's process group), and the task's accounting.
// cgroup v2 (one unified hierarchy) and v1 (one hierarchy per controller) sit behind the same
// interface; docs/isolation.md says what each enforces.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/result.hpp"
#include "worker/device_rules.hpp"

namespace gantry {

enum class isolation_mode { none, v1, v2 };
const char* to_string(isolation_mode m);

struct cgroup_limits {
  int64_t memory_bytes = 0;  // hard limit, swap included where the kernel counts it; 0 none
  int64_t cpu_milli = 0;     // CFS quota: 500 is half a core; 0 none
  int64_t pids_max = 0;      // processes and threads; 0 none
  // Devices the task may not open; everything else stays allowed. v1: devices.deny lines;
  // v2: a BPF device program on the group (worker/device_program.hpp).
  std::vector<device_rule> device_deny;
};

// What a task's group used, read at its end. -1: the kernel does not count it.
struct cgroup_usage {
  int64_t peak_memory_bytes = -1;
  int64_t cpu_usec = -1;
  int64_t oom_kills = 0;  // processes the kernel killed for the memory limit
};

// One task's group (on v1: the same-named group in every hierarchy).
class task_cgroup {
 public:
  virtual ~task_cgroup() = default;
  // The cgroup.procs files the task's first process joins (writing "0" to each) before it
  // execs, so that everything it starts is inside from the beginning.
  virtual const std::vector<std::string>& procs_files() const = 0;
  // v2: the group's directory, for creating the task's first process inside it
  // (process_spec::cgroup_dir); empty on v1, whose groups are joined.
  virtual std::string clone_into() const { return {}; }
  // SIGKILLs every process in the group, so that none can fork away meanwhile (v2:
  // cgroup.kill; v1: freeze, kill each, thaw).
  virtual result<void> kill_all() = 0;
  // True when no process is left in the group.
  virtual bool empty() const = 0;
  virtual cgroup_usage usage() const = 0;
  // Removes the group; unavailable (EBUSY) while processes are still leaving it.
  virtual result<void> remove() = 0;
};

// The worker's own directory of task groups; destroying the driver removes that directory
// if no task group is left in it.
class cgroup_driver {
 public:
  virtual ~cgroup_driver() = default;
  virtual isolation_mode mode() const = 0;
  // Creates the group `name` (a task id) and sets its limits. A limit this host cannot set
  // fails the creation (failed_precondition), rather than running the task unlimited.
  virtual result<std::unique_ptr<task_cgroup>> create(const std::string& name,
                                                      const cgroup_limits& limits) = 0;
  // Where the task groups are (for the logs): one directory per hierarchy.
  virtual std::string describe() const = 0;
};

// A v2 driver over `dir` (an existing cgroup2 directory the worker may write; a plain
// directory in tests). Enables the memory, cpu and pids controllers for its children.
result<std::unique_ptr<cgroup_driver>> make_cgroup_v2(const std::string& dir);

// A v1 driver over one directory per hierarchy: memory, cpu, cpuacct, pids and freezer are
// required, devices is optional (an empty path: device rules cannot be enforced).
struct cgroup_v1_dirs {
  std::string memory, cpu, cpuacct, pids, freezer, devices;
};
result<std::unique_ptr<cgroup_driver>> make_cgroup_v1(const cgroup_v1_dirs& dirs);

struct cgroup_options {
  std::string mode = "auto";  // auto | v1 | v2 | none
  // The worker's directory of task groups, relative to the worker's own cgroup in each
  // hierarchy (or to the hierarchy's root when it starts with '/'). The worker adds
  // "worker.<pid>" below it, so workers sharing a machine never share groups.
  std::string root = "gantry";
  std::string proc_self_cgroup = "/proc/self/cgroup";  // files read to find the hierarchies
  std::string proc_self_mounts = "/proc/self/mounts";
  int pid = 0;  // 0: getpid()
};

// Finds the cgroup hierarchies this worker can use, creates its directory in them and returns
// the driver. With mode "auto": v2 where the unified hierarchy has the memory, cpu and pids
// controllers, else v1, else none (a null driver; `why` says what was missing).
result<std::unique_ptr<cgroup_driver>> open_cgroups(const cgroup_options& opts, std::string* why);

// Small file helpers the drivers share (exposed for tests).
result<void> write_cgroup_file(const std::string& path, const std::string& value);
result<std::string> read_cgroup_file(const std::string& path);
// "key value" lines (memory.events, cpu.stat, memory.oom_control): the value of `key`, or -1.
int64_t cgroup_keyed_value(const std::string& text, const std::string& key);

}  // namespace gantry
