// Plans for several ranks, on scratch copies of the nodes they touch; returned whole or
// not at all.
#include <algorithm>

#include "scheduler/engine.hpp"
#include "scheduler/gpu_choice.hpp"

namespace gantry::sched {

namespace {

bool better(int32_t score_a, uint64_t tie_a, int32_t score_b, uint64_t tie_b) {
  return score_a != score_b ? score_a > score_b : tie_a > tie_b;
}

}  // namespace

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
                        const candidate& cand, std::vector<task_assignment>& tasks) {
  int32_t* last_group = nullptr;
  node_state& st = scratch(view, cand.node, last_group);
  if (check_fit(st, s) != fit_code::ok) return false;
  int32_t gpu = -1;  // only a fraction's GPU is the policy's choice
  if (s.one_fraction())
    gpu = st.version == cand.version ? cand.gpu : policy_->score(st, s, ctx).gpu;
  if (!choose_gpus(st, s, gpu, policy_->ties, gen_, *last_group, slots_)) return false;
  tasks.push_back(take_task(st, s, slots_));
  // NCCL refuses two ranks of one communicator on one GPU: a GPU one rank of a gang shares
  // is offered to none of its other ranks (this scratch copy is never applied).
  if (s.req != nullptr && s.req->gang && s.fractional())
    for (int32_t slot : slots_) st.gpu_milli[slot] = 0;
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
    const candidate cand = cands_.back();
    cands_.pop_back();
    if (!place_rank(view, s, ctx, cand, tasks)) continue;
    const node_state& st = state(view, cand.node);
    if (check_fit(st, s) == fit_code::ok) {
      const node_score sc = policy_->score(st, s, ctx);
      cands_.push_back({sc.score, sc.gpu, tie_key(view, cand.node), st.version, cand.node, 0});
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
      if (!place_rank(view, s, ctx, *best, tasks)) break;
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
      if (place_rank(view, s, ctx, cand, tasks)) progress = true;
    }
    if (!progress) return false;
  }
  return true;
}

}  // namespace gantry::sched
