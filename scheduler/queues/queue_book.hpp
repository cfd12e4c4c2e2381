#pragma once
// The queue book: queues with guarantees, limits and weights; admission across them (within
// guarantee first, borrowed capacity by weighted DRF, priority then FIFO within a queue);
// preemption plans (reclaiming guarantees, priority within a queue) and elastic gang sizes.
// Plain C++ like the scheduler it drives: the coordinator's cluster actor owns one, feeds it
// queue definitions, pending requests and what running work gives back, and carries out the
// round it returns (place these, stop or resize those), as it does a job_machine's effects.
// docs/queues.md describes the model; victims.hpp the victim planner.
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "scheduler/queues/queue_resources.hpp"
#include "scheduler/queues/queue_spec.hpp"
#include "scheduler/scheduler.hpp"

namespace gantry::sched {

struct queue_book_config {
  // Work the book restarted (preempted or resized) is not stopped or resized again before it
  // has run this long.
  int64_t min_runtime_ms = 60'000;
  // An elastic gang grows only after running this long at its current size.
  int64_t grow_after_ms = 300'000;
  // Preemption plans per round, at most (each costs trial placements on the view).
  int32_t max_plans_per_round = 4;
  // A request no preemption could help is planned for again no sooner than this.
  int64_t replan_after_ms = 1'000;
  // Once its victims stopped, a preemptor is placed before all other work for this long.
  int64_t claim_ms = 60'000;
};

// One placement request of a job, as the book queues it.
struct queued_request {
  placement_request request;  // id, priority, submit_seq, per_task, count, gang, ...
  std::string job;            // named in reasons
  std::string queue = std::string(kDefaultQueue);
  std::vector<int32_t> ranks;  // what the request is for (handed back in stop orders)
  // Elastic gang: placed at the largest count in [min_count, request.count] that fits (and
  // grown or shrunk within it later). 0: exactly request.count.
  int32_t min_count = 0;
  bool preemptible = true;
  std::string checkpoint_signal;  // sent before a stop ("SIGUSR1"); empty: none (SIGTERM)
  int64_t grace_ms = 30'000;      // from the signal to the stop
  bool has_checkpoint = false;    // a consistent checkpoint exists to resume from
};

struct admission {
  placement placed;  // already applied to the view
  std::string queue;
  bool borrowed = false;  // the queue is beyond its guarantee with it
};

enum class stop_kind { preempt, resize };

// Running work to stop: signal (if any), wait the grace, stop. A preemption returns the work
// to pending (it must not count against max_restarts); a resize restarts a gang at `to` ranks.
struct stop_order {
  stop_kind kind = stop_kind::preempt;
  std::string request_id, job, queue;
  std::vector<int32_t> ranks;
  std::vector<task_assignment> tasks;
  int32_t from = 0, to = 0;  // resize: world size now and after
  std::string signal;
  int64_t grace_ms = 0;
  bool has_checkpoint = false;  // false: it restarts from the beginning (the event says so)
  // The event: "preempted: queue vision reclaims its guarantee (needs 4 gpu)",
  // "resized 8 → 4: making room for j-000123".
  std::string reason;
  std::string for_request, for_job;  // whom it makes room for; empty for a grow
};

struct book_round {
  std::vector<admission> placed;       // applied to the view, in order
  std::vector<unschedulable> pending;  // still queued, with why
  std::vector<stop_order> stops;       // to carry out
};

// What `queue list` shows of one queue.
struct queue_status {
  std::string name;
  queue_resources guarantee, limit;  // limit dimensions may be kNoLimit
  double weight = 1;
  queue_resources usage;     // held by running work, including work being stopped
  queue_resources borrowed;  // usage beyond the guarantee (borrowed_of, fair_share.hpp)
  int32_t pending_jobs = 0;  // jobs with pending requests
  int32_t pending_requests = 0;
  queue_resources pending_demand;  // what those requests ask for
  int32_t running = 0;             // running placements
  int64_t preempted = 0;           // stop orders for its work since the book started
};

class queue_book {
 public:
  explicit queue_book(policy_kind policy = policy_kind::fgd, uint64_t seed = 1,
                      queue_book_config config = {});

  // The placement engine the book drives (FGD's workload, fragmentation, dry runs).
  scheduler& placer() { return sched_; }
  const queue_book_config& config() const { return config_; }

  // Creates or updates a queue (validate() first). Updating keeps its work.
  result<void> define(const queue_spec& q);
  // Refuses `default` and a queue that holds work (pending, running or being placed).
  result<void> remove(const std::string& name);
  const queue_spec* find_queue(const std::string& name) const;
  std::vector<queue_status> status() const;  // by name

  // Queues a request; not_found for an unknown queue. REQUIRES: its id is not pending.
  result<void> submit(queued_request r);
  void withdraw(const std::string& request_id);  // no-op when not pending
  size_t pending() const { return pending_queue_.size(); }
  size_t running() const { return units_.size(); }

  // Recovery: a running task of `r` (its other tasks come in further calls), applied to
  // `view`. Work of an unknown queue is charged to `default`.
  void adopt(cluster_view& view, const queued_request& r, const task_assignment& a,
             int64_t started_ms);
  // A task of request `request_id` ended, or its placement was refused: gives back exactly
  // `a` — to the view, or, while a preemption waits for its victims, to the preemptor.
  void release(cluster_view& view, const std::string& request_id, const task_assignment& a);
  // The work of `request_id` reached a consistent checkpoint: nothing before now is lost.
  void checkpointed(const std::string& request_id, int64_t now_ms);

  // One round: preemptors whose victims stopped first, then every queue's pending requests
  // (admission), then preemption plans for requests entitled to them, then elastic grows.
  book_round schedule(cluster_view& view, int64_t now_ms);

 private:
  struct pending_entry {
    queued_request r;
    queue_resources need;  // at its smallest size
    bool placed = false;   // this round (then `r` was moved into running work)
  };
  struct queue_state {
    queue_spec spec;
    std::vector<pending_entry> pending;     // priority desc, then submit_seq
    queue_resources usage;                  // held by its running work
    queue_resources leaving;                // of that, held by work being stopped
    queue_resources claimed;                // preemptions in flight will place this for it
    std::map<int32_t, int32_t> priorities;  // preemptible running work not being stopped
    int32_t units = 0;
    int64_t preempted = 0;
    // What admission counts as the queue's: running, less leaving, plus claimed.
    queue_resources effective() const { return usage - leaving + claimed; }
  };
  struct unit {
    queued_request r;
    std::vector<task_assignment> tasks;
    queue_resources held;
    int64_t started_ms = 0;
    int64_t progress_ms = 0;      // nothing before this is lost when it stops
    int64_t protected_until = 0;  // not a victim before
    uint64_t claim = 0;           // being stopped for this claim; 0: running
  };
  // A preemption or resize in flight. Its claimants' planned placements stay reserved in the
  // view until the last victim stopped: what was free at planning is held from the start,
  // what the victims give back as they stop; then all of it is released and the claimants
  // are placed before anything else.
  struct claim {
    std::vector<std::string> claimants;  // placed first, in order, once it completes
    std::set<uint64_t> victims;
    std::vector<task_assignment> held;  // applied to the view on their behalf
    std::vector<std::pair<std::string, queue_resources>> claimed;  // per queue
  };
  struct round_ctx;

  queue_state& queue_of(const std::string& name);
  uint64_t add_unit(queued_request r, std::vector<task_assignment> tasks, int64_t now_ms);
  void remove_unit(uint64_t id);
  // `preemption`: counted in the queue's `preempted` (a grow is not).
  void mark_stopping(uint64_t id, uint64_t claim_id, bool preemption);
  void complete_claim(cluster_view& view, uint64_t claim_id);
  bool claimant_in_flight(const std::string& request_id) const;

  // queue_book_round.cpp
  void place_claimants(cluster_view& view, round_ctx& ctx);
  void admit(cluster_view& view, round_ctx& ctx);
  bool place_entry(cluster_view& view, round_ctx& ctx, queue_state& q, pending_entry& e,
                   const queue_resources& hold, std::string& reason);
  // queue_book_preempt.cpp
  int32_t largest_fit(cluster_view& view, round_ctx& ctx, placement_request req, int32_t fits,
                      int32_t hi, placement& found);
  void preempt(cluster_view& view, round_ctx& ctx);
  bool plan_for(cluster_view& view, round_ctx& ctx, queue_state& q, const pending_entry& e,
                bool reclaim);
  // Opens a claim for the planned `placements` whose `victims` are about to be stopped; what
  // the placements take beyond what the victims give back is held (applied to the view at
  // the end of the round).
  uint64_t open_claim(round_ctx& ctx, const std::vector<placement>& placements,
                      const std::vector<uint64_t>& victims);
  void grow(cluster_view& view, round_ctx& ctx);

  queue_book_config config_;
  scheduler sched_;
  std::map<std::string, queue_state, std::less<>> queues_;
  std::unordered_map<std::string, std::string> pending_queue_;  // request id -> queue
  std::map<uint64_t, unit> units_;
  std::unordered_map<std::string, std::vector<uint64_t>> units_by_request_;
  uint64_t next_unit_ = 1;
  int32_t elastic_units_ = 0;
  std::map<uint64_t, claim> claims_;
  uint64_t next_claim_ = 1;
  std::vector<std::pair<std::string, int64_t>> first_;  // claimants; until (-1: not yet set)
  std::unordered_set<std::string> restarted_;           // stopped by the book: protected on restart
  struct no_plan {
    int64_t retry_at = 0;  // no plan is made for it before
  };
  // Requests no preemption could help (their reason says so while this stands).
  std::unordered_map<std::string, no_plan> no_plan_;
};

}  // namespace gantry::sched
