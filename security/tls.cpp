#include "security/tls.hpp"

#include <kj/debug.h>
#include <kj/vector.h>

#include "security/pki.hpp"
#include "security/secure_files.hpp"
#include "security/server_names.hpp"

namespace gantry::security {
namespace {

kj::StringPtr kj_text(const std::string& s) {
  return kj::StringPtr(s.c_str(), s.size());
}

std::string description(const kj::Exception& e) {
  return std::string(e.getDescription().cStr());
}

bool contains(const std::string& text, std::string_view part) {
  return text.find(part) != std::string::npos;
}

// kj-tls signals a bad key, certificate or OpenSSL failure by throwing; this turns it into an
// error value.
template <class F>
result<void> catching(const char* what, F&& f) {
  kj::Maybe<kj::Exception> thrown = kj::runCatchingExceptions(std::forward<F>(f));
  KJ_IF_MAYBE (e, thrown) {
    return fail(errc::invalid_argument, std::string(what) + ": " + description(*e));
  }
  return {};
}

}  // namespace

result<tls_server> tls_server::create(std::string_view cert_pem, std::string_view key_pem,
                                      kj::Timer* timer, kj::Duration handshake_timeout) {
  if (auto ok = check_key_matches(cert_pem, key_pem); !ok) {
    return fail(errc::invalid_argument, "TLS server credentials: " + ok.error().message);
  }
  std::string cert(cert_pem), key(key_pem);
  std::unique_ptr<kj::TlsContext> context;
  auto ok = catching("TLS server credentials", [&] {
    kj::TlsKeypair keypair{kj::TlsPrivateKey(kj_text(key)), kj::TlsCertificate(kj_text(cert))};
    kj::TlsContext::Options options;
    options.useSystemTrustStore = false;
    options.minVersion = kj::TlsVersion::TLS_1_2;
    options.defaultKeypair = keypair;
    if (timer != nullptr) {
      options.timer = *timer;
      options.acceptTimeout = handshake_timeout;
    }
    context = std::make_unique<kj::TlsContext>(kj::mv(options));
  });
  if (!ok) return fail(ok.error());
  return tls_server(std::move(context));
}

kj::Promise<kj::Own<kj::AsyncIoStream>> tls_server::wrap(kj::Own<kj::AsyncIoStream> stream) {
  return context_->wrapServer(kj::mv(stream));
}

kj::Own<kj::ConnectionReceiver> tls_server::wrap_port(kj::Own<kj::ConnectionReceiver> port) {
  return context_->wrapPort(kj::mv(port));
}

result<tls_client> tls_client::create(std::string_view ca_pem) {
  auto certs = split_certs(ca_pem);
  if (!certs) return fail(errc::invalid_argument, "CA certificates: " + certs.error().message);
  std::unique_ptr<kj::TlsContext> context;
  auto ok = catching("CA certificates", [&] {
    kj::Vector<kj::TlsCertificate> trusted;
    for (const auto& pem : *certs) trusted.add(kj_text(pem));
    kj::TlsContext::Options options;
    options.useSystemTrustStore = false;
    options.minVersion = kj::TlsVersion::TLS_1_2;
    options.trustedCertificates = trusted.asPtr();
    context = std::make_unique<kj::TlsContext>(kj::mv(options));
  });
  if (!ok) return fail(ok.error());
  return tls_client(std::move(context));
}

result<tls_client> tls_client::from_ca_file(const std::filesystem::path& ca_file) {
  auto pem = read_public_file(ca_file);
  if (!pem) return fail(pem.error());
  auto client = create(*pem);
  if (!client) return fail(client.error().code, ca_file.string() + ": " + client.error().message);
  return client;
}

kj::Promise<kj::Own<kj::AsyncIoStream>> tls_client::wrap(kj::Own<kj::AsyncIoStream> stream,
                                                         std::string_view server_name) {
  auto name = canonical_server_name(server_name);
  if (!name) {
    return KJ_EXCEPTION(FAILED, "TLS: cannot check the server's certificate",
                        name.error().message.c_str());
  }
  return context_->wrapClient(kj::mv(stream), kj_text(*name));
}

error describe_tls_failure(const kj::Exception& e, std::string_view server_name,
                           std::string_view ca_source) {
  std::string why = description(e);
  std::string host(server_name);
  std::string ca(ca_source);
  auto refused = [](std::string m) { return error{errc::failed_precondition, std::move(m)}; };
  if (contains(why, "hostname mismatch")) {
    return refused("the certificate of the server at " + host + " does not name '" + host +
                   "': connect with one of the names the coordinator was started for, or add "
                   "--advertise " +
                   host + " to the coordinator");
  }
  if (contains(why, "unable to get local issuer certificate") ||
      contains(why, "certificate signature failure") || contains(why, "self-signed certificate") ||
      contains(why, "self signed certificate") ||
      contains(why, "unable to verify the first certificate")) {
    return refused("the server at " + host + " presented a certificate that " + ca +
                   " did not sign: it is not this cluster's coordinator, or " + ca +
                   " is another cluster's CA (use the coordinator's DATA/tls/ca.crt)");
  }
  if (contains(why, "certificate has expired") || contains(why, "certificate is not yet valid")) {
    return refused("the certificate of the server at " + host + " is outside its validity (" + why +
                   "): check this machine's clock, or restart the coordinator to reissue "
                   "it");
  }
  if (contains(why, "wrong version number") || contains(why, "packet length too long") ||
      contains(why, "unknown protocol") || contains(why, "record layer failure")) {
    return refused("the server at " + host +
                   " does not speak TLS (a gantry started with --insecure, or another service)");
  }
  if (e.getType() == kj::Exception::Type::DISCONNECTED) {
    return error{errc::unavailable,
                 "the connection to " + host + " closed during the TLS handshake: " + why};
  }
  return refused("TLS handshake with " + host + " failed: " + why);
}

}  // namespace gantry::security
