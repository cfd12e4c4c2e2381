#pragma once
// Victim planning: which running work to stop (or shrink, for elastic gangs) so that one
// pending request fits, verified by trial placements through the real scheduler on the cluster
// view with the victims released. All or nothing: a plan exists only if the request will then be
// placed.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "scheduler/queues/queue_resources.hpp"
#include "scheduler/scheduler.hpp"

namespace gantry::sched {

// Running work the planner may stop or shrink (one placement: a gang, or one plain rank).
struct victim_candidate {
  uint64_t unit = 0;                                    // the caller's id
  std::string queue;                                    // its queue
  const std::vector<task_assignment>* tasks = nullptr;  // what it holds now
  queue_resources held;
  // Elastic gangs: the request that places it again at a smaller size, and that size's
  // floor. min_size 0: not elastic (it can only be stopped whole).
  const placement_request* shape = nullptr;
  int32_t min_size = 0;
  // What makes a victim worse to take (compared in this order): 0 borrowed work of another
  // queue, 1 lower-priority work of the request's own queue; its priority; the work it
  // loses (seconds since its last consistent checkpoint x its dominant share).
  int victim_class = 0;
  int32_t priority = 0;
  double lost = 0;
};

// The planner's limits on whom it may take.
struct victim_rules {
  std::string own_queue;  // the pending request's queue
  // What a reclaim takes back (the request's demand in the dimensions its guarantee covers).
  queue_resources need;
  // For every other queue a candidate belongs to: what it uses beyond its guarantee. Such a
  // candidate is taken only while its queue still borrows a dimension of `need` that the
  // candidate holds (a queue is never pushed below its guarantee by more than one unit).
  std::map<std::string, queue_resources> borrowed;
  // What the own queue's candidates must give up together (the request's queue would
  // otherwise exceed its limit).
  queue_resources own_must_free;
};

struct victim_action {
  size_t candidate = 0;   // index into the candidates
  int32_t resize_to = 0;  // 0: stopped whole; else the gang restarts at this many ranks
};

struct victim_plan {
  std::vector<victim_action> actions;  // in candidate order
  placement request;                   // where the pending request goes once they stopped
  std::vector<placement> resized;      // where each resized gang goes (same order as actions)
};

// Plans the smallest set of actions on `candidates` (sorted, most preferred victim first)
// after which `req` fits `view` under the round's reservation `rs`. Greedy in candidate order
// (an elastic gang above its floor is shrunk to the floor, anything else stopped) until the
// request and every shrunk gang fit; then elastic gangs are stopped whole only if shrinking
// was not enough; then every action that is not needed is dropped, least preferred first; then
// each shrink is made as small as it can be. A single task also gets, node by node, the
// fewest non-elastic victims that free room for it on one node; that set wins when it is
// better (lower worst class, then lower highest priority, then fewer victims, then less work
// lost). Every plan is checked with try_next() on `view`. On success `view` holds the outcome
// (victims released, request and resized gangs placed); on failure `view` is as it was.
// Candidates on no node the request could use are skipped.
std::optional<victim_plan> plan_victims(cluster_view& view, scheduler& s, const round_state& rs,
                                        const placement_request& req,
                                        const std::vector<victim_candidate>& candidates,
                                        const victim_rules& rules);

// What `placed` takes beyond what `freed` gives back, node by node (CPU, memory, DPUs) and
// GPU by GPU (share and memory), as assignments the view can apply: the part of a planned
// placement that must be held now, because it is free now rather than given back by victims.
std::vector<task_assignment> holds_for(const std::vector<task_assignment>& placed,
                                       const std::vector<task_assignment>& freed);

}  // namespace gantry::sched
