// The queue and the scheduling round: priority then submission order, each request placed
// whole or not at all, and head-of-line reservation with backfill against starvation.
#include "scheduler/scheduler.hpp"

#include <algorithm>

#include "scheduler/engine.hpp"

namespace gantry::sched {

scheduler::scheduler(policy_kind policy, uint64_t seed)
    : engine_(std::make_unique<engine>(policy, seed)) {}
scheduler::~scheduler() = default;
scheduler::scheduler(scheduler&&) noexcept = default;
scheduler& scheduler::operator=(scheduler&&) noexcept = default;

policy_kind scheduler::policy() const {
  return engine_->policy();
}

void scheduler::enqueue(placement_request req) {
  engine_->observe(req);
  auto pos = std::find_if(queue_.begin(), queue_.end(), [&](const placement_request& q) {
    return q.priority < req.priority ||
           (q.priority == req.priority && q.submit_seq > req.submit_seq);
  });
  queue_.insert(pos, std::move(req));
}

void scheduler::withdraw(const std::string& request_id) {
  std::erase_if(queue_, [&](const placement_request& q) { return q.id == request_id; });
  if (engine_->reservation.owner == request_id) engine_->reservation = {};
}

namespace {

// Rebuilds the reservation's mask for `view`; false if a reserved node is gone or can no
// longer host the owner at all (the reservation must then be chosen again).
bool refresh_mask(const cluster_view& view, const placement_request& owner, node_reservation& r) {
  const task_shape s = compile_shape(owner);
  std::vector<char> mask(view.dense().size(), 0);
  for (const auto& name : r.nodes) {
    const int32_t idx = view.dense_index(name);
    if (idx < 0 || static_fit(view.dense()[idx], s) != fit_code::ok) return false;
    mask[idx] = 1;
  }
  if (mask != r.mask) {
    r.mask = std::move(mask);
    r.generation = next_node_version();
  }
  return true;
}

}  // namespace

void scheduler::begin_round(round_state& rs,
                            const std::function<bool(const std::string&)>& waiting) {
  rs = {};
  node_reservation& r = engine_->reservation;
  if (!r.owner.empty() && !waiting(r.owner)) r = {};
}

bool scheduler::place_next(cluster_view& view, const placement_request& req, round_state& rs,
                           placement& out, std::string& reason) {
  engine& e = *engine_;
  node_reservation& r = e.reservation;
  if (e.plan(view, req, rs.reserving ? &r : nullptr, out, reason)) {
    view.apply(out);
    if (req.id == r.owner) r = {};
    return true;
  }
  if (rs.reserving) return false;
  // The first blocked request: it holds the reservation (keeping its nodes if still valid)
  // unless the cluster could never host it.
  bool held = r.owner == req.id && refresh_mask(view, req, r);
  if (!held) {
    std::vector<std::string> nodes;
    if (e.reserve(view, req, nodes)) {
      r = {};
      r.owner = req.id;
      r.nodes = std::move(nodes);
      held = refresh_mask(view, req, r);
    } else {
      reason += "; exceeds cluster capacity";
    }
  }
  rs.reserving = held;
  return false;
}

bool scheduler::try_next(const cluster_view& view, const placement_request& req,
                         const round_state& rs, placement& out, std::string& reason) const {
  return engine_->plan(view, req, rs.reserving ? &engine_->reservation : nullptr, out, reason);
}

void scheduler::commit(cluster_view& view, const placement& p) {
  view.apply(p);
  if (p.request_id == engine_->reservation.owner) engine_->reservation = {};
}

void scheduler::observe(const placement_request& req) {
  engine_->observe(req);
}

schedule_result scheduler::schedule(cluster_view& view) {
  schedule_result res;
  round_state rs;
  begin_round(rs, [this](const std::string& id) {
    return std::any_of(queue_.begin(), queue_.end(), [&](auto& q) { return q.id == id; });
  });
  std::vector<placement_request> keep;
  for (auto& req : queue_) {
    placement p;
    std::string reason;
    if (place_next(view, req, rs, p, reason)) {
      res.placed.push_back(std::move(p));
      continue;
    }
    res.pending.push_back({req.id, std::move(reason)});
    keep.push_back(std::move(req));
  }
  queue_ = std::move(keep);
  return res;
}

bool scheduler::try_place(const cluster_view& view, const placement_request& req, placement& out,
                          std::string& reason) const {
  return engine_->plan(view, req, nullptr, out, reason);
}

bool scheduler::place_now(cluster_view& view, const placement_request& req, placement& out,
                          std::string& reason) {
  if (!engine_->plan(view, req, nullptr, out, reason)) return false;
  view.apply(out);
  return true;
}

void scheduler::set_target_workload(std::vector<workload_type> types) {
  engine_->set_workload(types);
}

double scheduler::node_fragmentation(const cluster_view& view, const std::string& node) const {
  const int32_t idx = view.dense_index(node);
  return idx < 0 ? 0.0 : engine_->fgd().frag(view.dense()[idx]);
}

double scheduler::fragmentation(const cluster_view& view) const {
  double total = 0;
  for (const node_state& n : view.dense()) total += engine_->fgd().frag(n);
  return total;
}

}  // namespace gantry::sched
