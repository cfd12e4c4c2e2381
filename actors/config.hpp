#pragma once
// Coordinator tunables and their defaults: the one place they are defined. `gantry
// coordinator` turns each field into a flag whose default is the value here (its --help shows
// them); tests set fields directly.
#include <cstdint>
#include <memory>

#include "core/manifest.hpp"

namespace gantry {

struct rpc_pulse;            // actors/liveness.hpp
struct coordinator_metrics;  // core/metrics.hpp
class task_credentials;      // core/ports.hpp

struct coordinator_config {
  // The heartbeat interval given to workers grows with the cluster so that the coordinator
  // receives at most this many heartbeats a second (up to 3,000 nodes: 150 ms / 750 ms;
  // 5,000 nodes: 250 ms / 1 s).
  static constexpr uint32_t kMaxHeartbeatsPerSecond = 20000;
  // Workers heartbeat this often; a node that sends nothing (heartbeats, reports) for
  // heartbeat_timeout_ms is lost. When its heartbeats have been arriving late (a starved
  // machine), the silence it may keep stretches with that lateness, up to
  // heartbeat_timeout_max_ms (actors/liveness.hpp). A worker process that dies is noticed
  // sooner, through its connection.
  uint32_t heartbeat_interval_ms = 150;
  uint32_t heartbeat_timeout_ms = 750;
  uint32_t heartbeat_timeout_max_ms = 6000;
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
  // Largest manifest a submit may carry, as text and as expanded through its YAML aliases (at
  // most kMaxManifestBytesCeiling).
  uint64_t max_manifest_bytes = kDefaultMaxManifestBytes;
  // Writes to the store are refused while its file system has less free than this
  // (storage/kv_store.hpp, open_rocksdb); they resume once there is room.
  uint64_t min_free_disk_bytes = 64 << 20;
  // Refuse workers that cannot isolate tasks (they report isolation "none").
  bool require_isolation = false;
  // Bounded history (docs/operations.md): finished jobs (succeeded, failed, cancelled) are
  // forgotten, record and events, once they finished longer than retain_finished_ms ago or
  // when more than retain_max_jobs have finished, oldest-finished first; 0 turns either off.
  int64_t retain_finished_ms = 7 * 24 * 3'600'000LL;
  uint64_t retain_max_jobs = 100000;
  // Sweeps run this often and forget at most retain_sweep_jobs jobs each (one store write);
  // a sweep that hit its limit is followed at once by the next.
  uint32_t retain_sweep_interval_ms = 1000;
  uint32_t retain_sweep_jobs = 1000;
  // The space of forgotten jobs is reclaimed (RocksDB compaction of their keys, on a thread
  // of its own) at most this often.
  uint32_t retain_compact_interval_ms = 10000;
  // Stamped by the coordinator's RPC loop; null in tests (then never stale).
  std::shared_ptr<rpc_pulse> pulse;
  // Issues each launch's GANTRY_TASK_TOKEN; null: launches carry none (--insecure, tests).
  std::shared_ptr<task_credentials> task_tokens;
  // What the coordinator's parts count for /metrics; null: nothing is counted (tests).
  std::shared_ptr<coordinator_metrics> metrics;
};

}  // namespace gantry
