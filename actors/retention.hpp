#pragma once
// Which finished jobs the coordinator forgets (--retain-finished, --retain-max-jobs): pure
// bookkeeping over the finished jobs, oldest-finished first; the cluster actor sweeps with it.
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace gantry {

struct retention_policy {
  int64_t finished_ms = 0;  // forget jobs finished longer ago than this; 0 = never by age
  uint64_t max_jobs = 0;    // keep at most this many finished jobs; 0 = no limit
};

// "7d / 100000 jobs" ("kept forever" when both are off): for messages.
std::string describe(const retention_policy& p);

class finished_jobs {
 public:
  // Records that job `id` finished at finished_ms (a job already recorded moves).
  void add(const std::string& id, int64_t finished_ms);
  // Forgets `id` if it is recorded.
  void erase(const std::string& id);
  size_t size() const { return by_time_.size(); }
  bool contains(const std::string& id) const { return time_of_.count(id) != 0; }

  // The ids to forget at now_ms under p, at most `limit`, oldest-finished first (ties by id):
  // those beyond p.max_jobs and those finished before now_ms - p.finished_ms. Leaves them
  // recorded; the caller erases what it forgot.
  std::vector<std::string> expired(const retention_policy& p, int64_t now_ms, size_t limit) const;

 private:
  std::set<std::pair<int64_t, std::string>> by_time_;
  std::map<std::string, int64_t> time_of_;
};

}  // namespace gantry
