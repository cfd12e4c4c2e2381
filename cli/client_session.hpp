#pragma once
// What every client verb does first: find the coordinator, connect, and turn a JOB argument
// into a job id; and how a failed call becomes a message and an exit code.
#include <memory>
#include <string>

#include "cli/commands.hpp"
#include "protocol/client.hpp"

namespace gantry::cli {

// Prints "gantry: <message>" and returns the exit code: unreachable -> 3, not authenticated or
// not permitted -> 4, the caller's mistake (bad argument, unknown job/node/stage/rank) -> 2,
// anything else -> 1.
int report(const error& e);

// Connects to coordinator_address(c.coordinator) with credentials_for(c) (cli/login_config.hpp).
result<std::unique_ptr<client>> connect(const client_options& c);

// True for an id as the coordinator hands them out ("j-" and digits).
bool is_job_id(const std::string& text);

// `job` itself when it is an id; otherwise the id of the newest job with that name (saying on
// stderr which one was picked when several have it). errc::not_found when none has.
result<std::string> resolve_job(client& cl, const std::string& job);

}  // namespace gantry::cli
