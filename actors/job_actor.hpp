#pragma once
// One job actor per job that has not finished. It owns the job's state machine
// (job_machine), persists every change before publishing its events to watchers, and
// exits once the job is terminal, persisted and nothing of it runs.
#include <vector>

#include <caf/all.hpp>

#include "actors/cluster_actor.hpp"
#include "actors/config.hpp"
#include "actors/store_actor.hpp"
#include "core/coordinator_api.hpp"
#include "core/records.hpp"

namespace gantry {

namespace msg {  // defined in actors/messages.hpp
struct start_job;
struct placed;
struct unschedulable;
struct task_launched;
struct task_exit;
struct task_lost;
struct task_evict;
struct task_draining;
struct task_adopt;
struct port_reserved;
struct checkpoint;
struct subscribe;
struct cancel_job;
struct describe_job;
}  // namespace msg

using job_actor = caf::typed_actor<
    // From the cluster actor.
    caf::reacts_to<msg::start_job>,
    // false: the placement is of no use any more; the cluster takes it back.
    caf::replies_to<msg::placed>::with<bool>, caf::reacts_to<msg::unschedulable>,
    // From node actors (and from the cluster, for reports no node actor expected).
    caf::reacts_to<msg::task_launched>, caf::reacts_to<msg::task_exit>,
    caf::reacts_to<msg::task_lost>, caf::reacts_to<msg::task_evict>,
    caf::reacts_to<msg::task_draining>, caf::reacts_to<msg::task_adopt>,
    caf::reacts_to<msg::port_reserved>, caf::reacts_to<msg::checkpoint>,
    // The client API, through the cluster actor.
    caf::replies_to<msg::subscribe>::with<result<watch_reply>>,
    caf::replies_to<msg::cancel_job>::with<result<void>>,
    caf::replies_to<msg::describe_job>::with<result<job_record>>>;

// `events` are the job's stored events (recovery); empty for a new job, whose record the
// cluster has already persisted together with its first event.
job_actor spawn_job_actor(caf::actor_system& sys, cluster_actor cluster, store_actor store,
                          job_record record, std::vector<job_event> events,
                          coordinator_config config);

}  // namespace gantry
