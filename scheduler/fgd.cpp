#include "scheduler/fgd.hpp"

#include <algorithm>
#include <cmath>

namespace gantry::sched {

void fgd_model::set(const std::vector<workload_type>& types) {
  std::vector<type> old = std::move(types_);
  types_.clear();
  double total = 0;
  for (const auto& t : types) total += std::max(0.0, t.weight);
  for (const auto& t : types) {
    if (t.weight <= 0 || total <= 0) continue;
    type x;
    x.cpu = t.cpu_milli;
    x.mem = t.memory_bytes;
    x.gpus = t.gpu_count;
    x.milli = t.gpu_count > 0 ? std::clamp(t.gpu_milli, 1, kGpuMilliWhole) : 0;
    x.any_model = t.gpu_models.empty();
    for (const auto& m : t.gpu_models) {
      if (int16_t id = intern_gpu_model(m); id >= 0) x.models.set(static_cast<size_t>(id));
    }
    x.weight = t.weight / total;
    types_.push_back(x);
  }
  // Scores cached against the old workload stay if nothing moved by a point or more.
  bool same = !old.empty() && old.size() == types_.size();
  for (size_t i = 0; same && i < old.size(); ++i) {
    const type& a = old[i];
    const type& b = types_[i];
    same = a.cpu == b.cpu && a.mem == b.mem && a.gpus == b.gpus && a.milli == b.milli &&
           a.any_model == b.any_model && a.models == b.models &&
           std::abs(a.weight - b.weight) < 0.01;
  }
  if (same) {
    types_ = std::move(old);
  } else {
    ++epoch_;
  }
}

double fgd_model::frag(const node_state& n) const {
  return frag(n, n.cpu_free, n.mem_free, n.gpu_milli.data());
}

double fgd_model::frag(const node_state& n, int64_t cpu_free, int64_t mem_free,
                       const int32_t* milli) const {
  const int32_t g = n.gpu_count();
  int64_t free_total = 0;
  for (int32_t i = 0; i < g; ++i) free_total += milli[i];
  if (free_total == 0) return 0;
  double frag = 0;
  for (const type& t : types_) {
    int64_t lost = free_total;  // the type cannot run here: all free share is lost to it
    if (t.gpus > 0 && cpu_free >= t.cpu && mem_free >= t.mem) {
      int32_t fitting = 0;
      int64_t unusable = 0;
      for (int32_t i = 0; i < g; ++i) {
        const int16_t id = n.gpu_model[i];
        const bool model_ok = t.any_model || (id >= 0 && t.models.test(static_cast<size_t>(id)));
        if (model_ok && milli[i] >= t.milli) {
          ++fitting;
        } else {
          unusable += milli[i];
        }
      }
      if (fitting >= t.gpus) lost = unusable;
    }
    frag += t.weight * static_cast<double>(lost);
  }
  return frag;
}

int32_t fgd_score(double before, double after) {
  const double x = (before - after) / 1000.0;
  return static_cast<int32_t>(100.0 / (1.0 + std::exp(-x)));
}

void workload_learner::observe(const placement_request& req) {
  const resource_request& r = req.per_task;
  std::string key = std::to_string(r.cpu_milli) + ',' + std::to_string(r.memory_bytes) + ',' +
                    std::to_string(r.gpu_count) + ',' + std::to_string(r.gpu_milli);
  std::vector<std::string> models = r.gpu_models;
  std::sort(models.begin(), models.end());
  for (const auto& m : models) key += ',' + m;
  auto [it, inserted] = types_.try_emplace(key);
  if (inserted) {
    it->second.cpu_milli = r.cpu_milli;
    it->second.memory_bytes = r.memory_bytes;
    it->second.gpu_count = r.gpu_count;
    it->second.gpu_milli = r.gpu_count > 0 ? r.gpu_milli : 0;
    it->second.gpu_models = models;
  }
  const double w = std::max(1, req.count);
  it->second.weight += w;
  total_ += w;
  since_take_ += w;
  if (total_ > kHorizon) {  // decay: halve everything, drop what became negligible
    total_ = 0;
    for (auto i = types_.begin(); i != types_.end();) {
      i->second.weight /= 2;
      if (i->second.weight < 0.25) {
        i = types_.erase(i);
      } else {
        total_ += i->second.weight;
        ++i;
      }
    }
  }
}

bool workload_learner::stale() const {
  return since_take_ > 0 && (since_take_ >= 0.05 * total_ || total_ < 64);
}

std::vector<workload_type> workload_learner::take() {
  since_take_ = 0;
  std::vector<workload_type> all;
  all.reserve(types_.size());
  for (const auto& [k, t] : types_) all.push_back(t);
  return typical_workload(all);
}

std::vector<workload_type> typical_workload(const std::vector<workload_type>& tasks,
                                            double coverage) {
  // Merge identical types.
  std::map<std::tuple<int64_t, int32_t, int32_t, std::string, int64_t>, workload_type> merged;
  double total = 0;
  for (const auto& t : tasks) {
    std::vector<std::string> models = t.gpu_models;
    std::sort(models.begin(), models.end());
    std::string joined;
    for (const auto& m : models) joined += (joined.empty() ? "" : "|") + m;
    const int32_t milli = t.gpu_count > 0 ? t.gpu_milli : 0;
    auto [it, inserted] =
        merged.try_emplace({t.cpu_milli, milli, t.gpu_count, joined, t.memory_bytes});
    if (inserted) {
      it->second = t;
      it->second.gpu_milli = milli;
      it->second.gpu_models = models;
      it->second.weight = 0;
    }
    it->second.weight += t.weight;
    total += t.weight;
  }
  // Most common first; ties by larger (cpu, gpu milli, gpu count, models), as the paper's
  // simulator sorts them.
  std::vector<std::pair<std::tuple<int64_t, int32_t, int32_t, std::string, int64_t>, workload_type>>
      list(merged.begin(), merged.end());
  std::stable_sort(list.begin(), list.end(), [](const auto& a, const auto& b) {
    if (a.second.weight != b.second.weight) return a.second.weight > b.second.weight;
    return a.first > b.first;
  });
  std::vector<workload_type> out;
  double cum = 0;
  for (const auto& [key, t] : list) {
    if (cum >= coverage * total) break;
    out.push_back(t);
    cum += t.weight;
  }
  for (auto& t : out) t.weight /= cum;
  return out;
}

}  // namespace gantry::sched
