#pragma once
// Placement as plain C++ over a snapshot of the cluster. No CAF, Cap'n Proto or RocksDB:
// the coordinator's cluster actor, `gantry sim` and bench/placement all call this.
// docs/scheduler.md describes the model, filters, policies, the gang rule and the figures.
//
// Contract used by the coordinator (actors/cluster_actor.cpp):
//   - cluster_view holds every node's capacity and what is reserved on it;
//   - scheduler::enqueue() queues a request; scheduler::schedule() places what it can,
//     in queue order, applying each placement to the view atomically (all ranks or none);
//   - when a task ends the coordinator calls cluster_view::release() with its assignment.
// The shared types alone are in types.hpp, cluster_view.hpp, policy_kind.hpp, workload.hpp.
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "scheduler/cluster_view.hpp"
#include "scheduler/policy_kind.hpp"
#include "scheduler/types.hpp"
#include "scheduler/workload.hpp"

namespace gantry::sched {

class engine;

// One scheduling round whose order the caller decides, request by request (the queue book
// orders requests across queues this way); schedule() is such a round over the scheduler's
// own queue. Once a request of the round did not fit, the nodes reserved for the round's
// first blocked request are kept from every later one (backfill around them).
struct round_state {
  bool reserving = false;  // the reservation applies to the rest of this round
};

class scheduler {
 public:
  explicit scheduler(policy_kind policy = policy_kind::fgd, uint64_t seed = 1);
  ~scheduler();
  scheduler(scheduler&&) noexcept;
  scheduler& operator=(scheduler&&) noexcept;

  void enqueue(placement_request req);
  // Removes a queued request; no-op when it is not queued.
  void withdraw(const std::string& request_id);
  size_t queued() const { return queue_.size(); }
  policy_kind policy() const;

  // Places what fits, in priority then submission order, applying each placement to
  // `view`. Placed requests leave the queue. The first request that does not fit now but
  // would fit the cluster's capacity reserves nodes: later requests are placed only on
  // other nodes (backfill) until it runs, so a big gang is not starved by small tasks.
  schedule_result schedule(cluster_view& view);

  // The round primitives. begin_round() drops the reservation unless `waiting(owner)`.
  // place_next() places `req` on `view` if it fits under the round's reservation; when it
  // does not, the round's first blocked request takes (or keeps) the reservation unless the
  // cluster could never host it (then `reason` says so). try_next() is the same dry run
  // without any change; commit() applies a placement try_next() returned for `req` and
  // drops the reservation `req` held.
  void begin_round(round_state& rs, const std::function<bool(const std::string&)>& waiting);
  bool place_next(cluster_view& view, const placement_request& req, round_state& rs, placement& out,
                  std::string& reason);
  bool try_next(const cluster_view& view, const placement_request& req, const round_state& rs,
                placement& out, std::string& reason) const;
  void commit(cluster_view& view, const placement& p);
  // Feeds FGD's workload learner, as enqueue() does (for callers with their own queue).
  void observe(const placement_request& req);

  // Tries one request without changing the view; on failure `reason` says why.
  bool try_place(const cluster_view& view, const placement_request& req, placement& out,
                 std::string& reason) const;
  // try_place() and, on success, view.apply(out). The queue is not involved.
  bool place_now(cluster_view& view, const placement_request& req, placement& out,
                 std::string& reason);

  // FGD's target workload. Without one the scheduler learns it from enqueued requests.
  void set_target_workload(std::vector<workload_type> types);
  // FGD's fragmentation (GPU milli) of one node, or summed over all nodes, for the
  // current target workload; 0 for an unknown node or without a workload.
  double node_fragmentation(const cluster_view& view, const std::string& node) const;
  double fragmentation(const cluster_view& view) const;

 private:
  std::unique_ptr<engine> engine_;
  std::vector<placement_request> queue_;
};

}  // namespace gantry::sched
