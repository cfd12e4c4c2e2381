#include "protocol/dial.hpp"

#include <kj/debug.h>

#include "protocol/auth_frame.hpp"
#include "protocol/gantry.capnp.h"

namespace gantry {
namespace {

std::string what(const kj::Exception& e) {
  return e.getDescription().cStr();
}

// Sends the hello frame and reads the coordinator's answer.
kj::Promise<result<dialed>> present(kj::Own<kj::AsyncIoStream> stream,
                                    const dial_credentials& creds, std::string address) {
  auto& s = *stream;
  auto written =
      write_frame(s, encode(hello_frame{wire::PROTOCOL_VERSION, creds.kind, creds.token}));
  bool insecure = creds.insecure();
  return written.then([&s]() { return read_answer(s); })
      .then([stream = kj::mv(stream), address,
             insecure](result<answer_frame> a) mutable -> result<dialed> {
        if (!a) {
          if (a.error().code == errc::unavailable && insecure)
            return fail(errc::unavailable,
                        "the coordinator at " + address +
                            " closed the connection before answering: it expects TLS unless it "
                            "was started with --insecure (drop --insecure here)");
          return fail(a.error().code, "the coordinator at " + address +
                                          " did not answer the hello: " + a.error().message);
        }
        if (a->code != errc::ok) return fail(a->code, a->message);
        return dialed{kj::mv(stream), a->message};
      });
}

}  // namespace

std::string host_of(const std::string& address) {
  std::string host = address.substr(0, address.rfind(':'));
  if (host.size() >= 2 && host.front() == '[') host = host.substr(1, host.size() - 2);
  return host;
}

kj::Promise<result<dialed>> dial(kj::AsyncIoProvider& io, const std::string& address,
                                 const dial_credentials& creds, kj::Duration timeout) {
  std::string host = host_of(address);
  auto tls = creds.tls;
  std::string ca = creds.ca_source.empty() ? "the CA given" : creds.ca_source;
  auto connected =
      io.getNetwork()
          .parseAddress(address)
          .then(
              [](kj::Own<kj::NetworkAddress> addr) { return addr->connect().attach(kj::mv(addr)); })
          .then(
              [](kj::Own<kj::AsyncIoStream> s) -> kj::Promise<result<kj::Own<kj::AsyncIoStream>>> {
                return result<kj::Own<kj::AsyncIoStream>>(kj::mv(s));
              },
              [address](kj::Exception&& e) -> kj::Promise<result<kj::Own<kj::AsyncIoStream>>> {
                return result<kj::Own<kj::AsyncIoStream>>(
                    fail(errc::unavailable,
                         "cannot reach the coordinator at " + address + ": " + what(e)));
              });
  auto secured = connected.then([tls, host, ca](result<kj::Own<kj::AsyncIoStream>> s)
                                    -> kj::Promise<result<kj::Own<kj::AsyncIoStream>>> {
    if (!s || !tls) return kj::mv(s);
    return tls->wrap(kj::mv(*s), host)
        .then(
            [](kj::Own<kj::AsyncIoStream> t) -> result<kj::Own<kj::AsyncIoStream>> {
              return kj::mv(t);
            },
            [host, ca](kj::Exception&& e) -> result<kj::Own<kj::AsyncIoStream>> {
              return fail(security::describe_tls_failure(e, host, ca));
            })
        .attach(kj::mv(tls));
  });
  auto presented =
      secured
          .then([creds,
                 address](result<kj::Own<kj::AsyncIoStream>> s) -> kj::Promise<result<dialed>> {
            if (!s) return result<dialed>(fail(s.error()));
            return present(kj::mv(*s), creds, address);
          })
          .catch_([address](kj::Exception&& e) -> result<dialed> {
            return fail(errc::unavailable,
                        "the connection to the coordinator at " + address + " broke: " + what(e));
          });
  auto expired = io.getTimer().afterDelay(timeout).then([address]() -> result<dialed> {
    return fail(errc::unavailable, "cannot reach the coordinator at " + address +
                                       ": no answer within the connect timeout");
  });
  return presented.exclusiveJoin(kj::mv(expired));
}

}  // namespace gantry
