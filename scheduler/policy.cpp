#include "scheduler/policy.hpp"

#include <algorithm>
#include <array>

namespace gantry::sched {

namespace {

constexpr int32_t kMaxScore = 100;

int32_t clamp_score(double v) {
  return std::clamp(static_cast<int32_t>(v), 0, kMaxScore);
}

// BestFit: 1 - (free CPU and GPU share left after placing, each over the largest node's),
// weighted half and half.
int32_t best_fit_score(const node_state& n, const task_shape& s, const score_context& ctx) {
  const double cpu_left = static_cast<double>(n.cpu_free - s.cpu);
  const double gpu_left =
      static_cast<double>(n.gpu_milli_free_total() - static_cast<int64_t>(s.gpus) * s.milli);
  const double left = 0.5 * cpu_left / static_cast<double>(ctx.max_cpu_milli) +
                      0.5 * gpu_left / static_cast<double>(ctx.max_gpu_milli);
  return clamp_score((1.0 - left) * kMaxScore);
}

// DotProd (Tetris): 1 - <free, request>/2 over the same normalisers.
int32_t dot_product_score(const node_state& n, const task_shape& s, const score_context& ctx) {
  const double mc = static_cast<double>(ctx.max_cpu_milli);
  const double mg = static_cast<double>(ctx.max_gpu_milli);
  const double dot = (static_cast<double>(n.cpu_free) / mc) * (static_cast<double>(s.cpu) / mc) +
                     (static_cast<double>(n.gpu_milli_free_total()) / mg) *
                         (static_cast<double>(s.gpus) * s.milli / mg);
  return clamp_score((1.0 - dot / 2.0) * kMaxScore);
}

// GpuClustering: prefer nodes already running only tasks of this GPU shape, then mixed
// nodes with it, then idle nodes, then others; within a band, fuller nodes first.
int32_t gpu_clustering_score(const node_state& n, const task_shape& s, const score_context& ctx) {
  if (s.gpus == 0) return 0;
  const int64_t mg = ctx.max_gpu_milli;
  const int64_t used = std::max<int64_t>(0, mg - n.gpu_milli_free_total());
  const auto base = static_cast<int32_t>(kMaxScore / 4 * used / mg);
  int32_t kinds = 0;
  for (int32_t c : n.affinity) kinds += c > 0 ? 1 : 0;
  if (n.affinity[affinity_slot(s.gpus, s.milli)] > 0) return base + (kinds == 1 ? 75 : 50);
  return base + (kinds == 0 ? 25 : 0);
}

// GpuPacking: use shared GPUs first (fuller ones better), then free GPUs on used nodes,
// then idle nodes.
int32_t gpu_packing_score(const node_state& n, const task_shape& s) {
  if (s.gpus == 0) return 0;
  int32_t fully_free = 0;
  for (int32_t m : n.gpu_milli) fully_free += m >= kGpuMilliWhole ? 1 : 0;
  if (fully_free == n.gpu_count()) return std::max(kMaxScore / 3 - fully_free, fully_free);
  std::vector<int32_t> order;
  for (int32_t i = 0; i < n.gpu_count(); ++i) order.push_back(i);
  std::stable_sort(order.begin(), order.end(),
                   [&](int32_t a, int32_t b) { return n.gpu_milli[a] < n.gpu_milli[b]; });
  int32_t need = s.gpus, free_used = 0;
  int64_t free_pct = 0;
  for (int32_t i : order) {
    if (need == 0) break;
    if (!gpu_usable(n, i, s)) continue;
    --need;
    if (n.gpu_milli[i] >= kGpuMilliWhole) ++free_used;
    free_pct += n.gpu_milli[i] * 100 / kGpuMilliWhole;
  }
  if (need != 0) return 0;
  if (free_used > 0) return std::max(kMaxScore / 2 - free_used, kMaxScore / 3);
  return std::max(static_cast<int32_t>(kMaxScore - free_pct / 10), kMaxScore / 2);
}

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

// FGD for a fraction: the usable GPU whose use grows fragmentation least (first on ties);
// GPUs with equal free share and model give the same result, so only the first is tried.
int32_t fgd_fraction(const node_state& n, const task_shape& s, const fgd_model& fgd,
                     int32_t& best_slot) {
  const double before = fgd.frag(n);
  std::vector<int32_t> milli(n.gpu_milli);
  std::vector<std::pair<int32_t, int16_t>> tried;
  int32_t best = -1;
  best_slot = -1;
  for (int32_t i = 0; i < n.gpu_count(); ++i) {
    if (!gpu_usable(n, i, s)) continue;
    const std::pair<int32_t, int16_t> key{n.gpu_milli[i], n.gpu_model[i]};
    if (std::find(tried.begin(), tried.end(), key) != tried.end()) continue;
    tried.push_back(key);
    milli[i] -= s.milli;
    const int32_t sc =
        fgd_score(before, fgd.frag(n, n.cpu_free - s.cpu, n.mem_free - s.mem, milli.data()));
    milli[i] += s.milli;
    if (sc > best) {
      best = sc;
      best_slot = i;
    }
  }
  return best;
}

int32_t fgd_other(const node_state& n, const task_shape& s, const fgd_model& fgd) {
  const double before = fgd.frag(n);
  std::vector<int32_t> milli(n.gpu_milli);
  int32_t need = s.gpus;
  for (int32_t i = 0; i < n.gpu_count() && need > 0; ++i) {
    if (!gpu_usable(n, i, s)) continue;
    milli[i] -= s.milli;
    --need;
  }
  return fgd_score(before, fgd.frag(n, n.cpu_free - s.cpu, n.mem_free - s.mem, milli.data()));
}

}  // namespace

int32_t node_score(const node_state& n, const task_shape& s, const score_context& ctx) {
  switch (ctx.policy) {
    case policy_kind::first_fit:
    case policy_kind::random:
      return 0;
    case policy_kind::best_fit:
      return best_fit_score(n, s, ctx);
    case policy_kind::dot_product:
      return dot_product_score(n, s, ctx);
    case policy_kind::gpu_clustering:
      return gpu_clustering_score(n, s, ctx);
    case policy_kind::gpu_packing:
      return gpu_packing_score(n, s);
    case policy_kind::fgd: {
      int32_t f;
      if (s.fractional() && s.gpus == 1) {
        int32_t slot = -1;
        f = std::max(0, fgd_fraction(n, s, *ctx.fgd, slot));
      } else {
        f = fgd_other(n, s, *ctx.fgd);
      }
      return f;
    }
  }
  return 0;
}

bool choose_gpus(const node_state& n, const task_shape& s, const score_context& ctx, rng& gen,
                 int32_t near_group, std::vector<int32_t>& out) {
  out.clear();
  if (s.gpus == 0) return true;
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
  int32_t slot = usable.front();
  switch (ctx.policy) {
    case policy_kind::first_fit:
      break;
    case policy_kind::random:
      slot = usable[gen.below(usable.size())];
      break;
    case policy_kind::fgd:
      fgd_fraction(n, s, *ctx.fgd, slot);
      break;
    default:  // best fit: the fullest GPU that fits, lowest index on ties
      for (int32_t i : usable) {
        if (n.gpu_milli[i] < n.gpu_milli[slot]) slot = i;
      }
  }
  out.push_back(slot);
  return true;
}

}  // namespace gantry::sched
