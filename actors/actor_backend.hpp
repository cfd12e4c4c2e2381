#pragma once
// The coordinator API (core/coordinator_api.hpp) over the actors, with the access rules of
// docs/security.md: every call is checked against what the connection's credential is bound
// to, then becomes one message to the cluster or rendezvous actor. A user's request for a
// job it does not own is answered as for a job that does not exist.
#include <memory>

#include <caf/all.hpp>

#include "actors/cluster_actor.hpp"
#include "actors/credential_registry.hpp"
#include "actors/rendezvous_actor.hpp"
#include "core/coordinator_api.hpp"

namespace gantry {

// `credentials` null: --insecure (every connection is admin, any node, any task scope).
std::unique_ptr<coordinator_backend> make_actor_backend(
    caf::actor_system& sys, cluster_actor cluster, rendezvous_actor rendezvous,
    std::shared_ptr<credential_registry> credentials);

}  // namespace gantry
