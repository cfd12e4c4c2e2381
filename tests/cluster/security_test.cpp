// Security on by default (issue 9): each attack of the issue, performed as an attacker would,
// and its refusal; and the paths of the legitimate holders of credentials.
#include <doctest/doctest.h>

#include <capnp/rpc-twoparty.h>
#include <kj/async-io.h>
#include <filesystem>
#include <fstream>

#include "protocol/gantry.capnp.h"
#include "tests/cluster/harness.hpp"

using namespace gantry::test;

namespace {

// What a client built from protocol/gantry.capnp alone gets: the Coordinator bootstrap over
// plain TCP, then submit. Returns the exception's description, or "" if the call succeeded.
std::string raw_submit(const std::string& address) {
  auto io = kj::setupAsyncIo();
  std::string failure;
  KJ_IF_MAYBE (e, kj::runCatchingExceptions([&] {
                 auto addr = io.provider->getNetwork().parseAddress(address).wait(io.waitScope);
                 auto stream = addr->connect().wait(io.waitScope);
                 capnp::TwoPartyClient rpc(*stream);
                 auto coordinator = rpc.bootstrap().castAs<gantry::wire::Coordinator>();
                 auto req = coordinator.submitRequest();
                 req.setManifest(kSleeper);
                 auto timeout =
                     io.provider->getTimer()
                         .afterDelay(10 * kj::SECONDS)
                         .then([]() -> capnp::Response<gantry::wire::Coordinator::SubmitResults> {
                           KJ_FAIL_ASSERT("no answer within 10 s");
                         });
                 req.send().exclusiveJoin(kj::mv(timeout)).wait(io.waitScope);
               })) {
    failure = e->getDescription().cStr();
    if (failure.empty()) failure = "failed";
  }
  return failure;
}

}  // namespace

TEST_CASE("attack 1: without a token nothing is accepted: no submit, no listing, no cordon") {
  cluster c;
  c.start({"w1"});
  INFO(c.logs());

  // A raw Cap'n Proto client never reaches the API: the connection ends before an answer.
  CHECK_FALSE(raw_submit(c.address()).empty());

  // The CLI without a token: exit 4 and what to do.
  auto jobs = c.cli_without_credentials({"jobs", "--ca", c.local().ca_file()});
  CHECK(jobs.exit_code == 4);
  CHECK_MESSAGE(
      jobs.err.find("no token: pass --token-file, set GANTRY_TOKEN or run gantry login") !=
          std::string::npos,
      jobs.err);
  CHECK(c.cli_without_credentials({"cordon", "w1", "--ca", c.local().ca_file()}).exit_code == 4);

  // A made-up token of the right shape is refused, naming no detail an attacker could use.
  std::string fake = c.dir() + "/fake-token";
  {
    std::ofstream(fake) << "gty_aaaaaaaaaaaa_" << std::string(52, 'a') << "\n";
    std::filesystem::permissions(
        fake, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write,
        std::filesystem::perm_options::replace);
  }
  auto forged = c.cli_without_credentials({"submit", c.write_manifest("s.yaml", kSleeper),
                                           "--token-file", fake, "--ca", c.local().ca_file()});
  CHECK(forged.exit_code == 4);
  CHECK_MESSAGE(forged.err.find("not valid here") != std::string::npos, forged.err);

  // The plain-TCP client (--insecure) is turned away too.
  auto plain = c.cli_without_credentials({"jobs", "--insecure"});
  CHECK(plain.exit_code != 0);
  CHECK_MESSAGE(plain.err.find("expects TLS") != std::string::npos, plain.err);

  // None of it did anything: no job, the node still ready and not cordoned.
  auto listed = c.cli({"jobs", "--json"});
  REQUIRE(listed.exit_code == 0);
  CHECK(listed.json().empty());
  auto nodes = c.cli({"nodes", "--json"});
  REQUIRE(nodes.exit_code == 0);
  CHECK(nodes.json()[0]["state"] == "ready");

  // The admin's token works, over TLS checked against the cluster's CA.
  std::string job = c.submit("s.yaml", kSleeper);
  CHECK(c.cli({"cancel", job}).exit_code == 0);
}

TEST_CASE("a client that trusts another CA refuses the coordinator and says why") {
  cluster c;
  c.start_coordinator();
  cluster other;
  other.start_coordinator();
  auto r = c.cli_without_credentials(
      {"jobs", "--token-file", c.local().admin_token_file(), "--ca", other.local().ca_file()});
  CHECK(r.exit_code != 0);
  CHECK(r.exit_code != 3);
  CHECK_MESSAGE(r.err.find("CA") != std::string::npos, r.err);
}

TEST_CASE("--insecure: a warning at every start, loopback only, and it works without tokens") {
  cluster c;
  c.start_coordinator({"--insecure"});
  CHECK(c.log_of("coordinator").find("INSECURE") != std::string::npos);
  c.start_worker("w1");
  REQUIRE(c.wait_node("w1", "ready"));
  CHECK(c.log_of("w1").find("INSECURE") != std::string::npos);
  auto jobs = c.cli({"jobs", "--json"});
  CHECK(jobs.exit_code == 0);

  temp_dir dir{"gantry-test"};
  process wide({bin("gantry"), "coordinator", "--insecure", "--listen", "0.0.0.0:0", "--data-dir",
                dir.path() + "/c"},
               dir.path() + "/wide.err");
  CHECK(wide.wait(20000) == 2);
  CHECK(read_file(dir.path() + "/wide.err").find("--insecure listens on loopback only") !=
        std::string::npos);
}
