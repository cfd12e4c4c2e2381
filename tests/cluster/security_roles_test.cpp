// Users and roles (issue 9): a user sees and acts on its own jobs only, node operations and
// tokens need an admin; tokens are created, listed and revoked by an admin; `gantry login`
// remembers a coordinator, token and CA.
#include <doctest/doctest.h>

#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include "tests/cluster/harness.hpp"

using namespace gantry::test;

namespace {

// A token file (0600) for a new token of `user` with `role`, made by the admin.
std::string make_token(cluster& c, const std::string& user, const std::string& role) {
  auto r = c.cli({"token", "create", "--user", user, "--role", role});
  REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  std::string token = r.out.substr(0, r.out.find('\n'));
  CHECK(r.out == token + "\n");  // the token alone
  CHECK(token.rfind("gty_", 0) == 0);
  std::string path = c.dir() + "/" + user + ".token";
  std::ofstream(path) << token << "\n";
  std::filesystem::permissions(
      path, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write,
      std::filesystem::perm_options::replace);
  return path;
}

// `gantry ARGS` as the holder of `token_file`.
cli_result as(cluster& c, const std::string& token_file, std::vector<std::string> args) {
  args.insert(args.end(), {"--token-file", token_file, "--ca", c.local().ca_file()});
  return c.cli_without_credentials(std::move(args));
}

std::string submit_as(cluster& c, const std::string& token_file) {
  auto r = as(c, token_file, {"submit", c.write_manifest("sleeper.yaml", kSleeper)});
  REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  return r.out.substr(0, r.out.find('\n'));
}

}  // namespace

TEST_CASE("a user sees and acts on its own jobs only, node operations and tokens need an admin") {
  cluster c;
  c.start({"w1"});
  INFO(c.logs());
  std::string alice = make_token(c, "alice", "user");
  std::string bob = make_token(c, "bob", "user");
  std::string carol = make_token(c, "carol", "admin");
  std::string a_job = submit_as(c, alice);
  std::string b_job = submit_as(c, bob);

  auto mine = as(c, alice, {"jobs", "--json"});
  REQUIRE(mine.exit_code == 0);
  REQUIRE(mine.json().size() == 1);
  CHECK(mine.json()[0]["id"] == a_job);
  CHECK(mine.json()[0]["owner"] == "alice");
  auto all = c.cli({"jobs", "--json"});
  REQUIRE(all.exit_code == 0);
  CHECK(all.json().size() == 2);
  auto described = as(c, bob, {"describe", b_job, "--json"});
  REQUIRE(described.exit_code == 0);
  CHECK(described.json()["owner"] == "bob");

  // Bob's job is "no job" to alice, whatever she tries; it keeps running.
  for (std::vector<std::string> verb : {std::vector<std::string>{"describe", b_job},
                                        {"cancel", b_job},
                                        {"logs", b_job},
                                        {"watch", b_job},
                                        {"wait", b_job, "--timeout-ms", "100"}}) {
    auto r = as(c, alice, verb);
    CHECK_MESSAGE(r.exit_code == 2, verb[0] << ": " << r.err);
    CHECK_MESSAGE(r.err.find("no job " + b_job) != std::string::npos, verb[0] << ": " << r.err);
  }
  CHECK(c.cli({"describe", b_job, "--json"}).json()["state"] == "running");

  // Users read nodes, but only admins change them or manage tokens.
  CHECK(as(c, alice, {"nodes", "--json"}).exit_code == 0);
  auto cordon = as(c, alice, {"cordon", "w1"});
  CHECK(cordon.exit_code == 4);
  CHECK_MESSAGE(cordon.err.find("needs an admin token") != std::string::npos, cordon.err);
  CHECK(as(c, alice, {"token", "list"}).exit_code == 4);
  CHECK(as(c, alice, {"token", "create", "--user", "mallory", "--role", "admin"}).exit_code == 4);
  CHECK(as(c, alice, {"nodes", "remove", "w1"}).exit_code == 4);
  CHECK(as(c, carol, {"cordon", "w1"}).exit_code == 0);
  CHECK(c.wait_node("w1", "cordoned"));
  CHECK(as(c, carol, {"uncordon", "w1"}).exit_code == 0);

  // Alice cancels her own job.
  CHECK(as(c, alice, {"cancel", a_job}).exit_code == 0);
  CHECK(as(c, alice, {"wait", a_job}).exit_code == 1);  // cancelled
}

TEST_CASE("token list shows no secret, a revoked token is refused at once") {
  cluster c;
  c.start_coordinator();
  INFO(c.logs());
  std::string alice = make_token(c, "alice", "user");
  std::string secret = read_file(alice);
  secret = secret.substr(0, secret.find('\n'));

  auto listed = c.cli({"token", "list", "--json"});
  REQUIRE(listed.exit_code == 0);
  CHECK(listed.out.find(secret) == std::string::npos);
  CHECK(listed.out.find(secret.substr(17)) == std::string::npos);  // nor its secret part
  std::string id;
  for (const auto& t : listed.json())
    if (t["user"] == "alice") {
      CHECK(t["role"] == "user");
      id = t["id"];
    }
  REQUIRE(secret.rfind("gty_" + id + "_", 0) == 0);
  CHECK(c.cli({"token", "list"}).out.find(id) != std::string::npos);

  REQUIRE(as(c, alice, {"jobs"}).exit_code == 0);
  // A watch alice holds open (her job waits: no workers) is closed when her token is revoked.
  std::string job = submit_as(c, alice);
  process watch({bin("gantry"), "watch", job, "--json", "--coordinator", c.address(),
                 "--token-file", alice, "--ca", c.local().ca_file()},
                c.dir() + "/watch.err");
  CHECK(watch.read_line(20000).find("pending") != std::string::npos);  // connected
  auto revoked = c.cli({"token", "revoke", id});
  CHECK_MESSAGE(revoked.exit_code == 0, revoked.err);
  CHECK(watch.wait(30000) == 4);
  auto refused = as(c, alice, {"jobs"});
  CHECK(refused.exit_code == 4);
  CHECK_MESSAGE(refused.err.find("not valid here") != std::string::npos, refused.err);
  CHECK(c.cli({"token", "revoke", id}).exit_code == 2);  // no such token any more
  auto root = c.cli({"token", "revoke", read_file(c.local().admin_token_file()).substr(4, 12)});
  CHECK(root.exit_code == 2);  // the root admin token is rotated through its file
  CHECK(c.cli({"jobs"}).exit_code == 0);
}

TEST_CASE("gantry login remembers the coordinator, token and CA (0600)") {
  cluster c;
  c.start_coordinator();
  std::string bob = make_token(c, "bob", "user");
  temp_dir home{"gantry-test"};
  std::string xdg = "XDG_CONFIG_HOME=" + home.path();
  process p(
      {"/usr/bin/env", xdg, "GANTRY_COORDINATOR=", "GANTRY_TOKEN=", "GANTRY_CA=", bin("gantry"),
       "login", "--coordinator", c.address(), "--token-file", bob, "--ca", c.local().ca_file()},
      home.path() + "/login.err");
  std::string said = p.read_all(30000);
  REQUIRE_MESSAGE(p.wait(30000) == 0, read_file(home.path() + "/login.err"));
  CHECK(said.find("as bob (user)") != std::string::npos);
  struct stat st {};
  REQUIRE(::stat((home.path() + "/gantry/config").c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);

  process jobs({"/usr/bin/env", xdg, "GANTRY_COORDINATOR=", "GANTRY_TOKEN=", "GANTRY_CA=",
                bin("gantry"), "jobs", "--json"},
               home.path() + "/jobs.err");
  std::string out = jobs.read_all(30000);
  CHECK_MESSAGE(jobs.wait(30000) == 0, read_file(home.path() + "/jobs.err"));
  CHECK(out.find("[]") != std::string::npos);
}
