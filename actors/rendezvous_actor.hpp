#pragma once
// The rendezvous actor keeps the small values the ranks of a gang attempt exchange (an
// ncclUniqueId, ring addresses). Values live in memory, scoped to (job, stage, attempt): a
// new attempt never sees an older attempt's values. A get waits for the put, up to its
// timeout. A job's values are dropped when the job finishes.
#include <string>

#include <caf/all.hpp>

#include "core/result.hpp"

namespace gantry {

namespace msg {  // defined in actors/messages.hpp
struct rdv_put;
struct rdv_get;
struct rdv_drop_job;
}  // namespace msg

using rendezvous_actor = caf::typed_actor<caf::replies_to<msg::rdv_put>::with<result<void>>,
                                          caf::replies_to<msg::rdv_get>::with<result<std::string>>,
                                          caf::reacts_to<msg::rdv_drop_job>>;

rendezvous_actor spawn_rendezvous_actor(caf::actor_system& sys);

}  // namespace gantry
