#pragma once
// Which jobs `listJobs` returns: the coordinator applies the filter before sending, and the
// client applies it again (a coordinator that predates the filter sends every job).
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/coordinator_api.hpp"

namespace gantry {

struct job_filter {
  std::optional<job_state> state;  // only jobs in this state
  std::string name;                // only jobs with this name ("" = any)
  uint32_t limit = 0;              // only the newest `limit` of those (0 = all)
};

// True when `a` was submitted before `b` (job ids are numbered in submission order).
bool submitted_before(const job_summary& a, const job_summary& b);

// The jobs `filter` selects, oldest first.
std::vector<job_summary> select_jobs(std::vector<job_summary> jobs, const job_filter& filter);

}  // namespace gantry
