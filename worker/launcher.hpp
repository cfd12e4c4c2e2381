#pragma once
// Starting task processes. Each task runs in its own process group (so a kill reaches its
// children too), with stdin from /dev/null, stdout and stderr appended to one log file,
// its own working directory, and PR_SET_PDEATHSIG so it dies with the worker.
#include <string>
#include <utility>
#include <vector>

#include <sys/types.h>

#include "core/result.hpp"

namespace gantry {

struct process_spec {
  std::vector<std::string> argv;                         // argv[0] is looked up in PATH
  std::vector<std::pair<std::string, std::string>> env;  // the complete environment
  std::string working_dir;
  std::string log_path;
};

// Forks and execs. Returns the child's pid (also its process group id). A command that
// cannot be executed still gives a pid: the child exits with 127 after writing why to its
// log, as a shell would.
result<pid_t> spawn_process(const process_spec& spec);

// The calling process's environment with `overrides` applied (later entries win).
std::vector<std::pair<std::string, std::string>> merged_environment(
    const std::vector<std::pair<std::string, std::string>>& overrides);

}  // namespace gantry
