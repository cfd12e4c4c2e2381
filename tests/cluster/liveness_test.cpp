// Failure detection with real processes: a stopped machine is found, a starved one is not
// declared lost (docs/architecture.md, "Failure detection").
#include <doctest/doctest.h>

#include <signal.h>

#include <memory>
#include <vector>

#include "tests/cluster/harness.hpp"

using namespace gantry::test;
using nlohmann::json;

namespace {

// The coordinator's defaults, not the cluster harness's lenient 3 s timeout.
const std::vector<std::string> kDefaultLiveness{"--heartbeat-timeout-ms", "750"};

struct verdict {
  int64_t wall_ms = -1;  // SIGSTOP to `gantry wait NAME --state lost` returning; -1: never
  std::string reason;    // the node's reason: "... for N ms (limit L ms)"
};

// Stops worker NAME and waits up to timeout_ms for its node to be lost; continues it
// afterwards so that it can exit.
verdict stop_until_lost(cluster& c, const std::string& name, int timeout_ms) {
  verdict v;
  int64_t stopped = now_ms();
  ::kill(c.worker(name).pid(), SIGSTOP);
  bool lost = c.wait_node(name, "lost", timeout_ms);
  if (lost) v.wall_ms = now_ms() - stopped;
  auto nodes = c.cli({"nodes", "--json"});  // before it can register again
  if (nodes.exit_code == 0)
    for (const auto& n : nodes.json())
      if (n["name"] == name) v.reason = n["reason"];
  ::kill(c.worker(name).pid(), SIGCONT);
  return v;
}

}  // namespace

TEST_CASE("an idle cluster finds a stopped worker within about a second") {
  cluster c;
  INFO(c.logs());
  c.start({"a", "b"}, {}, kDefaultLiveness);
  verdict v = stop_until_lost(c, "a", 10000);
  MESSAGE("stopped worker lost after " << v.wall_ms << " ms: " << v.reason);
  REQUIRE(v.wall_ms >= 0);
  // 750 ms + a 187 ms check period when nothing was late; on a busy test machine the limit
  // may have stretched, never beyond --heartbeat-timeout-max-ms (6 s). The CLI's own start
  // is in the wall time too.
  CHECK(v.wall_ms < 7000);
  CHECK(v.reason.find("no heartbeat or report for") != std::string::npos);
  CHECK(c.wait_node("a", "ready"));  // it registers again once continued
}

TEST_CASE(
    "a minute of saturating CPU load declares no live node lost, and a stopped one is still "
    "found") {
#ifdef GANTRY_SANITIZE
  constexpr int kLoadSeconds = 20;  // the sanitized processes load the machine more already
#else
  constexpr int kLoadSeconds = 60;
#endif
  cluster c;
  INFO(c.logs());
  c.start({"a", "b"}, {"--cpus", "4", "--memory", "2GiB"}, kDefaultLiveness);
  // Four busy processes per core of this machine's two, more than the cluster itself.
  std::vector<std::unique_ptr<process>> spinners;
  for (int i = 0; i < 8; ++i)
    spinners.push_back(std::make_unique<process>(
        std::vector<std::string>{"/bin/sh", "-c", "while :; do :; done"}, c.dir() + "/spin.log"));
  // Real jobs throughout: a gang that lives for the whole minute and a stream of short ones.
  std::string gang = c.submit("gang.yaml", R"(
name: steady
stages:
  - name: g
    collective: nccl
    replicas: 2
    resources: { cpu: 1, memory: 16MiB }
    command: [ "sleep", ")" + std::to_string(kLoadSeconds) + R"(" ]
)");
  event_stream w(c, gang);
  REQUIRE(w.until_running(2, 30000));
  int64_t end = now_ms() + kLoadSeconds * 1000;
  std::vector<std::string> shorts;
  while (now_ms() < end) {
    shorts.push_back(c.submit("short.yaml", R"(
name: short
stages:
  - name: s
    resources: { cpu: 1, memory: 16MiB }
    command: [ "sh", "-c", "i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done" ]
)"));
    auto nodes = c.cli({"nodes", "--json"});
    REQUIRE(nodes.exit_code == 0);
    for (const auto& n : nodes.json()) CHECK_MESSAGE(n["state"] != "lost", n.dump());
  }
  REQUIRE(w.p.wait(kLoadSeconds * 1000) == 0);  // the gang succeeded
  // Every job ends, succeeded and never restarted.
  json jobs;
  int64_t deadline = now_ms() + 120000;
  for (bool busy = true; busy && now_ms() < deadline;) {
    auto l = c.cli({"jobs", "--json"});
    REQUIRE(l.exit_code == 0);
    jobs = l.json();
    busy = false;
    for (const auto& j : jobs) busy = busy || j["state"] == "pending" || j["state"] == "running";
  }
  MESSAGE(shorts.size() << " short jobs ran alongside the gang");
  CHECK(jobs.size() == shorts.size() + 1);
  for (const auto& j : jobs) {
    CHECK_MESSAGE(j["state"] == "succeeded", j.dump());
    CHECK_MESSAGE(j["restarts"] == 0, j.dump());
  }
  CHECK(c.log_of("coordinator").find(" lost: ") == std::string::npos);
  // Still under the same load, a stopped worker is found: the limit is at most
  // --heartbeat-timeout-max-ms (6 s), judged every check period (187 ms).
  verdict v = stop_until_lost(c, "b", 20000);
  MESSAGE("stopped worker lost after " << v.wall_ms << " ms under load: " << v.reason);
  REQUIRE(v.wall_ms >= 0);
  CHECK(v.wall_ms < 10000);
}
