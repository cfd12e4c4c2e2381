#pragma once
// The state machine of one job, as plain C++ (no CAF): the job actor feeds it what
// happened and carries out the effects it returns. Rules:
//   - a stage starts (pending) when every stage in its `after` succeeded;
//   - a plain stage asks for one placement per rank, a collective stage one for the gang;
//   - a stage succeeds when all its ranks exited 0; the job when all stages succeeded;
//   - a rank whose launch found its node gone (errc::unavailable) is placed again without
//     counting a restart: nothing of it ran;
//   - a failed rank (non-zero exit, other launch failure, node lost) is restarted while the job
//     has restarts left (`max_restarts`) and its exit code is not in
//     `no_retry_exit_codes`: a plain rank alone, a collective stage as a whole gang (its
//     other ranks are stopped first), with GANTRY_ATTEMPT + 1, after a backoff;
//   - otherwise it fails its stage and the job: everything still active is stopped, and
//     the job turns `failed` only once no rank of it runs any more;
//   - cancel stops everything the same way and ends `cancelled`;
//   - a checkpoint step is consistent once every rank of the stage committed it; restarts
//     get the newest consistent step (GANTRY_RESTORE_STEP).
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "core/records.hpp"
#include "scheduler/scheduler.hpp"

namespace gantry {

struct launch_effect {
  task_spec task;
  std::string node;
};

struct kill_effect {
  std::string task_id;
  std::string node;
};

// A gang's MASTER_PORT is reserved on its rank 0's node before any rank launches.
struct port_effect {
  std::string stage;
  int32_t attempt = 0;
  std::string node;
};

// A request for placement: one rank of a plain stage, or a collective stage's gang.
struct placement_effect {
  sched::placement_request request;
  std::string stage;
  std::vector<int32_t> ranks;  // the placement's tasks[i] is for ranks[i]
  uint32_t delay_ms = 0;       // backoff before a restart's placement
};

// What a task held, given back; `request_id` is the placement request it was placed under.
struct release_effect {
  std::string request_id;
  sched::task_assignment assignment;
};

struct job_effects {
  std::vector<job_event> events;
  std::vector<placement_effect> place;
  std::vector<std::string> withdraw;  // placement request ids
  std::vector<launch_effect> launches;
  std::vector<kill_effect> kills;
  std::vector<port_effect> ports;
  std::vector<release_effect> releases;
  bool summary_changed = false;
};

class job_machine {
 public:
  // `record` is a new job (from make_job_record) or one recovered from the store.
  // restart_backoff_ms: delay before the second restart; doubles each time up to 16x.
  // The first restart is immediate.
  explicit job_machine(job_record record, uint32_t restart_backoff_ms = 500);

  const job_record& record() const { return rec_; }
  // Terminal, and no rank of it is starting or running any more.
  bool finished() const;

  // New job: stages without `after` become pending. Recovered job: pending stages ask for
  // placement again; starting/running ranks keep their assignment (`assignments` gives it).
  void start(job_effects& fx);
  // Recovery: the assignment a running rank holds (so it is released when it ends).
  void restore_assignment(const std::string& task_id, sched::task_assignment a);

  // `hostnames[i]` is the hostname of tasks[i].node. Returns false when the placement is of
  // no use any more (cancelled or failed meanwhile): the caller gives it back.
  bool on_placed(const std::string& stage, const std::vector<int32_t>& ranks,
                 const std::vector<sched::task_assignment>& tasks,
                 const std::vector<std::string>& hostnames, job_effects& fx);
  // The port reserved for a gang attempt (or why none could be): its ranks launch now.
  void on_port(const std::string& stage, int32_t attempt, const result<uint16_t>& port,
               job_effects& fx);
  void on_unschedulable(const std::string& stage, const std::string& reason, job_effects& fx);
  void on_launched(const std::string& task_id, const result<int64_t>& pid, job_effects& fx);
  // `pid` (0 if unknown) matters when the exit overtakes the launch reply: the rank is
  // still recorded as running first, so every run shows a `running` event.
  // What the worker measured of an ended run besides its exit status.
  struct exit_facts {
    task_usage usage;
    // Stopped by its time limit: a failure that is restarted (and counted against
    // max_restarts) only with the job's restart_on_time_limit.
    bool time_limit_exceeded = false;
  };
  void on_exit(const std::string& task_id, int32_t exit_code, const std::string& message,
               int64_t pid, const exit_facts& facts, job_effects& fx);
  void on_lost(const std::string& task_id, const std::string& reason, job_effects& fx);
  // A reconnecting worker runs this task: true if it is this job's current task (adopted).
  bool on_adopt(const task_report& report, const std::string& node, job_effects& fx);
  void on_checkpoint(const std::string& task_id, int64_t step, job_effects& fx);
  // The task's node is draining: move it (a gang as a whole) without counting a restart.
  void on_evict(const std::string& task_id, const std::string& reason, job_effects& fx);
  // The task's node started draining: from now on its exit, whatever the code, moves it (a
  // gang as a whole, and any rank exit of a gang with a draining rank) without a restart.
  // draining == false: the drain was called off, its exits count as before.
  void on_draining(const std::string& task_id, bool draining);
  result<void> cancel(job_effects& fx);

  // Placement request ids currently outstanding, by stage and rank.
  static std::string request_id(const std::string& job, const std::string& stage, int32_t rank,
                                bool gang);

 private:
  struct rank_ref {
    size_t stage;
    size_t rank;
  };
  // The stage's index, or stages.size() when there is none of that name.
  size_t stage_index(const std::string& name) const;
  const stage_spec& spec_of(size_t stage) const { return rec_.spec.stages[stage]; }
  rank_record* find_task(const std::string& task_id, rank_ref* where = nullptr);

  void emit_job(job_state s, const std::string& message, job_effects& fx);
  void emit_stage(size_t stage, stage_state s, const std::string& message, job_effects& fx);
  void emit_rank(size_t stage, size_t rank, const std::string& message, job_effects& fx);

  // Asks for every pending rank of the stage, or only `ranks`.
  void request_placement(size_t stage, job_effects& fx, uint32_t delay_ms = 0);
  void request_ranks(size_t stage, const std::vector<int32_t>& ranks, job_effects& fx,
                     uint32_t delay_ms);
  bool try_restart(rank_ref where, int32_t exit_code, const std::string& reason, job_effects& fx);
  void restart_gang(size_t stage, job_effects& fx);
  void stop_gang(size_t stage, uint32_t delay_ms, const std::string& why, job_effects& fx);
  void requeue_rank(rank_ref where, const std::string& why, uint32_t delay_ms, job_effects& fx);
  // Ends an active rank as cancelled and places it (its gang) again at once, counting no
  // restart: it stopped for a reason outside the task (a node that went away, a drain).
  void move_rank(rank_ref where, const std::string& why, job_effects& fx);
  // An exit of this rank is a move: it or a rank of its gang is on a draining node.
  bool exit_moves(rank_ref where, const std::string& task_id);
  uint32_t backoff_ms() const;
  // A failed rank is restarted (max_restarts permitting) only if `may_restart`.
  void rank_ended(rank_ref where, rank_state state, int32_t exit_code, const std::string& reason,
                  job_effects& fx, bool may_restart = true);
  void stop_all(job_effects& fx);
  void evaluate(job_effects& fx);
  task_spec make_task(size_t stage, size_t rank, const sched::task_assignment& a,
                      const std::string& master_addr, uint16_t master_port) const;
  // Ends a rank that never launched (it waited for its gang's port) without an exit.
  void abandon(size_t stage, size_t rank, job_effects& fx);
  // Gives back what the rank's current task holds, if anything.
  void release_held(size_t stage, size_t rank, job_effects& fx);

  job_record rec_;
  std::optional<job_state> finishing_;  // the terminal state once nothing runs
  uint32_t restart_backoff_ms_;
  std::map<size_t, uint32_t> restarting_;  // gang stages being stopped for a restart -> delay
  struct awaiting_port {
    int32_t attempt;
    std::string master_addr;
  };
  std::map<size_t, awaiting_port> awaiting_port_;  // gangs placed, waiting for MASTER_PORT
  std::set<std::string> evicting_;                 // plain tasks stopped to move them
  std::set<std::string> draining_;                 // tasks on a draining node
  // Checkpoint commits above the stage's consistent step: stage -> step -> ranks.
  std::map<size_t, std::map<int64_t, std::set<int32_t>>> commits_;
  std::map<std::string, rank_ref> tasks_;               // task id -> rank
  std::map<std::string, sched::task_assignment> held_;  // task id -> what it holds
};

bool is_active(rank_state s);

}  // namespace gantry
