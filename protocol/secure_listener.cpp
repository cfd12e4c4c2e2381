#include "protocol/secure_listener.hpp"

#include <capnp/rpc-twoparty.h>
#include <kj/debug.h>

#include "core/log.hpp"
#include "protocol/auth_frame.hpp"
#include "protocol/connection_guard.hpp"
#include "protocol/coordinator_service.hpp"
#include "protocol/gantry.capnp.h"
#include "protocol/worker_services.hpp"

namespace gantry {

// One admitted connection, from its accept to its end. Members are destroyed in reverse
// order: the RPC system, the network, the message stream, the (TLS) stream, the guard, and
// last the slot in the listener's count.
struct secure_listener::connection {
  connection(secure_listener& owner, uint64_t id, accepted_connection& accepted,
             const connection_limits& limits, kj::Timer& timer)
      : self(owner.self_),
        id(id),
        slot(std::move(accepted.slot)),
        guard(limits, timer, accepted.peer) {
    owner.connections_[id] = this;
  }
  ~connection() {
    if (*self != nullptr) (*self)->connections_.erase(id);
  }
  std::shared_ptr<secure_listener*> self;
  uint64_t id;
  std::unique_ptr<connection_counter::slot> slot;
  connection_guard guard;
  // Set once the hello is answered: Cap'n Proto over the (TLS) stream, under the guard.
  kj::Own<kj::AsyncIoStream> stream;
  kj::Own<guarded_message_stream> messages;
  kj::Own<capnp::TwoPartyVatNetwork> network;
  kj::Own<capnp::RpcSystem<capnp::rpc::twoparty::VatId>> rpc;
  kj::Own<kj::PromiseFulfiller<void>> closer;  // fulfilled to close it (revocation)
  bool revoked = false;                        // revoked before it spoke Cap'n Proto
};

// What the credential registry holds for an open connection: revoke() closes it, from any
// thread, by posting to the KJ thread.
class secure_listener::revoker final : public session_revoker {
 public:
  revoker(std::shared_ptr<kj_mailbox> mailbox, std::shared_ptr<secure_listener*> listener,
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

size_t secure_listener::open_connections() const {
  size_t n = 0;
  for (const auto& [id, c] : connections_) n += c->rpc ? 1 : 0;
  return n;
}

kj::Promise<void> secure_listener::serve(accepted_connection accepted) {
  using hello_done = std::pair<kj::Own<kj::AsyncIoStream>, result<identity>>;
  uint64_t id = next_id_++;
  auto conn = kj::heap<connection>(*this, id, accepted, options_.limits, timer_);
  connection& c = *conn;
  auto rev = std::make_shared<revoker>(mailbox_, self_, id);
  // The TLS handshake, the hello and its answer, all before the guard's auth deadline.
  auto hello =
      handshake(kj::mv(accepted.stream)).then([this, rev](kj::Own<kj::AsyncIoStream> stream) {
        auto& s = *stream;
        return authenticate(s, rev).then(
            [this, &s, stream = kj::mv(stream)](result<identity> who) mutable {
              return answer(s, who).then([stream = kj::mv(stream), who = kj::mv(who)]() mutable {
                return hello_done{kj::mv(stream), kj::mv(who)};
              });
            });
      });
  auto expired = c.guard.expired().then([&c]() -> hello_done {
    kj::throwFatalException(kj::Exception(kj::Exception::Type::DISCONNECTED, __FILE__, __LINE__,
                                          kj::str(c.guard.why())));
  });
  return hello.exclusiveJoin(kj::mv(expired))
      .then(
          [this, &c](hello_done done) -> kj::Promise<void> {
            if (!done.second) {  // refused: the answer said why; close
              refusals_.warn("refusing the connection from " + c.guard.peer() +
                                 " before authentication: " + to_string(done.second.error().code) +
                                 ": " + done.second.error().message,
                             now_ms());
              return kj::READY_NOW;
            }
            c.guard.authenticated();
            return speak_rpc(c, kj::mv(done.first), *done.second);
          },
          [this, &c](kj::Exception&& e) {
            refusals_.warn("refusing the connection from " + c.guard.peer() +
                               " before authentication: " + e.getDescription().cStr(),
                           now_ms());
          })
      .attach(kj::mv(conn), kj::mv(rev));
}

kj::Promise<kj::Own<kj::AsyncIoStream>> secure_listener::handshake(kj::Own<kj::AsyncIoStream> raw) {
  if (options_.tls == nullptr) return kj::mv(raw);
  return options_.tls->wrap(kj::mv(raw));
}

kj::Promise<result<identity>> secure_listener::authenticate(kj::AsyncIoStream& stream,
                                                            std::shared_ptr<revoker> g) {
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

kj::Promise<void> secure_listener::speak_rpc(connection& c, kj::Own<kj::AsyncIoStream> stream,
                                             const identity& who) {
  c.stream = kj::mv(stream);
  c.messages = kj::heap<guarded_message_stream>(*c.stream, c.guard,
                                                /*first_message_authenticates=*/false);
  c.network = kj::heap<capnp::TwoPartyVatNetwork>(*c.messages, capnp::rpc::twoparty::Side::SERVER);
  c.rpc = kj::heap<capnp::RpcSystem<capnp::rpc::twoparty::VatId>>(
      capnp::makeRpcServer(*c.network, bootstrap_for(who)));
  auto paf = kj::newPromiseAndFulfiller<void>();
  c.closer = kj::mv(paf.fulfiller);
  if (c.revoked) c.closer->fulfill();
  auto expired = c.guard.expired().then([this, &c] {
    closes_.warn("closing the connection from " + c.guard.peer() + ": " + c.guard.why(), now_ms());
  });
  auto ended = c.network->onDisconnect().then([this, &c] {
    if (!c.messages->refusal().empty())
      closes_.warn("closed the connection from " + c.guard.peer() + ": " + c.messages->refusal(),
                   now_ms());
  });
  return ended.exclusiveJoin(kj::mv(expired)).exclusiveJoin(kj::mv(paf.promise));
}

void secure_listener::close(uint64_t id) {
  auto it = connections_.find(id);
  if (it == connections_.end()) return;
  connection& c = *it->second;
  if (c.closer) {
    if (c.closer->isWaiting()) c.closer->fulfill();
  } else {
    c.revoked = true;
  }
}

}  // namespace gantry
