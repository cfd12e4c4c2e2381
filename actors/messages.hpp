#pragma once
// The messages of the coordinator's actors, grouped by the actor that receives them. Each
// is a plain struct, so the type itself names the message (no atoms). Which actor accepts
// which, and what it replies, is that actor's typed interface (actors/<name>_actor.hpp);
// messages an actor sends only to itself live beside its behavior. They never leave the
// process, so they are not serialized (CAF_ALLOW_UNSAFE_MESSAGE_TYPE).
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <caf/all.hpp>

#include "actors/cluster_actor.hpp"
#include "actors/job_actor.hpp"
#include "actors/liveness.hpp"
#include "actors/node_actor.hpp"
#include "actors/rendezvous_actor.hpp"
#include "actors/store_actor.hpp"
#include "core/coordinator_api.hpp"
#include "core/ports.hpp"
#include "core/records.hpp"
#include "scheduler/scheduler.hpp"
#include "storage/state_store.hpp"

namespace gantry {

// What a drain does with one task, from its stage's `checkpoint`: send `signal` and move the
// task `grace_ms` later (0: the drain's own grace); with no signal (0), move it at once.
struct drain_plan {
  int32_t signal = 0;
  uint32_t grace_ms = 0;
};

inline drain_plan drain_plan_of(const stage_spec* stage) {
  if (stage == nullptr || !stage->checkpoint) return {};
  return {signal_number(stage->checkpoint->signal),
          static_cast<uint32_t>(stage->checkpoint->grace_ms)};
}

}  // namespace gantry

namespace gantry::msg {

// --- store actor ------------------------------------------------------------------------
struct persist {
  std::shared_ptr<storage::state_store::batch> batch;
};
struct load_job {
  std::string id;
};
struct load_events {
  std::string job_id;
  uint64_t from_seq;
};
// Deletes these jobs' records and events, in the next group commit; answered after it.
// Their space is reclaimed later, off the store's thread.
struct forget_jobs {
  std::vector<std::string> ids;
};

// --- rendezvous actor -------------------------------------------------------------------
struct rdv_put {
  rendezvous_scope scope;
  std::string key;
  std::string value;
};
struct rdv_get {
  rendezvous_scope scope;
  std::string key;
  uint32_t timeout_ms;
};
struct rdv_drop_job {
  std::string job_id;
};

// --- cluster actor: client API -----------------------------------------------------------
struct submit {
  std::string manifest;
  std::string owner;                 // the submitting caller's user (job_record.owner)
  bool allow_unschedulable = false;  // else a stage no known node could ever host is refused
};
struct list_jobs {};
struct describe {
  std::string job_id;
};
struct list_nodes {};
struct cancel {
  std::string job_id;
};
struct watch {
  std::string job_id;
  uint64_t from_seq;
  std::shared_ptr<event_sink> sink;
};
// Answered through `done` (the answer comes from the worker, not from an actor).
struct read_logs {
  std::string job_id;
  std::string stage;
  int32_t rank;
  uint64_t offset;
  uint32_t max_bytes;
  callback<log_chunk> done;
  int32_t attempt = -1;  // -1: the rank's current attempt
};
struct wait_node {
  std::string name;
  node_state state;
  uint32_t timeout_ms;
};
struct set_node_state {
  std::string name;
  node_action action;
};
struct register_worker {
  node_inventory inventory;
  std::vector<task_report> tasks;
  std::shared_ptr<task_agent> agent;
};
struct set_queue {
  queue_change change;
};
struct delete_queue {
  std::string name;
};
struct list_queues {};

// --- cluster actor: from job and node actors ---------------------------------------------
struct place {
  sched::placement_request request;
  job_actor job;
  std::string stage;
  std::vector<int32_t> ranks;
  std::string queue;              // the job's
  std::string checkpoint_signal;  // the stage's checkpoint signal, if any
  int64_t checkpoint_grace_ms = 0;
};
struct withdraw {
  std::string request_id;
};
struct release {
  std::string request_id;  // the request the task was placed under
  sched::task_assignment assignment;
};
struct job_changed {
  job_summary summary;
  bool finished;
};  // finished: the job actor exits
struct node_changed {
  std::string name;
  node_state state;
  std::string reason;
  node_inventory inventory;
};
// A worker reported a task the node actor does not expect; the job decides (adopt or kill).
struct route_report {
  task_report report;
  std::string node;
  node_actor from;
};

// --- job actor ---------------------------------------------------------------------------
// Recovery fills nodes (where recovered ranks run) and held (what each task id holds).
struct start_job {
  std::map<std::string, node_actor> nodes;
  std::map<std::string, sched::task_assignment> held;
};
struct placed {
  std::string stage;
  std::vector<int32_t> ranks;  // ranks[i] gets tasks[i]
  std::vector<sched::task_assignment> tasks;
  std::vector<node_actor> nodes;       // node actor of each task
  std::vector<std::string> hostnames;  // hostname of each task's node
};
struct unschedulable {
  std::string stage;
  std::string reason;
};
struct task_launched {
  std::string task_id;
  result<int64_t> pid;
};
struct task_exit {
  std::string task_id;
  int32_t exit_code;
  std::string message;
  int64_t pid = 0;
  task_usage usage = {};
  bool time_limit_exceeded = false;
  // The node that reported it, when the report did not come from the node actor that placed
  // the task (a worker's registration after a coordinator restart): the job checks that the
  // task was placed there. Empty: from the placing node's own actor.
  std::string node;
};
struct task_lost {
  std::string task_id;
  std::string reason;
};
struct task_evict {
  std::string task_id;
  std::string reason;
};  // its node drains: move it
// Its node started draining (draining: however the task ends from now on, it is moved, not
// failed), or the drain was called off (uncordon) while the task still runs there.
struct task_draining {
  std::string task_id;
  bool draining = true;
};
// A reconnecting worker still runs this task: the job adopts it (and tells `from` to expect
// it) or has `from` kill it.
struct task_adopt {
  task_report report;
  std::string node;
  node_actor from;
};
struct subscribe {
  uint64_t from_seq;
  std::shared_ptr<event_sink> sink;
};
struct cancel_job {};
struct describe_job {};
struct checkpoint {
  std::string task_id;
  int64_t step;
};
struct port_reserved {
  std::string stage;
  int32_t attempt;
  result<uint16_t> port;
};

// --- node actor --------------------------------------------------------------------------
struct attach {
  uint64_t session;
  uint32_t heartbeat_timeout_ms;            // for this session (scaled with the cluster's size)
  std::shared_ptr<liveness_cell> liveness;  // stamped by the RPC thread on each message
  std::shared_ptr<task_agent> agent;
  node_inventory inventory;
  std::vector<task_report> tasks;
  uint32_t heartbeat_timeout_max_ms = 0;  // how far lateness may stretch the timeout; 0: not at all
};
struct detach {
  uint64_t session;
  std::string reason;
};
struct launch {
  task_spec task;
  job_actor job;
  drain_plan drain;
};
struct kill_task {
  std::string task_id;
  uint32_t grace_ms;
};
struct expect_task {
  std::string task_id;
  job_actor job;
  drain_plan drain;
};  // recovery: a task that should run there
struct exited {
  uint64_t session;
  task_report report;
};
struct checkpoint_report {
  uint64_t session;
  std::string task_id;
  int64_t step;
};
struct read_task_log {
  std::string task_id;
  uint64_t offset;
  uint32_t max_bytes;
  callback<log_chunk> done;
};
struct set_cordon {
  bool cordoned;
};
struct drain {
  uint32_t grace_ms;
};
struct reserve_port {
  std::string stage;
  int32_t attempt;
  job_actor job;
};  // job <- port_reserved

}  // namespace gantry::msg

#define GANTRY_LOCAL_MESSAGE(T) CAF_ALLOW_UNSAFE_MESSAGE_TYPE(T)
GANTRY_LOCAL_MESSAGE(gantry::msg::persist)
GANTRY_LOCAL_MESSAGE(gantry::msg::load_job)
GANTRY_LOCAL_MESSAGE(gantry::msg::load_events)
GANTRY_LOCAL_MESSAGE(gantry::msg::forget_jobs)
GANTRY_LOCAL_MESSAGE(gantry::msg::rdv_put)
GANTRY_LOCAL_MESSAGE(gantry::msg::rdv_get)
GANTRY_LOCAL_MESSAGE(gantry::msg::rdv_drop_job)
GANTRY_LOCAL_MESSAGE(gantry::msg::submit)
GANTRY_LOCAL_MESSAGE(gantry::msg::list_jobs)
GANTRY_LOCAL_MESSAGE(gantry::msg::describe)
GANTRY_LOCAL_MESSAGE(gantry::msg::list_nodes)
GANTRY_LOCAL_MESSAGE(gantry::msg::cancel)
GANTRY_LOCAL_MESSAGE(gantry::msg::watch)
GANTRY_LOCAL_MESSAGE(gantry::msg::read_logs)
GANTRY_LOCAL_MESSAGE(gantry::msg::wait_node)
GANTRY_LOCAL_MESSAGE(gantry::msg::set_node_state)
GANTRY_LOCAL_MESSAGE(gantry::msg::register_worker)
GANTRY_LOCAL_MESSAGE(gantry::msg::set_queue)
GANTRY_LOCAL_MESSAGE(gantry::msg::delete_queue)
GANTRY_LOCAL_MESSAGE(gantry::msg::list_queues)
GANTRY_LOCAL_MESSAGE(gantry::msg::place)
GANTRY_LOCAL_MESSAGE(gantry::msg::withdraw)
GANTRY_LOCAL_MESSAGE(gantry::msg::release)
GANTRY_LOCAL_MESSAGE(gantry::msg::job_changed)
GANTRY_LOCAL_MESSAGE(gantry::msg::node_changed)
GANTRY_LOCAL_MESSAGE(gantry::msg::route_report)
GANTRY_LOCAL_MESSAGE(gantry::msg::start_job)
GANTRY_LOCAL_MESSAGE(gantry::msg::placed)
GANTRY_LOCAL_MESSAGE(gantry::msg::unschedulable)
GANTRY_LOCAL_MESSAGE(gantry::msg::task_launched)
GANTRY_LOCAL_MESSAGE(gantry::msg::task_exit)
GANTRY_LOCAL_MESSAGE(gantry::msg::task_lost)
GANTRY_LOCAL_MESSAGE(gantry::msg::task_evict)
GANTRY_LOCAL_MESSAGE(gantry::msg::task_draining)
GANTRY_LOCAL_MESSAGE(gantry::msg::task_adopt)
GANTRY_LOCAL_MESSAGE(gantry::msg::subscribe)
GANTRY_LOCAL_MESSAGE(gantry::msg::cancel_job)
GANTRY_LOCAL_MESSAGE(gantry::msg::describe_job)
GANTRY_LOCAL_MESSAGE(gantry::msg::checkpoint)
GANTRY_LOCAL_MESSAGE(gantry::msg::port_reserved)
GANTRY_LOCAL_MESSAGE(gantry::msg::attach)
GANTRY_LOCAL_MESSAGE(gantry::msg::detach)
GANTRY_LOCAL_MESSAGE(gantry::msg::launch)
GANTRY_LOCAL_MESSAGE(gantry::msg::kill_task)
GANTRY_LOCAL_MESSAGE(gantry::msg::expect_task)
GANTRY_LOCAL_MESSAGE(gantry::msg::exited)
GANTRY_LOCAL_MESSAGE(gantry::msg::checkpoint_report)
GANTRY_LOCAL_MESSAGE(gantry::msg::read_task_log)
GANTRY_LOCAL_MESSAGE(gantry::msg::set_cordon)
GANTRY_LOCAL_MESSAGE(gantry::msg::drain)
GANTRY_LOCAL_MESSAGE(gantry::msg::reserve_port)
// Replies.
GANTRY_LOCAL_MESSAGE(gantry::result<void>)
GANTRY_LOCAL_MESSAGE(gantry::result<gantry::watch_reply>)
GANTRY_LOCAL_MESSAGE(gantry::result<int64_t>)
GANTRY_LOCAL_MESSAGE(gantry::result<uint16_t>)
GANTRY_LOCAL_MESSAGE(gantry::result<std::string>)
GANTRY_LOCAL_MESSAGE(gantry::result<gantry::submit_reply>)
GANTRY_LOCAL_MESSAGE(gantry::result<std::vector<gantry::job_summary>>)
GANTRY_LOCAL_MESSAGE(gantry::result<gantry::job_record>)
GANTRY_LOCAL_MESSAGE(gantry::result<std::optional<gantry::job_record>>)
GANTRY_LOCAL_MESSAGE(gantry::result<std::vector<gantry::job_event>>)
GANTRY_LOCAL_MESSAGE(gantry::result<std::vector<gantry::node_status>>)
GANTRY_LOCAL_MESSAGE(gantry::result<gantry::log_chunk>)
GANTRY_LOCAL_MESSAGE(gantry::result<gantry::node_status>)
GANTRY_LOCAL_MESSAGE(gantry::result<gantry::worker_registration>)
GANTRY_LOCAL_MESSAGE(gantry::result<std::vector<gantry::queue_info>>)
