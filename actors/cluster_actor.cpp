#include "actors/cluster_actor.hpp"

#include "core/metrics.hpp"

#include <cstdio>

#include "actors/ask.hpp"
#include "actors/cluster_state.hpp"
#include "actors/job_actor.hpp"
#include "actors/queue_records.hpp"
#include "actors/unexpected.hpp"
#include "core/log.hpp"
#include "core/manifest.hpp"
#include "scheduler/feasibility.hpp"

namespace gantry {
namespace cluster_detail {
namespace {

std::string format_job_id(uint64_t n) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "j-%06llu", static_cast<unsigned long long>(n));
  return buf;
}

// The RPC thread's handle on one worker session: everything goes to its node actor.
class session_port final : public worker_session_port {
 public:
  session_port(caf::actor_system& sys, node_actor node, uint64_t session,
               std::shared_ptr<liveness_cell> liveness)
      : sys_(sys), node_(std::move(node)), session_(session), liveness_(std::move(liveness)) {}
  // Answered right here on the RPC thread: a stamp, no actor message (see liveness.hpp).
  void heartbeat(heartbeat_info beat, callback<void> done) override {
    if (liveness_->revoked)
      return done(fail(errc::failed_precondition, "session " + std::to_string(session_) +
                                                      " is no longer current; register again"));
    liveness_->beat(now_ns(), beat.lag_ms);
    done({});
  }
  // Every message from the worker shows that it is alive.
  void task_exited(task_report report) override {
    liveness_->heard(now_ns());
    caf::anon_send(node_, msg::exited{session_, std::move(report)});
  }
  void checkpoint_committed(std::string task_id, int64_t step) override {
    liveness_->heard(now_ns());
    caf::anon_send(node_, msg::checkpoint_report{session_, std::move(task_id), step});
  }
  void disconnected() override {
    caf::anon_send(node_, msg::detach{session_, "connection to the worker closed"});
  }

 private:
  int64_t now_ns() const { return liveness_cell::stamp(sys_.clock().now()); }

  caf::actor_system& sys_;
  node_actor node_;
  uint64_t session_;
  std::shared_ptr<liveness_cell> liveness_;
};

// What a job's new summary adds to the metrics: its first start, its restarts.
void count_job_change(const coordinator_config& config, const job_summary& before,
                      const job_summary& after) {
  if (!config.metrics) return;
  if (before.state == job_state::pending && after.state == job_state::running &&
      before.restarts == 0 && after.restarts == 0)
    config.metrics->submit_to_running.observe_seconds(
        static_cast<double>(now_ms() - after.submitted_ms) / 1e3);
  if (after.restarts > before.restarts)
    config.metrics->restarts += static_cast<uint64_t>(after.restarts - before.restarts);
}

// Calls fn with the job's record: from its actor while it runs, else from the store.
void with_record(actor_t* self, const std::string& id, callback<job_record> fn) {
  auto it = self->state.jobs.find(id);
  if (it == self->state.jobs.end()) return fn(result<job_record>(unknown_job(self, id)));
  auto from_store = [self, id, fn]() {
    self->request(self->state.store, caf::infinite, msg::load_job{id})
        .then(
            [self, fn, id](result<std::optional<job_record>>& r) {
              if (!r) return fn(result<job_record>(fail(r.error())));
              if (!*r) return fn(result<job_record>(unknown_job(self, id)));
              fn(result<job_record>(std::move(**r)));
            },
            [fn](caf::error& e) {
              fn(result<job_record>(fail(errc::internal, caf::to_string(e))));
            });
  };
  if (!it->second.actor) return from_store();
  self->request(it->second.actor, caf::infinite, msg::describe_job{})
      .then([fn](result<job_record>& r) { fn(std::move(r)); },
            [from_store](caf::error&) { from_store(); });  // it just finished
}

caf::typed_response_promise<result<submit_reply>> submit(actor_t* self, msg::submit& m) {
  auto rp = self->make_response_promise<result<submit_reply>>();
  auto spec = parse_manifest(m.manifest, self->state.config.max_manifest_bytes);
  if (!spec) {
    submit_reply reply;
    for (auto& e : spec.error()) reply.errors.push_back({e.path, e.message});
    if (self->state.config.metrics) ++self->state.config.metrics->submits_rejected;
    rp.deliver(result<submit_reply>(std::move(reply)));
    return rp;
  }
  auto& st = self->state;
  if (!st.book.find_queue(spec->queue)) {
    submit_reply reply;
    reply.errors.push_back({"queue", "no queue \"" + spec->queue +
                                         "\" on this coordinator (gantry queue list shows them)"});
    if (st.config.metrics) ++st.config.metrics->submits_rejected;
    rp.deliver(result<submit_reply>(std::move(reply)));
    return rp;
  }
  if (!m.allow_unschedulable) {
    std::vector<node_inventory> known;  // every node counts: a lost one may come back
    for (const auto& [name, node] : st.nodes) known.push_back(node.status.inventory);
    auto never = sched::never_schedulable(*spec, known);
    if (!never.empty()) {
      submit_reply reply;
      for (auto& e : never) reply.errors.push_back({e.path, e.message});
      if (st.config.metrics) ++st.config.metrics->submits_rejected;
      rp.deliver(result<submit_reply>(std::move(reply)));
      return rp;
    }
  }
  uint64_t number = st.next_job_number++;
  job_record rec = make_job_record(format_job_id(number), std::move(*spec), number, now_ms());
  rec.owner = std::move(m.owner);
  job_event first{rec.id, 1, rec.submitted_ms, event_kind::job, "", -1, "pending"};
  rec.last_event_seq = 1;
  auto batch = std::make_shared<storage::state_store::batch>();
  batch->put_job(rec);
  batch->put_event(first);
  batch->put_meta("next_job_number", std::to_string(st.next_job_number));
  self->request(st.store, caf::infinite, msg::persist{batch})
      .then([self, rp, rec = std::move(rec), first](result<void>& r) mutable {
        if (!r) {
          rp.deliver(result<submit_reply>(
              fail(errc::io_error, "the job was not stored (" + r.error().message + ")")));
          return;
        }
        auto& st = self->state;
        std::string id = rec.id;
        job_entry& entry = st.jobs[id];
        entry.summary = summarize(rec);
        entry.last_seq = 1;
        entry.actor =
            spawn_job_actor(self->system(), self, st.store, std::move(rec), {first}, st.config);
        self->send(entry.actor, msg::start_job{});
        if (st.config.metrics) ++st.config.metrics->submits;
        rp.deliver(result<submit_reply>(submit_reply{id, {}}));
      });
  return rp;
}

caf::typed_response_promise<result<watch_reply>> watch(actor_t* self, msg::watch& m) {
  auto rp = self->make_response_promise<result<watch_reply>>();
  auto it = self->state.jobs.find(m.job_id);
  if (it == self->state.jobs.end()) {
    rp.deliver(result<watch_reply>(unknown_job(self, m.job_id)));
    return rp;
  }
  auto from_store = [self, rp, m]() mutable {
    auto found = self->state.jobs.find(m.job_id);
    if (found == self->state.jobs.end()) {  // forgotten meanwhile
      rp.deliver(result<watch_reply>(unknown_job(self, m.job_id)));
      return;
    }
    auto& entry = found->second;
    self->request(self->state.store, caf::infinite, msg::load_events{m.job_id, m.from_seq})
        .then([rp, m, state = entry.summary.state,
               last = entry.last_seq](result<std::vector<job_event>>& r) mutable {
          if (!r) {
            rp.deliver(result<watch_reply>(fail(r.error())));
            return;
          }
          uint64_t last_seq = r->empty() ? last : std::max(last, r->back().seq);
          if (!r->empty()) m.sink->push(std::move(*r));
          rp.deliver(result<watch_reply>(watch_reply{state, last_seq}));
        });
  };
  if (!it->second.actor) {
    from_store();
    return rp;
  }
  self->request(it->second.actor, caf::infinite, msg::subscribe{m.from_seq, m.sink})
      .then([rp](result<watch_reply>& r) mutable { rp.deliver(std::move(r)); },
            [from_store](caf::error&) mutable { from_store(); });
  return rp;
}

void send_log_read(actor_t* self, const std::string& node_name, const std::string& task_id,
                   const msg::read_logs& m) {
  auto node = self->state.nodes.find(node_name);
  if (node == self->state.nodes.end())
    return m.done(fail(errc::not_found, "node " + node_name + " is unknown"));
  self->send(node->second.actor, msg::read_task_log{task_id, m.offset, m.max_bytes, m.done});
}

// An earlier attempt's output stays on the worker that ran it, under that attempt's task
// id; the job's events say which worker that was.
void read_earlier_log(actor_t* self, const msg::read_logs& m, const std::string& who) {
  self->request(self->state.store, caf::infinite, msg::load_events{m.job_id, 1})
      .then([self, m, who](result<std::vector<job_event>>& events) {
        if (!events) return m.done(fail(events.error()));
        std::string node;
        for (const auto& e : *events)
          if (e.kind == event_kind::rank && e.stage == m.stage && e.rank == m.rank &&
              e.attempt == m.attempt && e.state != "pending" && !e.node.empty())
            node = e.node;
        if (node.empty())
          return m.done(fail(errc::failed_precondition,
                             who + " attempt " + std::to_string(m.attempt) + " never started"));
        send_log_read(self, node, make_task_id(m.job_id, m.stage, m.rank, m.attempt), m);
      });
}

void read_logs(actor_t* self, msg::read_logs& m) {
  with_record(self, m.job_id, [self, m](result<job_record> rec) {
    if (!rec) return m.done(fail(rec.error()));
    const stage_record* stage = nullptr;
    std::string names;
    for (const auto& s : rec->stages) {
      names += (names.empty() ? "" : ", ") + s.name;
      if (s.name == m.stage) stage = &s;
    }
    if (!stage)
      return m.done(fail(errc::not_found, "job " + m.job_id + " has no stage \"" + m.stage +
                                              "\" (stages: " + names + ")"));
    if (m.rank < 0 || static_cast<size_t>(m.rank) >= stage->ranks.size())
      return m.done(fail(errc::not_found, "stage " + m.stage + " has ranks 0.." +
                                              std::to_string(stage->ranks.size() - 1)));
    const rank_record& rk = stage->ranks[m.rank];
    std::string who = m.stage + "/" + std::to_string(m.rank);
    if (m.attempt > rk.attempt)
      return m.done(fail(errc::not_found, who + " has attempts 0.." + std::to_string(rk.attempt)));
    if (m.attempt >= 0 && m.attempt < rk.attempt) return read_earlier_log(self, m, who);
    // A rank waiting for its next placement still names its last task.
    if (rk.task_id.empty() || rk.node.empty() ||
        (m.attempt >= 0 && rk.task_id != make_task_id(m.job_id, m.stage, m.rank, m.attempt)))
      return m.done(fail(errc::failed_precondition, who + " has not started yet"));
    send_log_read(self, rk.node, rk.task_id, m);
  });
}

caf::typed_response_promise<result<void>> set_queue(actor_t* self, msg::set_queue& m) {
  auto rp = self->make_response_promise<result<void>>();
  auto& st = self->state;
  std::optional<sched::queue_spec> current;
  if (const sched::queue_spec* q = st.book.find_queue(m.change.name)) current = *q;
  auto next = apply_change(current, m.change);
  if (!next) {
    rp.deliver(result<void>(fail(next.error())));
    return rp;
  }
  auto batch = std::make_shared<storage::state_store::batch>();
  batch->put_queue(next->name, encode_queue(*next));
  // Awaited: no other change to the queues is read before this one is stored and applied.
  self->request(st.store, caf::infinite, msg::persist{batch})
      .await([self, rp, q = *next](result<void>& r) mutable {
        if (!r) {
          rp.deliver(result<void>(fail(
              errc::io_error, "queue " + q.name + " was not stored (" + r.error().message + ")")));
          return;
        }
        auto defined = self->state.book.define(q);
        if (defined) request_schedule(self);  // a new limit may admit what waits
        rp.deliver(std::move(defined));
      });
  return rp;
}

caf::typed_response_promise<result<void>> delete_queue(actor_t* self, msg::delete_queue& m) {
  auto rp = self->make_response_promise<result<void>>();
  auto& st = self->state;
  auto refuse = [&](std::unexpected<error> e) {
    rp.deliver(result<void>(std::move(e)));
    return rp;
  };
  if (m.name == sched::kDefaultQueue)
    return refuse(fail(errc::failed_precondition, "the default queue cannot be deleted"));
  if (!st.book.find_queue(m.name))
    return refuse(fail(errc::not_found, "no queue " + m.name + " (gantry queue list shows them)"));
  size_t holds = 0;
  for (const auto& [id, job] : st.jobs)
    if (job.actor && job.summary.queue == m.name) ++holds;
  if (holds > 0)
    return refuse(fail(errc::failed_precondition,
                       "queue " + m.name + " holds " + std::to_string(holds) + " unfinished job" +
                           (holds == 1 ? "" : "s") + "; they must finish or be cancelled first"));
  auto batch = std::make_shared<storage::state_store::batch>();
  batch->erase_queue(m.name);
  self->request(st.store, caf::infinite, msg::persist{batch})
      .await([self, rp, name = m.name](result<void>& r) mutable {
        if (!r) {
          rp.deliver(result<void>(fail(
              errc::io_error, "queue " + name + " was not deleted (" + r.error().message + ")")));
          return;
        }
        rp.deliver(self->state.book.remove(name));
      });
  return rp;
}

cluster_impl::behavior_type cluster_behavior(actor_t* self, store_actor store,
                                             rendezvous_actor rendezvous, recovered_state rs,
                                             coordinator_config config) {
  log_unexpected_messages(self);
  auto& st = self->state;
  st.rendezvous = std::move(rendezvous);
  st.store = std::move(store);
  st.config = config;
  recover(self, std::move(rs));
  start_sweeps(self);
  return {
      [self](msg::submit& m) { return submit(self, m); },
      [self](msg::list_jobs) -> result<std::vector<job_summary>> {
        std::vector<job_summary> out;
        out.reserve(self->state.jobs.size());
        for (const auto& [id, e] : self->state.jobs) out.push_back(e.summary);
        return out;
      },
      [self](msg::describe& m) {
        auto rp = self->make_response_promise<result<job_record>>();
        with_record(self, m.job_id,
                    [rp](result<job_record> r) mutable { rp.deliver(std::move(r)); });
        return rp;
      },
      [self](msg::list_nodes) -> result<std::vector<node_status>> {
        std::vector<node_status> out;
        for (const auto& [name, n] : self->state.nodes) out.push_back(status_of(self, n));
        return out;
      },
      [self](msg::cancel& m) {
        auto rp = self->make_response_promise<result<void>>();
        auto it = self->state.jobs.find(m.job_id);
        if (it == self->state.jobs.end()) {
          rp.deliver(result<void>(unknown_job(self, m.job_id)));
        } else if (!it->second.actor) {
          rp.deliver(result<void>(
              fail(errc::failed_precondition,
                   "job " + m.job_id + " already " + to_string(it->second.summary.state))));
        } else {
          self->request(it->second.actor, caf::infinite, msg::cancel_job{})
              .then([rp](result<void>& r) mutable { rp.deliver(std::move(r)); },
                    [rp, id = m.job_id](caf::error&) mutable {
                      rp.deliver(result<void>(
                          fail(errc::failed_precondition, "job " + id + " already finished")));
                    });
        }
        return rp;
      },
      [self](msg::watch& m) { return watch(self, m); },
      [self](msg::read_logs& m) { read_logs(self, m); },
      [self](msg::wait_node& m) {
        auto rp = self->make_response_promise<result<node_status>>();
        auto& st = self->state;
        auto it = st.nodes.find(m.name);
        if (it != st.nodes.end() && it->second.status.state == m.state) {
          rp.deliver(result<node_status>(status_of(self, it->second)));
          return rp;
        }
        uint64_t id = st.next_waiter++;
        st.waiters[id] = {m.name, m.state, rp};
        self->delayed_send(self, std::chrono::milliseconds(m.timeout_ms), wait_node_timeout{id});
        return rp;
      },
      [self](wait_node_timeout& m) {
        auto& st = self->state;
        auto it = st.waiters.find(m.waiter);
        if (it == st.waiters.end()) return;
        auto node = st.nodes.find(it->second.name);
        std::string now =
            node == st.nodes.end() ? "not registered" : to_string(node->second.status.state);
        it->second.promise.deliver(
            result<node_status>(fail(errc::timeout, "node " + it->second.name + " is " + now +
                                                        ", not " + to_string(it->second.state))));
        st.waiters.erase(it);
      },
      [self](msg::set_node_state& m) -> result<void> {
        auto& st = self->state;
        auto it = st.nodes.find(m.name);
        if (it == st.nodes.end())
          return fail(errc::not_found, "no node " + m.name + " (gantry nodes lists them)");
        if (m.action == node_action::drain)
          self->send(it->second.actor, msg::drain{st.config.drain_grace_ms});
        else
          self->send(it->second.actor, msg::set_cordon{m.action == node_action::cordon});
        return {};
      },
      [self](msg::register_worker& m) -> result<worker_registration> {
        auto& st = self->state;
        if (st.config.require_isolation &&
            (m.inventory.isolation.empty() || m.inventory.isolation == "none"))
          return fail(errc::failed_precondition,
                      "worker " + m.inventory.name +
                          " cannot isolate tasks (isolation: none), and this coordinator "
                          "requires it (--require-isolation)");
        node_actor node = node_actor_for(self, m.inventory);
        uint64_t session = st.next_session++;
        auto batch = std::make_shared<storage::state_store::batch>();
        batch->put_node(node_record{m.inventory,
                                    st.nodes[m.inventory.name].status.state == node_state::cordoned,
                                    now_ms()});
        self->request(st.store, caf::infinite, msg::persist{batch}).then([](result<void>& r) {
          if (!r) log_warn("storing the node record failed: " + r.error().message);
        });
        // Heartbeats stay under kMaxHeartbeatsPerSecond however many workers there are:
        // the interval grows with the cluster, and the timeout stays 4 intervals or more.
        uint64_t nodes = st.nodes.size();
        uint32_t interval = std::max<uint32_t>(
            st.config.heartbeat_interval_ms,
            static_cast<uint32_t>(nodes * 1000 / coordinator_config::kMaxHeartbeatsPerSecond));
        uint32_t timeout = std::max(st.config.heartbeat_timeout_ms, 4 * interval);
        auto cell = std::make_shared<liveness_cell>();
        cell->metrics = st.config.metrics;
        cell->interval_ns = int64_t{interval} * 1'000'000;
        cell->last_ns = liveness_cell::stamp(self->clock().now());
        self->send(node, msg::attach{session, timeout, cell, std::move(m.agent), m.inventory,
                                     std::move(m.tasks),
                                     std::max(st.config.heartbeat_timeout_max_ms, timeout)});
        return worker_registration{
            std::make_shared<session_port>(self->system(), node, session, cell), interval};
      },
      [self](msg::set_queue& m) { return set_queue(self, m); },
      [self](msg::delete_queue& m) { return delete_queue(self, m); },
      [self](msg::list_queues) -> result<std::vector<queue_info>> {
        std::vector<queue_info> out;
        for (const auto& s : self->state.book.status()) out.push_back(info_of(s));
        return out;
      },
      [self](msg::place& m) { enqueue(self, m); },
      [self](msg::withdraw& m) {
        self->state.book.withdraw(m.request_id);
        self->state.owners.erase(m.request_id);
      },
      [self](msg::release& m) { release_assignment(self, m.request_id, m.assignment); },
      [self](msg::job_changed& m) {
        auto& st = self->state;
        auto it = st.jobs.find(m.summary.id);
        if (it == st.jobs.end()) return;
        count_job_change(st.config, it->second.summary, m.summary);
        it->second.summary = m.summary;
        if (m.finished) {
          it->second.actor = nullptr;
          self->send(st.rendezvous, msg::rdv_drop_job{m.summary.id});
          on_job_finished(self, m.summary.id, m.summary.finished_ms);
        }
      },
      [self](msg::node_changed& m) { on_node_changed(self, m); },
      [self](msg::route_report& m) {
        auto& st = self->state;
        auto it = st.jobs.find(job_id_of_task(m.report.task_id));
        if (it != st.jobs.end() && it->second.actor) {
          if (m.report.running)
            self->send(it->second.actor, msg::task_adopt{m.report, m.node, m.from});
          else
            self->send(
                it->second.actor,
                msg::task_exit{m.report.task_id, m.report.exit_code, m.report.message, m.report.pid,
                               m.report.usage, m.report.time_limit_exceeded, m.node});
        } else if (m.report.running) {
          log_warn("killing leftover task " + m.report.task_id + " on " + m.node);
          self->send(m.from, msg::kill_task{m.report.task_id, 0});
        }
      },
      [self](run_schedule) { schedule_now(self); },
      [self](sweep_tick t) { sweep(self, t.periodic); },
  };
}

}  // namespace
}  // namespace cluster_detail

cluster_actor spawn_cluster_actor(caf::actor_system& sys, store_actor store,
                                  rendezvous_actor rendezvous, recovered_state state,
                                  coordinator_config config) {
  return sys.spawn(cluster_detail::cluster_behavior, std::move(store), std::move(rendezvous),
                   std::move(state), config);
}

}  // namespace gantry
