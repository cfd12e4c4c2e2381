#pragma once
// The coordinator's side of every connection: accept, TLS handshake, the hello frame
// (protocol/auth_frame.hpp) checked by the backend, the answer, and only then Cap'n Proto
// with a bootstrap capability bound to what the credential is:
//
//   user or admin token   Coordinator   (protocol/coordinator_service.hpp), for that caller
//   join token            Join          (protocol/worker_services.hpp)
//   (--insecure: no TLS, the credential is not checked; every caller is admin)
//   node credential       WorkerGate    (registerWorker for its own node name only)
//   task credential       Rendezvous    (its own gang attempt's scope only)
//
// A peer that does not finish the handshake and the hello within the hello timeout is
// dropped. Each step is one small function, so limits on connections (per peer, in total)
// and on what a peer may send before it is authenticated have one place to go.
#include <cstdint>
#include <map>
#include <memory>

#include <capnp/capability.h>
#include <kj/async-io.h>

#include "core/coordinator_api.hpp"
#include "protocol/kj_bridge.hpp"
#include "security/tls.hpp"

namespace gantry {

struct listener_options {
  // Null: --insecure. Plain TCP, and every connection is admin (and any node, any task).
  security::tls_server* tls = nullptr;
  kj::Duration hello_timeout = 10 * kj::SECONDS;  // TLS handshake and hello frame together
};

class secure_listener {
 public:
  // REQUIRES: constructed on the KJ thread that `mailbox` and `timer` belong to; `backend`,
  // `timer` and options.tls outlive this object.
  secure_listener(coordinator_backend& backend, std::shared_ptr<kj_mailbox> mailbox,
                  kj::Timer& timer, listener_options options);
  ~secure_listener();

  // Accepts connections until `port` fails.
  kj::Promise<void> listen(kj::ConnectionReceiver& port);
  // Serves one connection that is already open (tests hand it one end of a socket pair).
  void accept(kj::Own<kj::AsyncIoStream> stream);
  // The same, for an accept loop that owns its connections (protocol/listener.hpp's
  // listener::run): resolves when the connection has ended, refused or served.
  kj::Promise<void> serve_connection(kj::Own<kj::AsyncIoStream> stream);

  // Connections that finished the hello and speak Cap'n Proto now.
  size_t open_connections() const { return connections_.size(); }

 private:
  struct connection;
  class guard;
  kj::Promise<void> accept_loop(kj::ConnectionReceiver& port);
  kj::Promise<void> handle(uint64_t id, kj::Own<kj::AsyncIoStream> raw);
  kj::Promise<kj::Own<kj::AsyncIoStream>> handshake(kj::Own<kj::AsyncIoStream> raw);
  kj::Promise<result<identity>> authenticate(kj::AsyncIoStream& stream,
                                             std::shared_ptr<guard> guard);
  kj::Promise<void> answer(kj::AsyncIoStream& stream, const result<identity>& who);
  kj::Promise<void> serve(uint64_t id, kj::Own<kj::AsyncIoStream> stream, const identity& who);
  capnp::Capability::Client bootstrap_for(const identity& who);
  // On the KJ thread: closes connection `id` if it is still open (its credential was revoked).
  void close(uint64_t id);

  coordinator_backend& backend_;
  std::shared_ptr<kj_mailbox> mailbox_;
  kj::Timer& timer_;
  listener_options options_;
  uint64_t next_id_ = 1;
  std::map<uint64_t, kj::Own<connection>> connections_;
  std::map<uint64_t, std::shared_ptr<guard>> guards_;  // until the connection ends
  // Marks this listener gone for guards that outlive it (their close() posts become no-ops).
  std::shared_ptr<secure_listener*> self_;
  struct error_handler : kj::TaskSet::ErrorHandler {
    void taskFailed(kj::Exception&& e) override;
  } error_handler_;
  kj::TaskSet tasks_{error_handler_};
};

}  // namespace gantry
