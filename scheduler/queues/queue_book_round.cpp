// The queue book's round: claimants first, then admission across queues (within guarantee
// first, then borrowing by weighted DRF; priority then FIFO within a queue), each request
// placed through the scheduler's round so the head-of-line reservation still applies.
#include <algorithm>

#include "scheduler/queues/fair_share.hpp"
#include "scheduler/queues/queue_book.hpp"
#include "scheduler/queues/queue_book_round.hpp"

namespace gantry::sched {

book_round queue_book::schedule(cluster_view& view, int64_t now_ms) {
  round_ctx ctx;
  ctx.now = now_ms;
  sched_.begin_round(ctx.rs, [this](const std::string& id) { return pending_queue_.contains(id); });
  place_claimants(view, ctx);
  admit(view, ctx);
  for (auto& [name, q] : queues_) {
    if (ctx.placed.empty()) break;
    std::erase_if(q.pending, [](const pending_entry& e) { return e.placed; });
  }
  for (const auto& id : ctx.placed) pending_queue_.erase(id);
  if (!ctx.blocked.empty()) preempt(view, ctx);
  if (!ctx.capacity_blocked && elastic_units_ > 0) grow(view, ctx);
  ctx.finish(view);
  return std::move(ctx.out);
}

const queue_resources& queue_book::round_ctx::capacity(const cluster_view& view) {
  if (!capacity_known) {
    capacity_ = capacity_of(view);
    capacity_known = true;
  }
  return capacity_;
}

void queue_book::round_ctx::record(const std::vector<task_assignment>& released,
                                   const std::vector<task_assignment>& taken) {
  released_.insert(released_.end(), released.begin(), released.end());
  taken_.insert(taken_.end(), taken.begin(), taken.end());
}

void queue_book::round_ctx::finish(cluster_view& view) {
  for (const auto& a : taken_) view.release(a);
  if (!released_.empty()) view.apply(placement{"", released_});
  if (!holds.empty()) view.apply(placement{"", holds});
}

void queue_book::place_claimants(cluster_view& view, round_ctx& ctx) {
  if (first_.empty()) return;
  std::vector<std::pair<std::string, int64_t>> keep;
  for (auto& [id, until] : first_) {
    if (until < 0) until = ctx.now + config_.claim_ms;
    auto where = pending_queue_.find(id);
    if (where == pending_queue_.end()) {
      if (ctx.now < until) keep.emplace_back(id, until);  // its request may still come
      continue;
    }
    queue_state& q = queues_.at(where->second);
    auto e = std::find_if(q.pending.begin(), q.pending.end(),
                          [&](const pending_entry& p) { return p.r.request.id == id; });
    if (e == q.pending.end()) continue;
    std::string reason;
    ctx.tried.insert(id);
    if (place_entry(view, ctx, q, *e, {}, reason)) continue;
    ctx.out.pending.push_back({id, std::move(reason)});
    ctx.capacity_blocked = true;
    if (ctx.now < until) keep.emplace_back(id, until);
  }
  first_ = std::move(keep);
}

// Picks, among the queues' next requests, the one to admit next: a queue admitting within its
// guarantee before any that borrows; among those the emptiest guarantee, among borrowers the
// lowest weighted DRF share with the request admitted; then priority, then submission.
void queue_book::admit(cluster_view& view, round_ctx& ctx) {
  struct cursor {
    queue_state* q;
    size_t next = 0;
    queue_resources hold;  // quota kept for the queue's first request blocked by its limit
    bool holding = false;
  };
  std::vector<cursor> active;
  for (auto& [name, q] : queues_)
    if (!q.pending.empty()) active.push_back({&q, 0, {}, false});
  auto skip_tried = [&](cursor& c) {
    while (c.next < c.q->pending.size() &&
           (c.q->pending[c.next].placed || ctx.tried.contains(c.q->pending[c.next].r.request.id)))
      ++c.next;
    return c.next < c.q->pending.size();
  };
  while (true) {
    cursor* best = nullptr;
    int best_class = 0;
    double best_metric = 0;
    for (cursor& c : active) {
      if (!skip_tried(c)) continue;
      if (active.size() == 1) {
        best = &c;
        break;
      }
      const pending_entry& head = c.q->pending[c.next];
      const queue_resources eff = c.q->effective();
      const bool within = within_guarantee(eff, head.need, c.q->spec.guarantee);
      const int cls = within ? 0 : 1;
      // Borrowers compare the share each would have with its next request admitted, so
      // that a light queue with big requests does not overshoot its weight.
      const double metric = within ? guarantee_fill(eff, c.q->spec.guarantee)
                                   : borrowed_share(eff + head.need, c.q->spec.guarantee,
                                                    ctx.capacity(view), c.q->spec.weight);
      bool better =
          best == nullptr || cls < best_class || (cls == best_class && metric < best_metric);
      if (!better && best != nullptr && cls == best_class && metric == best_metric) {
        const auto& a = head.r.request;
        const auto& b = best->q->pending[best->next].r.request;
        better =
            a.priority > b.priority || (a.priority == b.priority && a.submit_seq < b.submit_seq);
      }
      if (better) {
        best = &c;
        best_class = cls;
        best_metric = metric;
      }
    }
    if (best == nullptr) break;
    queue_state& q = *best->q;
    pending_entry& e = q.pending[best->next++];
    ctx.tried.insert(e.r.request.id);
    const queue_resources eff = q.effective();
    std::string reason;
    if (!fits_within(eff + best->hold + e.need, q.spec.limit)) {
      if (!fits_within(e.need, q.spec.limit)) {
        reason = "needs " + describe(limited_part(e.need, q.spec.limit)) + ", more than queue " +
                 q.spec.name + "'s limit (" + describe(q.spec.limit) + ")";
      } else {
        reason = "queue " + q.spec.name + " is at its limit (" + describe(q.spec.limit) +
                 "; in use " + describe(limited_part(eff, q.spec.limit)) + ")";
        if (!best->holding) {  // later requests of the queue must leave it room
          best->hold = e.need;
          best->holding = true;
        }
        ctx.blocked.push_back({&q, e.r.request.id});  // may still outrank its own queue's work
      }
      ctx.out.pending.push_back({e.r.request.id, std::move(reason)});
      continue;
    }
    if (place_entry(view, ctx, q, e, best->hold, reason)) continue;
    ctx.out.pending.push_back({e.r.request.id, reason});
    if (!reason.ends_with("exceeds cluster capacity")) {
      ctx.capacity_blocked = true;
      ctx.blocked.push_back({&q, e.r.request.id});
    }
  }
}

// The largest count in (fits, hi] at which `req` can be placed now under the round's
// reservation (a dry run), with that placement in `found`; `fits` when none is.
int32_t queue_book::largest_fit(cluster_view& view, round_ctx& ctx, placement_request req,
                                int32_t fits, int32_t hi, placement& found) {
  placement p;
  while (fits < hi) {
    const int32_t mid = fits + (hi - fits + 1) / 2;
    req.count = mid;
    std::string why;
    if (sched_.try_next(view, req, ctx.rs, p, why)) {
      fits = mid;
      found = std::move(p);
    } else {
      hi = mid - 1;
    }
  }
  return fits;
}

// Places one pending request: an elastic gang at the largest size that fits (within the
// queue's limit, less `hold`), anything else at its size. On success the request becomes
// running work and is reported placed.
bool queue_book::place_entry(cluster_view& view, round_ctx& ctx, queue_state& q, pending_entry& e,
                             const queue_resources& hold, std::string& reason) {
  const placement_request& req = e.r.request;
  placement p;
  bool ok = false;
  if (e.r.min_count > 0 && req.count > e.r.min_count) {
    const queue_resources room = q.spec.limit - q.effective() - hold;
    int32_t hi = req.count;
    while (hi > e.r.min_count && !fits_within(demand_of(req.per_task, hi), room)) --hi;
    placement found;
    if (largest_fit(view, ctx, req, e.r.min_count - 1, hi, found) >= e.r.min_count) {
      sched_.commit(view, found);
      p = std::move(found);
      ok = true;
    } else {
      placement_request sized = req;
      sized.count = e.r.min_count;
      ok = sched_.place_next(view, sized, ctx.rs, p, reason);
    }
  } else {
    ok = sched_.place_next(view, req, ctx.rs, p, reason);
  }
  if (!ok) return false;
  no_plan_.erase(req.id);
  const bool borrowed = !within_guarantee(
      q.effective(), demand_of(req.per_task, static_cast<int32_t>(p.tasks.size())),
      q.spec.guarantee);
  ctx.placed.insert(req.id);
  e.placed = true;
  add_unit(std::move(e.r), p.tasks, ctx.now);
  ctx.out.placed.push_back({std::move(p), q.spec.name, borrowed});
  return true;
}

}  // namespace gantry::sched
