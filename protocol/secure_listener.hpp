#pragma once
// The coordinator's side of every admitted connection (protocol/listener.hpp counts and
// admits them): TLS handshake, the hello frame (protocol/auth_frame.hpp) checked by the
// backend, the answer, and only then Cap'n Proto with a bootstrap capability bound to what
// the credential is:
//
//   user or admin token   Coordinator   (protocol/coordinator_service.hpp), for that caller
//   join token            Join          (protocol/worker_services.hpp)
//   (--insecure: no TLS, the credential is not checked; every caller is admin)
//   node credential       WorkerGate    (registerWorker for its own node name only)
//   task credential       Rendezvous    (its own gang attempt's scope only)
//
// Each connection runs under a connection_guard (protocol/connection_guard.hpp). Until the
// hello is verified and answered the connection is unauthenticated: the handshake, the hello
// and the answer together must finish within limits.auth_timeout_ms, and the peer may send
// no more than one hello frame (kMaxFrameBytes) besides the handshake; any other bytes are
// refused without reaching the Cap'n Proto parser. After the answer the guard counts the
// connection as authenticated: Cap'n Proto runs over a guarded_message_stream, with messages
// of at most limits.max_message_bytes and the idle timeout. Refusals and closes are logged
// at most once per 10 s (the rest are counted).
#include <capnp/capability.h>
#include <kj/async-io.h>
#include <kj/timer.h>

#include <cstdint>
#include <map>
#include <memory>

#include "core/coordinator_api.hpp"
#include "protocol/connection_limits.hpp"
#include "protocol/kj_bridge.hpp"
#include "protocol/listener.hpp"
#include "protocol/log_limiter.hpp"
#include "security/tls.hpp"

namespace gantry {

struct listener_options {
  // Null: --insecure. Plain TCP, and every connection is admin (and any node, any task).
  security::tls_server* tls = nullptr;
  connection_limits limits;
};

class secure_listener {
 public:
  // REQUIRES: constructed on the KJ thread that `mailbox` and `timer` belong to; `backend`,
  // `timer` and options.tls outlive this object and every connection it serves.
  secure_listener(coordinator_backend& backend, std::shared_ptr<kj_mailbox> mailbox,
                  kj::Timer& timer, listener_options options);
  ~secure_listener();

  // Serves one admitted connection (listener::run's callback) until it ends: refused, timed
  // out, closed by the peer, idle, or revoked. The promise owns the connection (and its
  // slot in the listener's count).
  kj::Promise<void> serve(accepted_connection accepted);

  // Connections that finished the hello and speak Cap'n Proto now.
  size_t open_connections() const;

 private:
  struct connection;
  class revoker;
  kj::Promise<kj::Own<kj::AsyncIoStream>> handshake(kj::Own<kj::AsyncIoStream> raw);
  kj::Promise<result<identity>> authenticate(kj::AsyncIoStream& stream,
                                             std::shared_ptr<revoker> revoker);
  kj::Promise<void> answer(kj::AsyncIoStream& stream, const result<identity>& who);
  kj::Promise<void> speak_rpc(connection& c, kj::Own<kj::AsyncIoStream> stream,
                              const identity& who);
  capnp::Capability::Client bootstrap_for(const identity& who);
  // On the KJ thread: closes connection `id` if it is still open (its credential was revoked).
  void close(uint64_t id);

  coordinator_backend& backend_;
  std::shared_ptr<kj_mailbox> mailbox_;
  kj::Timer& timer_;
  listener_options options_;
  uint64_t next_id_ = 1;
  std::map<uint64_t, connection*> connections_;  // owned by their serve() promises
  // Marks this listener gone for revokers and connections that outlive it.
  std::shared_ptr<secure_listener*> self_;
  log_limiter refusals_;  // connections refused before authentication
  log_limiter closes_;    // authenticated connections closed for a limit
};

}  // namespace gantry
