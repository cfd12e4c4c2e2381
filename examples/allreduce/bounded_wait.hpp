#pragma once
// How a rank waits on its peers, whichever backend: it never blocks on them. A step that
// involves peers (joining the communicator, one collective) is started without blocking,
// then polled until it reports done or an error, or its deadline passes. On an error or at
// the deadline the caller aborts its communicator (a clean destroy could wait on a wedged
// peer forever) and frees the buffers the collective used only after the abort.
//
// This is NCCL's guidance ("Error handling and communicator destruction"): a non-blocking
// communicator, ncclCommGetAsyncError and cudaStreamQuery polled with a timeout,
// ncclCommAbort on error or timeout. The CPU ring follows the same pattern, so the paths a
// hung or absent peer takes are tested without a GPU.
#include <cstdint>
#include <functional>
#include <string>

#include "examples/allreduce/backend.hpp"

namespace gantry::example {

enum class step_state { pending, done, failed };

struct step_status {
  step_state state = step_state::pending;
  std::string error;  // when failed: what went wrong
};

// Polls `step` until it is done (ok) or failed (its error), or `timeout_ms` passed (an
// error naming `what` and the timeout). `step` may wait for an event a short slice (a few
// ms at most; a GPU step does not wait at all); while pending it is called again at once.
outcome<void> wait_for_step(const std::function<step_status()>& step, uint32_t timeout_ms,
                            const std::string& what);

}  // namespace gantry::example
