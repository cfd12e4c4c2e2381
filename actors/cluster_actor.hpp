#pragma once
// The cluster actor: registry of jobs and nodes, and the placement view. It validates and
// admits submissions, spawns job and node actors, runs the scheduler whenever capacity or
// demand changes, and answers the client API (directly, or by asking a job actor or the
// store for jobs that have finished).
//
// Accepts (client API): msg::submit, msg::list_jobs, msg::describe, msg::list_nodes,
//   msg::cancel, msg::watch, msg::read_logs, msg::wait_node, msg::set_node_state,
//   msg::register_worker.
// Accepts (internal): msg::place, msg::withdraw, msg::release, msg::job_changed,
//   msg::node_changed, msg::route_report.
#include <caf/all.hpp>

#include "actors/config.hpp"
#include "core/records.hpp"

namespace gantry {

// What the coordinator found in its store at start.
struct recovered_state {
  std::vector<job_record> jobs;                          // submission order
  std::map<std::string, std::vector<job_event>> events;  // of unfinished jobs
  std::vector<node_record> nodes;
  uint64_t next_job_number = 1;
};

// `rendezvous` is told when a job finishes, to drop its values.
caf::actor spawn_cluster_actor(caf::actor_system& sys, caf::actor store, caf::actor rendezvous,
                               recovered_state state, coordinator_config config);

}  // namespace gantry
