#pragma once
// The client side of a connection to the coordinator, for the client library and the worker:
// TCP, TLS (trusting only the cluster's CA and checking that the certificate names the host
// dialled), then the hello frame with the credential (protocol/auth_frame.hpp). What comes
// back is a stream ready for Cap'n Proto, whose bootstrap capability is the one the credential
// kind gets.
#include <memory>
#include <string>

#include <kj/async-io.h>

#include "core/identity.hpp"
#include "core/result.hpp"
#include "security/tls.hpp"

namespace gantry {

struct dial_credentials {
  credential_kind kind = credential_kind::user;
  std::string token;  // gty_...; empty only when insecure
  // The TLS client context (one per process: creating one costs milliseconds); null with
  // --insecure: plain TCP and no credential.
  std::shared_ptr<security::tls_client> tls;
  std::string ca_source;  // where the CA came from, for messages ("--ca /path", "$GANTRY_CA")
  bool insecure() const { return tls == nullptr; }
};

struct dialed {
  kj::Own<kj::AsyncIoStream> stream;
  std::string identity;  // the coordinator's word for who we are ("alice (admin)")
};

// Connects to `address` (HOST:PORT) within `timeout`. Errors:
//   unavailable          cannot resolve or connect, or the connection broke;
//   failed_precondition  the peer is not this cluster's coordinator (its certificate), or
//                        does not speak TLS (describe_tls_failure's words);
//   unauthenticated, permission_denied, version_mismatch: the coordinator's refusal, in its
//                        words.
// REQUIRES: called on the KJ thread of `io`.
kj::Promise<result<dialed>> dial(kj::AsyncIoProvider& io, const std::string& address,
                                 const dial_credentials& creds, kj::Duration timeout);

// The host part of HOST:PORT without brackets ("[::1]:7070" -> "::1").
std::string host_of(const std::string& address);

}  // namespace gantry
