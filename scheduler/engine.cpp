// The placement engine: caches, the single-task decision, reasons and reservations. Plans
// for several ranks are in engine_gangs.cpp.
#include "scheduler/engine.hpp"

#include <algorithm>
#include <limits>
#include <map>

#include "scheduler/gpu_choice.hpp"

namespace gantry::sched {

namespace {

constexpr size_t kMaxShapeCaches = 512;
constexpr size_t kMaxRememberedFailures = 4096;

}  // namespace

engine::engine(policy_kind policy, uint64_t seed)
    : policy_(&policy_of(policy)), seed_(seed), gen_(seed) {}

void engine::observe(const placement_request& req) {
  if (policy_->learns_workload && learning_) learner_.observe(req);
}

void engine::set_workload(const std::vector<workload_type>& types) {
  learning_ = false;
  fgd_.set(types);
}

score_context engine::context(const cluster_view& view, uint64_t& fingerprint) {
  score_context ctx;
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

void engine::rescore(const cluster_view& view, const task_shape& s, shape_cache& c, int32_t i,
                     const score_context& ctx) {
  const node_state& n = view.dense()[i];
  cached_score e;
  if (check_fit(n, s) == fit_code::ok) {
    const node_score sc = policy_->score(n, s, ctx);
    e = {static_cast<int16_t>(sc.score), static_cast<int16_t>(sc.gpu)};
  }
  c.entry[i] = e;
  c.version[i] = view.versions()[i];
}

uint64_t engine::tie_key(const cluster_view& view, int32_t node) {
  switch (policy_->ties) {
    case tie_rule::name_order:
      return std::numeric_limits<uint64_t>::max() - node;
    case tie_rule::uniform:
      return gen_.next();
    case tie_rule::node_rank:
      break;
  }
  uint64_t z = view.dense()[node].name_hash ^ (seed_ * 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

void engine::collect(const cluster_view& view, const task_shape& s, shape_cache& c,
                     const score_context& ctx, const node_reservation* excluded) {
  cands_.clear();
  const auto n = static_cast<int32_t>(view.dense().size());
  for (int32_t i = 0; i < n; ++i) {
    if (excluded != nullptr && excluded->mask[i]) continue;
    const cached_score e = cached(view, s, c, i, ctx);
    if (e.score >= 0)
      cands_.push_back({e.score, e.gpu, tie_key(view, i), view.versions()[i], i, 0});
  }
}

// One task: the best-scoring node (ties by the tie rule), and the GPU its score chose.
bool engine::plan_single(const cluster_view& view, const task_shape& s, shape_cache& c,
                         const score_context& ctx, const node_reservation* excluded,
                         std::vector<task_assignment>& tasks) {
  int32_t best = -1, pick = -1;
  uint64_t best_tie = 0;
  ties_.clear();
  const bool uniform = policy_->ties == tie_rule::uniform;
  const auto n = static_cast<int32_t>(view.dense().size());
  for (int32_t i = 0; i < n; ++i) {
    if (excluded != nullptr && excluded->mask[i]) continue;
    const int32_t sc = cached(view, s, c, i, ctx).score;
    if (sc < 0 || sc < best) continue;
    if (uniform) {  // every node with the best score, for one draw below
      if (sc > best) ties_.clear();
      ties_.push_back(i);
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
  if (pick < 0) return false;
  const node_state& st = view.dense()[pick];
  if (!choose_gpus(st, s, c.entry[pick].gpu, policy_->ties, gen_, -1, slots_)) return false;
  tasks.push_back(make_assignment(st, s, slots_));
  return true;
}

bool engine::plan(const cluster_view& view, const placement_request& req,
                  const node_reservation* excluded, placement& out, std::string& reason) {
  if (policy_->learns_workload && learning_) {
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
    c.entry.resize(n);
  }
  scratch_.clear();
  scratch_group_.clear();

  bool ok = false;
  if (count == 1) {
    ok = plan_single(view, s, c, ctx, excluded, out.tasks);
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
