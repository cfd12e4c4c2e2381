#pragma once
// Heartbeats are the hottest traffic of a large cluster, so they never become actor
// messages: the RPC thread stamps a worker session's liveness_cell, and the node actor
// reads it when it checks liveness. The node actor still owns the verdict, and
// silence_limit (below) says how much silence it tolerates. The design and its figures:
// docs/architecture.md, "Failure detection".
#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>

#include <caf/actor_clock.hpp>

#include "core/metrics.hpp"

namespace gantry {

struct liveness_cell {
  // Actor-clock time (nanoseconds since its epoch) of the last message of any kind from the
  // worker: a heartbeat, an exit report or a checkpoint report.
  std::atomic<int64_t> last_ns{0};
  // Of the last heartbeat alone. Written by the RPC thread only.
  std::atomic<int64_t> last_beat_ns{0};
  // The worst lateness since the node actor last took it: a heartbeat that arrived more than
  // an interval after the one before, or one the worker says it sent late.
  std::atomic<int64_t> late_ns{0};
  // The session's heartbeat interval; set before the cell is shared.
  int64_t interval_ns = 0;
  // The session ended (replaced, or the node was declared lost): heartbeats are refused
  // and the worker registers again.
  std::atomic<bool> revoked{false};
  // Counts heartbeats for /metrics when set (before the cell is shared).
  std::shared_ptr<coordinator_metrics> metrics;

  static int64_t stamp(caf::actor_clock::time_point t) {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
  }
  // Any message from the worker (RPC thread).
  void heard(int64_t now_ns) { raise(last_ns, now_ns); }
  // A heartbeat that the worker sent `lag_ms` after it was due (RPC thread).
  void beat(int64_t now_ns, uint32_t lag_ms) {
    int64_t previous = last_beat_ns.exchange(now_ns);
    int64_t late = static_cast<int64_t>(lag_ms) * 1'000'000;
    if (previous > 0 && now_ns - previous - interval_ns > late)
      late = now_ns - previous - interval_ns;
    raise(late_ns, late);
    heard(now_ns);
    if (metrics) metrics->heartbeats.fetch_add(1, std::memory_order_relaxed);
  }
  // The worst lateness since the last call, and starts counting again (node actor).
  int64_t take_late() { return late_ns.exchange(0); }

 private:
  static void raise(std::atomic<int64_t>& cell, int64_t value) {
    int64_t seen = cell.load();
    while (seen < value && !cell.compare_exchange_weak(seen, value)) {
    }
  }
};

// The RPC loop's own pulse: a KJ timer stamps it every 100 ms. When it is stale, the RPC
// thread was stuck and missing heartbeats say nothing about the workers.
struct rpc_pulse {
  static constexpr int64_t kPeriodNs = 100'000'000;
  std::atomic<int64_t> last_ns{0};
};

// How long a worker may stay silent before its node is lost. While its heartbeats arrive
// on time that is the configured timeout; when they have been late (a starved worker, a
// busy coordinator or network), it stretches to the interval plus kLatenessFactor times the
// worst lateness of the last 30 s, and never beyond `cap`. Plain C++: the node actor feeds
// it, tests drive it directly.
class silence_limit {
 public:
  static constexpr int64_t kLatenessFactor = 4;
  static constexpr int64_t kWindowNs = 30'000'000'000;

  silence_limit() = default;
  silence_limit(int64_t interval_ns, int64_t timeout_ns, int64_t cap_ns);

  // Lateness observed up to `now_ns` (0 or less: nothing was late).
  void observe(int64_t now_ns, int64_t late_ns);
  // The worst lateness observed within the window before `now_ns`.
  int64_t worst_late_ns(int64_t now_ns) const;
  // The silence after which the node is lost.
  int64_t limit_ns(int64_t now_ns) const;
  int64_t timeout_ns() const { return timeout_ns_; }

 private:
  static constexpr int kBuckets = 6;
  static constexpr int64_t kBucketNs = kWindowNs / kBuckets;
  struct bucket {
    int64_t number = -1;  // now_ns / kBucketNs of the time it covers
    int64_t worst_ns = 0;
  };
  int64_t interval_ns_ = 0;
  int64_t timeout_ns_ = 0;
  int64_t cap_ns_ = 0;
  std::array<bucket, kBuckets> buckets_{};
};

}  // namespace gantry
