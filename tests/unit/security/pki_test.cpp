#include <doctest/doctest.h>

#include "core/log.hpp"
#include "security/pki.hpp"

using namespace gantry;
using namespace gantry::security;

namespace {

constexpr int64_t kDay = 86'400'000;

key_and_cert must(result<key_and_cert> r) {
  REQUIRE_MESSAGE(r.has_value(), (r ? "" : r.error().message));
  return std::move(*r);
}

cert_info info_of(const std::string& pem) {
  auto i = inspect_cert(pem);
  REQUIRE_MESSAGE(i.has_value(), (i ? "" : i.error().message));
  return *i;
}

}  // namespace

TEST_CASE("a new CA: ECDSA P-256, a CA for 10 years from an hour ago, its own issuer") {
  int64_t now = now_ms();
  auto ca = must(create_ca(now, 3650));
  CHECK(ca.key_pem.starts_with("-----BEGIN PRIVATE KEY-----"));
  CHECK(ca.cert_pem.starts_with("-----BEGIN CERTIFICATE-----"));
  auto info = info_of(ca.cert_pem);
  CHECK(info.is_ca);
  CHECK(info.subject.starts_with("CN=gantry CA "));
  CHECK(info.issuer == info.subject);
  CHECK(info.not_before_ms <= now - 3600'000 + 1000);
  CHECK(info.not_after_ms / 1000 == (now + 3650 * kDay) / 1000);
  CHECK(info.fingerprint.starts_with("sha256:"));
  CHECK(check_key_matches(ca.cert_pem, ca.key_pem).has_value());
  CHECK(info_of(must(create_ca(now, 3650)).cert_pem).subject != info.subject);
}

TEST_CASE("a server certificate names each name as DNS, IP literals also as IP, and chains") {
  int64_t now = now_ms();
  auto ca = must(create_ca(now, 3650));
  std::vector<std::string> names{"10.0.0.5", "127.0.0.1", "::1", "head.example", "localhost"};
  auto server = must(issue_server_cert(ca, names, now, 730));
  auto info = info_of(server.cert_pem);
  CHECK_FALSE(info.is_ca);
  CHECK(info.subject == "CN=gantry coordinator");
  CHECK(info.issuer == info_of(ca.cert_pem).subject);
  CHECK(info.dns_names == names);
  CHECK(info.ip_names == std::vector<std::string>{"10.0.0.5", "127.0.0.1", "::1"});
  CHECK(info.not_after_ms / 1000 == (now + 730 * kDay) / 1000);
  CHECK(check_key_matches(server.cert_pem, server.key_pem).has_value());
  CHECK(verify_server_cert(server.cert_pem, ca.cert_pem, now).has_value());
}

TEST_CASE("verification refuses another CA, dates outside the validity, and a CA as server") {
  int64_t now = now_ms();
  auto ca = must(create_ca(now, 3650));
  auto other = must(create_ca(now, 3650));
  auto server = must(issue_server_cert(ca, {"localhost"}, now, 730));

  auto spoofed = verify_server_cert(server.cert_pem, other.cert_pem, now);
  REQUIRE_FALSE(spoofed.has_value());
  CHECK(spoofed.error().message == "unable to get local issuer certificate");

  auto late = verify_server_cert(server.cert_pem, ca.cert_pem, now + 731 * kDay);
  REQUIRE_FALSE(late.has_value());
  CHECK(late.error().message == "certificate has expired");
  auto early = verify_server_cert(server.cert_pem, ca.cert_pem, now - 2 * 3600'000);
  REQUIRE_FALSE(early.has_value());
  CHECK(early.error().message == "certificate is not yet valid");

  // A certificate signed by the other CA's key but claiming our CA's name still fails.
  auto forged = must(issue_server_cert({other.key_pem, ca.cert_pem}, {"localhost"}, now, 730));
  auto forged_check = verify_server_cert(forged.cert_pem, ca.cert_pem, now);
  REQUIRE_FALSE(forged_check.has_value());
  CHECK(forged_check.error().message == "certificate signature failure");
}

TEST_CASE("a key that is not the certificate's, or not a key at all, is named as such") {
  int64_t now = now_ms();
  auto ca = must(create_ca(now, 3650));
  auto a = must(issue_server_cert(ca, {"localhost"}, now, 730));
  auto b = must(issue_server_cert(ca, {"localhost"}, now, 730));
  auto mismatch = check_key_matches(a.cert_pem, b.key_pem);
  REQUIRE_FALSE(mismatch.has_value());
  CHECK(mismatch.error().code == errc::failed_precondition);
  CHECK(mismatch.error().message == "the private key does not belong to the certificate");
  auto garbage = check_key_matches(a.cert_pem, "-----BEGIN PRIVATE KEY-----\nAAAA\n");
  REQUIRE_FALSE(garbage.has_value());
  CHECK(garbage.error().code == errc::invalid_argument);
  CHECK(garbage.error().message.starts_with("not an unencrypted PEM private key"));
  CHECK_FALSE(inspect_cert("hello").has_value());
  CHECK_FALSE(issue_server_cert(ca, {}, now, 730).has_value());
}

TEST_CASE("a PEM bundle splits into its certificates") {
  int64_t now = now_ms();
  auto a = must(create_ca(now, 10));
  auto b = must(create_ca(now, 10));
  auto both = split_certs(a.cert_pem + "\n# comment between\n" + b.cert_pem);
  REQUIRE(both.has_value());
  REQUIRE(both->size() == 2);
  CHECK((*both)[0] == a.cert_pem);
  CHECK((*both)[1] == b.cert_pem);
  CHECK_FALSE(split_certs("").has_value());
  CHECK_FALSE(split_certs("no pem here").has_value());
  std::string cut = a.cert_pem.substr(0, a.cert_pem.size() / 2) + "\n-----END CERTIFICATE-----\n";
  CHECK_FALSE(split_certs(cut).has_value());
  CHECK_FALSE(split_certs(a.cert_pem.substr(0, a.cert_pem.rfind("-----END"))).has_value());
  // Valid base64 of another DER length: one line of the body dropped.
  std::string short_body = a.cert_pem;
  size_t line = short_body.find('\n', short_body.find('\n') + 1);
  short_body.erase(line + 1, 65);
  CHECK_FALSE(split_certs(short_body).has_value());
}
