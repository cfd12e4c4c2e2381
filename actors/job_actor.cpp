#include "actors/job_actor.hpp"

#include <map>

#include "actors/job_machine.hpp"
#include "actors/messages.hpp"
#include "actors/unexpected.hpp"
#include "core/log.hpp"
#include "core/ports.hpp"

namespace gantry {
namespace {

// Sent to itself after a failed write: write what is held again.
struct retry_flush {};

}  // namespace
}  // namespace gantry

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(gantry::retry_flush)

namespace gantry {
namespace {

// How long a job waits before writing again what the store refused (a full disk).
constexpr auto kFlushRetry = std::chrono::seconds(1);

// The job actor's full interface: its public one plus what it sends itself.
using job_impl = job_actor::extend<caf::reacts_to<retry_flush>>;

struct job_actor_state {
  // Not an aggregate: CAF constructs a state from the actor's own pointer when it can
  // (stateful_actor::cr_state), which would try to make the first handle from it.
  job_actor_state() = default;

  cluster_actor cluster;
  store_actor store;
  coordinator_config config;
  std::unique_ptr<job_machine> machine;
  std::map<std::string, node_actor> nodes;  // node name -> its actor
  std::vector<job_event> events;            // every event of the job, in seq order
  uint64_t published_seq = 0;               // persisted and sent to watchers
  size_t unflushed_from = 0;                // index in events of the first unpersisted
  bool flushing = false;
  bool dirty = false;
  bool write_failing = false;  // the last write failed; a retry_flush is on its way
  std::vector<std::shared_ptr<event_sink>> watchers;
  static inline const char* name = "gantry.job";
};

using job_actor_t = job_impl::stateful_base<job_actor_state>;

void flush(job_actor_t* self);

void publish(job_actor_t* self, uint64_t up_to) {
  auto& st = self->state;
  std::vector<job_event> fresh;
  for (const auto& e : st.events)
    if (e.seq > st.published_seq && e.seq <= up_to) fresh.push_back(e);
  st.published_seq = std::max(st.published_seq, up_to);
  if (fresh.empty()) return;
  std::erase_if(st.watchers, [](const auto& w) { return w->closed(); });
  for (auto& w : st.watchers) w->push(fresh);
}

void maybe_finish(job_actor_t* self) {
  auto& st = self->state;
  if (!st.machine->finished() || st.flushing || st.dirty) return;
  self->send(st.cluster, msg::job_changed{summarize(st.machine->record()), true});
  self->quit();
}

// The stage that runs `task_id`, or nullptr.
const stage_spec* stage_of_task(const job_actor_state& st, const std::string& task_id) {
  const job_record& rec = st.machine->record();
  for (const auto& stage : rec.stages)
    for (const auto& rk : stage.ranks)
      if (rk.task_id == task_id) return rec.spec.find_stage(stage.name);
  return nullptr;
}

// Carries out what the state machine decided, then persists.
void apply(job_actor_t* self, job_effects& fx) {
  auto& st = self->state;
  const job_record& rec = st.machine->record();
  for (auto& p : fx.place) {
    msg::place m;
    m.request = std::move(p.request);
    m.job = self;
    m.stage = std::move(p.stage);
    m.ranks = std::move(p.ranks);
    m.queue = rec.spec.queue;
    if (const stage_spec* spec = rec.spec.find_stage(m.stage); spec && spec->checkpoint) {
      m.checkpoint_signal = spec->checkpoint->signal;
      m.checkpoint_grace_ms = spec->checkpoint->grace_ms;
    }
    if (p.delay_ms > 0)
      self->delayed_send(st.cluster, std::chrono::milliseconds(p.delay_ms), std::move(m));
    else
      self->send(st.cluster, std::move(m));
  }
  for (auto& id : fx.withdraw) self->send(st.cluster, msg::withdraw{id});
  for (auto& r : fx.releases)
    self->send(st.cluster, msg::release{std::move(r.request_id), r.assignment});
  for (auto& p : fx.ports) {
    if (auto it = st.nodes.find(p.node); it != st.nodes.end()) {
      self->send(it->second, msg::reserve_port{p.stage, p.attempt, self});
    } else {
      self->send(self,
                 msg::port_reserved{p.stage, p.attempt,
                                    fail(errc::unavailable, "node " + p.node + " is unknown")});
    }
  }
  for (auto& l : fx.launches) {
    auto it = st.nodes.find(l.node);
    if (it == st.nodes.end()) {
      self->send(self, msg::task_launched{l.task.task_id, fail(errc::unavailable,
                                                               "node " + l.node + " is unknown")});
      continue;
    }
    if (st.config.task_tokens)
      l.task.task_token = st.config.task_tokens->issue(
          l.task.task_id, {l.task.job_id, l.task.stage, l.task.rank, l.task.attempt}, rec.owner);
    drain_plan drain = drain_plan_of(rec.spec.find_stage(l.task.stage));
    self->send(it->second, msg::launch{std::move(l.task), self, drain});
  }
  for (auto& k : fx.kills) {
    if (auto it = st.nodes.find(k.node); it != st.nodes.end())
      self->send(it->second, msg::kill_task{k.task_id, st.config.kill_grace_ms});
  }
  if (!fx.events.empty()) {
    st.events.insert(st.events.end(), fx.events.begin(), fx.events.end());
    st.dirty = true;
  }
  if (fx.summary_changed) self->send(st.cluster, msg::job_changed{summarize(rec), false});
  flush(self);
}

void flush(job_actor_t* self) {
  auto& st = self->state;
  if (st.flushing || !st.dirty) return maybe_finish(self);
  auto batch = std::make_shared<storage::state_store::batch>();
  batch->put_job(st.machine->record());
  for (size_t i = st.unflushed_from; i < st.events.size(); ++i) batch->put_event(st.events[i]);
  uint64_t up_to = st.events.empty() ? 0 : st.events.back().seq;
  size_t from = st.unflushed_from;
  st.unflushed_from = st.events.size();
  st.flushing = true;
  st.dirty = false;
  self->request(st.store, caf::infinite, msg::persist{batch})
      .then([self, up_to, from](result<void>& r) {
        auto& st = self->state;
        st.flushing = false;
        if (!r) {
          // Nothing is lost or reordered: the events stay held (unpublished) and are written
          // again, with whatever came since, after kFlushRetry; the job keeps running.
          if (!st.write_failing)
            log_error("job " + st.machine->record().id + ": persisting failed (retrying every " +
                      std::to_string(kFlushRetry.count()) + " s): " + r.error().message);
          st.write_failing = true;
          st.unflushed_from = std::min(st.unflushed_from, from);
          st.dirty = true;
          self->delayed_send(self, kFlushRetry, retry_flush{});
          return;
        }
        if (st.write_failing) log_info("job " + st.machine->record().id + ": persisting again");
        st.write_failing = false;
        publish(self, up_to);
        flush(self);
      });
}

// Whether task `task_id` of `job` (its current attempt) was placed on `node`.
bool placed_on(const job_record& job, const std::string& task_id, const std::string& node) {
  for (const auto& st : job.stages)
    for (const auto& rk : st.ranks)
      if (rk.task_id == task_id) return rk.node == node;
  return false;
}

// The task's credential stops being valid: its process exited or its node was lost.
void retire_token(job_actor_t* self, const std::string& task_id) {
  if (self->state.config.task_tokens) self->state.config.task_tokens->retire(task_id);
}

job_impl::behavior_type job_behavior(job_actor_t* self, cluster_actor cluster, store_actor store,
                                     job_record record, std::vector<job_event> events,
                                     coordinator_config config) {
  log_unexpected_messages(self);
  auto& st = self->state;
  st.cluster = std::move(cluster);
  st.store = std::move(store);
  st.config = config;
  st.events = std::move(events);
  st.published_seq = st.events.empty() ? 0 : st.events.back().seq;
  st.unflushed_from = st.events.size();
  st.machine = std::make_unique<job_machine>(std::move(record), config.restart_backoff_ms);
  return {
      [self](retry_flush) { flush(self); },
      [self](msg::start_job& m) {
        auto& st = self->state;
        st.nodes.insert(m.nodes.begin(), m.nodes.end());
        for (auto& [task, a] : m.held) st.machine->restore_assignment(task, a);
        job_effects fx;
        st.machine->start(fx);
        apply(self, fx);
      },
      [self](msg::placed& m) -> bool {
        auto& st = self->state;
        for (size_t i = 0; i < m.tasks.size() && i < m.nodes.size(); ++i)
          st.nodes[m.tasks[i].node] = m.nodes[i];
        job_effects fx;
        bool used = st.machine->on_placed(m.stage, m.ranks, m.tasks, m.hostnames, fx);
        apply(self, fx);
        return used;
      },
      [self](msg::unschedulable& m) {
        job_effects fx;
        self->state.machine->on_unschedulable(m.stage, m.reason, fx);
        apply(self, fx);
      },
      [self](msg::task_launched& m) {
        job_effects fx;
        self->state.machine->on_launched(m.task_id, m.pid, fx);
        apply(self, fx);
      },
      [self](msg::task_exit& m) {
        if (!m.node.empty() && !placed_on(self->state.machine->record(), m.task_id, m.node)) {
          log_warn("dropped an exit of task " + m.task_id + " reported by node " + m.node +
                   ", where it was not placed");
          return;
        }
        retire_token(self, m.task_id);
        job_effects fx;
        self->state.machine->on_exit(m.task_id, m.exit_code, m.message, m.pid,
                                     {m.usage, m.time_limit_exceeded}, fx);
        apply(self, fx);
      },
      [self](msg::task_lost& m) {
        retire_token(self, m.task_id);
        job_effects fx;
        self->state.machine->on_lost(m.task_id, m.reason, fx);
        apply(self, fx);
      },
      [self](msg::task_evict& m) {
        job_effects fx;
        self->state.machine->on_evict(m.task_id, m.reason, fx);
        apply(self, fx);
      },
      [self](msg::task_draining& m) { self->state.machine->on_draining(m.task_id, m.draining); },
      [self](msg::task_adopt& m) {
        auto& st = self->state;
        st.nodes[m.node] = m.from;
        job_effects fx;
        if (st.machine->on_adopt(m.report, m.node, fx)) {
          self->send(m.from, msg::expect_task{m.report.task_id, self,
                                              drain_plan_of(stage_of_task(st, m.report.task_id))});
        } else {
          log_warn("killing stale task " + m.report.task_id + " on " + m.node);
          self->send(m.from, msg::kill_task{m.report.task_id, 0});
        }
        apply(self, fx);
      },
      [self](msg::port_reserved& m) {
        job_effects fx;
        self->state.machine->on_port(m.stage, m.attempt, m.port, fx);
        apply(self, fx);
      },
      [self](msg::checkpoint& m) {
        job_effects fx;
        self->state.machine->on_checkpoint(m.task_id, m.step, fx);
        apply(self, fx);
      },
      [self](msg::subscribe& m) -> result<watch_reply> {
        auto& st = self->state;
        std::vector<job_event> past;
        for (const auto& e : st.events)
          if (e.seq >= m.from_seq && e.seq <= st.published_seq) past.push_back(e);
        if (!past.empty()) m.sink->push(std::move(past));
        st.watchers.push_back(m.sink);
        const job_record& rec = st.machine->record();
        return watch_reply{rec.state, rec.last_event_seq};
      },
      [self](msg::cancel_job) -> result<void> {
        job_effects fx;
        auto r = self->state.machine->cancel(fx);
        apply(self, fx);
        return r;
      },
      [self](msg::describe_job) -> result<job_record> { return self->state.machine->record(); },
  };
}

}  // namespace

job_actor spawn_job_actor(caf::actor_system& sys, cluster_actor cluster, store_actor store,
                          job_record record, std::vector<job_event> events,
                          coordinator_config config) {
  return sys.spawn(job_behavior, std::move(cluster), std::move(store), std::move(record),
                   std::move(events), config);
}

}  // namespace gantry
