#pragma once
// The dialling end of a two-party Cap'n Proto connection (as capnp::TwoPartyClient) that
// accepts messages of at most max_message_bytes from its peer: a client or a worker never
// allocates more than that for whatever the other end announces.
#include <capnp/rpc-twoparty.h>
#include <kj/async-io.h>

#include <cstdint>

namespace gantry {

class rpc_client {
 public:
  rpc_client(kj::AsyncIoStream& stream, uint64_t max_message_bytes)
      : network_(stream, capnp::rpc::twoparty::Side::CLIENT, options(max_message_bytes)),
        rpc_(capnp::makeRpcClient(network_)) {}

  // The peer's bootstrap capability.
  capnp::Capability::Client bootstrap() {
    capnp::word scratch[4] = {};
    capnp::MallocMessageBuilder message(scratch);
    auto vat = message.getRoot<capnp::rpc::twoparty::VatId>();
    vat.setSide(capnp::rpc::twoparty::Side::SERVER);
    return rpc_.bootstrap(vat);
  }
  kj::Promise<void> onDisconnect() { return network_.onDisconnect(); }

 private:
  static capnp::ReaderOptions options(uint64_t max_message_bytes) {
    capnp::ReaderOptions o;
    o.traversalLimitInWords = max_message_bytes / sizeof(capnp::word);
    return o;
  }
  capnp::TwoPartyVatNetwork network_;
  capnp::RpcSystem<capnp::rpc::twoparty::VatId> rpc_;
};

}  // namespace gantry
