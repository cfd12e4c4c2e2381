// The placement engine: single tasks take the best-scoring node; a request for several
// ranks is planned on scratch copies of the nodes it touches and only returned whole.
#include "scheduler/engine.hpp"

#include <algorithm>
#include <limits>
#include <map>

namespace gantry::sched {

namespace {

constexpr size_t kMaxShapeCaches = 512;
constexpr size_t kMaxRememberedFailures = 4096;

bool better(int32_t score_a, uint64_t tie_a, int32_t score_b, uint64_t tie_b) {
  return score_a != score_b ? score_a > score_b : tie_a > tie_b;
}

}  // namespace

engine::engine(policy_kind policy, uint64_t seed) : policy_(policy), seed_(seed), gen_(seed) {}

void engine::observe(const placement_request& req) {
  if (policy_ == policy_kind::fgd && learning_) learner_.observe(req);
}

void engine::set_workload(const std::vector<workload_type>& types) {
  learning_ = false;
  fgd_.set(types);
}

score_context engine::context(const cluster_view& view, uint64_t& fingerprint) {
  score_context ctx;
  ctx.policy = policy_;
  ctx.fgd = &fgd_;
  ctx.max_cpu_milli = std::max<int64_t>(1, view.max_cpu_milli());
  ctx.max_gpu_milli = std::max<int64_t>(1, view.max_gpus()) * kGpuMilliWhole;
  fingerprint = (fgd_.epoch() * 0x9e3779b97f4a7c15ULL) ^
                (static_cast<uint64_t>(ctx.max_cpu_milli) * 0xc2b2ae3d27d4eb4fULL) ^
                (static_cast<uint64_t>(ctx.max_gpu_milli) * 0x165667b19e3779f9ULL);
  fingerprint |= 1;  // 0 marks a fresh cache
  return ctx;
}

engine::shape_cache& engine::cache_for(const task_shape& s, uint64_t fingerprint) {
  auto it = caches_.find(s.key);
  if (it == caches_.end()) {
    if (caches_.size() >= kMaxShapeCaches) {  // evict the least recently used
      auto oldest = caches_.begin();
      for (auto i = caches_.begin(); i != caches_.end(); ++i) {
        if (i->second.last_use < oldest->second.last_use) oldest = i;
      }
      caches_.erase(oldest);
    }
    it = caches_.emplace(s.key, shape_cache{}).first;
  }
  shape_cache& c = it->second;
  if (c.context != fingerprint) {
    std::fill(c.version.begin(), c.version.end(), 0);
    c.context = fingerprint;
  }
  c.last_use = ++uses_;
  return c;
}

int32_t engine::cached_score(const cluster_view& view, const task_shape& s, shape_cache& c,
                             int32_t i, const score_context& ctx) {
  const uint64_t version = view.versions()[i];
  if (c.version[i] != version) {
    const node_state& n = view.dense()[i];
    c.score[i] = static_cast<int32_t>(check_fit(n, s) == fit_code::ok ? node_score(n, s, ctx) : -1);
    c.version[i] = version;
  }
  return c.score[i];
}

uint64_t engine::tie_key(const cluster_view& view, int32_t node) {
  switch (policy_) {
    case policy_kind::first_fit:
      return std::numeric_limits<uint64_t>::max() - node;
    case policy_kind::random:
      return gen_.next();
    default: {
      uint64_t z = view.dense()[node].name_hash ^ (seed_ * 0x9e3779b97f4a7c15ULL);
      z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
      z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
      return z ^ (z >> 31);
    }
  }
}

void engine::collect(const cluster_view& view, const task_shape& s, shape_cache& c,
                     const score_context& ctx, const node_reservation* excluded) {
  cands_.clear();
  const auto n = static_cast<int32_t>(view.dense().size());
  for (int32_t i = 0; i < n; ++i) {
    if (excluded != nullptr && excluded->mask[i]) continue;
    const int32_t sc = cached_score(view, s, c, i, ctx);
    if (sc >= 0) cands_.push_back({sc, tie_key(view, i), i, 0});
  }
}

const node_state& engine::state(const cluster_view& view, int32_t i) const {
  for (const auto& [idx, st] : scratch_) {
    if (idx == i) return st;
  }
  return view.dense()[i];
}

node_state& engine::scratch(const cluster_view& view, int32_t i, int32_t*& last_group) {
  for (size_t k = 0; k < scratch_.size(); ++k) {
    if (scratch_[k].first == i) {
      last_group = &scratch_group_[k];
      return scratch_[k].second;
    }
  }
  scratch_.emplace_back(i, view.dense()[i]);
  scratch_group_.push_back(-1);
  last_group = &scratch_group_.back();
  return scratch_.back().second;
}

bool engine::place_rank(const cluster_view& view, const task_shape& s, const score_context& ctx,
                        int32_t i, std::vector<task_assignment>& tasks) {
  int32_t* last_group = nullptr;
  node_state& st = scratch(view, i, last_group);
  if (check_fit(st, s) != fit_code::ok) return false;
  if (!choose_gpus(st, s, ctx, gen_, *last_group, slots_)) return false;
  tasks.push_back(take_task(st, s, slots_));
  if (!slots_.empty()) *last_group = st.gpu_group[slots_.front()];
  return true;
}

// Rank by rank, each on the best node given the ranks already planned (a heap holds one
// entry per feasible node; only the node just used is re-scored).
bool engine::plan_greedy(const cluster_view& view, const task_shape& s, shape_cache& c,
                         const score_context& ctx, const node_reservation* excluded, int32_t count,
                         std::vector<task_assignment>& tasks) {
  collect(view, s, c, ctx, excluded);
  auto less = [](const candidate& a, const candidate& b) {
    return better(b.score, b.tie, a.score, a.tie);
  };
  std::make_heap(cands_.begin(), cands_.end(), less);
  while (static_cast<int32_t>(tasks.size()) < count) {
    if (cands_.empty()) return false;
    std::pop_heap(cands_.begin(), cands_.end(), less);
    const int32_t i = cands_.back().node;
    cands_.pop_back();
    if (!place_rank(view, s, ctx, i, tasks)) continue;
    const node_state& st = state(view, i);
    if (check_fit(st, s) == fit_code::ok) {
      cands_.push_back({node_score(st, s, ctx), tie_key(view, i), i, 0});
      std::push_heap(cands_.begin(), cands_.end(), less);
    }
  }
  return true;
}

// Fewest nodes: repeatedly the node that takes the most of the remaining ranks (then the
// best score), filled with as many ranks as fit there.
bool engine::plan_pack(const cluster_view& view, const task_shape& s, shape_cache& c,
                       const score_context& ctx, const node_reservation* excluded, int32_t count,
                       std::vector<task_assignment>& tasks) {
  collect(view, s, c, ctx, excluded);
  for (candidate& cand : cands_) cand.cap = capacity(view.dense()[cand.node], s, count);
  while (static_cast<int32_t>(tasks.size()) < count) {
    const int32_t remaining = count - static_cast<int32_t>(tasks.size());
    candidate* best = nullptr;
    int32_t best_take = 0;
    for (candidate& cand : cands_) {
      const int32_t take = std::min(cand.cap, remaining);
      if (take <= 0) continue;
      if (best == nullptr || take > best_take ||
          (take == best_take && better(cand.score, cand.tie, best->score, best->tie))) {
        best = &cand;
        best_take = take;
      }
    }
    if (best == nullptr) return false;
    for (int32_t k = 0; k < best_take; ++k) {
      if (!place_rank(view, s, ctx, best->node, tasks)) break;
    }
    best->cap = 0;
  }
  return true;
}

// Most nodes: one rank per node in score order, then another round if ranks remain.
bool engine::plan_spread(const cluster_view& view, const task_shape& s, shape_cache& c,
                         const score_context& ctx, const node_reservation* excluded, int32_t count,
                         std::vector<task_assignment>& tasks) {
  collect(view, s, c, ctx, excluded);
  std::sort(cands_.begin(), cands_.end(), [](const candidate& a, const candidate& b) {
    return better(a.score, a.tie, b.score, b.tie);
  });
  while (static_cast<int32_t>(tasks.size()) < count) {
    bool progress = false;
    for (const candidate& cand : cands_) {
      if (static_cast<int32_t>(tasks.size()) == count) break;
      if (place_rank(view, s, ctx, cand.node, tasks)) progress = true;
    }
    if (!progress) return false;
  }
  return true;
}

bool engine::plan(const cluster_view& view, const placement_request& req,
                  const node_reservation* excluded, placement& out, std::string& reason) {
  if (policy_ == policy_kind::fgd && learning_) {
    if (fgd_.empty() && !learner_.stale()) learner_.observe(req);
    if (learner_.stale()) fgd_.set(learner_.take());
  }
  if (excluded != nullptr && (excluded->owner.empty() || excluded->owner == req.id))
    excluded = nullptr;
  const task_shape s = compile_shape(req);
  const int32_t count = std::max(1, req.count);
  out = placement{req.id, {}};

  std::string failure_key;
  if (count > 1 || excluded != nullptr) {
    failure_key = s.key + '#' + std::to_string(count) + '#' + to_string(req.placement) + '#' +
                  (excluded ? std::to_string(excluded->generation) : std::string("-"));
  } else {
    failure_key = s.key;
  }
  if (auto it = failures_.find(failure_key);
      it != failures_.end() && it->second.first == view.mutations()) {
    reason = it->second.second;
    return false;
  }

  uint64_t fingerprint = 0;
  const score_context ctx = context(view, fingerprint);
  shape_cache& c = cache_for(s, fingerprint);
  const size_t n = view.dense().size();
  if (c.version.size() != n) {
    c.version.resize(n, 0);
    c.score.resize(n, -1);
  }
  scratch_.clear();
  scratch_group_.clear();

  bool ok = false;
  if (count == 1) {
    int32_t best = -1, pick = -1;
    uint64_t best_tie = 0;
    ties_.clear();
    const bool uniform = policy_ == policy_kind::random;
    for (int32_t i = 0; i < static_cast<int32_t>(n); ++i) {
      if (excluded != nullptr && excluded->mask[i]) continue;
      const int32_t sc = cached_score(view, s, c, i, ctx);
      if (sc < 0 || sc < best) continue;
      if (uniform) {
        ties_.push_back(i);  // Random scores every node 0: all feasible nodes tie
        best = sc;
        continue;
      }
      const uint64_t tie = tie_key(view, i);
      if (sc > best || tie > best_tie) {
        best = sc;
        best_tie = tie;
        pick = i;
      }
    }
    if (uniform && !ties_.empty()) pick = ties_[gen_.below(ties_.size())];
    if (pick >= 0) {
      const node_state& st = view.dense()[pick];
      if (choose_gpus(st, s, ctx, gen_, -1, slots_)) {
        out.tasks.push_back(make_assignment(st, s, slots_));
        ok = true;
      }
    }
  } else if (req.placement == placement_pref::pack) {
    ok = plan_pack(view, s, c, ctx, excluded, count, out.tasks);
  } else if (req.placement == placement_pref::spread) {
    ok = plan_spread(view, s, c, ctx, excluded, count, out.tasks);
  } else {
    ok = plan_greedy(view, s, c, ctx, excluded, count, out.tasks);
  }
  if (ok) return true;
  reason = explain(view, s, excluded, count, static_cast<int32_t>(out.tasks.size()));
  out.tasks.clear();
  if (failures_.size() >= kMaxRememberedFailures) failures_.clear();
  failures_[failure_key] = {view.mutations(), reason};
  return false;
}

std::string engine::explain(const cluster_view& view, const task_shape& s,
                            const node_reservation* excluded, int32_t count, int32_t fitted) const {
  std::map<std::string, int32_t> why;
  const auto n = static_cast<int32_t>(view.dense().size());
  for (int32_t i = 0; i < n; ++i) {
    const node_state& st = state(view, i);
    fit_code code = static_fit(st, s);
    if (code == fit_code::ok && excluded != nullptr && excluded->mask[i]) {
      code = fit_code::reserved;
    } else if (code == fit_code::ok) {
      code = dynamic_fit(st, s);
    }
    ++why[fit_text(code, s, excluded ? excluded->owner : std::string_view())];
  }
  std::vector<std::pair<std::string, int32_t>> sorted(why.begin(), why.end());
  std::stable_sort(sorted.begin(), sorted.end(),
                   [](const auto& a, const auto& b) { return a.second > b.second; });
  std::string reason = "0/" + std::to_string(n) + " nodes";
  const char* sep = ": ";
  for (const auto& [text, k] : sorted) {
    reason += sep + std::to_string(k) + " " + text;
    sep = ", ";
  }
  if (count > 1 && fitted > 0) {
    reason += "; " + std::to_string(fitted) + " of " + std::to_string(count) + " ranks fit";
  }
  return reason;
}

bool engine::reserve(const cluster_view& view, const placement_request& req,
                     std::vector<std::string>& nodes) {
  nodes.clear();
  const task_shape s = compile_shape(req);
  const int32_t count = std::max(1, req.count);
  struct option {
    int32_t node, cap_total, cap_now;
    int64_t gpu_free, cpu_free;
  };
  std::vector<option> options;
  int64_t total = 0;
  const auto& dense = view.dense();
  for (int32_t i = 0; i < static_cast<int32_t>(dense.size()); ++i) {
    const node_state& st = dense[i];
    if (static_fit(st, s) != fit_code::ok) continue;
    const int32_t cap_total = capacity(empty_copy(st), s, count);
    if (cap_total == 0) continue;
    options.push_back(
        {i, cap_total, capacity(st, s, count), st.gpu_milli_free_total(), st.cpu_free});
    total += cap_total;
  }
  if (total < count) return false;
  std::stable_sort(options.begin(), options.end(), [](const option& a, const option& b) {
    if (a.cap_now != b.cap_now) return a.cap_now > b.cap_now;
    if (a.gpu_free != b.gpu_free) return a.gpu_free > b.gpu_free;
    return a.cpu_free > b.cpu_free;
  });
  int64_t covered = 0;
  for (const option& o : options) {
    if (covered >= count) break;
    nodes.push_back(dense[o.node].view->inventory.name);
    covered += o.cap_total;
  }
  return true;
}

}  // namespace gantry::sched
