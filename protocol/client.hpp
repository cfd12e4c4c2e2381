#pragma once
// Blocking client library over the Coordinator API, for the CLI, tests and scripts. Owns
// its own KJ event loop: use one client per thread. Every failure is a value; a
// coordinator that cannot be reached is errc::unavailable.
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/coordinator_api.hpp"
#include "core/records.hpp"
#include "core/result.hpp"
#include "protocol/job_filter.hpp"

namespace gantry {

// Checks that `address` has the form HOST:PORT (HOST a name, an IPv4 address, [IPv6] or, to
// listen on every interface, *; PORT 1 to 65535, or 0 with allow_any_port);
// errc::invalid_argument names what was expected.
result<void> check_host_port(std::string_view address, bool allow_any_port = false);

// What a client presents (protocol/dial.hpp): a token of `kind` over TLS trusting `ca_file`,
// or nothing with insecure (a coordinator started with --insecure).
struct client_credentials {
  credential_kind kind = credential_kind::user;
  std::string token;      // the token text (gty_...)
  std::string ca_file;    // the cluster's CA certificate (DATA/tls/ca.crt)
  std::string ca_source;  // where ca_file came from, for messages ("--ca", "$GANTRY_CA")
  bool insecure = false;
};

// A task's credentials, from its environment: GANTRY_TASK_TOKEN and GANTRY_CA; with neither
// set, none (a coordinator started with --insecure).
client_credentials task_credentials_from_env();

class client {
 public:
  // Connects (TLS, then the credential) and checks the protocol version. A malformed address
  // is errc::invalid_argument; a host that does not resolve, or a coordinator that does not
  // answer, errc::unavailable; a coordinator whose certificate the CA did not sign, or that
  // does not name the host dialled, errc::failed_precondition; a refused credential
  // errc::unauthenticated or errc::permission_denied, in the coordinator's words.
  static result<std::unique_ptr<client>> connect(const std::string& address,
                                                 const client_credentials& creds,
                                                 uint32_t timeout_ms = 5000);
  ~client();

  const std::string& address() const;
  result<submit_reply> submit(const std::string& manifest_text, const std::string& source_name,
                              bool allow_unschedulable = false);
  // Several manifests over this one connection, up to 64 calls in flight (each acknowledged
  // when stored, like submit): one answer per manifest, in order. A dropped connection fails
  // the whole batch (errc::unavailable), as it fails a single submit.
  struct manifest_input {
    std::string text;
    std::string source_name;
  };
  result<std::vector<result<submit_reply>>> submit_many(
      const std::vector<manifest_input>& manifests, bool allow_unschedulable = false);
  // The jobs `filter` selects, oldest first.
  result<std::vector<job_summary>> list_jobs(const job_filter& filter = {});
  result<job_record> describe(const std::string& job_id);
  result<std::vector<node_status>> list_nodes();
  result<void> cancel(const std::string& job_id);
  // Calls on_event for every event with seq >= from_seq, in order, until the job reaches a
  // terminal state; returns that state. A dropped connection is errc::unavailable (the
  // caller may reconnect and resume from the last seq + 1). With timeout_ms above 0, a job
  // still not ended after that long is errc::timeout.
  result<job_state> watch(const std::string& job_id, uint64_t from_seq,
                          const std::function<void(const job_event&)>& on_event,
                          uint32_t timeout_ms = 0);
  // One rank's output from `offset`; `attempt` -1 is the rank's current (or last) attempt.
  result<log_chunk> read_logs(const std::string& job_id, const std::string& stage, int32_t rank,
                              uint64_t offset, uint32_t max_bytes, int32_t attempt = -1);
  result<node_status> wait_node(const std::string& name, const std::string& state,
                                uint32_t timeout_ms);
  result<void> set_node_state(const std::string& name, node_action action);
  // Admin only: revokes the node's credential and forgets it.
  result<void> remove_node(const std::string& name);
  // Admin only. The new token's text (shown once).
  result<std::string> create_token(const std::string& user, const std::string& role,
                                   int64_t ttl_ms);
  result<std::vector<token_info>> list_tokens();
  result<void> revoke_token(const std::string& id);
  // Admin only.
  result<void> set_queue(const queue_change& change);
  result<void> delete_queue(const std::string& name);
  result<std::vector<queue_info>> list_queues();
  // The connection's user and role, as the coordinator sees them.
  result<caller> whoami();
  // The coordinator's word for who this connection is ("alice (user)", "node gpu-01").
  const std::string& identity_text() const;
  // With a task credential (GANTRY_TASK_TOKEN) only.
  result<void> rendezvous_put(const rendezvous_scope& scope, const std::string& key,
                              const std::string& value);
  // Waits up to timeout_ms for the key; errc::timeout when nobody put it in time.
  result<std::string> rendezvous_get(const rendezvous_scope& scope, const std::string& key,
                                     uint32_t timeout_ms);
  // Waits for `ms` on this client's event loop (lets the CLI pause between log polls).
  void pause(uint32_t ms);

 private:
  struct impl;
  explicit client(std::unique_ptr<impl> p);
  std::unique_ptr<impl> impl_;
};

}  // namespace gantry
