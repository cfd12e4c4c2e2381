#pragma once
// One job actor per job that has not finished. It owns the job's state machine
// (job_machine), persists every change before publishing its events to watchers, and
// exits once the job is terminal, persisted and nothing of it runs.
//
// Accepts: msg::start_job, msg::placed (-> bool: false = not used, give it back),
// msg::unschedulable, msg::task_launched,
//          msg::task_exit, msg::task_lost, msg::task_adopt, msg::checkpoint,
//          msg::subscribe (-> result<watch_reply>), msg::cancel_job (-> result<void>),
//          msg::describe_job (-> result<job_record>).
// Sends:   cluster <- msg::place, msg::withdraw, msg::release, msg::job_changed;
//          node    <- msg::launch, msg::kill_task, msg::expect_task;  store <- msg::persist.
#include <caf/all.hpp>

#include "actors/config.hpp"
#include "core/records.hpp"

namespace gantry {

// `events` are the job's stored events (recovery); empty for a new job, whose record the
// cluster has already persisted together with its first event.
caf::actor spawn_job_actor(caf::actor_system& sys, caf::actor cluster, caf::actor store,
                           job_record record, std::vector<job_event> events,
                           coordinator_config config);

}  // namespace gantry
