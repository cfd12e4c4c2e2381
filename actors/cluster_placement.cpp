// The cluster actor's placement side: the scheduler runs, node changes, recovery.
#include <chrono>
#include <tuple>

#include "actors/cluster_state.hpp"
#include "actors/job_actor.hpp"
#include "actors/job_machine.hpp"
#include "actors/node_actor.hpp"
#include "core/log.hpp"
#include "core/metrics.hpp"

namespace gantry::cluster_detail {

std::string job_id_of_task(const std::string& task_id) {
  return task_id.substr(0, task_id.find('.'));
}

std::string job_id_of_request(const std::string& request_id) {
  return request_id.substr(0, request_id.find('/'));
}

void request_schedule(actor_t* self) {
  auto& st = self->state;
  if (st.schedule_pending) return;
  // Behind what is already queued: a burst of submissions and exits is one scheduler run.
  st.schedule_pending = true;
  self->send(self, run_schedule{});
}

namespace {
// FGD's fragmentation of the cluster as /metrics shows it (gantry_gpu_fragmentation), at most
// once per kFragmentationEvery: it walks every node (~90 us at 5,000 nodes, five single-task
// decisions), too much for every scheduler run. A change within that time books one more run
// at its end, so the gauge is never staler than that.
constexpr auto kFragmentationEvery = std::chrono::seconds(1);

void publish_fragmentation(actor_t* self) {
  auto& st = self->state;
  if (!st.config.metrics) return;
  auto now = std::chrono::steady_clock::now();
  if (now - st.fragmentation_at < kFragmentationEvery) {
    if (!st.fragmentation_booked) {
      st.fragmentation_booked = true;
      self->delayed_send(self, kFragmentationEvery, run_schedule{});
    }
    return;
  }
  st.fragmentation_at = now;
  st.fragmentation_booked = false;
  st.config.metrics->gpu_fragmentation.store(st.book.placer().fragmentation(st.view) / 1000.0);
}
}  // namespace

void enqueue(actor_t* self, msg::place& m) {
  auto& st = self->state;
  sched::queued_request q;
  q.job = job_id_of_request(m.request.id);
  q.queue = m.queue.empty() ? std::string(sched::kDefaultQueue) : std::move(m.queue);
  q.ranks = m.ranks;
  q.checkpoint_signal = std::move(m.checkpoint_signal);
  if (m.checkpoint_grace_ms > 0) q.grace_ms = m.checkpoint_grace_ms;
  std::string id = m.request.id;
  q.request = std::move(m.request);
  auto queued = st.book.submit(std::move(q));
  if (!queued) {  // its queue was deleted after the job was admitted: it cannot run
    self->send(m.job, msg::unschedulable{m.stage, queued.error().message});
    return;
  }
  st.owners[id] = {m.job, m.stage, m.ranks, ""};
  request_schedule(self);
}

void schedule_now(actor_t* self) {
  auto& st = self->state;
  st.schedule_pending = false;
  if (st.book.pending() == 0) {
    publish_fragmentation(self);
    return;
  }
  auto decided = std::chrono::steady_clock::now();
  sched::book_round res = st.book.schedule(st.view, now_ms());
  if (st.config.metrics)
    st.config.metrics->placement_decision.observe_ns(
        std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() -
                                                             decided)
            .count());
  for (auto& adm : res.placed) {
    sched::placement& p = adm.placed;
    auto owner = st.owners.find(p.request_id);
    if (owner == st.owners.end()) {  // withdrawn meanwhile
      for (const auto& a : p.tasks) st.book.release(st.view, p.request_id, a);
      continue;
    }
    msg::placed out;
    out.stage = owner->second.stage;
    out.ranks = owner->second.ranks;
    for (const auto& a : p.tasks) {
      auto& node = st.nodes[a.node];
      out.nodes.push_back(node.actor);
      out.hostnames.push_back(
          node.status.inventory.hostname.empty() ? a.node : node.status.inventory.hostname);
      ++node.status.tasks;
    }
    out.tasks = p.tasks;
    // A job that no longer wants it (or that ended meanwhile) hands the placement back.
    auto give_back = [self, id = p.request_id, tasks = std::move(p.tasks)]() {
      for (const auto& a : tasks) release_assignment(self, id, a);
    };
    self->request(owner->second.job, caf::infinite, std::move(out))
        .then(
            [give_back](bool used) {
              if (!used) give_back();
            },
            [give_back](caf::error&) { give_back(); });
    st.owners.erase(owner);
  }
  for (auto& u : res.pending) {
    auto owner = st.owners.find(u.request_id);
    if (owner == st.owners.end() || owner->second.last_reason == u.reason) continue;
    owner->second.last_reason = u.reason;
    self->send(owner->second.job, msg::unschedulable{owner->second.stage, u.reason});
  }
  publish_fragmentation(self);
  if (!res.stops.empty())  // cannot happen while book_config() makes no plans
    log_warn(std::to_string(res.stops.size()) + " stop orders of the queue book not carried out");
}

void answer_waiters(actor_t* self, const std::string& name) {
  auto& st = self->state;
  const node_entry& node = st.nodes[name];
  for (auto it = st.waiters.begin(); it != st.waiters.end();) {
    if (it->second.name == name && it->second.state == node.status.state) {
      it->second.promise.deliver(result<node_status>(status_of(self, node)));
      it = st.waiters.erase(it);
    } else {
      ++it;
    }
  }
}

void release_assignment(actor_t* self, const std::string& request_id,
                        const sched::task_assignment& a) {
  auto& st = self->state;
  st.book.release(st.view, request_id, a);
  if (auto n = st.nodes.find(a.node); n != st.nodes.end() && n->second.status.tasks > 0)
    --n->second.status.tasks;
  request_schedule(self);
}

node_status status_of(actor_t* self, const node_entry& node) {
  node_status out = node.status;
  const sched::node_view* v = self->state.view.find(out.inventory.name);
  if (!v) return out;
  out.allocated_cpu_milli = v->inventory.cpu_milli - v->free_cpu_milli;
  out.allocated_memory_bytes = v->inventory.memory_bytes - v->free_memory_bytes;
  out.gpu_allocated_milli.clear();
  for (const auto& g : out.inventory.gpus) {
    int32_t used = 0;
    for (const auto& slot : v->gpus)
      if (slot.info.index == g.index) used = kGpuMilliWhole - slot.free_milli;
    out.gpu_allocated_milli.push_back(used);
  }
  return out;
}

void on_node_changed(actor_t* self, msg::node_changed& m) {
  auto& st = self->state;
  node_entry& node = st.nodes[m.name];
  node.status.state = m.state;
  node.status.reason = m.reason;
  node.status.inventory = m.inventory;
  bool usable = m.state == node_state::ready || m.state == node_state::cordoned;
  if (usable) st.view.upsert_node(m.inventory);
  st.view.set_schedulable(m.name, m.state == node_state::ready);
  answer_waiters(self, m.name);
  request_schedule(self);
}

node_actor node_actor_for(actor_t* self, const node_inventory& inv) {
  auto& st = self->state;
  auto it = st.nodes.find(inv.name);
  if (it != st.nodes.end()) return it->second.actor;
  node_entry entry;
  entry.actor = spawn_node_actor(self->system(), self, inv, false, st.config);
  entry.status.inventory = inv;
  entry.status.state = node_state::unknown;
  st.view.upsert_node(inv);
  st.view.set_schedulable(inv.name, false);
  return st.nodes.emplace(inv.name, std::move(entry)).first->second.actor;
}

namespace {

// What a recovered running rank holds, as the scheduler reserved it.
sched::task_assignment assignment_of(const stage_spec& spec, const rank_record& rk) {
  sched::task_assignment a;
  a.node = rk.node;
  a.cpu_milli = spec.resources.cpu_milli;
  a.memory_bytes = spec.resources.memory_bytes;
  a.dpus = spec.resources.dpus;
  a.gpus = rk.gpus;
  a.gpu_milli = rk.gpu_milli;
  a.gpu_memory_bytes = rk.gpu_memory_bytes;
  return a;
}

// The request a recovered running rank was placed under, as the job machine makes it.
sched::queued_request adopted_request(const job_record& rec, const stage_spec& spec,
                                      const rank_record& rk) {
  sched::queued_request q;
  q.request.id = job_machine::request_id(rec.id, spec.name, rk.rank, spec.is_gang());
  q.request.priority = rec.spec.priority;
  q.request.submit_seq = rec.submit_seq;
  q.request.per_task = spec.resources;
  q.request.count = spec.is_gang() ? spec.replicas : 1;
  q.request.gang = spec.is_gang();
  q.job = rec.id;
  q.queue = rec.spec.queue;
  q.ranks = {rk.rank};
  if (spec.checkpoint) {
    q.checkpoint_signal = spec.checkpoint->signal;
    if (spec.checkpoint->grace_ms > 0) q.grace_ms = spec.checkpoint->grace_ms;
  }
  return q;
}

}  // namespace

void recover(actor_t* self, recovered_state&& rs) {
  auto& st = self->state;
  st.next_job_number = rs.next_job_number;
  sched::queue_spec default_queue;
  default_queue.name = sched::kDefaultQueue;
  st.book.define(default_queue);
  for (const auto& q : rs.queues)
    if (auto ok = st.book.define(q); !ok)
      log_warn("queue " + q.name + " not restored: " + ok.error().message);
  for (auto& n : rs.nodes) {
    node_entry entry;
    entry.actor = spawn_node_actor(self->system(), self, n.inventory, n.cordoned, st.config);
    entry.status.inventory = n.inventory;
    entry.status.state = node_state::unknown;
    entry.status.reason = "waiting for the worker to reconnect";
    st.view.upsert_node(n.inventory);
    st.view.set_schedulable(n.inventory.name, false);
    st.nodes.emplace(n.inventory.name, std::move(entry));
  }
  size_t live = 0;
  for (auto& rec : rs.jobs) {
    job_entry& entry = st.jobs[rec.id];
    entry.summary = summarize(rec);
    entry.last_seq = rec.last_event_seq;
    st.next_job_number = std::max<uint64_t>(st.next_job_number, rec.submit_seq + 1);
    if (is_terminal(rec.state)) {
      st.finished.add(rec.id, rec.finished_ms);
      continue;
    }
    ++live;
    msg::start_job start;
    std::vector<std::string> orphans;  // running on nodes nobody knows
    std::vector<std::tuple<node_actor, std::string, drain_plan>> expected;
    for (const auto& stage : rec.stages) {
      const stage_spec* spec = rec.spec.find_stage(stage.name);
      for (const auto& rk : stage.ranks) {
        if (rk.state != rank_state::starting && rk.state != rank_state::running) continue;
        auto node = st.nodes.find(rk.node);
        if (node == st.nodes.end() || spec == nullptr) {
          orphans.push_back(rk.task_id);
          continue;
        }
        sched::task_assignment a = assignment_of(*spec, rk);
        st.book.adopt(st.view, adopted_request(rec, *spec, rk), a, rec.submitted_ms);
        ++node->second.status.tasks;
        start.held[rk.task_id] = a;
        start.nodes[rk.node] = node->second.actor;
        expected.emplace_back(node->second.actor, rk.task_id, drain_plan_of(spec));
      }
    }
    std::vector<job_event> events;
    if (auto ev = rs.events.find(rec.id); ev != rs.events.end()) events = std::move(ev->second);
    entry.actor = spawn_job_actor(self->system(), self, st.store, std::move(rec), std::move(events),
                                  st.config);
    for (auto& [node, task, drain] : expected)
      self->send(node, msg::expect_task{task, entry.actor, drain});
    self->send(entry.actor, std::move(start));
    for (auto& task : orphans)
      self->send(entry.actor, msg::task_lost{task, "its node is not known after a restart"});
  }
  if (!rs.jobs.empty() || !rs.nodes.empty())
    log_info("recovered " + std::to_string(rs.jobs.size()) + " jobs (" + std::to_string(live) +
             " unfinished) and " + std::to_string(rs.nodes.size()) + " nodes");
}

}  // namespace gantry::cluster_detail
