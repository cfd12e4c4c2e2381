#include "actors/retention.hpp"

#include "core/quantity.hpp"

namespace gantry {

std::string describe(const retention_policy& p) {
  if (p.finished_ms == 0 && p.max_jobs == 0) return "kept forever";
  std::string out;
  if (p.finished_ms > 0) out = format_duration_ms(p.finished_ms);
  if (p.max_jobs > 0) out += (out.empty() ? "" : " / ") + std::to_string(p.max_jobs) + " jobs";
  return out;
}

void finished_jobs::add(const std::string& id, int64_t finished_ms) {
  auto [it, fresh] = time_of_.emplace(id, finished_ms);
  if (!fresh) {
    by_time_.erase({it->second, id});
    it->second = finished_ms;
  }
  by_time_.emplace(finished_ms, id);
}

void finished_jobs::erase(const std::string& id) {
  auto it = time_of_.find(id);
  if (it == time_of_.end()) return;
  by_time_.erase({it->second, id});
  time_of_.erase(it);
}

std::vector<std::string> finished_jobs::expired(const retention_policy& p, int64_t now_ms,
                                                size_t limit) const {
  std::vector<std::string> out;
  size_t over = p.max_jobs > 0 && by_time_.size() > p.max_jobs ? by_time_.size() - p.max_jobs : 0;
  for (const auto& [finished, id] : by_time_) {
    if (out.size() >= limit) break;
    bool too_old = p.finished_ms > 0 && finished < now_ms - p.finished_ms;
    if (out.size() >= over && !too_old) break;  // the rest finished later still
    out.push_back(id);
  }
  return out;
}

}  // namespace gantry
