#include "protocol/job_filter.hpp"

#include <algorithm>

namespace gantry {

bool submitted_before(const job_summary& a, const job_summary& b) {
  // "j-000123": the number is zero-padded to 6 digits and grows longer past 999999.
  if (a.id.size() != b.id.size()) return a.id.size() < b.id.size();
  return a.id < b.id;
}

std::vector<job_summary> select_jobs(std::vector<job_summary> jobs, const job_filter& filter) {
  std::erase_if(jobs, [&](const job_summary& j) {
    return (filter.state && j.state != *filter.state) ||
           (!filter.name.empty() && j.name != filter.name);
  });
  std::sort(jobs.begin(), jobs.end(), submitted_before);
  if (filter.limit > 0 && jobs.size() > filter.limit)
    jobs.erase(jobs.begin(), jobs.end() - filter.limit);
  return jobs;
}

}  // namespace gantry
