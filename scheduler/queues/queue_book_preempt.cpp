// The queue book's plans that stop running work: reclaiming a guarantee, priority within a
// queue, shrinking elastic gangs for either, and growing them when capacity is idle.
#include <algorithm>
#include <optional>
#include <unordered_map>

#include "scheduler/queues/fair_share.hpp"
#include "scheduler/queues/queue_book.hpp"
#include "scheduler/queues/queue_book_round.hpp"
#include "scheduler/queues/victims.hpp"

namespace gantry::sched {

namespace {

std::string arrow(int32_t from, int32_t to) {
  return std::to_string(from) + " \u2192 " + std::to_string(to);
}

}  // namespace

// Requests that failed for want of capacity and are entitled to preempt: within their queue's
// guarantee (reclaim), or above running work of their own queue (priority). Reclaims first,
// then by priority; each gets one plan, at most max_plans_per_round successful ones.
void queue_book::preempt(cluster_view& view, round_ctx& ctx) {
  static const std::string kNote = "; preemption would not make it fit";
  std::unordered_map<std::string, size_t> reason_of;  // request id -> ctx.out.pending index
  for (size_t i = 0; i < ctx.out.pending.size(); ++i) reason_of[ctx.out.pending[i].request_id] = i;
  auto note = [&](const std::string& id) { ctx.out.pending[reason_of.at(id)].reason += kNote; };
  struct want {
    queue_state* q;
    const pending_entry* e;
    bool reclaim;
  };
  std::vector<want> wants;
  for (auto& [q, id] : ctx.blocked) {
    auto it = std::find_if(q->pending.begin(), q->pending.end(),
                           [&](const pending_entry& p) { return p.r.request.id == id; });
    if (it == q->pending.end()) continue;
    const bool reclaim = within_guarantee(q->effective(), it->need, q->spec.guarantee);
    const bool outranks =
        !q->priorities.empty() && q->priorities.begin()->first < it->r.request.priority;
    auto np = no_plan_.find(id);
    if (!reclaim && !outranks) {
      if (np != no_plan_.end()) no_plan_.erase(np);
      continue;
    }
    if (claimant_in_flight(id)) continue;
    if (np != no_plan_.end() && ctx.now < np->second.retry_at) {
      note(id);  // the last verdict stands until a replan is due
      continue;
    }
    wants.push_back({q, &*it, reclaim});
  }
  std::stable_sort(wants.begin(), wants.end(), [](const want& a, const want& b) {
    if (a.reclaim != b.reclaim) return a.reclaim;
    return a.e->r.request.priority > b.e->r.request.priority;
  });
  int32_t plans = 0, tries = 0;
  for (const want& w : wants) {
    const std::string& id = w.e->r.request.id;
    if (plans >= config_.max_plans_per_round || tries >= 2 * config_.max_plans_per_round) {
      if (no_plan_.contains(id)) note(id);
      continue;
    }
    ++tries;
    if (plan_for(view, ctx, *w.q, *w.e, w.reclaim)) {
      ++plans;
      no_plan_.erase(id);
    } else {
      no_plan_[id] = {ctx.now + config_.replan_after_ms};
      note(id);
    }
  }
}

// One victim plan for `e`; on success its stop orders are issued and a claim opened.
bool queue_book::plan_for(cluster_view& view, round_ctx& ctx, queue_state& q,
                          const pending_entry& e, bool reclaim) {
  const placement_request& want_req = e.r.request;
  victim_rules rules;
  rules.own_queue = q.spec.name;
  // A reclaim takes back only what the guarantee covers; priority, whatever the request needs.
  const queue_resources reclaimed = guaranteed_part(e.need, q.spec.guarantee);
  rules.need = reclaim ? reclaimed : e.need;
  rules.own_must_free = excess(q.effective() + e.need, q.spec.limit);
  if (reclaim) {  // other queues' work is taken while they borrow what the request needs
    for (const auto& [name, v] : queues_) {
      if (name == q.spec.name) continue;
      const queue_resources over = borrowed_of(v.effective(), v.spec.guarantee);
      if (overlaps(over, reclaimed)) rules.borrowed.emplace(name, over);
    }
  }
  struct ranked {
    int cls;  // 0: another queue's borrowed work, 1: lower priority in the own queue
    int32_t priority;
    double lost;
    int64_t started;
    uint64_t id;
    const unit* u;
  };
  std::vector<ranked> all;
  all.reserve(units_.size());
  const queue_resources& cap = ctx.capacity(view);
  for (const auto& [id, u] : units_) {
    if (u.claim != 0 || !u.r.preemptible || u.protected_until > ctx.now) continue;
    if (!overlaps(u.held, e.need)) continue;
    int cls = 0;
    if (u.r.queue == q.spec.name) {
      if (u.r.request.priority >= want_req.priority) continue;
      cls = 1;
    } else if (!rules.borrowed.contains(u.r.queue) || !overlaps(u.held, reclaimed)) {
      continue;
    }
    const double lost =
        static_cast<double>(ctx.now - u.progress_ms) / 1000.0 * dominant_share(u.held, cap);
    all.push_back({cls, u.r.request.priority, lost, u.started_ms, id, &u});
  }
  if (all.empty()) return false;
  // Borrowers first, then lowest priority, then least work lost, then the newest.
  auto before = [](const ranked& a, const ranked& b) {
    if (a.cls != b.cls) return a.cls < b.cls;
    if (a.priority != b.priority) return a.priority < b.priority;
    if (a.lost != b.lost) return a.lost < b.lost;
    if (a.started != b.started) return a.started > b.started;
    return a.id < b.id;
  };
  placement_request req = want_req;
  if (e.r.min_count > 0) req.count = e.r.min_count;
  // A guarantee outranks the head-of-line reservation a borrower may hold: reclaims are
  // tried on every node; priority preemption keeps off nodes reserved for another request.
  const round_state everywhere;
  // The most preferred victims first: the first kFirstVictims per rank, sixteen times as
  // many if no plan exists among them, then all (planning costs grow with the candidates).
  constexpr size_t kFirstVictims = 64;
  size_t k = kFirstVictims * static_cast<size_t>(std::max(1, req.count));
  std::vector<victim_candidate> cands;
  std::optional<victim_plan> plan;
  while (true) {
    k = std::min(k, all.size());
    std::partial_sort(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(k), all.end(), before);
    cands.clear();
    for (size_t i = 0; i < k; ++i) {
      const unit& u = *all[i].u;
      victim_candidate c;
      c.unit = all[i].id;
      c.queue = u.r.queue;
      c.tasks = &u.tasks;
      c.held = u.held;
      c.shape = &u.r.request;
      c.min_size = u.r.min_count;
      c.victim_class = all[i].cls;
      c.priority = all[i].priority;
      c.lost = all[i].lost;
      cands.push_back(std::move(c));
    }
    plan = plan_victims(view, sched_, reclaim ? everywhere : ctx.rs, req, cands, rules);
    if (plan || k == all.size()) break;
    k *= 16;
  }
  if (!plan) return false;

  std::vector<placement> placements{plan->request};
  placements.insert(placements.end(), plan->resized.begin(), plan->resized.end());
  std::vector<uint64_t> victims;
  std::vector<task_assignment> released, taken;
  for (const victim_action& a : plan->actions) {
    victims.push_back(cands[a.candidate].unit);
    released.insert(released.end(), cands[a.candidate].tasks->begin(),
                    cands[a.candidate].tasks->end());
  }
  for (const auto& p : placements) taken.insert(taken.end(), p.tasks.begin(), p.tasks.end());
  ctx.record(released, taken);
  const uint64_t claim_id = open_claim(ctx, placements, victims);
  claim& c = claims_.at(claim_id);
  c.claimants.push_back(want_req.id);
  c.claimed.emplace_back(q.spec.name, e.need);
  q.claimed += e.need;
  for (const victim_action& a : plan->actions) {
    const uint64_t uid = cands[a.candidate].unit;
    unit& u = units_.at(uid);
    stop_order o;
    o.request_id = u.r.request.id;
    o.job = u.r.job;
    o.queue = u.r.queue;
    o.ranks = u.r.ranks;
    o.tasks = u.tasks;
    o.signal = u.r.checkpoint_signal;
    o.grace_ms = u.r.grace_ms;
    o.has_checkpoint = u.r.has_checkpoint;
    o.for_request = want_req.id;
    o.for_job = e.r.job;
    o.from = static_cast<int32_t>(u.tasks.size());
    if (a.resize_to > 0) {
      o.kind = stop_kind::resize;
      o.to = a.resize_to;
      o.reason = "resized " + arrow(o.from, o.to) + ": making room for " + e.r.job;
      c.claimants.push_back(u.r.request.id);
      const queue_resources again = demand_of(u.r.request.per_task, a.resize_to);
      c.claimed.emplace_back(u.r.queue, again);
      queue_of(u.r.queue).claimed += again;
    } else if (u.r.queue != q.spec.name) {
      o.reason = "preempted: queue " + q.spec.name + " reclaims its guarantee (needs " +
                 describe(reclaimed) + ")";
    } else {
      o.reason = "preempted: " + e.r.job + " (priority " + std::to_string(want_req.priority) +
                 ") outranks it in queue " + q.spec.name;
    }
    mark_stopping(uid, claim_id, true);
    ctx.out.stops.push_back(std::move(o));
  }
  return true;
}

uint64_t queue_book::open_claim(round_ctx& ctx, const std::vector<placement>& placements,
                                const std::vector<uint64_t>& victims) {
  std::vector<task_assignment> placed, freed;
  for (const auto& p : placements) placed.insert(placed.end(), p.tasks.begin(), p.tasks.end());
  for (uint64_t v : victims) {
    const auto& tasks = units_.at(v).tasks;
    freed.insert(freed.end(), tasks.begin(), tasks.end());
  }
  const uint64_t id = next_claim_++;
  claim& c = claims_[id];
  c.held = holds_for(placed, freed);
  ctx.holds.insert(ctx.holds.end(), c.held.begin(), c.held.end());
  return id;
}

// Elastic gangs below their maximum grow into capacity nothing pending wants: each one that
// ran long enough at its size restarts at the largest size that now fits (within its queue's
// limit), the emptiest queue's first.
void queue_book::grow(cluster_view& view, round_ctx& ctx) {
  std::vector<uint64_t> elastic;
  for (auto& [id, u] : units_) {
    if (u.r.min_count <= 0 || u.claim != 0) continue;
    if (static_cast<int32_t>(u.tasks.size()) >= u.r.request.count) continue;
    if (ctx.now - u.started_ms < config_.grow_after_ms) continue;
    elastic.push_back(id);
  }
  if (elastic.empty()) return;
  const queue_resources& cap = ctx.capacity(view);
  auto share = [&](uint64_t id) {
    const queue_state& q = queues_.at(units_.at(id).r.queue);
    return borrowed_share(q.effective(), q.spec.guarantee, cap, q.spec.weight);
  };
  std::stable_sort(elastic.begin(), elastic.end(), [&](uint64_t a, uint64_t b) {
    const double sa = share(a), sb = share(b);
    if (sa != sb) return sa < sb;
    return units_.at(a).r.request.priority > units_.at(b).r.request.priority;
  });
  for (uint64_t id : elastic) {
    unit& u = units_.at(id);
    queue_state& q = queue_of(u.r.queue);
    const auto size = static_cast<int32_t>(u.tasks.size());
    const queue_resources room = q.spec.limit - q.effective() + u.held;
    int32_t hi = u.r.request.count;
    while (hi > size && !fits_within(demand_of(u.r.request.per_task, hi), room)) --hi;
    if (hi <= size) continue;
    for (const auto& a : u.tasks) view.release(a);
    placement found;
    const int32_t lo = largest_fit(view, ctx, u.r.request, size, hi, found);  // `size` fits now
    if (lo == size) {
      view.apply(placement{"", u.tasks});
      continue;
    }
    view.apply(found);
    ctx.record(u.tasks, found.tasks);
    const uint64_t claim_id = open_claim(ctx, {found}, {id});
    claim& c = claims_.at(claim_id);
    c.claimants.push_back(u.r.request.id);
    const queue_resources again = demand_of(u.r.request.per_task, lo);
    c.claimed.emplace_back(q.spec.name, again);
    q.claimed += again;
    stop_order o;
    o.kind = stop_kind::resize;
    o.request_id = u.r.request.id;
    o.job = u.r.job;
    o.queue = q.spec.name;
    o.ranks = u.r.ranks;
    o.tasks = u.tasks;
    o.from = size;
    o.to = lo;
    o.signal = u.r.checkpoint_signal;
    o.grace_ms = u.r.grace_ms;
    o.has_checkpoint = u.r.has_checkpoint;
    o.reason = "resized " + arrow(size, lo) + ": capacity freed";
    mark_stopping(id, claim_id, false);
    ctx.out.stops.push_back(std::move(o));
  }
}

}  // namespace gantry::sched
