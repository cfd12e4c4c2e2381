// Task isolation end to end (docs/isolation.md): a worker's isolation mode in `nodes` and
// --require-isolation; with cgroups, memory limits with an OOM reason, the whole tree killed
// on cancel, and accounting in describe; time limits on a job and on a stage.
#include <doctest/doctest.h>
#include <signal.h>

#include <fstream>

#include "tests/cluster/harness.hpp"

using namespace gantry::test;
using nlohmann::json;

namespace {

// The isolation a ready worker reported ("none", "v1", "v2").
std::string isolation_of(cluster& c, const std::string& node) {
  auto r = c.cli({"nodes", "--json"});
  REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  for (const auto& n : r.json())
    if (n["name"] == node) return n["isolation"];
  FAIL("node " << node << " not listed");
  return "";
}

json describe(cluster& c, const std::string& job) {
  auto d = c.cli({"describe", job, "--json"});
  REQUIRE_MESSAGE(d.exit_code == 0, d.err);
  return d.json();
}

}  // namespace

TEST_CASE("a worker reports its isolation, --require-isolation refuses one without cgroups") {
  cluster c;
  INFO(c.logs());
  c.start_coordinator({"--require-isolation"});
  c.start_worker("plain", {"--cgroups", "none"});
  CHECK_FALSE(c.wait_node("plain", "ready", 3000));
  CHECK(c.log_of("plain").find("requires it (--require-isolation)") != std::string::npos);
  c.start_worker("auto");
  if (!c.wait_node("auto", "ready", 20000)) {
    MESSAGE("this machine gives the worker no cgroups: only the refusal is checked");
    CHECK(c.log_of("auto").find("isolation: none") != std::string::npos);
    return;
  }
  std::string mode = isolation_of(c, "auto");
  CHECK((mode == "v1" || mode == "v2"));
  auto table = c.cli({"nodes"});
  CHECK(table.out.find("ISOLATION") != std::string::npos);
  CHECK(table.out.find(mode) != std::string::npos);
}

TEST_CASE("without --require-isolation a worker without cgroups runs tasks, reported as none") {
  cluster c;
  INFO(c.logs());
  c.start({"w"}, {"--cgroups", "none"});
  CHECK(isolation_of(c, "w") == "none");
  std::string job = c.submit("true.yaml", R"(
name: plain
stages:
  - name: s
    command: [ "true" ]
)");
  CHECK(c.cli({"watch", job}).exit_code == 0);
  json rank = describe(c, job)["stages"][0]["ranks"][0];
  CHECK(rank["wall_seconds"].get<double>() >= 0);
  CHECK_FALSE(rank.contains("peak_memory_bytes"));  // no cgroup measured it
}

TEST_CASE("cgroups: a memory hog dies with an OOM reason, its neighbour lives, usage recorded") {
  cluster c;
  INFO(c.logs());
  c.start({"w"}, {"--cpus", "4", "--memory", "2GiB"});
  if (isolation_of(c, "w") == "none") {
    MESSAGE("no cgroups on this machine: not run");
    return;
  }
  std::string calm = c.submit("calm.yaml", R"(
name: calm
stages:
  - name: s
    resources: { cpu: 1, memory: 32MiB }
    command: [ "sh", "-c", "while [ ! -e $GANTRY_OUTPUT_DIR/release ]; do sleep 0.05; done" ]
)");
  event_stream calm_events(c, calm);
  REQUIRE(calm_events.until_running(1, 30000));
  // dash keeps a command substitution's output in memory: 200 MB of it.
  std::string hog = c.submit("hog.yaml", R"(
name: hog
max_restarts: 0
stages:
  - name: s
    resources: { cpu: 1, memory: 32MiB }
    command: [ "sh", "-c", "x=$(head -c 200000000 /dev/zero | tr '\\0' a); echo survived" ]
)");
  CHECK(c.cli({"watch", hog}).exit_code == 1);
  json h = describe(c, hog);
  CHECK(h["state"] == "failed");
  std::string reason = h["stages"][0]["ranks"][0]["reason"];
  CHECK(reason.rfind("out of memory: limit 32MiB, peak ", 0) == 0);
  CHECK(h["stages"][0]["ranks"][0]["peak_memory_bytes"].get<int64_t>() <= 32 << 20);
  CHECK(describe(c, calm)["state"] == "running");
  std::ofstream(c.shared_dir() + "/" + calm + "/release").put('\n');
  CHECK(c.cli({"watch", calm}).exit_code == 0);
  json rank = describe(c, calm)["stages"][0]["ranks"][0];
  CHECK(rank["peak_memory_bytes"].get<int64_t>() > 0);
  CHECK(rank["peak_memory_bytes"].get<int64_t>() <= 32 << 20);
  CHECK(rank["cpu_seconds"].get<double>() > 0);
  CHECK(rank["wall_seconds"].get<double>() > 0);
  CHECK(c.cli({"describe", calm}).out.find("peak ") != std::string::npos);
}

TEST_CASE("cgroups: cancel kills a daemon that left the task's session") {
  cluster c;
  INFO(c.logs());
  c.start({"w"});
  if (isolation_of(c, "w") == "none") {
    MESSAGE("no cgroups on this machine: not run");
    return;
  }
  std::string script = c.dir() + "/daemon.sh";
  std::ofstream(script) << R"SH(
setsid sh -c 'echo $$ > "$GANTRY_OUTPUT_DIR/d.tmp"; mv "$GANTRY_OUTPUT_DIR/d.tmp" "$GANTRY_OUTPUT_DIR/d.pid"; exec sleep 600' &
while [ ! -e "$GANTRY_OUTPUT_DIR/d.pid" ]; do :; done
echo "daemon $(cat "$GANTRY_OUTPUT_DIR/d.pid")"
exec sleep 600
)SH";
  std::string job = c.submit("daemon.yaml", R"(
name: daemon
stages:
  - name: s
    command: [ "sh", ")" + script + R"(" ]
)");
  std::vector<std::string> follow = {bin("gantry"), "logs",          job,
                                     "--follow",    "--coordinator", c.address()};
  for (const auto& flag : c.local().client_flags()) follow.push_back(flag);
  process logs(follow, c.dir() + "/logs-follow.err");
  std::string line = logs.read_line(30000);
  REQUIRE(line.rfind("daemon ", 0) == 0);
  pid_t daemon = std::stoi(line.substr(7));
  REQUIRE(pid_alive(daemon));
  CHECK(getsid(daemon) == daemon);  // its own session: a process-group kill misses it
  CHECK(c.cli({"cancel", job}).exit_code == 0);
  CHECK(wait_pid_gone(daemon, 15000));
}

TEST_CASE("time limits: a job's ends it without a restart, a stage's restarts when asked") {
  cluster c;
  INFO(c.logs());
  c.start({"w"}, {"--time-limit-grace-ms", "500"});
  std::string job = c.submit("limit.yaml", R"(
name: limited
max_restarts: 2
time_limit: 1s
stages:
  - name: s
    command: [ "sleep", "600" ]
)");
  CHECK(c.cli({"watch", job}).exit_code == 1);
  json j = describe(c, job);
  CHECK(j["restarts"] == 0);
  CHECK(j["stages"][0]["ranks"][0]["reason"] == "time limit 1s exceeded");
  CHECK(j["reason"].get<std::string>().find("(restart_on_time_limit is false)") !=
        std::string::npos);

  std::string stage_job = c.submit("stage-limit.yaml", R"(
name: stage-limited
max_restarts: 1
time_limit: 1h
restart_on_time_limit: true
stages:
  - name: quick
    command: [ "true" ]
  - name: slow
    time_limit: 1s
    command: [ "sh", "-c", "trap '' TERM; while :; do sleep 0.1; done" ]
)");
  CHECK(c.cli({"watch", stage_job}).exit_code == 1);
  json s = describe(c, stage_job);
  CHECK(s["restarts"] == 1);
  CHECK(s["stages"][0]["state"] == "succeeded");
  CHECK(s["stages"][1]["ranks"][0]["reason"] == "time limit 1s exceeded");
  CHECK(s["stages"][1]["ranks"][0]["exit_code"] == 128 + SIGKILL);  // it ignored SIGTERM
  CHECK(s["reason"].get<std::string>().find("max_restarts (1) exhausted") != std::string::npos);
}
