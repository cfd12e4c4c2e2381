#pragma once
// The coordinator's small PKI over OpenSSL 3: a self-signed CA and server certificates it
// signs. Keys are ECDSA on P-256 (fast handshakes), written as unencrypted PKCS#8 PEM;
// certificates are X.509 v3 signed with SHA-256, valid from an hour before `now_ms` (clock
// skew between machines) for the given number of days.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"

namespace gantry::security {

struct key_and_cert {
  std::string key_pem;
  std::string cert_pem;
};

// A CA named "CN=gantry CA <8 hex>" (a random suffix, so two clusters' CAs are told apart):
// basicConstraints critical CA:TRUE, pathlen 0; keyUsage critical keyCertSign, cRLSign.
result<key_and_cert> create_ca(int64_t now_ms, int valid_days);

// A server certificate "CN=gantry coordinator" signed by `ca`, naming `names` (canonical, see
// security/server_names.hpp): each as a DNS SAN, IP literals also as an IP SAN. extendedKeyUsage
// serverAuth. REQUIRES: names is not empty.
result<key_and_cert> issue_server_cert(const key_and_cert& ca,
                                       const std::vector<std::string>& names, int64_t now_ms,
                                       int valid_days);

struct cert_info {
  std::string subject;  // one line, e.g. "CN=gantry CA 1a2b3c4d"
  std::string issuer;
  std::vector<std::string> dns_names;  // sorted
  std::vector<std::string> ip_names;   // canonical text, sorted
  int64_t not_before_ms = 0;
  int64_t not_after_ms = 0;
  bool is_ca = false;
  std::string fingerprint;  // "sha256:" + hex of the DER encoding, to compare by eye or in logs
};

// The first certificate in `pem`.
result<cert_info> inspect_cert(std::string_view pem);

// Each certificate block of a PEM bundle, alone; an error when there is none or a block is not
// one whole DER certificate. The certificates themselves are parsed by whoever uses them.
// (A client may trust several CAs, e.g. the old and the new one while rotating.)
result<std::vector<std::string>> split_certs(std::string_view pem);

// Ok when `cert_pem` chains to `ca_cert_pem` at time `now_ms` and may serve TLS (signature,
// validity dates, CA and key-usage extensions); the error says why not, in OpenSSL's words.
result<void> verify_server_cert(std::string_view cert_pem, std::string_view ca_cert_pem,
                                int64_t now_ms);

// Ok when `key_pem` is the private key of the certificate's public key.
result<void> check_key_matches(std::string_view cert_pem, std::string_view key_pem);

}  // namespace gantry::security
