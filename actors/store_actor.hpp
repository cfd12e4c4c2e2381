#pragma once
// The store actor owns the state store. It runs detached (its own thread) because every
// write waits for fsync, and it group-commits: all persist requests waiting in its mailbox
// go to disk in one synced write, then every one of them is answered.
//
// Accepts:
//   msg::persist      -> result<void>                      (after the synced write)
//   msg::load_job     -> result<std::optional<job_record>>
//   msg::load_events  -> result<std::vector<job_event>>
#include <caf/all.hpp>

#include "storage/state_store.hpp"

namespace gantry {

// REQUIRES: store outlives the actor.
caf::actor spawn_store_actor(caf::actor_system& sys, storage::state_store& store);

}  // namespace gantry
