#pragma once
// Heartbeats are the hottest traffic of a large cluster, so they never become actor
// messages: the RPC thread stamps a worker session's liveness_cell, and the node actor
// reads it when it checks liveness. The node actor still owns the verdict.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>

#include <caf/actor_clock.hpp>

namespace gantry {

struct liveness_cell {
  // Actor-clock time (nanoseconds since its epoch) of the last heartbeat.
  std::atomic<int64_t> last_ns{0};
  // The session ended (replaced, or the node was declared lost): heartbeats are refused
  // and the worker registers again.
  std::atomic<bool> revoked{false};

  static int64_t stamp(caf::actor_clock::time_point t) {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
  }
};

// The RPC loop's own pulse: a KJ timer stamps it every 100 ms. When it is stale, the RPC
// thread was stuck and missing heartbeats say nothing about the workers.
struct rpc_pulse {
  std::atomic<int64_t> last_ns{0};
};

}  // namespace gantry
