#include "security/pki.hpp"

#include <arpa/inet.h>
#include <openssl/bn.h>
#include <openssl/buffer.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <algorithm>
#include <ctime>

#include "security/crypto.hpp"
#include "security/openssl_error.hpp"
#include "security/server_names.hpp"

namespace gantry::security {
namespace {

constexpr int64_t backdate_seconds = 3600;

std::unexpected<error> openssl_failure(const std::string& what) {
  return fail(errc::internal, what + ": " + openssl_error());
}

bio_ptr memory_bio(std::string_view text) {
  return bio_ptr(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
}

std::string bio_text(BIO* bio) {
  BUF_MEM* mem = nullptr;
  BIO_get_mem_ptr(bio, &mem);
  return mem ? std::string(mem->data, mem->length) : std::string();
}

// Never prompts on a terminal for a passphrase: an encrypted key simply fails to load.
int no_passphrase(char*, int, int, void*) {
  return 0;
}

result<x509_ptr> read_cert(std::string_view pem) {
  auto bio = memory_bio(pem);
  x509_ptr cert(PEM_read_bio_X509(bio.get(), nullptr, no_passphrase, nullptr));
  if (!cert) {
    return fail(errc::invalid_argument, "not a PEM certificate: " + openssl_error());
  }
  return cert;
}

result<pkey_ptr> read_key(std::string_view pem) {
  auto bio = memory_bio(pem);
  pkey_ptr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, no_passphrase, nullptr));
  if (!key) {
    return fail(errc::invalid_argument, "not an unencrypted PEM private key: " + openssl_error());
  }
  return key;
}

std::string key_pem(EVP_PKEY* key) {
  bio_ptr bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr);
  return bio_text(bio.get());
}

std::string cert_pem(X509* cert) {
  bio_ptr bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_X509(bio.get(), cert);
  return bio_text(bio.get());
}

int64_t to_ms(const ASN1_TIME* t) {
  std::tm tm{};
  if (ASN1_TIME_to_tm(t, &tm) != 1) return 0;
  return static_cast<int64_t>(timegm(&tm)) * 1000;
}

std::string name_text(const X509_NAME* name) {
  bio_ptr bio(BIO_new(BIO_s_mem()));
  X509_NAME_print_ex(bio.get(), name, 0, XN_FLAG_RFC2253);
  return bio_text(bio.get());
}

bool add_extension(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  x509_ext_ptr ext(X509V3_EXT_conf_nid(nullptr, &ctx, nid, value));
  return ext && X509_add_ext(cert, ext.get(), -1) == 1;
}

bool add_general_name(GENERAL_NAMES* names, int type, ASN1_STRING* value) {
  GENERAL_NAME* name = GENERAL_NAME_new();
  if (!name || !value) {
    GENERAL_NAME_free(name);
    ASN1_STRING_free(value);
    return false;
  }
  GENERAL_NAME_set0_value(name, type, value);
  return sk_GENERAL_NAME_push(names, name) > 0;
}

bool add_subject_alt_names(X509* cert, const std::vector<std::string>& names) {
  general_names_ptr gens(sk_GENERAL_NAME_new_null());
  if (!gens) return false;
  for (const auto& n : names) {
    ASN1_IA5STRING* dns = ASN1_IA5STRING_new();
    if (dns && ASN1_STRING_set(dns, n.data(), static_cast<int>(n.size())) != 1) {
      ASN1_STRING_free(dns);
      return false;
    }
    if (!add_general_name(gens.get(), GEN_DNS, dns)) return false;
    if (canonical_ip(n) && !add_general_name(gens.get(), GEN_IPADD, a2i_IPADDRESS(n.c_str()))) {
      return false;
    }
  }
  return X509_add1_ext_i2d(cert, NID_subject_alt_name, gens.get(), 0, X509V3_ADD_DEFAULT) == 1;
}

// A certificate with everything but extensions and the signature: version 3, a random
// 159-bit serial, the subject CN, the validity window.
x509_ptr new_cert(EVP_PKEY* key, const std::string& common_name, int64_t now_ms, int days) {
  x509_ptr cert(X509_new());
  std::unique_ptr<BIGNUM, openssl_deleter<BN_free>> serial(BN_new());
  if (!cert || !serial || X509_set_version(cert.get(), X509_VERSION_3) != 1 ||
      BN_rand(serial.get(), 159, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) != 1 ||
      !BN_to_ASN1_INTEGER(serial.get(), X509_get_serialNumber(cert.get())) ||
      X509_set_pubkey(cert.get(), key) != 1) {
    return nullptr;
  }
  time_t now = static_cast<time_t>(now_ms / 1000);
  if (!X509_time_adj_ex(X509_getm_notBefore(cert.get()), 0, -backdate_seconds, &now) ||
      !X509_time_adj_ex(X509_getm_notAfter(cert.get()), days, 0, &now)) {
    return nullptr;
  }
  X509_NAME* subject = X509_get_subject_name(cert.get());
  if (X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_UTF8,
                                 reinterpret_cast<const unsigned char*>(common_name.c_str()), -1,
                                 -1, 0) != 1) {
    return nullptr;
  }
  return cert;
}

}  // namespace

result<key_and_cert> create_ca(int64_t now_ms, int valid_days) {
  pkey_ptr key(EVP_EC_gen("P-256"));
  if (!key) return openssl_failure("generating the CA key");
  auto suffix = random_bytes(4);
  if (!suffix) return fail(suffix.error());
  x509_ptr cert = new_cert(key.get(), "gantry CA " + to_hex(*suffix), now_ms, valid_days);
  if (!cert || X509_set_issuer_name(cert.get(), X509_get_subject_name(cert.get())) != 1 ||
      !add_extension(cert.get(), cert.get(), NID_basic_constraints, "critical,CA:TRUE,pathlen:0") ||
      !add_extension(cert.get(), cert.get(), NID_key_usage, "critical,keyCertSign,cRLSign") ||
      !add_extension(cert.get(), cert.get(), NID_subject_key_identifier, "hash") ||
      X509_sign(cert.get(), key.get(), EVP_sha256()) <= 0) {
    return openssl_failure("creating the CA certificate");
  }
  return key_and_cert{key_pem(key.get()), cert_pem(cert.get())};
}

result<key_and_cert> issue_server_cert(const key_and_cert& ca,
                                       const std::vector<std::string>& names, int64_t now_ms,
                                       int valid_days) {
  if (names.empty()) return fail(errc::invalid_argument, "a server certificate needs a name");
  auto ca_cert = read_cert(ca.cert_pem);
  if (!ca_cert) return fail(errc::invalid_argument, "CA certificate: " + ca_cert.error().message);
  auto ca_key = read_key(ca.key_pem);
  if (!ca_key) return fail(errc::invalid_argument, "CA key: " + ca_key.error().message);
  pkey_ptr key(EVP_EC_gen("P-256"));
  if (!key) return openssl_failure("generating the server key");
  x509_ptr cert = new_cert(key.get(), "gantry coordinator", now_ms, valid_days);
  if (!cert || X509_set_issuer_name(cert.get(), X509_get_subject_name(ca_cert->get())) != 1 ||
      !add_extension(cert.get(), ca_cert->get(), NID_basic_constraints, "critical,CA:FALSE") ||
      !add_extension(cert.get(), ca_cert->get(), NID_key_usage, "critical,digitalSignature") ||
      !add_extension(cert.get(), ca_cert->get(), NID_ext_key_usage, "serverAuth") ||
      !add_extension(cert.get(), ca_cert->get(), NID_subject_key_identifier, "hash") ||
      !add_extension(cert.get(), ca_cert->get(), NID_authority_key_identifier, "keyid:always") ||
      !add_subject_alt_names(cert.get(), names) ||
      X509_sign(cert.get(), ca_key->get(), EVP_sha256()) <= 0) {
    return openssl_failure("issuing the server certificate");
  }
  return key_and_cert{key_pem(key.get()), cert_pem(cert.get())};
}

result<cert_info> inspect_cert(std::string_view pem) {
  auto cert = read_cert(pem);
  if (!cert) return fail(cert.error());
  X509* x = cert->get();
  cert_info info;
  info.subject = name_text(X509_get_subject_name(x));
  info.issuer = name_text(X509_get_issuer_name(x));
  info.not_before_ms = to_ms(X509_get0_notBefore(x));
  info.not_after_ms = to_ms(X509_get0_notAfter(x));
  info.is_ca = (X509_get_extension_flags(x) & EXFLAG_CA) != 0;
  general_names_ptr gens(
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(x, NID_subject_alt_name, nullptr, nullptr)));
  for (int i = 0; gens && i < sk_GENERAL_NAME_num(gens.get()); ++i) {
    const GENERAL_NAME* g = sk_GENERAL_NAME_value(gens.get(), i);
    if (g->type == GEN_DNS) {
      const ASN1_STRING* s = g->d.dNSName;
      info.dns_names.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                                  ASN1_STRING_length(s));
    } else if (g->type == GEN_IPADD) {
      const ASN1_STRING* s = g->d.iPAddress;
      int len = ASN1_STRING_length(s);
      char text[INET6_ADDRSTRLEN] = {};
      if ((len == 4 || len == 16) &&
          inet_ntop(len == 4 ? AF_INET : AF_INET6, ASN1_STRING_get0_data(s), text, sizeof text)) {
        info.ip_names.emplace_back(text);
      }
    }
  }
  std::sort(info.dns_names.begin(), info.dns_names.end());
  std::sort(info.ip_names.begin(), info.ip_names.end());
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int digest_len = 0;
  if (X509_digest(x, EVP_sha256(), digest, &digest_len) != 1) {
    return openssl_failure("fingerprinting the certificate");
  }
  info.fingerprint =
      "sha256:" + to_hex(std::string_view(reinterpret_cast<const char*>(digest), digest_len));
  return info;
}

namespace {

// The DER certificate a PEM block's base64 body encodes holds exactly its outer SEQUENCE
// (a truncated or padded block does not): checked without parsing the certificate, which
// costs OpenSSL 3 ~3.5 M instructions, and a client start parses each CA certificate anyway.
bool der_sequence_complete(std::string_view base64_body) {
  std::string b64;
  for (char c : base64_body)
    if (c != '\n' && c != '\r' && c != ' ' && c != '\t') b64 += c;
  if (b64.empty() || b64.size() % 4 != 0) return false;
  std::string der(b64.size() / 4 * 3, '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(der.data()),
                          reinterpret_cast<const unsigned char*>(b64.data()),
                          static_cast<int>(b64.size()));
  if (n < 2) return false;
  size_t size = static_cast<size_t>(n) - (b64.ends_with("==") ? 2 : b64.ends_with("=") ? 1 : 0);
  auto byte = [&](size_t i) { return static_cast<unsigned char>(der[i]); };
  if (byte(0) != 0x30) return false;  // SEQUENCE
  size_t header = 2, length = byte(1);
  if (length & 0x80) {  // long form: the next (length & 0x7f) bytes
    size_t count = length & 0x7f;
    if (count == 0 || count > 4 || size < 2 + count) return false;
    length = 0;
    for (size_t i = 0; i < count; ++i) length = length << 8 | byte(2 + i);
    header += count;
  }
  return header + length == size;
}

}  // namespace

result<std::vector<std::string>> split_certs(std::string_view pem) {
  constexpr std::string_view kBegin = "-----BEGIN CERTIFICATE-----";
  constexpr std::string_view kEnd = "-----END CERTIFICATE-----";
  std::vector<std::string> out;
  for (size_t at = pem.find(kBegin); at != std::string_view::npos; at = pem.find(kBegin, at)) {
    size_t end = pem.find(kEnd, at + kBegin.size());
    if (end == std::string_view::npos)
      return fail(errc::invalid_argument, "a certificate has no END CERTIFICATE line");
    if (!der_sequence_complete(pem.substr(at + kBegin.size(), end - at - kBegin.size())))
      return fail(errc::invalid_argument,
                  "a certificate does not parse: its base64 body is not "
                  "one whole DER certificate");
    std::string block(pem.substr(at, end + kEnd.size() - at));
    out.push_back(block + "\n");
    at = end + kEnd.size();
  }
  if (out.empty()) return fail(errc::invalid_argument, "no PEM certificate found");
  return out;
}

result<void> verify_server_cert(std::string_view cert_pem, std::string_view ca_cert_pem,
                                int64_t now_ms) {
  auto cert = read_cert(cert_pem);
  if (!cert) return fail(cert.error());
  auto ca = read_cert(ca_cert_pem);
  if (!ca) return fail(errc::invalid_argument, "CA certificate: " + ca.error().message);
  std::unique_ptr<X509_STORE, openssl_deleter<X509_STORE_free>> store(X509_STORE_new());
  std::unique_ptr<X509_STORE_CTX, openssl_deleter<X509_STORE_CTX_free>> ctx(X509_STORE_CTX_new());
  if (!store || !ctx || X509_STORE_add_cert(store.get(), ca->get()) != 1 ||
      X509_STORE_CTX_init(ctx.get(), store.get(), cert->get(), nullptr) != 1) {
    return openssl_failure("setting up certificate verification");
  }
  X509_VERIFY_PARAM* param = X509_STORE_CTX_get0_param(ctx.get());
  X509_VERIFY_PARAM_set_time(param, static_cast<time_t>(now_ms / 1000));
  X509_VERIFY_PARAM_set_purpose(param, X509_PURPOSE_SSL_SERVER);
  if (X509_verify_cert(ctx.get()) != 1) {
    openssl_error();  // drop the queue: the store context's error says it better
    return fail(errc::failed_precondition,
                X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx.get())));
  }
  return {};
}

result<void> check_key_matches(std::string_view cert_pem, std::string_view key_pem) {
  auto cert = read_cert(cert_pem);
  if (!cert) return fail(cert.error());
  auto key = read_key(key_pem);
  if (!key) return fail(key.error());
  if (EVP_PKEY_eq(X509_get0_pubkey(cert->get()), key->get()) != 1) {
    openssl_error();
    return fail(errc::failed_precondition, "the private key does not belong to the certificate");
  }
  return {};
}

}  // namespace gantry::security
