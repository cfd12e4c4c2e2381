#pragma once
// The cluster actor: registry of jobs and nodes, and the placement view. It validates and
// admits submissions, spawns job and node actors, runs the scheduler whenever capacity or
// demand changes, and answers the client API (directly, or by asking a job actor or the
// store for jobs that have finished).
#include <map>
#include <string>
#include <vector>

#include <caf/all.hpp>

#include "actors/config.hpp"
#include "actors/rendezvous_actor.hpp"
#include "actors/store_actor.hpp"
#include "core/coordinator_api.hpp"
#include "core/records.hpp"
#include "scheduler/queues/queue_spec.hpp"

namespace gantry {

namespace msg {  // defined in actors/messages.hpp
struct submit;
struct list_jobs;
struct describe;
struct list_nodes;
struct cancel;
struct watch;
struct read_logs;
struct wait_node;
struct set_node_state;
struct register_worker;
struct set_queue;
struct delete_queue;
struct list_queues;
struct place;
struct withdraw;
struct release;
struct job_changed;
struct node_changed;
struct route_report;
}  // namespace msg

using cluster_actor = caf::typed_actor<
    // The client API (coordinator_backend, from the RPC thread).
    caf::replies_to<msg::submit>::with<result<submit_reply>>,
    caf::replies_to<msg::list_jobs>::with<result<std::vector<job_summary>>>,
    caf::replies_to<msg::describe>::with<result<job_record>>,
    caf::replies_to<msg::list_nodes>::with<result<std::vector<node_status>>>,
    caf::replies_to<msg::cancel>::with<result<void>>,
    caf::replies_to<msg::watch>::with<result<watch_reply>>,
    caf::reacts_to<msg::read_logs>,  // answered through its callback, by the worker
    caf::replies_to<msg::wait_node>::with<result<node_status>>,
    caf::replies_to<msg::set_node_state>::with<result<void>>,
    caf::replies_to<msg::register_worker>::with<result<worker_registration>>,
    caf::replies_to<msg::set_queue>::with<result<void>>,
    caf::replies_to<msg::delete_queue>::with<result<void>>,
    caf::replies_to<msg::list_queues>::with<result<std::vector<queue_info>>>,
    // From job actors.
    caf::reacts_to<msg::place>, caf::reacts_to<msg::withdraw>, caf::reacts_to<msg::release>,
    caf::reacts_to<msg::job_changed>,
    // From node actors.
    caf::reacts_to<msg::node_changed>, caf::reacts_to<msg::route_report>>;

// What the coordinator found in its store at start.
struct recovered_state {
  std::vector<job_record> jobs;                          // submission order
  std::map<std::string, std::vector<job_event>> events;  // of unfinished jobs
  std::vector<node_record> nodes;
  std::vector<sched::queue_spec> queues;  // `default` is defined whether stored or not
  uint64_t next_job_number = 1;
};

// `rendezvous` is told when a job finishes, to drop its values.
cluster_actor spawn_cluster_actor(caf::actor_system& sys, store_actor store,
                                  rendezvous_actor rendezvous, recovered_state state,
                                  coordinator_config config);

}  // namespace gantry
