#include <doctest/doctest.h>

#include <kj/timer.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "fixtures.hpp"
#include "security/pki.hpp"

using namespace gantry;
using namespace gantry::security;
using namespace gantry::security::testing;

namespace {

// Sends `text` from one end and reads it at the other: the streams carry data.
void check_carries(kj::WaitScope& ws, kj::AsyncIoStream& from, kj::AsyncIoStream& to,
                   const std::string& text) {
  from.write(text.data(), text.size()).wait(ws);
  std::string got(text.size(), '\0');
  to.read(got.data(), got.size()).wait(ws);
  CHECK(got == text);
}

// A server certificate whose subjectAltName is exactly `alt_names` (OpenSSL's config syntax),
// made with OpenSSL directly: issue_server_cert() always writes IPs as DNS names too.
key_and_cert issue_with_alt_names(const key_and_cert& ca, const char* alt_names) {
  BIO* ca_cert_bio = BIO_new_mem_buf(ca.cert_pem.data(), static_cast<int>(ca.cert_pem.size()));
  BIO* ca_key_bio = BIO_new_mem_buf(ca.key_pem.data(), static_cast<int>(ca.key_pem.size()));
  X509* ca_cert = PEM_read_bio_X509(ca_cert_bio, nullptr, nullptr, nullptr);
  EVP_PKEY* ca_key = PEM_read_bio_PrivateKey(ca_key_bio, nullptr, nullptr, nullptr);
  EVP_PKEY* key = EVP_EC_gen("P-256");
  X509* cert = X509_new();
  REQUIRE((ca_cert && ca_key && key && cert));
  X509_set_version(cert, X509_VERSION_3);
  ASN1_INTEGER_set(X509_get_serialNumber(cert), 7);
  X509_gmtime_adj(X509_getm_notBefore(cert), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert), 3600);
  X509_set_pubkey(cert, key);
  X509_set_issuer_name(cert, X509_get_subject_name(ca_cert));
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, ca_cert, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, NID_subject_alt_name, alt_names);
  REQUIRE(ext != nullptr);
  X509_add_ext(cert, ext, -1);
  REQUIRE(X509_sign(cert, ca_key, EVP_sha256()) > 0);
  BIO* key_out = BIO_new(BIO_s_mem());
  BIO* cert_out = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(key_out, key, nullptr, nullptr, 0, nullptr, nullptr);
  PEM_write_bio_X509(cert_out, cert);
  auto text = [](BIO* b) {
    char* data = nullptr;
    long n = BIO_get_mem_data(b, &data);
    return std::string(data, static_cast<size_t>(n));
  };
  key_and_cert out{text(key_out), text(cert_out)};
  for (BIO* b : {ca_cert_bio, ca_key_bio, key_out, cert_out}) BIO_free(b);
  X509_EXTENSION_free(ext);
  X509_free(cert);
  X509_free(ca_cert);
  EVP_PKEY_free(key);
  EVP_PKEY_free(ca_key);
  return out;
}

}  // namespace

TEST_CASE("a client trusting the coordinator's CA connects by hostname, localhost and IP") {
  auto io = kj::setupAsyncIo();
  temp_dir dir;
  auto c = make_credentials(dir.path(), default_names({"::1"}));
  auto server = server_for(c);
  auto client = client_trusting(c.ca_cert_pem);
  // 127.0.0.1 and ::1 pass only because IP literals are also DNS SANs (kj-tls checks the
  // name as a DNS name); "0:0::1" and "[::1]" are normalised by the client before the check.
  for (std::string name : {local_hostname(), std::string("localhost"), std::string("LOCALHOST"),
                           std::string("127.0.0.1"), std::string("::1"), std::string("0:0::1"),
                           std::string("[::1]")}) {
    CAPTURE(name);
    auto r = handshake(io.waitScope, server, client, name);
    REQUIRE_MESSAGE(r.client_error == nullptr, message_of(r.client_error));
    check_carries(io.waitScope, *r.client, *r.server, "hello from the client");
    check_carries(io.waitScope, *r.server, *r.client, "hello from the coordinator");
  }
}

TEST_CASE("an IP in the certificate only as an IP SAN does not pass kj-tls's name check") {
  // Why every IP is also written as a DNS SAN: kj-tls checks the dialled name as a DNS name.
  auto io = kj::setupAsyncIo();
  int64_t now = now_ms();
  auto ca = create_ca(now, 10);
  REQUIRE(ca.has_value());
  auto ip_only = issue_with_alt_names(*ca, "DNS:localhost,IP:127.0.0.1");
  auto both = issue_server_cert(*ca, {"127.0.0.1", "localhost"}, now, 10);
  REQUIRE(both.has_value());
  auto client = client_trusting(ca->cert_pem);

  auto info = inspect_cert(ip_only.cert_pem);
  REQUIRE(info.has_value());
  CHECK(info->ip_names == std::vector<std::string>{"127.0.0.1"});
  CHECK(info->dns_names == std::vector<std::string>{"localhost"});
  auto ip_only_server = tls_server::create(ip_only.cert_pem, ip_only.key_pem);
  REQUIRE(ip_only_server.has_value());
  CHECK(handshake(io.waitScope, *ip_only_server, client, "localhost").client_error == nullptr);
  auto refused = handshake(io.waitScope, *ip_only_server, client, "127.0.0.1");
  CHECK(contains(message_of(refused.client_error), "hostname mismatch"));

  auto both_server = tls_server::create(both->cert_pem, both->key_pem);
  REQUIRE(both_server.has_value());
  CHECK(handshake(io.waitScope, *both_server, client, "127.0.0.1").client_error == nullptr);
}

TEST_CASE("a spoofed coordinator (another data dir's credentials) is refused") {
  auto io = kj::setupAsyncIo();
  temp_dir real_dir, spoof_dir;
  auto names = default_names();
  auto real = make_credentials(real_dir.path(), names);
  auto spoof = make_credentials(spoof_dir.path(), names);  // same names, another CA
  auto spoof_server = server_for(spoof);
  auto client = client_trusting(real.ca_cert_pem);
  for (std::string name : {std::string("127.0.0.1"), std::string("localhost")}) {
    auto r = handshake(io.waitScope, spoof_server, client, name);
    REQUIRE(r.client_error != nullptr);
    CHECK(r.client.get() == nullptr);
    std::string why = message_of(r.client_error);
    CHECK(contains(why, "certificate is not trusted"));
    KJ_IF_MAYBE (e, r.client_error) {
      auto described = describe_tls_failure(*e, name, real.paths.ca_cert.string());
      CHECK(described.code == errc::failed_precondition);
      CHECK(described.message ==
            "the server at " + name + " presented a certificate that " +
                real.paths.ca_cert.string() +
                " did not sign: it is not this cluster's "
                "coordinator, or " +
                real.paths.ca_cert.string() +
                " is another cluster's CA (use the coordinator's DATA/tls/ca.crt)");
    }
  }
  // The real coordinator passes with the same client.
  auto real_server = server_for(real);
  CHECK(handshake(io.waitScope, real_server, client, "127.0.0.1").client_error == nullptr);
}

TEST_CASE("a name the certificate does not carry is refused, and the message says what to do") {
  auto io = kj::setupAsyncIo();
  temp_dir dir;
  auto c = make_credentials(dir.path(), default_names());
  auto server = server_for(c);
  auto client = client_trusting(c.ca_cert_pem);
  for (std::string name : {"10.0.0.99", "other.example", "::1"}) {
    CAPTURE(name);
    auto r = handshake(io.waitScope, server, client, name);
    REQUIRE(r.client_error != nullptr);
    CHECK(contains(message_of(r.client_error), "hostname mismatch"));
    KJ_IF_MAYBE (e, r.client_error) {
      auto described = describe_tls_failure(*e, name, "ca.crt");
      CHECK(described.code == errc::failed_precondition);
      CHECK(contains(described.message, "does not name '" + name + "'"));
      CHECK(contains(described.message, "--advertise " + name));
    }
  }
}

TEST_CASE("an empty or invalid server name is refused before any handshake") {
  auto io = kj::setupAsyncIo();
  temp_dir dir;
  auto c = make_credentials(dir.path(), default_names());
  auto server = server_for(c);
  auto client = client_trusting(c.ca_cert_pem);
  for (std::string name : {"", "two words"}) {
    auto r = handshake(io.waitScope, server, client, name);
    REQUIRE(r.client_error != nullptr);
    CHECK(contains(message_of(r.client_error), "cannot check the server's certificate"));
  }
}

TEST_CASE("a client may trust a bundle of CAs, one that holds only another CA is refused") {
  auto io = kj::setupAsyncIo();
  temp_dir a_dir, b_dir;
  auto a = make_credentials(a_dir.path(), default_names());
  auto b = make_credentials(b_dir.path(), default_names());
  auto server = server_for(a);
  auto both = client_trusting(b.ca_cert_pem + a.ca_cert_pem);
  CHECK(handshake(io.waitScope, server, both, "localhost").client_error == nullptr);
  auto only_b = client_trusting(b.ca_cert_pem);
  CHECK(handshake(io.waitScope, server, only_b, "localhost").client_error != nullptr);
}

TEST_CASE("a server that does not speak TLS is named as such") {
  auto io = kj::setupAsyncIo();
  temp_dir dir;
  auto c = make_credentials(dir.path(), default_names());
  auto client = client_trusting(c.ca_cert_pem);
  auto pipe = kj::newTwoWayPipe();
  std::string banner = "SSH-2.0-OpenSSH_9.2\r\nProtocol mismatch.\r\n";
  auto plain = pipe.ends[0]->write(banner.data(), banner.size()).eagerlyEvaluate(nullptr);
  auto e = kj::runCatchingExceptions(
      [&] { client.wrap(kj::mv(pipe.ends[1]), "localhost").wait(io.waitScope); });
  REQUIRE(e != nullptr);
  KJ_IF_MAYBE (ex, e) {
    auto described = describe_tls_failure(*ex, "localhost", "ca.crt");
    CHECK(described.message ==
          "the server at localhost does not speak TLS (a gantry started with --insecure, or "
          "another service)");
  }
}

TEST_CASE("a peer that never completes its handshake is dropped after the timeout") {
  auto io = kj::setupAsyncIo();
  temp_dir dir;
  auto c = make_credentials(dir.path(), default_names());
  kj::TimerImpl timer(kj::origin<kj::TimePoint>());
  auto server = tls_server::create(c.server_cert_pem, c.server_key_pem, &timer, 5 * kj::SECONDS);
  REQUIRE(server.has_value());
  auto pipe = kj::newTwoWayPipe();  // ends[1] stays silent
  auto accepted = server->wrap(kj::mv(pipe.ends[0]));
  CHECK_FALSE(accepted.poll(io.waitScope));
  timer.advanceTo(timer.now() + 4 * kj::SECONDS);
  CHECK_FALSE(accepted.poll(io.waitScope));
  timer.advanceTo(timer.now() + 2 * kj::SECONDS);
  REQUIRE(accepted.poll(io.waitScope));
  auto e = kj::runCatchingExceptions([&] { accepted.wait(io.waitScope); });
  CHECK(e != nullptr);
}

TEST_CASE("TLS over a real loopback socket: wrap_port accepts, the client dials 127.0.0.1") {
  auto io = kj::setupAsyncIo();
  temp_dir dir;
  auto c = make_credentials(dir.path(), default_names());
  auto server = server_for(c);
  auto client = client_trusting(c.ca_cert_pem);
  auto& network = io.provider->getNetwork();
  auto listener =
      server.wrap_port(network.parseAddress("127.0.0.1", 0).wait(io.waitScope)->listen());
  auto accepted = listener->accept().eagerlyEvaluate(nullptr);
  auto address = network.parseAddress("127.0.0.1", listener->getPort()).wait(io.waitScope);
  auto stream = client.wrap(address->connect().wait(io.waitScope), "127.0.0.1").wait(io.waitScope);
  auto server_stream = accepted.wait(io.waitScope);
  check_carries(io.waitScope, *stream, *server_stream, "over loopback");
}

TEST_CASE("credentials that do not fit together are errors, not exceptions") {
  temp_dir a_dir, b_dir;
  auto a = make_credentials(a_dir.path(), default_names());
  auto b = make_credentials(b_dir.path(), default_names());
  auto mixed = tls_server::create(a.server_cert_pem, b.server_key_pem);
  REQUIRE_FALSE(mixed.has_value());
  CHECK(mixed.error().message ==
        "TLS server credentials: the private key does not belong to the certificate");
  CHECK_FALSE(tls_client::create("not a certificate").has_value());
  auto missing = tls_client::from_ca_file(a_dir / "no-such-ca.crt");
  REQUIRE_FALSE(missing.has_value());
  CHECK(missing.error().code == errc::not_found);
  auto from_file = tls_client::from_ca_file(a.paths.ca_cert);
  CHECK(from_file.has_value());
}
