#pragma once
// The store actor owns the state store. It runs detached (its own thread) because every
// write waits for fsync, and it group-commits: all persist requests waiting in its mailbox
// go to disk in one synced write, then every one of them is answered.
#include <optional>
#include <vector>

#include <caf/all.hpp>

#include "core/records.hpp"
#include "core/result.hpp"
#include "storage/state_store.hpp"

namespace gantry {

struct coordinator_metrics;  // core/metrics.hpp

namespace msg {  // defined in actors/messages.hpp
struct persist;
struct load_job;
struct load_events;
struct forget_jobs;
}  // namespace msg

using store_actor = caf::typed_actor<
    // Answered after the synced write.
    caf::replies_to<msg::persist>::with<result<void>>,
    caf::replies_to<msg::load_job>::with<result<std::optional<job_record>>>,
    caf::replies_to<msg::load_events>::with<result<std::vector<job_event>>>,
    caf::replies_to<msg::forget_jobs>::with<result<void>>>;

// REQUIRES: store outlives the actor. The space of forgotten jobs is reclaimed by a linked
// actor on a thread of its own, at most every reclaim_interval_ms. With `metrics`, every
// synced write is timed (store_write).
store_actor spawn_store_actor(caf::actor_system& sys, storage::state_store& store,
                              uint32_t reclaim_interval_ms = 10000,
                              std::shared_ptr<coordinator_metrics> metrics = nullptr);

}  // namespace gantry
