#pragma once
// Serves a Cap'n Proto bootstrap capability on admitted connections (protocol/listener.hpp),
// each under its connection_guard: message size limits before and after authentication,
// the authentication deadline and the idle timeout. Closing a connection for any of these is
// logged (at most one line per 10 s; the rest are counted).
#include <capnp/capability.h>
#include <kj/timer.h>

#include "protocol/connection_limits.hpp"
#include "protocol/listener.hpp"
#include "protocol/log_limiter.hpp"

namespace gantry {

class rpc_server {
 public:
  // With first_message_authenticates, a connection counts as authenticated once its first
  // whole message (a client's Bootstrap) has arrived within the limits: the coordinator's
  // rule until token authentication exists (docs/security.md).
  rpc_server(capnp::Capability::Client bootstrap, kj::Timer& timer, connection_limits limits,
             bool first_message_authenticates);

  // Serves one connection until the peer disconnects or its guard closes it.
  kj::Promise<void> serve(accepted_connection connection);

 private:
  struct session;
  capnp::Capability::Client bootstrap_;
  kj::Timer& timer_;
  connection_limits limits_;
  bool first_message_authenticates_;
  log_limiter closes_;
};

}  // namespace gantry
