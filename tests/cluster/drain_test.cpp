// Drain with real processes: only a stage that declares a checkpoint signal is sent it; every
// task moves, and none fails or counts a restart because of the drain.
#include <doctest/doctest.h>

#include <filesystem>

#include "tests/cluster/harness.hpp"

using namespace gantry::test;
using nlohmann::json;

TEST_CASE(
    "a plain sleep job and a checkpointing job both survive a drain without a restart, "
    "and only the one that declares a checkpoint signal gets it") {
  cluster c;
  INFO(c.logs());
  c.start({"a"}, {"--cpus", "3"}, {"--drain-grace-ms", "300"});
  // `plain` declares no signal: it is stopped (SIGTERM) and moved at once. `deaf` traps
  // SIGUSR1 but declares no signal, so it must never see one. `ckpt` declares SIGUSR1.
  std::string plain = c.submit("plain.yaml", R"(
name: plain
stages:
  - name: s
    resources: { cpu: 1, memory: 16MiB }
    command: [ "sleep", "300" ]
)");
  std::string ckpt = c.submit("ckpt.yaml", R"(
name: ckpt
stages:
  - name: s
    resources: { cpu: 1, memory: 16MiB }
    checkpoint: { dir: /tmp, signal: SIGUSR1 }
    command: [ "sh", "-c", "trap 'echo $GANTRY_ATTEMPT >> $GANTRY_OUTPUT_DIR/usr1; exit 0' USR1; while :; do sleep 0.1; done" ]
)");
  std::string deaf = c.submit("deaf.yaml", R"(
name: deaf
stages:
  - name: s
    resources: { cpu: 1, memory: 16MiB }
    checkpoint: { dir: /tmp }
    command: [ "sh", "-c", "trap 'echo $GANTRY_ATTEMPT >> $GANTRY_OUTPUT_DIR/usr1' USR1; while :; do sleep 0.1; done" ]
)");
  event_stream wp(c, plain), wc(c, ckpt), wd(c, deaf);
  REQUIRE(wp.until_running(1, 20000));
  REQUIRE(wc.until_running(1, 20000));
  REQUIRE(wd.until_running(1, 20000));
  c.start_worker("b", {"--cpus", "3"});
  REQUIRE(c.wait_node("b", "ready"));
  REQUIRE(c.cli({"drain", "a"}).exit_code == 0);
  // Both run again on b as attempt 1, and neither counted a restart.
  for (auto* w : {&wp, &wc, &wd})
    CHECK(w->until(30000, [](const json& e) {
      return e["kind"] == "rank" && e["state"] == "running" && e["attempt"] == 1 &&
             e["node"] == "b";
    }));
  CHECK(c.wait_node("a", "cordoned"));
  for (const auto& id : {plain, ckpt, deaf}) {
    auto d = c.cli({"describe", id, "--json"}).json();
    CHECK_MESSAGE(d["restarts"] == 0, d.dump());
    CHECK_MESSAGE(d["state"] == "running", d.dump());
  }
  CHECK(read_file(c.shared_dir() + "/" + ckpt + "/usr1") == "0\n");  // it was asked first
  CHECK_FALSE(std::filesystem::exists(c.shared_dir() + "/" + deaf + "/usr1"));
  for (const auto& id : {plain, ckpt, deaf}) CHECK(c.cli({"cancel", id}).exit_code == 0);
}
