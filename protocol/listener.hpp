#pragma once
// Accepting connections: a listening socket whose accept loop survives running out of file
// descriptors (EMFILE, ENFILE: it logs once per burst, backs off and keeps accepting), and the
// count of open connections in total and per peer address that admits or refuses each new
// one. What runs on an admitted connection is the caller's (protocol/rpc_server.hpp).
#include <kj/async-io.h>
#include <kj/timer.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "core/result.hpp"
#include "protocol/connection_limits.hpp"
#include "protocol/log_limiter.hpp"

namespace gantry {

// Open connections, in total and per peer address. Single-threaded (the KJ thread).
class connection_counter {
 public:
  connection_counter(uint32_t max_total, uint32_t max_per_peer)
      : max_total_(max_total), max_per_peer_(max_per_peer) {}
  connection_counter(const connection_counter&) = delete;
  connection_counter& operator=(const connection_counter&) = delete;

  // One admitted connection's place in the count, given back on destruction.
  // REQUIRES: destroyed before its counter.
  class slot {
   public:
    slot(connection_counter& c, std::string peer);
    ~slot();
    slot(const slot&) = delete;
    slot& operator=(const slot&) = delete;

   private:
    connection_counter& counter_;
    std::string peer_;
  };

  // A slot for a connection from `peer`, or nullptr with `why` saying which limit is full.
  std::unique_ptr<slot> admit(const std::string& peer, std::string& why);
  size_t open() const { return open_; }
  size_t open_from(const std::string& peer) const;
  uint32_t max_total() const { return max_total_; }
  uint32_t max_per_peer() const { return max_per_peer_; }

 private:
  uint32_t max_total_;
  uint32_t max_per_peer_;
  size_t open_ = 0;
  std::map<std::string, size_t> per_peer_;
};

// limits.max_connections, or when it is 0 the soft RLIMIT_NOFILE minus kReservedFds (at
// least 16).
uint32_t effective_max_connections(const connection_limits& limits);
// Raises the soft RLIMIT_NOFILE to the hard one; returns the soft limit now in force.
uint64_t raise_fd_limit();

// The peer's IP address ("10.0.0.5", "::1"; IPv4-mapped IPv6 as IPv4), or "local" for a
// stream that is not an IP socket.
std::string peer_address(kj::AsyncIoStream& stream);

struct accepted_connection {
  kj::Own<kj::AsyncIoStream> stream;
  std::string peer;
  std::unique_ptr<connection_counter::slot> slot;
};

class listener {
 public:
  // Listens on `address` (HOST:PORT, port 0 = any free port). Blocks on io's wait scope to
  // resolve the host: call it before the loop serves anything. Errors name the address.
  static result<std::unique_ptr<listener>> open(kj::AsyncIoContext& io, const std::string& address,
                                                const connection_limits& limits);
  // Over an already listening receiver (tests).
  listener(kj::Own<kj::ConnectionReceiver> receiver, kj::Timer& timer,
           const connection_limits& limits);
  ~listener();

  uint16_t port();
  const connection_counter& counter() const { return counter_; }

  // Accepts until the returned promise is dropped; it never resolves. Each admitted
  // connection goes to `serve`, whose promise owns it until it resolves (its errors are
  // logged at debug level); a connection over a limit is closed at once. A failed accept is
  // retried after a backoff of 10 ms doubling to 1 s.
  kj::Promise<void> run(std::function<kj::Promise<void>(accepted_connection)> serve);

  // How many accepts failed since the listener started (tests).
  uint64_t failed_accepts() const { return failed_accepts_; }

 private:
  class error_logger;
  kj::Promise<void> accept_next();
  kj::Promise<void> accept_failed(kj::Exception&& e);

  kj::Own<kj::ConnectionReceiver> receiver_;
  kj::Timer& timer_;
  connection_counter counter_;
  std::function<kj::Promise<void>(accepted_connection)> serve_;
  log_limiter refusals_;
  // The current burst of failed accepts: how many, since when, the next backoff.
  uint64_t burst_failures_ = 0;
  int64_t burst_started_ms_ = 0;
  uint32_t backoff_ms_ = 0;
  uint64_t failed_accepts_ = 0;
  kj::Own<error_logger> errors_;
  kj::Own<kj::TaskSet> connections_;  // declared last: destroyed first, before the counter
};

}  // namespace gantry
