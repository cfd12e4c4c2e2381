#include "protocol/rpc_server.hpp"

#include <capnp/rpc-twoparty.h>

#include "protocol/connection_guard.hpp"

namespace gantry {

// One connection's RPC stack, destroyed in reverse order of the members: the RPC system,
// then the network, the message stream, the guard, and last the socket and its slot.
struct rpc_server::session {
  session(accepted_connection c, kj::Timer& timer, const connection_limits& limits,
          bool first_message_authenticates, capnp::Capability::Client bootstrap)
      : connection(kj::mv(c)),
        guard(limits, timer, connection.peer),
        messages(*connection.stream, guard, first_message_authenticates),
        network(messages, capnp::rpc::twoparty::Side::SERVER),
        rpc(capnp::makeRpcServer(network, kj::mv(bootstrap))) {}

  accepted_connection connection;
  connection_guard guard;
  guarded_message_stream messages;
  capnp::TwoPartyVatNetwork network;
  capnp::RpcSystem<capnp::rpc::twoparty::VatId> rpc;
};

rpc_server::rpc_server(capnp::Capability::Client bootstrap, kj::Timer& timer,
                       connection_limits limits, bool first_message_authenticates)
    : bootstrap_(kj::mv(bootstrap)),
      timer_(timer),
      limits_(limits),
      first_message_authenticates_(first_message_authenticates) {}

kj::Promise<void> rpc_server::serve(accepted_connection connection) {
  auto s = kj::heap<session>(kj::mv(connection), timer_, limits_, first_message_authenticates_,
                             bootstrap_);
  session& ref = *s;
  auto expired = ref.guard.expired().then([this, &ref] {
    closes_.warn("closing the connection from " + ref.guard.peer() + ": " + ref.guard.why(),
                 now_ms());
  });
  auto ended = ref.network.onDisconnect().then([this, &ref] {
    if (!ref.messages.refusal().empty())
      closes_.warn("closed the connection from " + ref.guard.peer() + ": " + ref.messages.refusal(),
                   now_ms());
  });
  return ended.exclusiveJoin(kj::mv(expired)).attach(kj::mv(s));
}

}  // namespace gantry
