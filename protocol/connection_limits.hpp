#pragma once
// What the coordinator grants a connection, and the defaults of the flags that set it
// (`gantry coordinator --help`, docs/security.md "Hostile input"). Plain values: the
// mechanisms are protocol/listener.hpp (accepting, counting) and protocol/connection_guard.hpp
// (message sizes, deadlines).
#include <cstdint>

namespace gantry {

struct connection_limits {
  // Open connections in total (--max-connections). 0 = derived from RLIMIT_NOFILE: the soft
  // limit minus kReservedFds, so the store and the logs never run out of descriptors.
  uint32_t max_connections = 0;
  // Open connections from one IP address (--max-connections-per-peer).
  uint32_t max_connections_per_peer = 256;
  // A connection must authenticate within this long, or it is closed (--auth-timeout-ms;
  // REQUIRES: above 0).
  uint32_t auth_timeout_ms = 5000;
  // A connection that neither received nor sent a whole message this long is closed
  // (--idle-timeout-ms; 0 = never). The client library sends a keepalive every
  // kKeepaliveMs while it waits, so only abandoned or hostile connections go idle.
  uint32_t idle_timeout_ms = 300000;
  // Largest Cap'n Proto message accepted after authentication (--max-message-bytes); it
  // also bounds how much reading one message may traverse (capnp's traversal limit).
  uint64_t max_message_bytes = 8 << 20;
  // Largest message accepted before authentication.
  uint64_t pre_auth_message_bytes = 64 << 10;

  // Descriptors kept out of the connection budget when max_connections is 0: RocksDB keeps
  // at most 128 files open (storage/rocksdb_store.cpp), the rest is logs, pipes, threads.
  static constexpr uint32_t kReservedFds = 256;
  // How often a waiting client proves it is alive (protocol/client.cpp).
  static constexpr uint32_t kKeepaliveMs = 60000;
};

// Messages a client accepts from the coordinator: job lists of 100,000+ jobs fit.
inline constexpr uint64_t kClientMaxMessageBytes = 64 << 20;
// Messages a worker accepts from the coordinator (launches, log requests).
inline constexpr uint64_t kWorkerMaxMessageBytes = 16 << 20;

}  // namespace gantry
