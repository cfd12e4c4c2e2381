// gantry worker --fleet (issue 13): simulated workers over real connections to a real
// coordinator, starting no process.
#include <doctest/doctest.h>

#include <set>

#include "tests/cluster/harness.hpp"

using namespace gantry::test;

TEST_CASE("a fleet of 60 simulated workers registers, runs a 24-rank gang, and cancels") {
  cluster c;
  INFO(c.logs());
  c.start_coordinator();
  c.start_worker("fleet", {"--fleet", "60", "--name-prefix", "sim-", "--simulate-gpus",
                           "8xH100:80GiB", "--cpus", "64", "--memory", "512GiB"});
  REQUIRE(c.wait_node("sim-00060", "ready"));
  auto nodes = c.cli({"nodes", "--json"});
  REQUIRE(nodes.exit_code == 0);
  CHECK(nodes.json().size() == 60);

  // 24 one-GPU ranks: more than one member holds (8 GPUs each), so the gang spans members.
  std::string gang = c.submit("gang.yaml", R"(name: fleet-gang
stages:
  - name: s
    device: gpu
    replicas: 24
    resources: { cpu: 1, memory: 1GiB, gpu: 1 }
    env: { GANTRY_FLEET_SECONDS: "0.2" }
    command: [ "train" ]
)");
  auto done = c.cli({"wait", gang, "--timeout-ms", "30000"});
  REQUIRE_MESSAGE(done.exit_code == 0, done.out << done.err);
  auto d = c.cli({"describe", gang, "--json"});
  REQUIRE(d.exit_code == 0);
  const nlohmann::json job = d.json();
  std::set<std::string> hosts;
  for (const auto& r : job["stages"][0]["ranks"]) hosts.insert(r["node"].get<std::string>());
  CHECK(hosts.size() >= 3);
  auto log = c.cli({"logs", gang, "--stage", "s", "--rank", "5"});
  CHECK(log.out.find("simulated fleet worker") != std::string::npos);

  std::string sleeper = c.submit("long.yaml", R"(name: fleet-long
stages:
  - name: s
    resources: { cpu: 1, memory: 1GiB }
    env: { GANTRY_FLEET_SECONDS: "3600" }
    command: [ "sleep" ]
)");
  event_stream ev(c, sleeper);
  REQUIRE(ev.until_running(1, 20000));
  REQUIRE(c.cli({"cancel", sleeper}).exit_code == 0);
  auto cancelled = c.cli({"wait", sleeper, "--timeout-ms", "20000"});
  CHECK(cancelled.exit_code == 1);
  CHECK(cancelled.out.find("cancelled") != std::string::npos);
}
