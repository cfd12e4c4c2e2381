#pragma once
// Internal to the queue book (queue_book_round.cpp, queue_book_preempt.cpp): one round's state.
#include <optional>
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
  // The copy of the view preemption and grow plans are tried on (made on first use); it
  // accumulates this round's plans.
  cluster_view& work(const cluster_view& view);

 private:
  bool capacity_known = false;
  queue_resources capacity_;
  std::optional<cluster_view> work_;
};

}  // namespace gantry::sched
