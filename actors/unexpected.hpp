#pragma once
// Every coordinator actor logs (to stderr, never stdout) and drops messages it does not
// handle, instead of CAF's default of printing them to stdout.
#include <caf/all.hpp>

namespace gantry {

void log_unexpected_messages(caf::scheduled_actor* self);

}  // namespace gantry
