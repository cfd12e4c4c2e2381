#pragma once
// Process plumbing shared by the long-running subcommands.
#include <memory>

#include <kj/async-io.h>
#include <caf/all.hpp>

namespace gantry::cli {

// Routes SIGTERM and SIGINT to the KJ loop. REQUIRES: called before any thread starts.
void capture_stop_signals();
// Runs the KJ loop until SIGTERM or SIGINT; returns the signal.
int wait_for_stop_signal(kj::AsyncIoContext& io);
// A CAF actor system sized for this machine (at most 2 scheduler threads).
std::unique_ptr<caf::actor_system> make_actor_system();

}  // namespace gantry::cli
