#pragma once
// Internal to the queue book (queue_book_round.cpp, queue_book_preempt.cpp): one round's state.
#include <string>
#include <unordered_set>
#include <utility>
#include <vector>

#include "scheduler/queues/queue_book.hpp"

namespace gantry::sched {

struct queue_book::round_ctx {
  int64_t now = 0;
  round_state rs;
  book_round out;
  std::unordered_set<std::string> tried;   // request ids this round already handled
  std::unordered_set<std::string> placed;  // of those, the ones placed
  // A request failed for want of capacity (not its queue's limit): no grows this round.
  bool capacity_blocked = false;
  // Requests that may preempt: those blocked for capacity, and those blocked by their
  // queue's limit (only their own queue's lower-priority work can make room), in round order.
  std::vector<std::pair<queue_state*, std::string>> blocked;

  // Schedulable capacity, computed once per round when needed.
  const queue_resources& capacity(const cluster_view& view);

  // Plans are tried on the view itself: each successful plan's outcome stays in it for the
  // plans after it (victims released, claimants placed) and is recorded here; the round
  // rolls all of it back at its end (apply and release are exact inverses), then applies
  // the holds of the claims it opened. Cheaper than a copy of the view (5 ms per 1,000
  // nodes), with the same effect.
  void record(const std::vector<task_assignment>& released,
              const std::vector<task_assignment>& taken);
  std::vector<task_assignment> holds;  // of this round's claims, applied after the rollback
  void finish(cluster_view& view);

 private:
  bool capacity_known = false;
  queue_resources capacity_;
  std::vector<task_assignment> released_, taken_;
};

}  // namespace gantry::sched
