#pragma once
// Internal to security/: OpenSSL's thread-local error queue as text, and owning handles for
// the OpenSSL objects the library creates.
#include <memory>
#include <string>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

namespace gantry::security {

// Drains OpenSSL's error queue for this thread into one line ("" when it is empty).
std::string openssl_error();

template <auto free_fn>
struct openssl_deleter {
  template <class T>
  void operator()(T* p) const {
    free_fn(p);
  }
};

using bio_ptr = std::unique_ptr<BIO, openssl_deleter<BIO_free_all>>;
using pkey_ptr = std::unique_ptr<EVP_PKEY, openssl_deleter<EVP_PKEY_free>>;
using x509_ptr = std::unique_ptr<X509, openssl_deleter<X509_free>>;
using x509_ext_ptr = std::unique_ptr<X509_EXTENSION, openssl_deleter<X509_EXTENSION_free>>;
using general_names_ptr = std::unique_ptr<GENERAL_NAMES, openssl_deleter<GENERAL_NAMES_free>>;

}  // namespace gantry::security
