#include "protocol/secure_listener.hpp"

#include <capnp/rpc-twoparty.h>
#include <kj/debug.h>

#include "core/log.hpp"
#include "protocol/auth_frame.hpp"
#include "protocol/coordinator_service.hpp"
#include "protocol/gantry.capnp.h"
#include "protocol/worker_services.hpp"

namespace gantry {

// One connection past its hello: Cap'n Proto over the (TLS) stream.
struct secure_listener::connection {
  connection(kj::Own<kj::AsyncIoStream> s, capnp::Capability::Client bootstrap)
      : stream(kj::mv(s)),
        network(*stream, capnp::rpc::twoparty::Side::SERVER),
        rpc(capnp::makeRpcServer(network, kj::mv(bootstrap))) {}
  kj::Own<kj::AsyncIoStream> stream;
  capnp::TwoPartyVatNetwork network;
  capnp::RpcSystem<capnp::rpc::twoparty::VatId> rpc;
  kj::Own<kj::PromiseFulfiller<void>> closer;  // fulfilled to close it (revocation)
};

// What the credential registry holds for an open connection: revoke() closes it, from any
// thread, by posting to the KJ thread.
class secure_listener::guard final : public session_revoker {
 public:
  guard(std::shared_ptr<kj_mailbox> mailbox, std::shared_ptr<secure_listener*> listener,
        uint64_t id)
      : mailbox_(std::move(mailbox)), listener_(std::move(listener)), id_(id) {}
  void revoke(const std::string& why) override {
    mailbox_->post([listener = listener_, id = id_, why] {
      if (*listener == nullptr) return;
      log_info("closing connection " + std::to_string(id) + ": " + why);
      (*listener)->close(id);
    });
  }

 private:
  std::shared_ptr<kj_mailbox> mailbox_;
  std::shared_ptr<secure_listener*> listener_;
  uint64_t id_;
};

void secure_listener::error_handler::taskFailed(kj::Exception&& e) {
  log_debug(std::string("connection ended: ") + e.getDescription().cStr());
}

secure_listener::secure_listener(coordinator_backend& backend, std::shared_ptr<kj_mailbox> mailbox,
                                 kj::Timer& timer, listener_options options)
    : backend_(backend),
      mailbox_(std::move(mailbox)),
      timer_(timer),
      options_(options),
      self_(std::make_shared<secure_listener*>(this)) {}

secure_listener::~secure_listener() {
  *self_ = nullptr;
}

kj::Promise<void> secure_listener::listen(kj::ConnectionReceiver& port) {
  return accept_loop(port);
}

kj::Promise<void> secure_listener::accept_loop(kj::ConnectionReceiver& port) {
  return port.accept().then([this, &port](kj::Own<kj::AsyncIoStream> stream) {
    accept(kj::mv(stream));
    return accept_loop(port);
  });
}

void secure_listener::accept(kj::Own<kj::AsyncIoStream> stream) {
  tasks_.add(serve_connection(kj::mv(stream)));
}

kj::Promise<void> secure_listener::serve_connection(kj::Own<kj::AsyncIoStream> stream) {
  uint64_t id = next_id_++;
  return handle(id, kj::mv(stream));
}

kj::Promise<void> secure_listener::handle(uint64_t id, kj::Own<kj::AsyncIoStream> raw) {
  auto g = std::make_shared<guard>(mailbox_, self_, id);
  // The TLS handshake, the hello and its answer, all within the hello timeout.
  auto authenticated = handshake(kj::mv(raw)).then([this, g](kj::Own<kj::AsyncIoStream> stream) {
    auto& s = *stream;
    return authenticate(s, g).then([this, &s,
                                    stream = kj::mv(stream)](result<identity> who) mutable {
      return answer(s, who).then(
          [stream = kj::mv(stream),
           who = kj::mv(who)]() mutable -> std::pair<kj::Own<kj::AsyncIoStream>, result<identity>> {
            return {kj::mv(stream), kj::mv(who)};
          });
    });
  });
  auto expired = timer_.afterDelay(options_.hello_timeout)
                     .then([]() -> std::pair<kj::Own<kj::AsyncIoStream>, result<identity>> {
                       kj::throwFatalException(KJ_EXCEPTION(
                           DISCONNECTED, "no TLS handshake and hello within the hello timeout"));
                     });
  return authenticated.exclusiveJoin(kj::mv(expired))
      .then([this, id,
             g](std::pair<kj::Own<kj::AsyncIoStream>, result<identity>> done) -> kj::Promise<void> {
        if (!done.second) return kj::READY_NOW;  // refused: the answer said why; close
        guards_[id] = g;
        return serve(id, kj::mv(done.first), *done.second);
      });
}

kj::Promise<kj::Own<kj::AsyncIoStream>> secure_listener::handshake(kj::Own<kj::AsyncIoStream> raw) {
  if (options_.tls == nullptr) return kj::mv(raw);
  return options_.tls->wrap(kj::mv(raw));
}

kj::Promise<result<identity>> secure_listener::authenticate(kj::AsyncIoStream& stream,
                                                            std::shared_ptr<guard> g) {
  return read_hello(stream).then(
      [this, g](result<hello_frame> hello) -> kj::Promise<result<identity>> {
        if (!hello) return result<identity>(fail(hello.error()));
        if (hello->version != wire::PROTOCOL_VERSION) {
          return result<identity>(fail(errc::version_mismatch,
                                       "the client speaks protocol " +
                                           std::to_string(hello->version) + ", the coordinator " +
                                           std::to_string(wire::PROTOCOL_VERSION) +
                                           " (use the same gantry version on both sides)"));
        }
        auto b = to_promise<identity>();
        backend_.authenticate(hello->kind, std::move(hello->token), g, std::move(b.fn));
        return kj::mv(b.promise);
      });
}

kj::Promise<void> secure_listener::answer(kj::AsyncIoStream& stream, const result<identity>& who) {
  answer_frame a;
  a.version = wire::PROTOCOL_VERSION;
  if (who) {
    a.code = errc::ok;
    switch (who->kind) {
      case credential_kind::node:
        a.message = "node " + (who->node.empty() ? std::string("(any)") : who->node);
        break;
      case credential_kind::task:
        a.message = who->task ? "task of " + who->task->job + "/" + who->task->stage : "task";
        break;
      case credential_kind::join:
        a.message = "join";
        break;
      default:
        a.message = describe(who->who);
    }
  } else {
    a.code = who.error().code;
    a.message = who.error().message;
    log_info(std::string("connection refused: ") + to_string(a.code) + ": " + a.message);
  }
  return write_frame(stream, encode(a));
}

capnp::Capability::Client secure_listener::bootstrap_for(const identity& who) {
  switch (who.kind) {
    case credential_kind::join:
      return kj::heap<join_service>(backend_);
    case credential_kind::node:
      return kj::heap<worker_gate_service>(backend_, mailbox_, who.insecure ? "" : who.node);
    case credential_kind::task:
      return kj::heap<rendezvous_service>(backend_, who.insecure ? std::nullopt : who.task);
    case credential_kind::user:
    case credential_kind::none:
      break;
  }
  return kj::heap<coordinator_service>(backend_, mailbox_, who.who);
}

kj::Promise<void> secure_listener::serve(uint64_t id, kj::Own<kj::AsyncIoStream> stream,
                                         const identity& who) {
  auto conn = kj::heap<connection>(kj::mv(stream), bootstrap_for(who));
  auto paf = kj::newPromiseAndFulfiller<void>();
  conn->closer = kj::mv(paf.fulfiller);
  auto disconnected = conn->network.onDisconnect();
  connections_[id] = kj::mv(conn);
  return disconnected.exclusiveJoin(kj::mv(paf.promise)).then([this, id]() {
    connections_.erase(id);
    guards_.erase(id);
  });
}

void secure_listener::close(uint64_t id) {
  auto it = connections_.find(id);
  if (it == connections_.end()) return;
  it->second->closer->fulfill();
}

}  // namespace gantry
