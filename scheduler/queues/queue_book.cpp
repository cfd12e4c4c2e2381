// The queue book's records: queues, pending requests, running work, claims and status.
// Rounds are in queue_book_round.cpp and queue_book_preempt.cpp.
#include "scheduler/queues/queue_book.hpp"

#include <algorithm>

#include "scheduler/queues/fair_share.hpp"

namespace gantry::sched {

namespace {

queue_resources held_by(const task_assignment& a) {
  return {a.cpu_milli, a.memory_bytes, static_cast<int64_t>(a.gpus.size()) * a.gpu_milli};
}

}  // namespace

queue_book::queue_book(policy_kind policy, uint64_t seed, queue_book_config config)
    : config_(config), sched_(policy, seed) {
  queues_[std::string(kDefaultQueue)].spec.name = std::string(kDefaultQueue);
}

result<void> queue_book::define(const queue_spec& q) {
  if (auto ok = validate(q); !ok) return ok;
  queue_of(q.name).spec = q;
  return {};
}

result<void> queue_book::remove(const std::string& name) {
  if (name == kDefaultQueue)
    return fail(errc::failed_precondition, "the default queue cannot be deleted");
  auto it = queues_.find(name);
  if (it == queues_.end()) return fail(errc::not_found, "no queue named " + name);
  const queue_state& q = it->second;
  if (!q.pending.empty() || q.units > 0 || !q.claimed.zero())
    return fail(errc::failed_precondition, "queue " + name + " holds work (" +
                                               std::to_string(q.pending.size()) + " pending, " +
                                               std::to_string(q.units) + " running)");
  queues_.erase(it);
  return {};
}

const queue_spec* queue_book::find_queue(const std::string& name) const {
  auto it = queues_.find(name);
  return it == queues_.end() ? nullptr : &it->second.spec;
}

queue_book::queue_state& queue_book::queue_of(const std::string& name) {
  auto it = queues_.find(name);
  if (it != queues_.end()) return it->second;
  queue_state& q = queues_[name];
  q.spec.name = name;
  return q;
}

std::vector<queue_status> queue_book::status() const {
  std::vector<queue_status> out;
  for (const auto& [name, q] : queues_) {
    queue_status s;
    s.name = name;
    s.guarantee = q.spec.guarantee;
    s.limit = q.spec.limit;
    s.weight = q.spec.weight;
    s.usage = q.usage;
    s.borrowed = borrowed_of(q.usage, q.spec.guarantee);
    s.pending_requests = static_cast<int32_t>(q.pending.size());
    std::set<std::string> jobs;
    for (const auto& e : q.pending) {
      jobs.insert(e.r.job);
      s.pending_demand += demand_of(e.r.request.per_task, std::max(1, e.r.request.count));
    }
    s.pending_jobs = static_cast<int32_t>(jobs.size());
    s.running = q.units;
    s.preempted = q.preempted;
    out.push_back(std::move(s));
  }
  return out;
}

result<void> queue_book::submit(queued_request r) {
  auto it = queues_.find(r.queue);
  if (it == queues_.end()) return fail(errc::not_found, "no queue named " + r.queue);
  if (r.min_count > r.request.count)
    return fail(errc::invalid_argument, r.request.id + ": min_count above count");
  sched_.observe(r.request);
  pending_entry e;
  e.need = demand_of(r.request.per_task, r.min_count > 0 ? r.min_count : r.request.count);
  pending_queue_[r.request.id] = r.queue;
  e.r = std::move(r);
  // After the last entry that goes first (searched from the back: submissions mostly append).
  auto& list = it->second.pending;
  auto after = std::find_if(list.rbegin(), list.rend(), [&](const pending_entry& q) {
    return q.r.request.priority > e.r.request.priority ||
           (q.r.request.priority == e.r.request.priority &&
            q.r.request.submit_seq < e.r.request.submit_seq);
  });
  list.insert(after.base(), std::move(e));
  return {};
}

void queue_book::withdraw(const std::string& request_id) {
  auto it = pending_queue_.find(request_id);
  if (it == pending_queue_.end()) return;
  auto& list = queues_.at(it->second).pending;
  std::erase_if(list, [&](const pending_entry& e) { return e.r.request.id == request_id; });
  pending_queue_.erase(it);
  no_plan_.erase(request_id);
  restarted_.erase(request_id);
}

uint64_t queue_book::add_unit(queued_request r, std::vector<task_assignment> tasks,
                              int64_t now_ms) {
  const uint64_t id = next_unit_++;
  unit u;
  u.r = std::move(r);
  u.tasks = std::move(tasks);
  for (const auto& a : u.tasks) u.held += held_by(a);
  u.started_ms = u.progress_ms = now_ms;
  if (restarted_.erase(u.r.request.id) > 0) u.protected_until = now_ms + config_.min_runtime_ms;
  queue_state& q = queue_of(u.r.queue);
  q.usage += u.held;
  ++q.units;
  if (u.r.preemptible) ++q.priorities[u.r.request.priority];
  if (u.r.min_count > 0) ++elastic_units_;
  units_by_request_[u.r.request.id].push_back(id);
  units_.emplace(id, std::move(u));
  return id;
}

void queue_book::remove_unit(uint64_t id) {
  auto it = units_.find(id);
  unit& u = it->second;
  queue_state& q = queue_of(u.r.queue);
  --q.units;
  if (u.claim == 0 && u.r.preemptible) {
    auto p = q.priorities.find(u.r.request.priority);
    if (--p->second == 0) q.priorities.erase(p);
  }
  if (u.r.min_count > 0) --elastic_units_;
  auto& ids = units_by_request_[u.r.request.id];
  std::erase(ids, id);
  if (ids.empty()) units_by_request_.erase(u.r.request.id);
  units_.erase(it);
}

void queue_book::mark_stopping(uint64_t id, uint64_t claim_id, bool preemption) {
  unit& u = units_.at(id);
  queue_state& q = queue_of(u.r.queue);
  q.leaving += u.held;
  if (preemption) ++q.preempted;
  if (u.r.preemptible) {
    auto p = q.priorities.find(u.r.request.priority);
    if (--p->second == 0) q.priorities.erase(p);
  }
  u.claim = claim_id;
  claims_.at(claim_id).victims.insert(id);
  restarted_.insert(u.r.request.id);
}

void queue_book::adopt(cluster_view& view, const queued_request& r, const task_assignment& a,
                       int64_t started_ms) {
  view.apply(placement{r.request.id, {a}});
  queued_request charged = r;
  if (!queues_.contains(charged.queue)) charged.queue = std::string(kDefaultQueue);
  if (auto ids = units_by_request_.find(r.request.id); ids != units_by_request_.end()) {
    for (uint64_t id : ids->second) {
      unit& u = units_.at(id);
      if (u.claim != 0) continue;
      u.tasks.push_back(a);
      u.held += held_by(a);
      queue_of(u.r.queue).usage += held_by(a);
      return;
    }
  }
  add_unit(std::move(charged), {a}, started_ms);
}

void queue_book::release(cluster_view& view, const std::string& request_id,
                         const task_assignment& a) {
  auto ids = units_by_request_.find(request_id);
  if (ids != units_by_request_.end()) {
    for (uint64_t id : ids->second) {
      unit& u = units_.at(id);
      auto t = std::find(u.tasks.begin(), u.tasks.end(), a);
      if (t == u.tasks.end()) continue;
      u.tasks.erase(t);
      const queue_resources h = held_by(a);
      u.held -= h;
      queue_state& q = queue_of(u.r.queue);
      q.usage -= h;
      const uint64_t claim_id = u.claim;
      if (claim_id != 0) {
        q.leaving -= h;
        claims_.at(claim_id).held.push_back(a);
      } else {
        view.release(a);
      }
      if (u.tasks.empty()) {
        remove_unit(id);
        if (claim_id != 0) {
          claim& c = claims_.at(claim_id);
          c.victims.erase(id);
          if (c.victims.empty()) complete_claim(view, claim_id);
        }
      }
      return;
    }
  }
  view.release(a);  // not the book's (placed before it knew of it): still given back
}

void queue_book::complete_claim(cluster_view& view, uint64_t claim_id) {
  claim& c = claims_.at(claim_id);
  for (const auto& a : c.held) view.release(a);
  for (const auto& [name, amount] : c.claimed) queue_of(name).claimed -= amount;
  for (const auto& id : c.claimants) first_.emplace_back(id, -1);
  claims_.erase(claim_id);
}

bool queue_book::claimant_in_flight(const std::string& request_id) const {
  for (const auto& [id, c] : claims_)
    if (!c.claimants.empty() && c.claimants.front() == request_id) return true;
  return false;
}

void queue_book::checkpointed(const std::string& request_id, int64_t now_ms) {
  auto ids = units_by_request_.find(request_id);
  if (ids == units_by_request_.end()) return;
  for (uint64_t id : ids->second) {
    unit& u = units_.at(id);
    if (u.claim != 0) continue;
    u.progress_ms = std::max(u.progress_ms, now_ms);
    u.r.has_checkpoint = true;
  }
}

}  // namespace gantry::sched
