#include <doctest/doctest.h>

#include <set>
#include <string>
#include <vector>

#include "security/crypto.hpp"
#include "security/token.hpp"

using namespace gantry;
using namespace gantry::security;

namespace {

std::string make_token() {
  auto t = generate_token();
  REQUIRE(t.has_value());
  return t->text;
}

}  // namespace

TEST_CASE("a generated token is gty_<12-char id>_<52-char secret> and parses back") {
  auto t = generate_token();
  REQUIRE(t.has_value());
  CHECK(t->text.size() == 4 + 12 + 1 + 52);
  CHECK(t->text.starts_with("gty_" + t->id + "_"));
  CHECK(t->id.size() == token_id_chars);
  for (char c : t->text.substr(4)) {
    CHECK(((c >= 'a' && c <= 'z') || (c >= '2' && c <= '7') || c == '_'));
  }
  auto parsed = parse_token(t->text);
  REQUIRE(parsed.has_value());
  CHECK(parsed->id == t->id);
  CHECK(parsed->text == t->text);
  CHECK(t->hash == hash_token(t->text));
}

TEST_CASE("tokens are distinct: 2000 draws repeat neither an id nor a secret") {
  std::set<std::string> ids, secrets;
  for (int i = 0; i < 2000; ++i) {
    auto t = generate_token();
    REQUIRE(t.has_value());
    ids.insert(t->id);
    secrets.insert(t->text.substr(4 + 12 + 1));
  }
  CHECK(ids.size() == 2000);
  CHECK(secrets.size() == 2000);
}

TEST_CASE("a token read from a file or a variable may carry surrounding whitespace") {
  std::string t = make_token();
  auto parsed = parse_token("  " + t + "\r\n");
  REQUIRE(parsed.has_value());
  CHECK(parsed->text == t);
}

TEST_CASE("malformed tokens are refused with a reason that never repeats the token") {
  std::string t = make_token();
  std::string secret = t.substr(4 + 12 + 1);
  struct bad {
    std::string text;
    std::string reason;
  };
  std::vector<bad> cases = {
      {"", "empty"},
      {"\n", "empty"},
      {"ghp_" + t.substr(4), "does not start with 'gty_'"},
      {t.substr(0, t.size() - 1), "expected gty_<12-character id>_<52-character secret>"},
      {t + "a", "got 70 characters"},
      {"gty_" + secret, "expected gty_"},
      {t.substr(0, 10) + "A" + t.substr(11), "only a-z and 2-7"},
      {t.substr(0, 30) + "1" + t.substr(31), "only a-z and 2-7"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.text);
    auto parsed = parse_token(c.text);
    REQUIRE_FALSE(parsed.has_value());
    CHECK(parsed.error().code == errc::invalid_argument);
    CHECK(parsed.error().message.find(c.reason) != std::string::npos);
    CHECK(parsed.error().message.find(secret.substr(0, 16)) == std::string::npos);
  }
}

TEST_CASE("the stored hash is sha256 of the token, any other token does not match it") {
  std::string t = make_token();
  std::string h = hash_token(t);
  CHECK(h.starts_with("sha256:"));
  CHECK(h.size() == 7 + 64);
  CHECK(is_token_hash(h));
  CHECK(h == "sha256:" + to_hex(sha256(t)));
  CHECK(h.find(t.substr(17)) == std::string::npos);
  CHECK(token_matches(t, h));
  std::string flipped = t;
  flipped.back() = flipped.back() == 'a' ? 'b' : 'a';
  CHECK_FALSE(token_matches(flipped, h));
  CHECK_FALSE(token_matches(make_token(), h));
  CHECK_FALSE(token_matches(t, h.substr(0, h.size() - 1)));
  CHECK_FALSE(token_matches(t, ""));
  CHECK_FALSE(is_token_hash("sha256:" + std::string(64, 'g')));
  CHECK_FALSE(is_token_hash("md5:" + std::string(64, 'a')));
}

TEST_CASE("known answers: SHA-256, hex and base32 encodings") {
  CHECK(to_hex(sha256("abc")) ==
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  CHECK(to_base32("foobar") == "mzxw6ytboi");  // RFC 4648 test vector, lowercase, no padding
  CHECK(to_base32("f") == "my");
  CHECK(constant_time_equal("abc", "abc"));
  CHECK_FALSE(constant_time_equal("abc", "abd"));
  CHECK_FALSE(constant_time_equal("abc", "abcd"));
  auto r = random_bytes(32);
  REQUIRE(r.has_value());
  CHECK(r->size() == 32);
}

TEST_CASE("a token id for `token revoke ID` is checked, a whole token is refused as an id") {
  auto t = generate_token();
  REQUIRE(t.has_value());
  auto id = parse_token_id(" " + t->id + "\n");
  REQUIRE(id.has_value());
  CHECK(*id == t->id);
  auto whole = parse_token_id(t->text);
  REQUIRE_FALSE(whole.has_value());
  CHECK(whole.error().message.find("not the token") != std::string::npos);
  CHECK(whole.error().message.find(t->text) == std::string::npos);
  CHECK_FALSE(parse_token_id("short").has_value());
  CHECK_FALSE(parse_token_id("ABCDEFGHIJKL").has_value());
}
