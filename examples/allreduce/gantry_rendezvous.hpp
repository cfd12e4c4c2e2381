#pragma once
// The rendezvous gantry gives a collective stage: GANTRY_RENDEZVOUS names the coordinator
// and the scope (job, stage, attempt), so values of one attempt never mix with another's.
#include <memory>

#include "examples/allreduce/backend.hpp"

namespace gantry::example {

// Parses `text` ("HOST:PORT/JOB/STAGE/ATTEMPT") and connects to the coordinator. Errors:
// a malformed value (kExitUsage) or a coordinator that cannot be reached (kExitFailure).
outcome<std::unique_ptr<rendezvous>> connect_gantry_rendezvous(const std::string& text);

}  // namespace gantry::example
