#pragma once
// Bearer tokens: the one format for user, admin, join, node and task credentials.
//
//   gty_<id>_<secret>    e.g. gty_k3v7q2mbx4dz_<52 characters>
//
// `id` is 12 characters of [a-z2-7] (60 random bits). It names the token in `token list` and
// `token revoke ID` and in logs; it is not secret. `secret` is 52 characters of [a-z2-7]
// (256 bits from the CSPRNG). The whole text is the credential: only its SHA-256 hash is ever
// stored (`sha256:<64 hex>`), and checked in constant time. No error message built here ever
// contains a token's secret.
#include <cstddef>
#include <string>
#include <string_view>

#include "core/result.hpp"

namespace gantry::security {

inline constexpr std::string_view token_prefix = "gty_";
inline constexpr size_t token_id_chars = 12;
inline constexpr size_t token_secret_chars = 52;

// A token just made: `text` is shown to its holder once; `hash` is what storage keeps.
struct new_token {
  std::string text;
  std::string id;
  std::string hash;
};

result<new_token> generate_token();

// A token as presented by a client, checked for shape (not yet for validity).
struct parsed_token {
  std::string id;
  std::string text;  // without the surrounding whitespace a file or variable may add
};

// Parses a token from a flag, a file or an environment variable. Surrounding whitespace is
// ignored. Errors (errc::invalid_argument) say what is wrong without echoing the input.
result<parsed_token> parse_token(std::string_view text);

// Checks a token id as typed for `token revoke ID`.
result<std::string> parse_token_id(std::string_view text);

// "sha256:" followed by the lowercase hex SHA-256 of the token text.
std::string hash_token(std::string_view token_text);

// Whether `stored_hash` (from hash_token) is the hash of `token_text`; constant time.
bool token_matches(std::string_view token_text, std::string_view stored_hash);

// Whether `hash` has the shape hash_token() produces.
bool is_token_hash(std::string_view hash);

}  // namespace gantry::security
