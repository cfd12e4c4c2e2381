#include "scheduler/gpu_choice.hpp"

#include <algorithm>
#include <cassert>
#include <utility>

namespace gantry::sched {

namespace {

// Lowest-indexed usable GPUs, or NVLink/NUMA-aware: `near_group` if it has room, else the
// smallest group that fits all (keeps big groups whole), else the fewest groups.
void choose_whole(const node_state& n, const std::vector<int32_t>& usable, int32_t g,
                  int32_t near_group, std::vector<int32_t>& out) {
  std::vector<std::pair<int32_t, int32_t>> groups;  // (group, usable count), first-seen order
  for (int32_t slot : usable) {
    const int32_t grp = n.gpu_group[slot];
    auto it = std::find_if(groups.begin(), groups.end(), [&](auto& p) { return p.first == grp; });
    if (it == groups.end()) {
      groups.emplace_back(grp, 1);
    } else {
      ++it->second;
    }
  }
  auto take_from = [&](int32_t grp, int32_t k) {
    for (int32_t slot : usable) {
      if (k == 0) break;
      if (n.gpu_group[slot] == grp) {
        out.push_back(slot);
        --k;
      }
    }
  };
  if (groups.size() <= 1) {
    out.assign(usable.begin(), usable.begin() + g);
    return;
  }
  for (auto& [grp, count] : groups) {
    if (grp == near_group && near_group >= 0 && count >= g) return take_from(grp, g);
  }
  const std::pair<int32_t, int32_t>* best = nullptr;
  for (const auto& p : groups) {
    if (p.second >= g && (best == nullptr || p.second < best->second)) best = &p;
  }
  if (best != nullptr) return take_from(best->first, g);
  std::stable_sort(groups.begin(), groups.end(),
                   [](auto& a, auto& b) { return a.second > b.second; });
  for (const auto& [grp, count] : groups) {
    const auto k = std::min(count, g - static_cast<int32_t>(out.size()));
    take_from(grp, k);
    if (static_cast<int32_t>(out.size()) == g) return;
  }
}

}  // namespace

int32_t fullest_gpu(const node_state& n, const task_shape& s) {
  int32_t best = -1;
  for (int32_t i = 0; i < n.gpu_count(); ++i) {
    if (gpu_usable(n, i, s) && (best < 0 || n.gpu_milli[i] < n.gpu_milli[best])) best = i;
  }
  return best;
}

bool choose_gpus(const node_state& n, const task_shape& s, int32_t chosen, tie_rule ties, rng& gen,
                 int32_t near_group, std::vector<int32_t>& out) {
  out.clear();
  if (s.gpus == 0) return true;
  if (chosen >= 0 && s.gpus == 1 && s.fractional()) {
    assert(gpu_usable(n, chosen, s));
    out.push_back(chosen);
    return true;
  }
  std::vector<int32_t> usable;
  for (int32_t i = 0; i < n.gpu_count(); ++i) {
    if (gpu_usable(n, i, s)) usable.push_back(i);
  }
  if (static_cast<int32_t>(usable.size()) < s.gpus) return false;
  if (s.whole()) {
    choose_whole(n, usable, s.gpus, near_group, out);
    return static_cast<int32_t>(out.size()) == s.gpus;
  }
  if (s.gpus > 1) {  // several fractions: the fullest GPUs that fit
    std::stable_sort(usable.begin(), usable.end(),
                     [&](int32_t a, int32_t b) { return n.gpu_milli[a] < n.gpu_milli[b]; });
    out.assign(usable.begin(), usable.begin() + s.gpus);
    return true;
  }
  out.push_back(ties == tie_rule::uniform ? usable[gen.below(usable.size())] : usable.front());
  return true;
}

}  // namespace gantry::sched
