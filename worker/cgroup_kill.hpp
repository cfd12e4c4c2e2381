#pragma once
// Shared by the cgroup drivers: SIGKILL to every pid listed in a cgroup.procs file.
#include <string>

#include "core/result.hpp"

namespace gantry {

// Returns not_found when the file cannot be read; pids that are already gone are skipped.
result<void> kill_listed_pids(const std::string& procs_file);

}  // namespace gantry
