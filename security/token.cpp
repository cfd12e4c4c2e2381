#include "security/token.hpp"

#include <algorithm>

#include "security/crypto.hpp"

namespace gantry::security {
namespace {

constexpr std::string_view hash_prefix = "sha256:";
constexpr size_t id_bytes = 8;       // 64 bits -> 13 base32 chars, cut to 12 (60 bits)
constexpr size_t secret_bytes = 32;  // 256 bits -> 52 base32 chars (the last one carries 1 bit)

bool is_base32_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '2' && c <= '7');
}

bool is_base32(std::string_view s) {
  return std::all_of(s.begin(), s.end(), is_base32_char);
}

std::string_view trim(std::string_view s) {
  constexpr std::string_view space = " \t\r\n";
  size_t begin = s.find_first_not_of(space);
  if (begin == std::string_view::npos) return {};
  size_t end = s.find_last_not_of(space);
  return s.substr(begin, end - begin + 1);
}

const std::string& expected_shape() {
  static const std::string shape = std::string(token_prefix) + "<" +
                                   std::to_string(token_id_chars) + "-character id>_<" +
                                   std::to_string(token_secret_chars) + "-character secret>";
  return shape;
}

}  // namespace

result<new_token> generate_token() {
  auto id = random_bytes(id_bytes);
  if (!id) return fail(id.error());
  auto secret = random_bytes(secret_bytes);
  if (!secret) return fail(secret.error());
  new_token t;
  t.id = to_base32(*id).substr(0, token_id_chars);
  t.text = std::string(token_prefix) + t.id + "_" + to_base32(*secret);
  t.hash = hash_token(t.text);
  return t;
}

result<parsed_token> parse_token(std::string_view text) {
  std::string_view t = trim(text);
  if (t.empty()) return fail(errc::invalid_argument, "the token is empty");
  if (!t.starts_with(token_prefix)) {
    return fail(errc::invalid_argument,
                "not a gantry token: it does not start with '" + std::string(token_prefix) + "'");
  }
  std::string_view rest = t.substr(token_prefix.size());
  size_t sep = rest.find('_');
  if (sep == std::string_view::npos || sep != token_id_chars ||
      rest.size() - sep - 1 != token_secret_chars) {
    return fail(errc::invalid_argument,
                "malformed gantry token: expected " + expected_shape() + " (" +
                    std::to_string(token_prefix.size() + token_id_chars + 1 + token_secret_chars) +
                    " characters), got " + std::to_string(t.size()) + " characters");
  }
  std::string_view id = rest.substr(0, sep);
  std::string_view secret = rest.substr(sep + 1);
  if (!is_base32(id) || !is_base32(secret)) {
    return fail(errc::invalid_argument,
                "malformed gantry token: the id and the secret use only a-z and 2-7");
  }
  return parsed_token{std::string(id), std::string(t)};
}

result<std::string> parse_token_id(std::string_view text) {
  std::string_view id = trim(text);
  if (id.starts_with(token_prefix)) {
    return fail(errc::invalid_argument, "give the token's id (the " +
                                            std::to_string(token_id_chars) + " characters after '" +
                                            std::string(token_prefix) +
                                            "', as `token list` shows it), not the token");
  }
  if (id.size() != token_id_chars || !is_base32(id)) {
    return fail(errc::invalid_argument, "not a token id: expected " +
                                            std::to_string(token_id_chars) +
                                            " characters of a-z and 2-7");
  }
  return std::string(id);
}

std::string hash_token(std::string_view token_text) {
  return std::string(hash_prefix) + to_hex(sha256(token_text));
}

bool token_matches(std::string_view token_text, std::string_view stored_hash) {
  return constant_time_equal(hash_token(token_text), stored_hash);
}

bool is_token_hash(std::string_view hash) {
  if (!hash.starts_with(hash_prefix)) return false;
  std::string_view hex = hash.substr(hash_prefix.size());
  return hex.size() == 64 && std::all_of(hex.begin(), hex.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

}  // namespace gantry::security
