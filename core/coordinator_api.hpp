#pragma once
// The coordinator API as its RPC adapter (protocol/) sees it. Implemented by
// actors/ (CAF); called from the RPC thread; callbacks may run on any thread.
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/ports.hpp"
#include "core/records.hpp"
#include "core/rendezvous.hpp"

namespace gantry {

struct field_error {
  std::string path;
  std::string message;
};

struct submit_reply {
  std::string job_id;               // empty when rejected
  std::vector<field_error> errors;  // manifest errors, when rejected
};

struct job_summary {
  std::string id;
  std::string name;
  job_state state = job_state::pending;
  int32_t priority = 0;
  int32_t restarts = 0;
  int64_t submitted_ms = 0;
  int64_t finished_ms = 0;
  std::string reason;          // the job's own: why it failed, "cancel requested"
  std::string pending_reason;  // an unfinished job's first pending stage: "STAGE: why it waits"
};

struct node_status {
  node_inventory inventory;
  node_state state = node_state::unknown;
  int64_t allocated_cpu_milli = 0;
  int64_t allocated_memory_bytes = 0;
  std::vector<int32_t> gpu_allocated_milli;  // parallel to inventory.gpus
  uint32_t tasks = 0;
  int64_t last_seen_ms_ago = -1;
  std::string reason;
};

// An unfinished job's first pending stage that has a reason, as "STAGE: reason"; else "".
inline std::string pending_reason(const job_record& job) {
  if (is_terminal(job.state)) return "";
  for (const auto& st : job.stages)
    if (st.state == stage_state::pending && !st.reason.empty()) return st.name + ": " + st.reason;
  return "";
}

inline job_summary summarize(const job_record& job) {
  return {.id = job.id,
          .name = job.spec.name,
          .state = job.state,
          .priority = job.spec.priority,
          .restarts = job.restarts,
          .submitted_ms = job.submitted_ms,
          .finished_ms = job.finished_ms,
          .reason = job.reason,
          .pending_reason = pending_reason(job)};
}

// What a watch starts from: the job's state and newest event seq at subscription time.
// A client that asked for events past last_seq of a terminal job has nothing to wait for.
struct watch_reply {
  job_state state = job_state::pending;
  uint64_t last_seq = 0;
};

enum class node_action { cordon, uncordon, drain };

inline constexpr size_t kRendezvousMaxValue = 1 << 20;
inline constexpr size_t kRendezvousMaxKey = 256;
// The most one log read returns, whatever max_bytes asks for: a chunk travels from the
// worker through the coordinator in one message.
inline constexpr uint32_t kMaxLogChunk = 1 << 20;

struct worker_registration {
  std::shared_ptr<worker_session_port> session;
  uint32_t heartbeat_interval_ms = 0;
};

class coordinator_backend {
 public:
  virtual ~coordinator_backend() = default;
  // Replies once the job is durably stored, or with the manifest's errors; unless
  // `allow_unschedulable`, also with an error per stage that no known node could ever host.
  virtual void submit(std::string manifest, bool allow_unschedulable,
                      callback<submit_reply> done) = 0;
  virtual void list_jobs(callback<std::vector<job_summary>> done) = 0;
  virtual void describe_job(std::string job_id, callback<job_record> done) = 0;
  virtual void list_nodes(callback<std::vector<node_status>> done) = 0;
  virtual void cancel(std::string job_id, callback<void> done) = 0;
  // Sends events with seq >= from_seq to `sink` until the job ends or the sink closes.
  virtual void watch(std::string job_id, uint64_t from_seq, std::shared_ptr<event_sink> sink,
                     callback<watch_reply> done) = 0;
  // One rank's output; `attempt` -1 is its current (or last) attempt, an earlier one is read
  // from the worker that ran it.
  virtual void read_logs(std::string job_id, std::string stage, int32_t rank, int32_t attempt,
                         uint64_t offset, uint32_t max_bytes, callback<log_chunk> done) = 0;
  virtual void wait_node(std::string name, node_state state, uint32_t timeout_ms,
                         callback<node_status> done) = 0;
  virtual void set_node_state(std::string name, node_action action, callback<void> done) = 0;
  virtual void rendezvous_put(rendezvous_scope scope, std::string key, std::string value,
                              callback<void> done) = 0;
  // Waits up to timeout_ms for the key to be put; errc::timeout names key and scope.
  virtual void rendezvous_get(rendezvous_scope scope, std::string key, uint32_t timeout_ms,
                              callback<std::string> done) = 0;
  virtual void register_worker(node_inventory inventory, std::vector<task_report> tasks,
                               std::shared_ptr<task_agent> agent,
                               callback<worker_registration> done) = 0;
};

}  // namespace gantry
