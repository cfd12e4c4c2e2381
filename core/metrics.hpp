#pragma once
// Counters and latency histograms that the coordinator's parts update as they work and its
// /metrics endpoint reads (http/coordinator_metrics.hpp renders them; docs/operations.md lists
// them). Lock-free: any thread updates, any thread reads. main() creates one and hands it to
// the parts through coordinator_config::metrics; null there means nothing is counted (tests).
#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

namespace gantry {

// A Prometheus histogram of durations: counts per upper bound (seconds), their sum and count.
class histogram {
 public:
  // REQUIRES: bounds ascending.
  explicit histogram(std::vector<double> bounds);
  void observe_seconds(double seconds);
  void observe_ns(int64_t ns) { observe_seconds(static_cast<double>(ns) / 1e9); }

  struct snapshot {
    std::vector<double> bounds;
    std::vector<uint64_t> cumulative;  // observations <= bounds[i]
    uint64_t count = 0;                // every observation (the +Inf bucket)
    double sum_seconds = 0;
  };
  // Each field is read atomically but not all at once: a concurrent observation may be in
  // count and not yet in a bucket; cumulative counts never exceed count.
  snapshot read() const;

 private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> buckets_;  // bounds_.size(), not cumulative
  std::atomic<uint64_t> count_{0};
  std::atomic<uint64_t> sum_ns_{0};
};

struct coordinator_metrics {
  coordinator_metrics();

  std::atomic<uint64_t> submits{0};           // jobs accepted (durably stored)
  std::atomic<uint64_t> submits_rejected{0};  // submits refused (manifest errors, unschedulable)
  std::atomic<uint64_t> restarts{0};          // task or gang restarts of any job
  std::atomic<uint64_t> heartbeats{0};        // worker heartbeats received
  std::atomic<uint64_t> lost_verdicts{0};     // nodes declared lost
  histogram submit_to_running;                // a job's submit to its first running state
  histogram placement_decision;               // one scheduler run over the queued requests
  histogram store_write;                      // one synced group commit to the store
  std::atomic<int64_t> event_streams{0};      // open HTTP job event streams (subscriptions)
  // FGD's expected fragmentation of every node's GPUs for the scheduler's target workload,
  // in GPUs (sched::scheduler::fragmentation / 1000), as of the last scheduler run.
  std::atomic<double> gpu_fragmentation{0};
};

}  // namespace gantry
