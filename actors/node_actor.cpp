#include "actors/node_actor.hpp"

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
// Sent to itself: the grace period of drain `drain_id` is over.
struct drain_deadline {
  uint64_t drain_id;
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

struct node_state_data {
  // Not an aggregate: CAF constructs a state from the actor's own pointer when it can
  // (stateful_actor::cr_state), which would try to make the first handle from it.
  node_state_data() = default;

  cluster_actor cluster;
  coordinator_config config;
  node_inventory inventory;
  node_state state = node_state::unknown;
  bool cordoned = false;
  uint64_t drain_id = 0;       // the current drain; 0 = not draining
  uint64_t next_drain_id = 1;  // this node's drains are numbered from 1
  bool drain_expired = false;  // its grace period is over: tasks are being moved
  uint64_t session = 0;        // 0: no worker attached
  std::shared_ptr<task_agent> agent;
  std::shared_ptr<liveness_cell> liveness;  // of the current session
  clock_type::time_point next_check;        // when the liveness check is due
  uint32_t timeout_ms = 0;                  // heartbeat timeout of the current session
  clock_type::time_point unknown_since;
  std::map<std::string, job_actor> tasks;  // task id -> its job actor
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
  st.state = node_state::lost;
  st.session = 0;
  if (st.liveness) st.liveness->revoked = true;  // late heartbeats are refused: register again
  st.agent.reset();
  for (auto& [task_id, job] : st.tasks)
    self->send(job, msg::task_lost{task_id, "node " + st.inventory.name + " lost: " + reason});
  st.tasks.clear();
  announce(self, reason);
}

std::chrono::milliseconds check_period(const node_state_data& st) {
  return std::chrono::milliseconds(std::max<uint32_t>(st.config.heartbeat_timeout_ms / 4, 10));
}

// A drained node (grace over, nothing left on it) stays cordoned.
void maybe_drained(node_actor_t* self) {
  auto& st = self->state;
  if (st.state != node_state::draining || !st.drain_expired || !st.tasks.empty()) return;
  st.state = node_state::cordoned;
  announce(self, "drained");
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
      self->send(it->second, msg::task_adopt{r, st.inventory.name, self});
    } else {
      self->send(it->second, msg::task_exit{r.task_id, r.exit_code, r.message, r.pid, r.usage,
                                            r.time_limit_exceeded});
      st.tasks.erase(it);
    }
  }
  for (auto it = st.tasks.begin(); it != st.tasks.end();) {
    if (seen.count(it->first) != 0) {
      ++it;
      continue;
    }
    self->send(it->second, msg::task_lost{it->first, "worker " + st.inventory.name +
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
        st.timeout_ms = m.heartbeat_timeout_ms;
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
          auto silent = (now_ns - st.liveness->last_ns) / 1'000'000;
          if (silent > std::max(st.timeout_ms, st.config.heartbeat_timeout_ms))
            mark_lost(self, "no heartbeat for " + std::to_string(silent) + " ms");
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
        st.tasks[m.task.task_id] = m.job;
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
      [self](msg::expect_task& m) { self->state.tasks[m.task_id] = m.job; },
      [self](msg::exited& m) {
        auto& st = self->state;
        auto it = st.tasks.find(m.report.task_id);
        if (it == st.tasks.end()) {
          self->send(st.cluster, msg::route_report{m.report, st.inventory.name, self});
          return;
        }
        self->send(it->second,
                   msg::task_exit{m.report.task_id, m.report.exit_code, m.report.message,
                                  m.report.pid, m.report.usage, m.report.time_limit_exceeded});
        st.tasks.erase(it);
        maybe_drained(self);
      },
      [self](msg::checkpoint_report& m) {
        auto& st = self->state;
        if (auto it = st.tasks.find(m.task_id); it != st.tasks.end())
          self->send(it->second, msg::checkpoint{m.task_id, m.step});
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
        st.drain_id = 0;  // uncordon ends a drain too
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
        if (st.state == node_state::ready || st.state == node_state::cordoned) {
          st.state = node_state::draining;
          announce(self, "draining: tasks were asked to checkpoint (SIGUSR1) and move in " +
                             std::to_string(m.grace_ms) + " ms");
        }
        if (st.agent)
          for (auto& [task, job] : st.tasks) st.agent->signal(task, SIGUSR1, [](result<void>) {});
        self->delayed_send(self, std::chrono::milliseconds(m.grace_ms),
                           drain_deadline{st.drain_id});
      },
      [self](drain_deadline& m) {
        auto& st = self->state;
        if (m.drain_id != st.drain_id) return;  // uncordoned, or drained again since
        st.drain_expired = true;
        for (auto& [task, job] : st.tasks)
          self->send(job, msg::task_evict{task, st.inventory.name + " is draining"});
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
