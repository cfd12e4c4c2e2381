#pragma once
// The coordinator API as its RPC adapter (protocol/) sees it. Implemented by
// actors/ (CAF); called from the RPC thread; callbacks may run on any thread.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/identity.hpp"
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
  std::string owner;  // the user who submitted it
  job_state state = job_state::pending;
  int32_t priority = 0;
  int32_t restarts = 0;
  int64_t submitted_ms = 0;
  int64_t finished_ms = 0;
  std::string reason;          // the job's own: why it failed, "cancel requested"
  std::string pending_reason;  // an unfinished job's first pending stage: "STAGE: why it waits"
  std::string queue;           // the queue it is admitted through
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
          .owner = job.owner,
          .state = job.state,
          .priority = job.spec.priority,
          .restarts = job.restarts,
          .submitted_ms = job.submitted_ms,
          .finished_ms = job.finished_ms,
          .reason = job.reason,
          .pending_reason = pending_reason(job),
          .queue = job.spec.queue};
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

// What `token list` shows of a credential (never the token or its hash).
struct token_info {
  std::string id;
  std::string user;
  std::string role;  // user, admin, node
  int64_t created_ms = 0;
  int64_t expires_ms = 0;  // 0: never
  std::string node;        // role node: the node it is bound to
};

// `token create`: a token for `user` with `role`, valid for ttl_ms (0: no expiry).
struct token_request {
  std::string user;
  caller_role role = caller_role::user;
  int64_t ttl_ms = 0;
};

// A queue's quota: CPU in millicores, memory in bytes, GPU share in milli-GPU; a limit's
// unlimited dimension is kQuotaUnlimited.
inline constexpr int64_t kQuotaUnlimited = -1;
struct queue_quota {
  int64_t cpu_milli = 0;
  int64_t memory_bytes = 0;
  int64_t gpu_milli = 0;
  friend bool operator==(const queue_quota&, const queue_quota&) = default;
};

// What `queue list` shows of one queue (docs/queues.md).
struct queue_info {
  std::string name;
  queue_quota guarantee, limit;
  double weight = 1;
  queue_quota usage;         // held by its running work
  queue_quota borrowed;      // of that, beyond its guarantee
  int32_t pending_jobs = 0;  // jobs with pending placement requests
  int32_t pending_requests = 0;
  int32_t running = 0;    // running placements
  int64_t preempted = 0;  // stop orders its work received since the coordinator started
};

// `queue create|update`: the fields to set. Quotas as `gpu=8,cpu=64,memory=512GiB`, or `none`
// (no guarantee, no limit). An update leaves what is not given as it is; a create gives it
// the defaults (no guarantee, no limit, weight 1).
struct queue_change {
  std::string name;
  bool create = false;  // else update: the queue must exist
  std::optional<std::string> guarantee, limit;
  std::optional<double> weight;
};

// Every method but authenticate is called for a connection already authenticated, with what
// it is bound to; the coordinator checks what that caller may do (docs/security.md): a user
// sees only its own jobs (others' are "not found", so existence does not leak), admin-only
// operations are errc::permission_denied.
class coordinator_backend {
 public:
  virtual ~coordinator_backend() = default;

  // Checks a credential presented at the start of a connection. errc::unauthenticated: the
  // token is malformed, unknown, revoked or expired; errc::permission_denied: a valid token of
  // another kind. On success `guard` is revoked (the connection closed) if the credential is
  // revoked later or, for a task credential, once its task ends.
  virtual void authenticate(credential_kind kind, std::string token,
                            std::shared_ptr<session_revoker> guard, callback<identity> done) = 0;

  // --- the client API (user and admin tokens) ---
  // Replies once the job is durably stored, or with the manifest's errors; unless
  // `allow_unschedulable`, also with an error per stage that no known node could ever host.
  // `who` owns the job.
  virtual void submit(caller who, std::string manifest, bool allow_unschedulable,
                      callback<submit_reply> done) = 0;
  // Every job for an admin; a user's own jobs for a user.
  virtual void list_jobs(caller who, callback<std::vector<job_summary>> done) = 0;
  virtual void describe_job(caller who, std::string job_id, callback<job_record> done) = 0;
  virtual void list_nodes(caller who, callback<std::vector<node_status>> done) = 0;
  virtual void cancel(caller who, std::string job_id, callback<void> done) = 0;
  // Sends events with seq >= from_seq to `sink` until the job ends or the sink closes.
  virtual void watch(caller who, std::string job_id, uint64_t from_seq,
                     std::shared_ptr<event_sink> sink, callback<watch_reply> done) = 0;
  // One rank's output; `attempt` -1 is its current (or last) attempt, an earlier one is read
  // from the worker that ran it.
  virtual void read_logs(caller who, std::string job_id, std::string stage, int32_t rank,
                         int32_t attempt, uint64_t offset, uint32_t max_bytes,
                         callback<log_chunk> done) = 0;
  virtual void wait_node(caller who, std::string name, node_state state, uint32_t timeout_ms,
                         callback<node_status> done) = 0;
  // Admin only.
  virtual void set_node_state(caller who, std::string name, node_action action,
                              callback<void> done) = 0;
  // Admin only: revokes the node's credential (closing its connection: its tasks are lost and
  // placed elsewhere) and frees its name: the node stays listed (lost), and a worker of that
  // name may join again with the join token.
  virtual void remove_node(caller who, std::string name, callback<void> done) = 0;
  // Admin only: a new token, its text handed out once.
  virtual void create_token(caller who, token_request request, callback<std::string> done) = 0;
  virtual void list_tokens(caller who, callback<std::vector<token_info>> done) = 0;
  // Admin only: effective at once; the token's open connections are closed.
  virtual void revoke_token(caller who, std::string id, callback<void> done) = 0;
  // Admin only: creates or updates a queue; durable before it answers.
  virtual void set_queue(caller who, queue_change change, callback<void> done) = 0;
  // Admin only: refused for `default` and for a queue that holds unfinished jobs.
  virtual void delete_queue(caller who, std::string name, callback<void> done) = 0;
  // Every queue, by name (any client).
  virtual void list_queues(caller who, callback<std::vector<queue_info>> done) = 0;

  // --- the join token: a new node's credential, bound to `node_name` ---
  // errc::already_exists when another credential holds that name (no takeover).
  virtual void join(std::string node_name, callback<std::string> done) = 0;

  // --- node credentials: the worker API ---
  // `node` is the name the connection's credential is bound to ("" with --insecure: any);
  // an inventory under another name is errc::permission_denied.
  virtual void register_worker(std::string node, node_inventory inventory,
                               std::vector<task_report> tasks, std::shared_ptr<task_agent> agent,
                               callback<worker_registration> done) = 0;

  // --- task credentials: the rendezvous of the task's own gang attempt ---
  // `task` is what the credential is bound to (nullopt with --insecure: any scope); another
  // job's, stage's or attempt's scope is errc::permission_denied.
  virtual void rendezvous_put(std::optional<task_ref> task, rendezvous_scope scope, std::string key,
                              std::string value, callback<void> done) = 0;
  // Waits up to timeout_ms for the key to be put; errc::timeout names key and scope.
  virtual void rendezvous_get(std::optional<task_ref> task, rendezvous_scope scope, std::string key,
                              uint32_t timeout_ms, callback<std::string> done) = 0;
};

}  // namespace gantry
