#pragma once
// TLS for gantry's connections through kj-tls (Cap'n Proto 0.9.2, OpenSSL 3): TLS 1.2 at
// least (1.3 between gantry peers); the server presents the coordinator's certificate, the
// client trusts only the CA it is given (never the system's trust store) and checks that the
// certificate names the host it dialled. Both wrap an already connected kj::AsyncIoStream, so
// the same code serves TCP, Unix sockets and in-process pipes.
//
// A handshake that fails breaks the returned promise with a kj::Exception;
// describe_tls_failure() turns it into a message for people. Objects here belong to the
// thread of the KJ event loop that uses them.
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include <kj/async-io.h>
#include <kj/compat/tls.h>
#include <kj/time.h>
#include <kj/timer.h>

#include "core/result.hpp"

namespace gantry::security {

class tls_server {
 public:
  // From the PEM texts of server.crt and server.key (security/credential_files.hpp). With a
  // timer, a peer that has not completed its handshake within `handshake_timeout` is dropped.
  static result<tls_server> create(std::string_view cert_pem, std::string_view key_pem,
                                   kj::Timer* timer = nullptr,
                                   kj::Duration handshake_timeout = 10 * kj::SECONDS);

  // Handshakes as the server on `stream`; resolves to the encrypted stream.
  kj::Promise<kj::Own<kj::AsyncIoStream>> wrap(kj::Own<kj::AsyncIoStream> stream);

  // Every connection accepted from `port` handshakes before accept() yields it.
  // REQUIRES: this tls_server outlives the returned receiver.
  kj::Own<kj::ConnectionReceiver> wrap_port(kj::Own<kj::ConnectionReceiver> port);

 private:
  explicit tls_server(std::unique_ptr<kj::TlsContext> context) : context_(std::move(context)) {}
  std::unique_ptr<kj::TlsContext> context_;
};

class tls_client {
 public:
  // Trusts exactly the CA certificates in `ca_pem` (one, or a bundle).
  static result<tls_client> create(std::string_view ca_pem);
  // The same from a file (--ca, GANTRY_CA); errors name the file.
  static result<tls_client> from_ca_file(const std::filesystem::path& ca_file);

  // Handshakes as the client on `stream` and checks the server's certificate: signed by a
  // trusted CA, valid now, naming `server_name` (the host as dialled: a DNS name or an IP
  // literal, normalised by canonical_server_name()). An empty or invalid name breaks the
  // promise without a handshake.
  kj::Promise<kj::Own<kj::AsyncIoStream>> wrap(kj::Own<kj::AsyncIoStream> stream,
                                               std::string_view server_name);

 private:
  explicit tls_client(std::unique_ptr<kj::TlsContext> context) : context_(std::move(context)) {}
  std::unique_ptr<kj::TlsContext> context_;
};

// A failed client handshake in words a user can act on, for a connection to `server_name`
// whose certificate was checked against `ca_source` (a file name, or "the CA given"). The
// message says what was wrong and what to try. errc::failed_precondition when the peer is
// not who the client was told to expect (a certificate from another CA, not naming
// `server_name`, expired) or does not speak TLS; errc::unavailable when the connection broke.
error describe_tls_failure(const kj::Exception& e, std::string_view server_name,
                           std::string_view ca_source);

}  // namespace gantry::security
