// The coordinator's rendezvous through `gantry rendezvous` (issue 4).
#include <doctest/doctest.h>

#include "tests/cluster/harness.hpp"

using namespace gantry::test;

TEST_CASE("rendezvous: put/get, a get that waits for a later put, timeouts, attempt isolation") {
  cluster c;
  c.start_coordinator();
  std::string a0 = c.address() + "/j-000007/train/0";
  std::string a1 = c.address() + "/j-000007/train/1";

  CHECK(c.cli({"rendezvous", "put", "nccl-id", "abc123", "--scope", a0}).exit_code == 0);
  auto got = c.cli({"rendezvous", "get", "nccl-id", "--scope", a0});
  CHECK(got.exit_code == 0);
  CHECK(got.out == "abc123\n");

  // A get that starts first is answered by the put that follows it.
  process waiter(
      {bin("gantry"), "rendezvous", "get", "late", "--scope", a0, "--timeout-ms", "30000"},
      c.dir() + "/waiter.err");
  // The waiter is blocked in its RPC; nothing answers it but the put.
  CHECK(waiter.read_line(300) == "");
  CHECK(c.cli({"rendezvous", "put", "late", "v2", "--scope", a0}).exit_code == 0);
  CHECK(waiter.read_line(20000) == "v2");
  CHECK(waiter.wait(10000) == 0);

  // Nobody puts: a clear timeout, exit 1.
  auto timeout = c.cli({"rendezvous", "get", "never", "--scope", a0, "--timeout-ms", "200"});
  CHECK(timeout.exit_code == 1);
  CHECK(timeout.err.find("\"never\" of j-000007/train attempt 0 was not put before the timeout") !=
        std::string::npos);

  // Another attempt of the same gang sees none of the first attempt's values.
  auto other = c.cli({"rendezvous", "get", "nccl-id", "--scope", a1, "--timeout-ms", "200"});
  CHECK(other.exit_code == 1);

  // A malformed scope is a usage error naming the expected form.
  auto bad = c.cli({"rendezvous", "get", "k", "--scope", "no-scope-here"});
  CHECK(bad.exit_code == 2);
  CHECK(bad.err.find("HOST:PORT/JOB/STAGE/ATTEMPT") != std::string::npos);
}
