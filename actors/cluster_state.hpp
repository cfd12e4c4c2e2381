#pragma once
// Internal to the cluster actor (cluster_actor.cpp, cluster_placement.cpp).
#include <chrono>
#include <map>
#include <string>
#include <vector>

#include <caf/all.hpp>

#include "actors/cluster_actor.hpp"
#include "actors/messages.hpp"
#include "actors/retention.hpp"
#include "scheduler/queues/queue_book.hpp"
#include "scheduler/scheduler.hpp"

namespace gantry::cluster_detail {

// Sent to itself: a scheduler run, queued behind what is already in the mailbox.
struct run_schedule {};
// Sent to itself: time for a retention sweep (periodic, and right after a full chunk).
struct sweep_tick {
  bool periodic = false;  // the timer's own tick, which re-arms itself
};
// Sent to itself: a node waiter's timeout.
struct wait_node_timeout {
  uint64_t waiter;
};

// The cluster actor's full interface: its public one plus what it sends itself.
using cluster_impl =
    cluster_actor::extend<caf::reacts_to<run_schedule>, caf::reacts_to<wait_node_timeout>,
                          caf::reacts_to<sweep_tick>>;

struct job_entry {
  job_summary summary;
  job_actor actor;        // null once the job finished (then the store has it)
  uint64_t last_seq = 0;  // known for finished jobs; live jobs are asked
};

struct node_entry {
  node_actor actor;
  node_status status;  // allocations are filled in by status_of() from the view
};

struct request_owner {
  job_actor job;
  std::string stage;
  std::vector<int32_t> ranks;
  std::string last_reason;
};

struct node_waiter {
  std::string name;
  node_state state;
  caf::typed_response_promise<result<node_status>> promise;
};

// Preemption and elastic resizes are not carried out yet (docs/queues.md, "What is left"):
// the book makes no preemption plans, and there are no elastic requests to grow.
inline sched::queue_book_config book_config() {
  sched::queue_book_config c;
  c.max_plans_per_round = 0;
  return c;
}

struct state {
  // Not an aggregate: CAF constructs a state from the actor's own pointer when it can
  // (stateful_actor::cr_state), which would try to make the first handle from it.
  state() = default;

  store_actor store;
  rendezvous_actor rendezvous;
  coordinator_config config;
  std::map<std::string, job_entry> jobs;    // by id; ids sort in submission order
  std::map<std::string, node_entry> nodes;  // by name
  sched::cluster_view view;
  // The queues, their pending requests and running work; it drives the scheduler.
  sched::queue_book book{sched::policy_kind::fgd, 1, book_config()};
  std::map<std::string, request_owner> owners;  // placement request id -> who asked
  std::map<uint64_t, node_waiter> waiters;
  uint64_t next_waiter = 1;
  uint64_t next_job_number = 1;
  uint64_t next_session = 1;
  bool schedule_pending = false;
  // gantry_gpu_fragmentation: when it was last computed, and whether a later scheduler run
  // is booked to compute it again (cluster_placement.cpp, publish_fragmentation).
  std::chrono::steady_clock::time_point fragmentation_at{};
  bool fragmentation_booked = false;
  finished_jobs finished;               // the finished jobs in `jobs`, for retention sweeps
  std::vector<std::string> forgetting;  // gone from `jobs`, not yet deleted from the store
  bool forget_in_flight = false;        // a forget_jobs is with the store
  static inline const char* name = "gantry.cluster";
};

using actor_t = cluster_impl::stateful_base<state>;

// cluster_placement.cpp
void request_schedule(actor_t* self);
void schedule_now(actor_t* self);
void on_node_changed(actor_t* self, msg::node_changed& m);
void recover(actor_t* self, recovered_state&& rs);
node_actor node_actor_for(actor_t* self, const node_inventory& inv);
void answer_waiters(actor_t* self, const std::string& name);
// Gives back what a task of request `request_id` held (it ended, or its job refused the
// placement).
void release_assignment(actor_t* self, const std::string& request_id,
                        const sched::task_assignment& a);
// Queues a job's placement request in the book (its queue, checkpoint signal and grace).
void enqueue(actor_t* self, msg::place& m);
// The node's status with its allocations read from the placement view.
node_status status_of(actor_t* self, const node_entry& node);

std::string job_id_of_task(const std::string& task_id);
std::string job_id_of_request(const std::string& request_id);

// cluster_retention.cpp
retention_policy retention_of(const coordinator_config& c);
// Sweeps once now (what expired while the coordinator was down: gone before any request is
// served) and arms the periodic sweep.
void start_sweeps(actor_t* self);
// A job in `jobs` finished at finished_ms: it becomes subject to retention.
void on_job_finished(actor_t* self, const std::string& id, int64_t finished_ms);
void sweep(actor_t* self, bool periodic);
// "no job ID" for a never-issued id; for one that retention forgot, what is kept and the flags.
std::unexpected<error> unknown_job(actor_t* self, const std::string& id);

}  // namespace gantry::cluster_detail

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(gantry::cluster_detail::run_schedule)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(gantry::cluster_detail::wait_node_timeout)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(gantry::cluster_detail::sweep_tick)
