// Victim planning: greedy in preference order, then pruned to a minimal set, every step
// checked by trial placements on the caller's view (left as it was when no plan exists).
#include "scheduler/queues/victims.hpp"

#include <algorithm>
#include <climits>

#include "scheduler/fit.hpp"

namespace gantry::sched {

namespace {

// Some dimension the request needs is one `borrowed` still exceeds and `held` holds.
bool helps(const queue_resources& borrowed, const queue_resources& need,
           const queue_resources& held) {
  return (need.cpu_milli > 0 && borrowed.cpu_milli > 0 && held.cpu_milli > 0) ||
         (need.memory_bytes > 0 && borrowed.memory_bytes > 0 && held.memory_bytes > 0) ||
         (need.gpu_milli > 0 && borrowed.gpu_milli > 0 && held.gpu_milli > 0);
}

class planner {
 public:
  planner(cluster_view& view, scheduler& s, const round_state& rs, const placement_request& req,
          const std::vector<victim_candidate>& cands, const victim_rules& rules)
      : view_(view), s_(s), rs_(rs), req_(req), cands_(cands), rules_(rules) {
    borrowed_left_ = rules.borrowed;
    const task_shape shape = compile_shape(req);
    const auto& dense = view.dense();
    useful_.assign(dense.size(), 0);
    for (size_t i = 0; i < dense.size(); ++i) {
      if (static_fit(dense[i], shape) != fit_code::ok) continue;
      useful_[i] = 1;
      free_ += {dense[i].cpu_free, dense[i].mem_free, dense[i].gpu_milli_free_total()};
    }
    total_need_ = demand_of(req.per_task, std::max(1, req.count));
  }

  std::optional<victim_plan> run() {
    std::vector<size_t> local;
    const bool have_local = req_.count <= 1 && node_local(local);
    // One task, no elastic gang to shrink, no quota to free: the best node's set is the plan
    // (the greedy could only find the same or a worse one).
    const bool local_only = req_.count <= 1 && !shrinkable() && rules_.own_must_free.zero();
    if (local_only) {
      if (!have_local) return std::nullopt;
      for (size_t c : local) take(c, 0);
      if (trial(nullptr)) return finish();
      clear_actions();  // the node looked right but the scheduler disagrees: try the greedy
    }
    bool ok = greedy();
    if (ok) prune();
    if (have_local && !local_only && (!ok || cost_of(local) < cost_of(actions_))) {
      const std::vector<victim_action> saved = actions_;
      clear_actions();
      for (size_t c : local) take(c, 0);
      if (trial(nullptr)) {
        ok = true;
      } else {  // keep the greedy plan
        clear_actions();
        for (const auto& a : saved) take(a.candidate, a.resize_to);
      }
    }
    if (!ok) return std::nullopt;
    return finish();
  }

 private:
  std::optional<victim_plan> finish() {
    victim_plan plan;
    if (trial(&plan)) return plan;  // every step before left a state that fitted
    clear_actions();
    return std::nullopt;
  }

  // Some useful candidate is an elastic gang above its floor.
  bool shrinkable() const {
    for (const auto& c : cands_)
      if (c.min_size > 0 && static_cast<int32_t>(c.tasks->size()) > c.min_size && useful(c))
        return true;
    return false;
  }

  // Greedy in candidate order; true with the actions applied, or false with none.
  bool greedy() {
    bool ok = false;
    for (size_t i = 0; i < cands_.size() && !ok; ++i) {
      const victim_candidate& c = cands_[i];
      if (!useful(c)) continue;
      if (c.queue != rules_.own_queue && !helps(borrowed_left_[c.queue], rules_.need, c.held))
        continue;
      const auto size = static_cast<int32_t>(c.tasks->size());
      take(i, c.min_size > 0 && size > c.min_size ? c.min_size : 0);
      ok = enough_free() && trial(nullptr);
    }
    // Shrinking was not enough: stop elastic gangs whole, most preferred first.
    for (size_t k = 0; k < actions_.size() && !ok; ++k) {
      if (actions_[k].resize_to == 0) continue;
      account(actions_[k], -1);
      actions_[k].resize_to = 0;
      account(actions_[k], +1);
      ok = trial(nullptr);
    }
    if (!ok) clear_actions();
    return ok;
  }

  void clear_actions() {
    for (const auto& a : actions_) {
      account(a, -1);
      restore(a.candidate);
    }
    actions_.clear();
  }

  struct plan_cost {
    int worst_class = -1;
    int32_t top_priority = INT32_MIN;
    size_t victims = 0;
    double lost = 0;
    bool operator<(const plan_cost& o) const {
      if (worst_class != o.worst_class) return worst_class < o.worst_class;
      if (top_priority != o.top_priority) return top_priority < o.top_priority;
      if (victims != o.victims) return victims < o.victims;
      return lost < o.lost;
    }
  };
  plan_cost cost_of(const std::vector<size_t>& set) const {
    plan_cost c;
    for (size_t i : set) {
      c.worst_class = std::max(c.worst_class, cands_[i].victim_class);
      c.top_priority = std::max(c.top_priority, cands_[i].priority);
      c.lost += cands_[i].lost;
    }
    c.victims = set.size();
    return c;
  }
  plan_cost cost_of(const std::vector<victim_action>& actions) const {
    std::vector<size_t> set;
    for (const auto& a : actions) set.push_back(a.candidate);
    return cost_of(set);
  }

  // Node by node, the non-elastic victims (in candidate order, then pruned) that free room
  // for one task of the request there; the best such set over all nodes. By arithmetic on
  // the node's state only: the caller checks the winner with a trial.
  bool node_local(std::vector<size_t>& best) {
    const task_shape shape = compile_shape(req_);
    std::map<int32_t, std::vector<size_t>> by_node;
    for (size_t i = 0; i < cands_.size(); ++i) {
      const victim_candidate& c = cands_[i];
      if (c.min_size > 0 && static_cast<int32_t>(c.tasks->size()) > c.min_size) continue;
      for (const auto& a : *c.tasks) {
        const int32_t idx = view_.dense_index(a.node);
        if (idx < 0 || !useful_[idx]) continue;
        auto& list = by_node[idx];
        if (list.empty() || list.back() != i) list.push_back(i);
      }
    }
    bool found = false;
    plan_cost best_cost;
    for (const auto& [idx, list] : by_node) {
      std::vector<size_t> chosen;
      auto borrowed = rules_.borrowed;
      bool fit = false;
      for (size_t i : list) {
        const victim_candidate& c = cands_[i];
        if (c.queue != rules_.own_queue) {
          queue_resources& b = borrowed[c.queue];
          if (!helps(b, rules_.need, c.held)) continue;
          b = excess(b, c.held);
        }
        chosen.push_back(i);
        if ((fit = fits_on(idx, shape, chosen))) break;
      }
      if (!fit) continue;
      for (size_t k = chosen.size(); k-- > 1;) {  // the last one was needed
        std::vector<size_t> without = chosen;
        without.erase(without.begin() + static_cast<std::ptrdiff_t>(k));
        if (fits_on(idx, shape, without)) chosen = std::move(without);
      }
      const plan_cost cost = cost_of(chosen);
      if (!found || cost < best_cost) {
        best = chosen;
        best_cost = cost;
        found = true;
      }
    }
    return found;
  }

  // One task of `shape` fits node `idx` once `set` gave back what it holds there, and the
  // own queue then gives up enough for its limit.
  bool fits_on(int32_t idx, const task_shape& shape, const std::vector<size_t>& set) const {
    node_state st = view_.dense()[idx];
    const node_view& nv = *st.view;
    queue_resources own;
    for (size_t i : set) {
      if (cands_[i].queue == rules_.own_queue) own += cands_[i].held;
      for (const auto& a : *cands_[i].tasks) {
        if (a.node != nv.inventory.name) continue;
        st.cpu_free += a.cpu_milli;
        st.mem_free += a.memory_bytes;
        st.dpu_free += a.dpus;
        for (int32_t g : a.gpus) {
          for (size_t slot = 0; slot < nv.gpus.size(); ++slot) {
            if (nv.gpus[slot].info.index != g) continue;
            st.gpu_milli[slot] += a.gpu_milli;
            st.gpu_mem[slot] += a.gpu_memory_bytes;
          }
        }
      }
    }
    return fits_within(rules_.own_must_free, own) && check_fit(st, shape) == fit_code::ok;
  }

  bool useful(const victim_candidate& c) const {
    for (const auto& a : *c.tasks) {
      const int32_t idx = view_.dense_index(a.node);
      if (idx >= 0 && useful_[idx]) return true;
    }
    return false;
  }

  void release(size_t c) {
    for (const auto& a : *cands_[c].tasks) {
      view_.release(a);
      const int32_t idx = view_.dense_index(a.node);
      if (idx >= 0 && useful_[idx])
        free_ += {a.cpu_milli, a.memory_bytes, static_cast<int64_t>(a.gpus.size()) * a.gpu_milli};
    }
  }
  void restore(size_t c) {
    view_.apply(placement{"", *cands_[c].tasks});
    for (const auto& a : *cands_[c].tasks) {
      const int32_t idx = view_.dense_index(a.node);
      if (idx >= 0 && useful_[idx])
        free_ -= {a.cpu_milli, a.memory_bytes, static_cast<int64_t>(a.gpus.size()) * a.gpu_milli};
    }
  }

  // What an action gives up: everything, or what a shrunk gang no longer takes.
  queue_resources freed(const victim_action& a) const {
    const victim_candidate& c = cands_[a.candidate];
    if (a.resize_to == 0) return c.held;
    return c.held - demand_of(c.shape->per_task, a.resize_to);
  }
  // Adds (+1) or removes (-1) an action's effect on the quota bookkeeping.
  void account(const victim_action& a, int sign) {
    const victim_candidate& c = cands_[a.candidate];
    const queue_resources f = freed(a);
    if (c.queue == rules_.own_queue) {
      own_freed_ = sign > 0 ? own_freed_ + f : own_freed_ - f;
    } else {
      queue_resources& b = borrowed_left_[c.queue];
      b = sign > 0 ? excess(b, f) : b + f;
    }
  }

  void take(size_t c, int32_t resize_to) {
    actions_.push_back({c, resize_to});
    account(actions_.back(), +1);
    release(c);
  }

  // A necessary condition, cheap: the nodes the request could use have enough free in total.
  bool enough_free() const { return fits_within(total_need_, free_); }

  // Whether the request, then every shrunk gang at its new size, fits now. With `out` the
  // placements stay applied and are returned; otherwise the view is left as it was.
  bool trial(victim_plan* out) {
    if (!fits_within(rules_.own_must_free, own_freed_)) return false;
    std::vector<placement> applied;
    std::string reason;
    placement p;
    bool ok = s_.try_next(view_, req_, rs_, p, reason);
    if (ok) {
      view_.apply(p);
      applied.push_back(std::move(p));
    }
    for (const auto& a : actions_) {
      if (!ok) break;
      if (a.resize_to == 0) continue;
      placement_request r = *cands_[a.candidate].shape;
      r.count = a.resize_to;
      placement q;
      ok = s_.try_next(view_, r, rs_, q, reason);
      if (ok) {
        view_.apply(q);
        applied.push_back(std::move(q));
      }
    }
    if (ok && out != nullptr) {
      std::vector<victim_action> sorted = actions_;
      out->request = std::move(applied.front());
      // Resized placements follow the actions' addition order; re-pair them by candidate.
      std::vector<std::pair<size_t, placement>> resized;
      size_t next = 1;
      for (const auto& a : actions_)
        if (a.resize_to > 0) resized.emplace_back(a.candidate, std::move(applied[next++]));
      std::sort(sorted.begin(), sorted.end(),
                [](const auto& x, const auto& y) { return x.candidate < y.candidate; });
      std::sort(resized.begin(), resized.end(),
                [](const auto& x, const auto& y) { return x.first < y.first; });
      out->actions = std::move(sorted);
      for (auto& [c, pl] : resized) out->resized.push_back(std::move(pl));
      return true;
    }
    for (auto it = applied.rbegin(); it != applied.rend(); ++it)
      for (const auto& a : it->tasks) view_.release(a);
    return ok;
  }

  // Drops every action the request does not need (least preferred victim first), gives
  // elastic gangs stopped whole a shrink instead where that is enough, then shrinks each as
  // little as it can.
  void prune() {
    for (size_t k = actions_.size(); k-- > 0;) {
      const victim_action a = actions_[k];
      account(a, -1);
      actions_.erase(actions_.begin() + static_cast<std::ptrdiff_t>(k));
      restore(a.candidate);
      if (trial(nullptr)) continue;
      release(a.candidate);
      actions_.insert(actions_.begin() + static_cast<std::ptrdiff_t>(k), a);
      account(a, +1);
    }
    for (auto& a : actions_) {
      const victim_candidate& c = cands_[a.candidate];
      const auto size = static_cast<int32_t>(c.tasks->size());
      if (a.resize_to != 0 || c.min_size <= 0 || size <= c.min_size) continue;
      if (!set_size(a, c.min_size)) set_size(a, 0);
    }
    for (auto& a : actions_) {
      if (a.resize_to == 0) continue;
      int32_t lo = a.resize_to;  // fits
      int32_t hi = static_cast<int32_t>(cands_[a.candidate].tasks->size()) - 1;
      while (lo < hi) {
        const int32_t mid = lo + (hi - lo + 1) / 2;
        if (set_size(a, mid)) {
          lo = mid;
        } else {
          hi = mid - 1;
        }
      }
      set_size(a, lo);
    }
  }

  // Changes an action's size (0: stopped whole) and keeps the change if everything fits.
  bool set_size(victim_action& a, int32_t size) {
    const int32_t before = a.resize_to;
    account(a, -1);
    a.resize_to = size;
    account(a, +1);
    if (trial(nullptr)) return true;
    account(a, -1);
    a.resize_to = before;
    account(a, +1);
    return false;
  }

  cluster_view& view_;
  scheduler& s_;
  const round_state& rs_;
  const placement_request& req_;
  const std::vector<victim_candidate>& cands_;
  const victim_rules& rules_;
  std::map<std::string, queue_resources> borrowed_left_;
  queue_resources own_freed_;
  std::vector<char> useful_;  // by dense index: the request's shape passes the static filters
  queue_resources free_;      // free on useful nodes
  queue_resources total_need_;
  std::vector<victim_action> actions_;  // in the order they were added
};

}  // namespace

std::optional<victim_plan> plan_victims(cluster_view& view, scheduler& s, const round_state& rs,
                                        const placement_request& req,
                                        const std::vector<victim_candidate>& candidates,
                                        const victim_rules& rules) {
  return planner(view, s, rs, req, candidates, rules).run();
}

std::vector<task_assignment> holds_for(const std::vector<task_assignment>& placed,
                                       const std::vector<task_assignment>& freed) {
  struct amounts {
    int64_t cpu = 0, mem = 0, dpus = 0;
    std::map<int32_t, std::pair<int64_t, int64_t>> gpus;  // index -> (milli, memory)
  };
  std::map<std::string, amounts> net;
  auto add = [&](const std::vector<task_assignment>& tasks, int sign) {
    for (const auto& a : tasks) {
      amounts& n = net[a.node];
      n.cpu += sign * a.cpu_milli;
      n.mem += sign * a.memory_bytes;
      n.dpus += sign * a.dpus;
      for (int32_t g : a.gpus) {
        n.gpus[g].first += sign * a.gpu_milli;
        n.gpus[g].second += sign * a.gpu_memory_bytes;
      }
    }
  };
  add(placed, +1);
  add(freed, -1);
  std::vector<task_assignment> out;
  for (const auto& [node, n] : net) {
    task_assignment base;
    base.node = node;
    base.cpu_milli = std::max<int64_t>(0, n.cpu);
    base.memory_bytes = std::max<int64_t>(0, n.mem);
    base.dpus = static_cast<int32_t>(std::max<int64_t>(0, n.dpus));
    if (base.cpu_milli > 0 || base.memory_bytes > 0 || base.dpus > 0) out.push_back(base);
    for (const auto& [g, gm] : n.gpus) {
      if (gm.first <= 0 && gm.second <= 0) continue;
      task_assignment a;
      a.node = node;
      a.gpus = {g};
      a.gpu_milli = static_cast<int32_t>(std::max<int64_t>(0, gm.first));
      a.gpu_memory_bytes = std::max<int64_t>(0, gm.second);
      out.push_back(a);
    }
  }
  return out;
}

}  // namespace gantry::sched
