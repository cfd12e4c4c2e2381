#pragma once
// One node actor per worker machine. It owns the machine's liveness (sessions, heartbeats,
// connection drops) and the worker's agent, launches and kills tasks there, and routes the
// worker's reports to the job actors.
#include <caf/all.hpp>

#include "actors/cluster_actor.hpp"
#include "actors/config.hpp"
#include "core/resources.hpp"

namespace gantry {

namespace msg {  // defined in actors/messages.hpp
struct attach;
struct detach;
struct exited;
struct checkpoint_report;
struct launch;
struct kill_task;
struct expect_task;
struct reserve_port;
struct read_task_log;
struct set_cordon;
struct drain;
}  // namespace msg

using node_actor = caf::typed_actor<
    // The worker's session (from the RPC thread, through the cluster's session port).
    caf::reacts_to<msg::attach>, caf::reacts_to<msg::detach>, caf::reacts_to<msg::exited>,
    caf::reacts_to<msg::checkpoint_report>,
    // From job actors (and the cluster: recovery, leftovers).
    caf::reacts_to<msg::launch>, caf::reacts_to<msg::kill_task>, caf::reacts_to<msg::expect_task>,
    caf::reacts_to<msg::reserve_port>,
    // From the cluster actor.
    caf::reacts_to<msg::read_task_log>, caf::reacts_to<msg::set_cordon>,
    caf::reacts_to<msg::drain>>;

// A node known from the store whose worker has not connected since the coordinator
// started: it starts in state `unknown` and becomes `lost` unless it attaches in time.
node_actor spawn_node_actor(caf::actor_system& sys, cluster_actor cluster, node_inventory inventory,
                            bool cordoned, coordinator_config config);

}  // namespace gantry
