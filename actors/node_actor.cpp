#include "actors/node_actor.hpp"

#include "core/metrics.hpp"

#include <algorithm>
#include <csignal>
#include <map>
#include <set>

#include "actors/messages.hpp"
#include "actors/unexpected.hpp"
#include "core/log.hpp"

namespace gantry {
namespace {

// Sent to itself: time to judge the worker's heartbeats.
struct check_liveness {};
// Sent to itself: `after_ms` of drain `drain_id` have passed.
struct drain_deadline {
  uint64_t drain_id;
  uint32_t after_ms;
};

}  // namespace
}  // namespace gantry

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(gantry::check_liveness)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(gantry::drain_deadline)

namespace gantry {
namespace {

// The node actor's full interface: its public one plus what it sends itself.
using node_impl =
    node_actor::extend<caf::reacts_to<check_liveness>, caf::reacts_to<drain_deadline>>;

using clock_type = caf::actor_clock::clock_type;

struct node_task {
  job_actor job;
  drain_plan drain;
  bool evicted = false;  // told to move off this node
};

struct node_state_data {
  // Not an aggregate: CAF constructs a state from the actor's own pointer when it can
  // (stateful_actor::cr_state), which would try to make the first handle from it.
  node_state_data() = default;

  cluster_actor cluster;
  coordinator_config config;
  node_inventory inventory;
  node_state state = node_state::unknown;
  bool cordoned = false;
  uint64_t drain_id = 0;          // the current drain; 0 = not draining
  uint64_t next_drain_id = 1;     // this node's drains are numbered from 1
  bool drain_expired = false;     // its longest grace is over: every task is being moved
  uint32_t drain_grace_ms = 0;    // the current drain's grace for tasks that declare none
  uint32_t drain_longest_ms = 0;  // when the current drain's last deadline falls
  uint64_t session = 0;           // 0: no worker attached
  std::shared_ptr<task_agent> agent;
  std::shared_ptr<liveness_cell> liveness;  // of the current session
  clock_type::time_point next_check;        // when the liveness check is due
  silence_limit limit;                      // of the current session
  bool suspected = false;  // silent beyond the timeout, within what its lateness allows
  clock_type::time_point unknown_since;
  std::map<std::string, node_task> tasks;  // by task id
  static inline const char* name = "gantry.node";
};

using node_actor_t = node_impl::stateful_base<node_state_data>;

void announce(node_actor_t* self, const std::string& reason) {
  auto& st = self->state;
  self->send(st.cluster, msg::node_changed{st.inventory.name, st.state, reason, st.inventory});
}

void mark_lost(node_actor_t* self, const std::string& reason) {
  auto& st = self->state;
  if (st.state == node_state::lost) return;
  log_warn("node " + st.inventory.name + " lost: " + reason);
  if (st.config.metrics) ++st.config.metrics->lost_verdicts;
  st.state = node_state::lost;
  st.session = 0;
  if (st.liveness) st.liveness->revoked = true;  // late heartbeats are refused: register again
  st.agent.reset();
  // The cluster hears first: a job told of its lost task asks the cluster to place it
  // again, and that request must find this node already out of the cluster's view.
  announce(self, reason);
  for (auto& [task_id, t] : st.tasks)
    self->send(t.job, msg::task_lost{task_id, "node " + st.inventory.name + " lost: " + reason});
  st.tasks.clear();
}

std::chrono::milliseconds check_period(const node_state_data& st) {
  return std::chrono::milliseconds(std::max<uint32_t>(st.config.heartbeat_timeout_ms / 4, 10));
}

// A drain moves `t`: its job stops it and places it again.
void evict(node_actor_t* self, const std::string& task_id, node_task& t) {
  t.evicted = true;
  self->send(t.job, msg::task_evict{task_id, self->state.inventory.name + " is draining"});
}

// How long after the drain's start `t` is moved.
uint32_t grace_of(const node_task& t, uint32_t drain_grace_ms) {
  if (t.drain.signal == 0) return 0;
  return t.drain.grace_ms != 0 ? t.drain.grace_ms : drain_grace_ms;
}

// A drained node (grace over, nothing left on it) stays cordoned.
void maybe_drained(node_actor_t* self) {
  auto& st = self->state;
  if (st.state != node_state::draining || !st.drain_expired || !st.tasks.empty()) return;
  st.state = node_state::cordoned;
  announce(self, "drained");
}

std::string ms_text(int64_t ns) {
  return std::to_string(ns / 1'000'000) + " ms";
}

// Lost once its silence exceeds the session's limit; suspected (a log line) while it is
// beyond the plain timeout but within what its recent lateness allows.
void judge_silence(node_actor_t* self, int64_t now_ns) {
  auto& st = self->state;
  int64_t silent = now_ns - st.liveness->last_ns;
  int64_t limit = st.limit.limit_ns(now_ns);
  if (silent > limit) {
    mark_lost(self,
              "no heartbeat or report for " + ms_text(silent) + " (limit " + ms_text(limit) + ")");
  } else if (silent > st.limit.timeout_ns()) {
    if (!st.suspected)
      log_info("node " + st.inventory.name + " silent for " + ms_text(silent) +
               "; its messages were up to " + ms_text(st.limit.worst_late_ns(now_ns)) +
               " late in the last 30 s, so it has " + ms_text(limit));
    st.suspected = true;
  } else {
    st.suspected = false;
  }
}

void schedule_check(node_actor_t* self) {
  auto period = check_period(self->state);
  self->state.next_check = self->clock().now() + period;
  self->delayed_send(self, period, check_liveness{});
}

// Settles what the worker says it runs against what this node expects to run there.
void reconcile(node_actor_t* self, const std::vector<task_report>& reports) {
  auto& st = self->state;
  std::set<std::string> seen;
  for (const auto& r : reports) {
    seen.insert(r.task_id);
    auto it = st.tasks.find(r.task_id);
    if (it == st.tasks.end()) {
      // Unknown here: a restarted coordinator's job, or a leftover of a lost node.
      self->send(st.cluster, msg::route_report{r, st.inventory.name, self});
      continue;
    }
    if (r.running) {
      self->send(it->second.job, msg::task_adopt{r, st.inventory.name, self});
    } else {
      self->send(it->second.job, msg::task_exit{r.task_id, r.exit_code, r.message, r.pid, r.usage,
                                                r.time_limit_exceeded});
      st.tasks.erase(it);
    }
  }
  for (auto it = st.tasks.begin(); it != st.tasks.end();) {
    if (seen.count(it->first) != 0) {
      ++it;
      continue;
    }
    self->send(it->second.job, msg::task_lost{it->first, "worker " + st.inventory.name +
                                                             " reconnected without this task"});
    it = st.tasks.erase(it);
  }
}

node_impl::behavior_type node_behavior(node_actor_t* self, cluster_actor cluster,
                                       node_inventory inventory, bool cordoned,
                                       coordinator_config config) {
  log_unexpected_messages(self);
  auto& st = self->state;
  st.cluster = std::move(cluster);
  st.inventory = std::move(inventory);
  st.cordoned = cordoned;
  st.config = config;
  st.unknown_since = self->clock().now();
  schedule_check(self);
  return {
      [self](msg::attach& m) {
        auto& st = self->state;
        bool rejoin = st.session != 0;
        if (st.liveness) st.liveness->revoked = true;  // an older session of this worker
        st.session = m.session;
        st.liveness = m.liveness;
        int64_t timeout_ns =
            int64_t{std::max(m.heartbeat_timeout_ms, st.config.heartbeat_timeout_ms)} * 1'000'000;
        st.limit = silence_limit(m.liveness->interval_ns, timeout_ns,
                                 int64_t{m.heartbeat_timeout_max_ms} * 1'000'000);
        st.suspected = false;
        st.agent = std::move(m.agent);
        st.inventory = std::move(m.inventory);
        st.state = st.cordoned ? node_state::cordoned : node_state::ready;
        log_info("node " + st.inventory.name + (rejoin ? " re-attached" : " attached") +
                 " (session " + std::to_string(m.session) + ", " + std::to_string(m.tasks.size()) +
                 " tasks reported)");
        reconcile(self, m.tasks);
        announce(self, "");
      },
      [self](msg::detach& m) {
        if (m.session == self->state.session) mark_lost(self, m.reason);
      },
      [self](check_liveness) {
        auto& st = self->state;
        auto now = self->clock().now();
        using std::chrono::duration_cast;
        using std::chrono::milliseconds;
        // This check ran late, or the RPC loop that stamps heartbeats stalled: the
        // coordinator itself was busy, so silence says nothing about the worker. Start
        // counting again instead of judging.
        int64_t now_ns = liveness_cell::stamp(now);
        auto period = check_period(st);
        bool late = now - st.next_check > period;
        const auto& pulse = st.config.pulse;
        bool rpc_stalled = pulse && pulse->last_ns > 0 &&
                           now_ns - pulse->last_ns > 2 * std::chrono::nanoseconds(period).count();
        if (late || rpc_stalled) {
          log_warn("liveness check of " + st.inventory.name + ": the coordinator was busy (" +
                   (late ? "check ran late" : "RPC loop stalled") + "); not judging this round");
          if (st.liveness) st.liveness->last_ns = std::max<int64_t>(st.liveness->last_ns, now_ns);
          schedule_check(self);
          return;
        }
        if (st.state == node_state::unknown && st.session == 0) {
          auto waited = duration_cast<milliseconds>(now - st.unknown_since).count();
          if (waited > st.config.reconnect_grace_ms)
            mark_lost(self, "did not reconnect within " + std::to_string(waited) +
                                " ms of the coordinator starting");
        } else if (st.session != 0 && st.state != node_state::lost) {
          // What was late since the last check, on the worker's side or on ours, stretches
          // the silence the node may keep (liveness.hpp).
          int64_t own_late =
              std::chrono::duration_cast<std::chrono::nanoseconds>(now - st.next_check).count();
          int64_t pulse_late =
              pulse && pulse->last_ns > 0 ? now_ns - pulse->last_ns - rpc_pulse::kPeriodNs : 0;
          st.limit.observe(now_ns, std::max({st.liveness->take_late(), own_late, pulse_late}));
          judge_silence(self, now_ns);
        }
        schedule_check(self);
      },
      [self](msg::launch& m) {
        auto& st = self->state;
        if (!st.agent) {
          self->send(m.job, msg::task_launched{m.task.task_id,
                                               fail(errc::unavailable, "node " + st.inventory.name +
                                                                           " is not connected")});
          return;
        }
        st.tasks[m.task.task_id] = node_task{m.job, m.drain};
        std::string id = m.task.task_id;
        job_actor job = m.job;
        st.agent->launch(std::move(m.task), [job, id](result<int64_t> pid) {
          caf::anon_send(job, msg::task_launched{id, std::move(pid)});
        });
      },
      [self](msg::kill_task& m) {
        auto& st = self->state;
        if (!st.agent) return;
        std::string node = st.inventory.name;
        st.agent->kill(m.task_id, m.grace_ms, [node, id = m.task_id](result<void> r) {
          if (!r && r.error().code != errc::not_found)
            log_warn("kill " + id + " on " + node + ": " + r.error().message);
        });
      },
      [self](msg::expect_task& m) {
        self->state.tasks[m.task_id] = node_task{m.job, m.drain};
      },
      [self](msg::exited& m) {
        auto& st = self->state;
        auto it = st.tasks.find(m.report.task_id);
        if (it == st.tasks.end()) {
          self->send(st.cluster, msg::route_report{m.report, st.inventory.name, self});
          return;
        }
        self->send(it->second.job,
                   msg::task_exit{m.report.task_id, m.report.exit_code, m.report.message,
                                  m.report.pid, m.report.usage, m.report.time_limit_exceeded});
        st.tasks.erase(it);
        maybe_drained(self);
      },
      [self](msg::checkpoint_report& m) {
        auto& st = self->state;
        if (auto it = st.tasks.find(m.task_id); it != st.tasks.end())
          self->send(it->second.job, msg::checkpoint{m.task_id, m.step});
      },
      [self](msg::read_task_log& m) {
        auto& st = self->state;
        if (!st.agent)
          return m.done(fail(errc::unavailable, "node " + st.inventory.name + " is not connected"));
        st.agent->read_log(m.task_id, m.offset, m.max_bytes, std::move(m.done));
      },
      [self](msg::reserve_port& m) {
        auto& st = self->state;
        if (!st.agent) {
          self->send(m.job, msg::port_reserved{m.stage, m.attempt,
                                               fail(errc::unavailable, "node not connected")});
          return;
        }
        st.agent->reserve_port(
            [job = m.job, stage = m.stage, attempt = m.attempt](result<uint16_t> p) {
              caf::anon_send(job, msg::port_reserved{stage, attempt, std::move(p)});
            });
      },
      [self](msg::set_cordon& m) {
        auto& st = self->state;
        st.cordoned = m.cordoned;
        if (st.drain_id != 0)  // a cordon or uncordon ends a drain
          for (auto& [task, t] : st.tasks) self->send(t.job, msg::task_draining{task, false});
        st.drain_id = 0;
        if (st.state == node_state::ready || st.state == node_state::cordoned ||
            st.state == node_state::draining) {
          st.state = m.cordoned ? node_state::cordoned : node_state::ready;
          announce(self, m.cordoned ? "cordoned" : "");
        }
      },
      [self](msg::drain& m) {
        auto& st = self->state;
        st.cordoned = true;  // no new placements, now or after the drain
        st.drain_id = st.next_drain_id++;
        st.drain_expired = false;
        st.drain_grace_ms = m.grace_ms;
        if (st.state == node_state::ready || st.state == node_state::cordoned) {
          st.state = node_state::draining;
          announce(self,
                   "draining: tasks that declare a checkpoint signal got it and move after "
                   "their grace (default " +
                       std::to_string(m.grace_ms) + " ms); the others move now");
        }
        // The jobs hear first: an exit the signal causes is then a move, not a failure.
        for (auto& [task, t] : st.tasks) self->send(t.job, msg::task_draining{task, true});
        std::set<uint32_t> deadlines{m.grace_ms};
        for (auto& [task, t] : st.tasks) {
          if (t.drain.signal == 0) {
            evict(self, task, t);
            continue;
          }
          if (st.agent) st.agent->signal(task, t.drain.signal, [](result<void>) {});
          deadlines.insert(grace_of(t, m.grace_ms));
        }
        st.drain_longest_ms = *deadlines.rbegin();
        for (uint32_t after : deadlines)
          self->delayed_send(self, std::chrono::milliseconds(after),
                             drain_deadline{st.drain_id, after});
      },
      [self](drain_deadline& m) {
        auto& st = self->state;
        if (m.drain_id != st.drain_id) return;  // uncordoned, or drained again since
        for (auto& [task, t] : st.tasks)
          if (!t.evicted && grace_of(t, st.drain_grace_ms) <= m.after_ms) evict(self, task, t);
        if (m.after_ms < st.drain_longest_ms) return;
        st.drain_expired = true;
        for (auto& [task, t] : st.tasks)
          if (!t.evicted) evict(self, task, t);  // any the deadlines above did not cover
        maybe_drained(self);
      },
  };
}

}  // namespace

node_actor spawn_node_actor(caf::actor_system& sys, cluster_actor cluster, node_inventory inventory,
                            bool cordoned, coordinator_config config) {
  return sys.spawn(node_behavior, std::move(cluster), std::move(inventory), cordoned, config);
}

}  // namespace gantry
