#include <doctest/doctest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>

#include "fixtures.hpp"
#include "security/pki.hpp"
#include "security/secure_files.hpp"

using namespace gantry;
using namespace gantry::security;
using namespace gantry::security::testing;
namespace fs = std::filesystem;

namespace {

constexpr int64_t day = 86'400'000;

unsigned mode_of(const fs::path& p) {
  struct stat st {};
  REQUIRE(::lstat(p.c_str(), &st) == 0);
  return st.st_mode & 07777;
}

std::string read_all(const fs::path& p) {
  std::ifstream in(p);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void write_all(const fs::path& p, const std::string& text, mode_t mode) {
  REQUIRE(write_file_atomically(p, text, mode).has_value());
}

error must_fail(const result<coordinator_credentials>& r) {
  REQUIRE_FALSE(r.has_value());
  return r.error();
}

}  // namespace

TEST_CASE("first start creates the CA, the server certificate and both tokens, private ones 0600") {
  temp_dir dir;
  auto names = default_names({"coord.example.org", "10.1.2.3"});
  auto c = make_credentials(dir / "data", names);
  const auto& p = c.paths;
  CHECK(c.ca_created);
  CHECK(c.server_cert_issued == "first start");
  CHECK(c.admin_token_created);
  CHECK(c.join_token_created);

  CHECK(mode_of(p.tls_dir) == 0755);
  CHECK(mode_of(p.ca_cert) == 0644);
  CHECK(mode_of(p.ca_key) == 0600);
  CHECK(mode_of(p.server_cert) == 0644);
  CHECK(mode_of(p.server_key) == 0600);
  CHECK(mode_of(p.tokens_dir) == 0700);
  CHECK(mode_of(p.admin_token) == 0600);
  CHECK(mode_of(p.join_token) == 0600);
  CHECK(p.ca_cert == dir / "data" / "tls" / "ca.crt");
  CHECK(p.admin_token == dir / "data" / "tokens" / "admin");
  CHECK_FALSE(exists_at(dir / "data" / "tls.new"));

  CHECK(read_all(p.ca_cert) == c.ca_cert_pem);
  CHECK(read_all(p.server_cert) == c.server_cert_pem);
  CHECK(read_all(p.admin_token) == c.admin_token + "\n");
  CHECK(parse_token(c.admin_token).has_value());
  CHECK(parse_token(c.join_token).has_value());
  CHECK(c.admin_token != c.join_token);

  CHECK(c.server_names == names);
  auto info = inspect_cert(c.server_cert_pem);
  REQUIRE(info.has_value());
  CHECK(info->dns_names == names);
  CHECK(std::find(names.begin(), names.end(), local_hostname()) != names.end());
  CHECK(info->ip_names == std::vector<std::string>{"10.1.2.3", "127.0.0.1"});
  CHECK(verify_server_cert(c.server_cert_pem, c.ca_cert_pem, now_ms()).has_value());
  CHECK(c.ca_expires_ms > now_ms() + 3649 * day);
  CHECK(c.server_expires_ms > now_ms() + 729 * day);
  CHECK(c.server_expires_ms < now_ms() + 731 * day);
}

TEST_CASE("a later start loads everything as it was and creates nothing") {
  temp_dir dir;
  auto names = default_names();
  auto first = make_credentials(dir.path(), names);
  auto second = make_credentials(dir.path(), names);
  CHECK_FALSE(second.ca_created);
  CHECK(second.server_cert_issued.empty());
  CHECK_FALSE(second.admin_token_created);
  CHECK_FALSE(second.join_token_created);
  CHECK(second.ca_cert_pem == first.ca_cert_pem);
  CHECK(second.ca_fingerprint == first.ca_fingerprint);
  CHECK(second.server_cert_pem == first.server_cert_pem);
  CHECK(second.server_key_pem == first.server_key_pem);
  CHECK(second.admin_token == first.admin_token);
  CHECK(second.join_token == first.join_token);
}

TEST_CASE("a new --advertise reissues the server certificate from the same CA") {
  temp_dir dir;
  auto first = make_credentials(dir.path(), default_names());
  std::string ca_key = read_all(first.paths.ca_key);
  auto second = make_credentials(dir.path(), default_names({"10.9.8.7", "head.example"}));
  CHECK_FALSE(second.ca_created);
  CHECK(second.server_cert_issued == "names changed: added 10.9.8.7, head.example");
  CHECK(second.ca_cert_pem == first.ca_cert_pem);
  CHECK(read_all(first.paths.ca_key) == ca_key);
  CHECK(second.server_cert_pem != first.server_cert_pem);
  CHECK(second.server_key_pem != first.server_key_pem);
  CHECK(std::count(second.server_names.begin(), second.server_names.end(), "10.9.8.7") == 1);
  CHECK(verify_server_cert(second.server_cert_pem, first.ca_cert_pem, now_ms()).has_value());
  CHECK(second.admin_token == first.admin_token);

  auto third = make_credentials(dir.path(), default_names({"10.9.8.7"}));
  CHECK(third.server_cert_issued == "names changed: removed head.example");
  // The same names in another order or spelling are the same names.
  auto respelled = third.server_names;
  std::reverse(respelled.begin(), respelled.end());
  for (auto& n : respelled) {
    if (n == "localhost") n = "LocalHost.";
  }
  respelled.push_back("10.9.8.7");
  auto fourth = make_credentials(dir.path(), respelled);
  CHECK(fourth.server_cert_issued.empty());
  CHECK(fourth.server_names == third.server_names);
}

TEST_CASE("the server certificate is reissued when its key is not its own, or it nears expiry") {
  temp_dir dir;
  auto names = default_names();
  auto first = make_credentials(dir.path(), names);
  const auto& p = first.paths;

  auto other_ca = create_ca(now_ms(), 10);
  REQUIRE(other_ca.has_value());
  auto stray = issue_server_cert(*other_ca, names, now_ms(), 10);
  REQUIRE(stray.has_value());
  write_all(p.server_key, stray->key_pem, 0600);  // as if a crash came between the two writes
  auto fixed = make_credentials(dir.path(), names);
  CHECK(fixed.server_cert_issued == "server.key does not belong to server.crt");
  CHECK(check_key_matches(fixed.server_cert_pem, fixed.server_key_pem).has_value());

  write_all(p.server_cert, stray->cert_pem, 0644);  // signed by another CA
  write_all(p.server_key, stray->key_pem, 0600);
  auto resigned = make_credentials(dir.path(), names);
  CHECK(resigned.server_cert_issued ==
        "server.crt does not verify under ca.crt: unable to get local issuer certificate");
  CHECK(verify_server_cert(resigned.server_cert_pem, first.ca_cert_pem, now_ms()).has_value());

  int64_t later = now_ms() + 710 * day;  // 20 days before the 2-year certificate ends
  auto renewed = ensure_coordinator_credentials(dir.path(), names, later);
  REQUIRE(renewed.has_value());
  CHECK(renewed->server_cert_issued.starts_with("server.crt expires on "));
  CHECK(renewed->server_expires_ms > later + 729 * day);
  CHECK(renewed->ca_cert_pem == first.ca_cert_pem);

  std::filesystem::remove(p.server_cert);
  CHECK(make_credentials(dir.path(), names).server_cert_issued == "server.crt is missing");
}

TEST_CASE("a private file that others may read is refused, naming the file and the fix") {
  temp_dir dir;
  auto names = default_names();
  auto c = make_credentials(dir.path(), names);
  for (const fs::path& f :
       {c.paths.ca_key, c.paths.server_key, c.paths.admin_token, c.paths.join_token}) {
    CAPTURE(f);
    REQUIRE(::chmod(f.c_str(), 0644) == 0);
    auto e = must_fail(ensure_coordinator_credentials(dir.path(), names, now_ms()));
    CHECK(e.code == errc::failed_precondition);
    CHECK(e.message == f.string() +
                           ": has mode 0644; a file with a secret must be readable by "
                           "its owner only (chmod 600 " +
                           f.string() + ")");
    REQUIRE(::chmod(f.c_str(), 0600) == 0);
  }
  REQUIRE(::chmod(c.paths.ca_key.c_str(), 0640) == 0);
  CHECK(contains(must_fail(ensure_coordinator_credentials(dir.path(), names, now_ms())).message,
                 "has mode 0640"));
  REQUIRE(::chmod(c.paths.ca_key.c_str(), 0400) == 0);
  CHECK(ensure_coordinator_credentials(dir.path(), names, now_ms()).has_value());
}

TEST_CASE("a secret file owned by another user, or a link to one, is refused") {
  temp_dir dir;
  auto names = default_names();
  auto c = make_credentials(dir.path(), names);
  fs::path elsewhere = dir / "admin-elsewhere";
  fs::rename(c.paths.admin_token, elsewhere);
  fs::create_symlink(elsewhere, c.paths.admin_token);
  auto linked = must_fail(ensure_coordinator_credentials(dir.path(), names, now_ms()));
  CHECK(linked.message ==
        c.paths.admin_token.string() + ": is a symbolic link; credentials must be regular files");
  fs::remove(c.paths.admin_token);
  fs::rename(elsewhere, c.paths.admin_token);

  if (::geteuid() != 0) {
    MESSAGE("not root: cannot give a file to another user; ownership check not exercised");
    return;
  }
  REQUIRE(::chown(c.paths.server_key.c_str(), 65534, 65534) == 0);
  auto foreign = must_fail(ensure_coordinator_credentials(dir.path(), names, now_ms()));
  CHECK(foreign.message == c.paths.server_key.string() +
                               ": is owned by uid 65534, not by this process's user (uid 0)");
}

TEST_CASE("an unreadable key is an error naming it, never silently replaced") {
  temp_dir dir;
  auto names = default_names();
  auto c = make_credentials(dir.path(), names);
  for (const fs::path& f : {c.paths.ca_key, c.paths.server_key}) {
    CAPTURE(f);
    std::string good = read_all(f);
    write_all(f, "-----BEGIN PRIVATE KEY-----\nnot base64\n-----END PRIVATE KEY-----\n", 0600);
    auto e = must_fail(ensure_coordinator_credentials(dir.path(), names, now_ms()));
    CHECK(e.code == errc::failed_precondition);
    CHECK(e.message.starts_with(f.string() + ": not an unencrypted PEM private key"));
    write_all(f, good, 0600);
  }
  std::string ca_cert = read_all(c.paths.ca_cert);
  write_all(c.paths.ca_cert, "garbage", 0644);
  auto e = must_fail(ensure_coordinator_credentials(dir.path(), names, now_ms()));
  CHECK(e.message.starts_with(c.paths.ca_cert.string() + ": not a PEM certificate"));
  write_all(c.paths.ca_cert, ca_cert, 0644);
  CHECK(make_credentials(dir.path(), names).ca_cert_pem == c.ca_cert_pem);
}

TEST_CASE("the CA is never replaced silently: missing, mismatched or expired is an error") {
  temp_dir dir;
  auto names = default_names();
  auto c = make_credentials(dir.path(), names);
  const auto& p = c.paths;
  std::string remedy = "remove " + p.tls_dir.string() + " to create a new CA";

  std::string key = read_all(p.ca_key);
  fs::remove(p.ca_key);
  auto missing = must_fail(ensure_coordinator_credentials(dir.path(), names, now_ms()));
  CHECK(missing.message.starts_with(p.ca_key.string() + ": is missing; restore it"));
  CHECK(contains(missing.message, remedy));

  fs::remove(p.ca_cert);
  auto none = must_fail(ensure_coordinator_credentials(dir.path(), names, now_ms()));
  CHECK(none.message.starts_with(p.tls_dir.string() + ": holds no CA"));
  CHECK_FALSE(exists_at(p.ca_cert));  // nothing was created in its place

  auto other = create_ca(now_ms(), 10);
  REQUIRE(other.has_value());
  write_all(p.ca_cert, c.ca_cert_pem, 0644);
  write_all(p.ca_key, other->key_pem, 0600);
  auto mismatched = must_fail(ensure_coordinator_credentials(dir.path(), names, now_ms()));
  CHECK(mismatched.message.starts_with(p.ca_key.string() + ": is not the key of ca.crt; restore"));

  write_all(p.ca_key, key, 0600);
  auto expired =
      must_fail(ensure_coordinator_credentials(dir.path(), names, now_ms() + 3651 * day));
  CHECK(contains(expired.message, "the CA expired on "));
  CHECK(contains(expired.message, "remove " + p.tls_dir.string()));
  CHECK(read_all(p.ca_cert) == c.ca_cert_pem);
}

TEST_CASE("a deleted token file is created anew, the other token and the CA stay") {
  temp_dir dir;
  auto names = default_names();
  auto c = make_credentials(dir.path(), names);
  fs::remove(c.paths.join_token);
  auto again = make_credentials(dir.path(), names);
  CHECK(again.join_token_created);
  CHECK_FALSE(again.admin_token_created);
  CHECK(again.join_token != c.join_token);
  CHECK(again.admin_token == c.admin_token);
  CHECK(again.ca_cert_pem == c.ca_cert_pem);

  write_all(c.paths.admin_token, "not a token\n", 0600);
  auto e = must_fail(ensure_coordinator_credentials(dir.path(), names, now_ms()));
  CHECK(e.message ==
        c.paths.admin_token.string() + ": not a gantry token: it does not start with 'gty_'");
}

TEST_CASE("a first start that crashed midway leaves no half CA behind") {
  temp_dir dir;
  fs::create_directories(dir / "tls.new");
  write_all(dir / "tls.new" / "ca.key", "partial", 0600);
  auto c = make_credentials(dir.path(), default_names());
  CHECK(c.ca_created);
  CHECK_FALSE(exists_at(dir / "tls.new"));
  CHECK(check_key_matches(c.ca_cert_pem, read_all(c.paths.ca_key)).has_value());
}

TEST_CASE("token files for clients: read, checked, and errors name the file only") {
  temp_dir dir;
  auto t = generate_token();
  REQUIRE(t.has_value());
  write_all(dir / "tok", t->text + "\n", 0600);
  auto read = read_token_file(dir / "tok");
  REQUIRE(read.has_value());
  CHECK(read->text == t->text);

  REQUIRE(::chmod((dir / "tok").c_str(), 0604) == 0);
  auto open = read_token_file(dir / "tok");
  REQUIRE_FALSE(open.has_value());
  CHECK(contains(open.error().message, "chmod 600"));
  CHECK_FALSE(contains(open.error().message, t->text));

  auto missing = read_token_file(dir / "none");
  REQUIRE_FALSE(missing.has_value());
  CHECK(missing.error().code == errc::not_found);
  CHECK(missing.error().message == (dir / "none").string() + ": does not exist");
}

TEST_CASE("a bad name or no name at all is refused before anything is written") {
  temp_dir dir;
  auto bad = ensure_coordinator_credentials(dir / "data", {"localhost", "not a name"}, now_ms());
  REQUIRE_FALSE(bad.has_value());
  CHECK(bad.error().code == errc::invalid_argument);
  CHECK_FALSE(ensure_coordinator_credentials(dir / "data", {}, now_ms()).has_value());
  CHECK_FALSE(exists_at(dir / "data"));
}
