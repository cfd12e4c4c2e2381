#pragma once
// One node actor per worker machine. It owns the machine's liveness (sessions, heartbeats,
// connection drops) and the worker's agent, launches and kills tasks there, and routes the
// worker's reports to the job actors.
//
// Accepts: msg::attach, msg::detach, msg::heartbeat (-> result<void>), msg::check_liveness,
//          msg::launch, msg::kill_task, msg::expect_task, msg::exited,
//          msg::checkpoint_report, msg::read_task_log, msg::set_cordon, msg::reserve_port.
// Sends:   cluster <- msg::node_changed, msg::route_report;
//          job     <- msg::task_launched, msg::task_exit, msg::task_lost, msg::checkpoint,
//                     msg::port_reserved.
#include <caf/all.hpp>

#include "actors/config.hpp"
#include "core/resources.hpp"

namespace gantry {

// A node known from the store whose worker has not connected since the coordinator
// started: it starts in state `unknown` and becomes `lost` unless it attaches in time.
caf::actor spawn_node_actor(caf::actor_system& sys, caf::actor cluster, node_inventory inventory,
                            bool cordoned, coordinator_config config);

}  // namespace gantry
