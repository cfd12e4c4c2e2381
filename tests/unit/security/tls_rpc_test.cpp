#include <capnp/rpc-twoparty.h>
#include <doctest/doctest.h>

#include "fixtures.hpp"
#include "security_test/echo.capnp.h"

using namespace gantry;
using namespace gantry::security;
using namespace gantry::security::testing;

namespace {

class echo_impl final : public Echo::Server {
 protected:
  kj::Promise<void> echo(EchoContext context) override {
    context.getResults().setText(context.getParams().getText());
    return kj::READY_NOW;
  }
};

// Passes everything through to `inner` and keeps a copy of what was written: the bytes on
// the wire.
class tap_stream final : public kj::AsyncIoStream {
 public:
  tap_stream(kj::Own<kj::AsyncIoStream> inner, std::string& wire)
      : inner_(kj::mv(inner)), wire_(wire) {}
  kj::Promise<size_t> tryRead(void* buffer, size_t min_bytes, size_t max_bytes) override {
    return inner_->tryRead(buffer, min_bytes, max_bytes);
  }
  kj::Promise<void> write(const void* buffer, size_t size) override {
    wire_.append(static_cast<const char*>(buffer), size);
    return inner_->write(buffer, size);
  }
  kj::Promise<void> write(kj::ArrayPtr<const kj::ArrayPtr<const kj::byte>> pieces) override {
    for (auto piece : pieces) wire_.append(piece.asChars().begin(), piece.size());
    return inner_->write(pieces);
  }
  kj::Promise<void> whenWriteDisconnected() override { return inner_->whenWriteDisconnected(); }
  void shutdownWrite() override { inner_->shutdownWrite(); }

 private:
  kj::Own<kj::AsyncIoStream> inner_;
  std::string& wire_;
};

}  // namespace

TEST_CASE("Cap'n Proto RPC over the TLS stream: calls work and the wire shows no plaintext") {
  auto io = kj::setupAsyncIo();
  temp_dir dir;
  auto c = make_credentials(dir.path(), default_names());
  auto server = server_for(c);
  auto client = client_trusting(c.ca_cert_pem);

  std::string wire;
  auto pipe = kj::newTwoWayPipe();
  auto server_side = server.wrap(kj::mv(pipe.ends[0])).eagerlyEvaluate(nullptr);
  auto client_stream =
      client.wrap(kj::heap<tap_stream>(kj::mv(pipe.ends[1]), wire), "127.0.0.1").wait(io.waitScope);
  auto server_stream = server_side.wait(io.waitScope);

  capnp::TwoPartyClient server_end(*server_stream, kj::heap<echo_impl>(),
                                   capnp::rpc::twoparty::Side::SERVER);
  capnp::TwoPartyClient client_end(*client_stream);
  auto echo = client_end.bootstrap().castAs<Echo>();

  const std::string secret = "GANTRY_RENDEZVOUS nccl-id 0123456789abcdef";
  for (int i = 0; i < 3; ++i) {
    auto request = echo.echoRequest();
    std::string text = secret + " #" + std::to_string(i);
    request.setText(text);
    auto response = request.send().wait(io.waitScope);
    CHECK(std::string(response.getText().cStr()) == text);
  }
  CHECK(wire.size() > 3 * secret.size());
  CHECK(wire.find("GANTRY_RENDEZVOUS") == std::string::npos);
  CHECK(wire.find("0123456789abcdef") == std::string::npos);
}
