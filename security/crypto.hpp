#pragma once
// Cryptographic primitives for credentials, over OpenSSL's libcrypto. Secrets come from
// OpenSSL's CSPRNG (seeded by the kernel), never from the project's seeded generator: they must
// not be reproducible.
#include <cstddef>
#include <string>
#include <string_view>

#include "core/result.hpp"

namespace gantry::security {

// `n` bytes from the CSPRNG. Fails (errc::internal) only when OpenSSL cannot seed itself.
result<std::string> random_bytes(size_t n);

// The 32-byte SHA-256 digest of `data`.
std::string sha256(std::string_view data);

// Lowercase hex, two characters per byte.
std::string to_hex(std::string_view bytes);

// RFC 4648 base32 in lowercase (a-z, 2-7), without padding: 8 characters per 5 bytes.
std::string to_base32(std::string_view bytes);

// Compares in time that depends only on the sizes, never on where the contents differ.
bool constant_time_equal(std::string_view a, std::string_view b);

}  // namespace gantry::security
