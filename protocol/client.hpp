#pragma once
// Blocking client library over the Coordinator API, for the CLI, tests and scripts. Owns
// its own KJ event loop: use one client per thread. Every failure is a value; a
// coordinator that cannot be reached is errc::unavailable.
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/coordinator_api.hpp"
#include "core/records.hpp"
#include "core/result.hpp"

namespace gantry {

class client {
 public:
  // Connects and checks the protocol version.
  static result<std::unique_ptr<client>> connect(const std::string& address,
                                                 uint32_t timeout_ms = 5000);
  ~client();

  const std::string& address() const;
  result<submit_reply> submit(const std::string& manifest_text, const std::string& source_name);
  result<std::vector<job_summary>> list_jobs();
  result<job_record> describe(const std::string& job_id);
  result<std::vector<node_status>> list_nodes();
  result<void> cancel(const std::string& job_id);
  // Calls on_event for every event with seq >= from_seq, in order, until the job reaches a
  // terminal state; returns that state. A dropped connection is errc::unavailable (the
  // caller may reconnect and resume from the last seq + 1).
  result<job_state> watch(const std::string& job_id, uint64_t from_seq,
                          const std::function<void(const job_event&)>& on_event);
  result<log_chunk> read_logs(const std::string& job_id, const std::string& stage, int32_t rank,
                              uint64_t offset, uint32_t max_bytes);
  result<node_status> wait_node(const std::string& name, const std::string& state,
                                uint32_t timeout_ms);
  result<void> set_node_state(const std::string& name, node_action action);
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
