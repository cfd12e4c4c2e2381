#pragma once
// Coordinator tunables and their defaults: the one place they are defined. `gantry
// coordinator` turns each field into a flag whose default is the value here (its --help shows
// them); tests set fields directly.
#include <cstdint>
#include <memory>

namespace gantry {

struct rpc_pulse;  // actors/liveness.hpp

struct coordinator_config {
  // The heartbeat interval given to workers grows with the cluster so that the coordinator
  // receives at most this many heartbeats a second (up to 3,000 nodes: 150 ms / 750 ms;
  // 5,000 nodes: 250 ms / 1 s).
  static constexpr uint32_t kMaxHeartbeatsPerSecond = 20000;
  // Workers heartbeat this often; a node that misses heartbeats for heartbeat_timeout_ms
  // is lost. A worker process that dies is noticed sooner, through its connection.
  uint32_t heartbeat_interval_ms = 150;
  uint32_t heartbeat_timeout_ms = 750;
  // After a coordinator restart, how long known nodes have to reconnect before they are
  // declared lost (covers the workers' reconnect backoff).
  uint32_t reconnect_grace_ms = 5000;
  // SIGTERM -> SIGKILL grace when tasks are cancelled or their gang is stopped.
  uint32_t kill_grace_ms = 3000;
  // On drain: tasks get SIGUSR1 ("checkpoint now"), then this long before they move.
  uint32_t drain_grace_ms = 10000;
  // Backoff before the second restart of a job's task or gang; doubles up to 16x. The
  // first restart is immediate.
  uint32_t restart_backoff_ms = 500;
  // Refuse workers that cannot isolate tasks (they report isolation "none").
  bool require_isolation = false;
  // Stamped by the coordinator's RPC loop; null in tests (then never stale).
  std::shared_ptr<rpc_pulse> pulse;
};

}  // namespace gantry
