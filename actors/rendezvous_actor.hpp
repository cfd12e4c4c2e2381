#pragma once
// The rendezvous actor keeps the small values the ranks of a gang attempt exchange (an
// ncclUniqueId, ring addresses). Values live in memory, scoped to (job, stage, attempt): a
// new attempt never sees an older attempt's values. A get waits for the put, up to its
// timeout. A job's values are dropped when the job finishes.
//
// Accepts: msg::rdv_put (-> result<void>), msg::rdv_get (-> result<std::string>),
//          msg::rdv_drop_job.
#include <caf/all.hpp>

namespace gantry {

caf::actor spawn_rendezvous_actor(caf::actor_system& sys);

}  // namespace gantry
