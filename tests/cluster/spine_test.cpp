// The spine end to end: real coordinator and worker processes on loopback.
#include <doctest/doctest.h>

#include <signal.h>

#include <filesystem>
#include <set>

#include "tests/cluster/harness.hpp"

using namespace gantry::test;
using nlohmann::json;

namespace {

std::string state_of(cluster& c, const std::string& job) {
  auto r = c.cli({"jobs", "--json"});
  REQUIRE(r.exit_code == 0);
  for (const auto& j : r.json())
    if (j["id"] == job) return j["state"];
  return "(absent)";
}

}  // namespace

TEST_CASE("hello.yaml runs on two workers and succeeds") {
  cluster c;
  INFO(c.logs());
  c.start({"w1", "w2"}, {"--cpus", "2", "--memory", "4GiB"});
  auto submit = c.cli({"submit", source_path("examples/hello.yaml")});
  REQUIRE_MESSAGE(submit.exit_code == 0, submit.err);
  std::string job = submit.out.substr(0, submit.out.find('\n'));
  CHECK(job.rfind("j-", 0) == 0);
  CHECK(submit.out == job + "\n");  // the id alone

  auto watch = c.cli({"watch", job});
  CHECK_MESSAGE(watch.exit_code == 0, (watch.out + watch.err));
  CHECK(watch.out.find("succeeded") != std::string::npos);

  for (int rank : {0, 1}) {
    std::string out =
        read_file(c.shared_dir() + "/" + job + "/hello-" + std::to_string(rank) + ".txt");
    CHECK(out.find("hello from rank " + std::to_string(rank) + " of 2") != std::string::npos);
  }
  CHECK(state_of(c, job) == "succeeded");

  auto describe = c.cli({"describe", job, "--json"});
  REQUIRE(describe.exit_code == 0);
  json d = describe.json();
  CHECK(d["state"] == "succeeded");
  REQUIRE(d["stages"].size() == 1);
  CHECK(d["stages"][0]["ranks"].size() == 2);
  for (const auto& r : d["stages"][0]["ranks"]) {
    CHECK(r["state"] == "succeeded");
    CHECK(r["pid"].get<int64_t>() > 0);
  }
  auto logs = c.cli({"logs", job, "--stage", "greet", "--rank", "1"});
  CHECK(logs.exit_code == 0);
  CHECK(logs.out.find("hello from rank 1 of 2") != std::string::npos);
}

TEST_CASE("cancelling a running job stops all its processes") {
  cluster c;
  INFO(c.logs());
  c.start({"w1", "w2"}, {"--cpus", "2", "--memory", "4GiB"});
  std::string manifest = c.write_manifest("long.yaml", R"(
name: long
stages:
  - name: sleeper
    replicas: 2
    resources: { cpu: 0.5, memory: 32MiB }
    command: [ "sleep", "600" ]
)");
  auto submit = c.cli({"submit", manifest});
  REQUIRE_MESSAGE(submit.exit_code == 0, submit.err);
  std::string job = submit.out.substr(0, submit.out.find('\n'));

  // Follow the events until both ranks run; their pids come with the events.
  std::vector<std::string> watch_args{bin("gantry"), "watch",         job,
                                      "--json",      "--coordinator", c.address()};
  for (const auto& f : c.local().client_flags()) watch_args.push_back(f);
  process watcher(watch_args, c.dir() + "/watch.err");
  std::vector<pid_t> pids;
  int64_t deadline = now_ms() + 20000;
  while (pids.size() < 2 && now_ms() < deadline) {
    std::string line = watcher.read_line(static_cast<int>(deadline - now_ms()));
    if (line.empty()) continue;
    json e = json::parse(line);
    if (e["kind"] == "rank" && e["state"] == "running") pids.push_back(e["pid"].get<pid_t>());
  }
  REQUIRE(pids.size() == 2);
  for (pid_t p : pids) CHECK(pid_alive(p));

  auto cancel = c.cli({"cancel", job});
  CHECK_MESSAGE(cancel.exit_code == 0, cancel.err);
  CHECK(watcher.wait(20000) == 1);  // watch exits 1 for a cancelled job
  auto watch = c.cli({"watch", job});
  CHECK(watch.exit_code == 1);
  CHECK(state_of(c, job) == "cancelled");
  for (pid_t p : pids) CHECK_FALSE(pid_alive(p));
}

TEST_CASE("an invalid manifest is refused naming the field, and nothing is stored") {
  cluster c;
  INFO(c.logs());
  c.start_coordinator();
  std::string manifest = c.write_manifest("bad.yaml", R"(
name: bad
stages:
  - name: s
    replicas: 1
    resources: { cpu: 1, gpu: 1.5 }
    device: gpu
    command: [ "true" ]
)");
  auto submit = c.cli({"submit", manifest});
  CHECK(submit.exit_code == 2);
  CHECK(submit.out.empty());
  CHECK(submit.err.find("stages[0].resources.gpu") != std::string::npos);
  CHECK(submit.err.find("1.5 is not a whole count or a fraction below 1") != std::string::npos);
  auto jobs = c.cli({"jobs", "--json"});
  REQUIRE(jobs.exit_code == 0);
  CHECK(jobs.json().empty());

  auto missing = c.cli({"describe", "j-424242"});
  CHECK(missing.exit_code == 2);
  CHECK(missing.err.find("no job j-424242") != std::string::npos);
}

TEST_CASE("the coordinator killed with -9 after 50 acknowledged submits loses none of them") {
  cluster c;
  INFO(c.logs());
  c.start({"w1", "w2"}, {"--cpus", "2", "--memory", "4GiB"});
  std::string manifest = c.write_manifest("quick.yaml", R"(
name: quick
stages:
  - name: s
    resources: { cpu: 0.1, memory: 16MiB }
    command: [ "true" ]
)");
  std::vector<std::string> acked;
  for (int i = 0; i < 50; ++i) {
    auto r = c.cli({"submit", manifest});
    REQUIRE_MESSAGE(r.exit_code == 0, r.err);
    acked.push_back(r.out.substr(0, r.out.find('\n')));
  }
  c.coordinator().signal(SIGKILL);
  CHECK(c.coordinator().wait(10000) == 128 + SIGKILL);

  c.start_coordinator();  // same data dir, same port
  auto jobs = c.cli({"jobs", "--json"});
  REQUIRE(jobs.exit_code == 0);
  std::set<std::string> listed;
  for (const auto& j : jobs.json()) listed.insert(j["id"].get<std::string>());
  for (const auto& id : acked) CHECK_MESSAGE(listed.count(id) == 1, id);
  // The workers come back by themselves.
  CHECK(c.wait_node("w1", "ready"));
  CHECK(c.wait_node("w2", "ready"));
  // And every job still finishes.
  for (const auto& id : {acked.front(), acked.back()}) {
    auto w = c.cli({"watch", id});
    CHECK_MESSAGE(w.exit_code == 0, (id + ": " + w.out + w.err));
  }
}

TEST_CASE("a worker killed with -9 becomes lost") {
  cluster c;
  INFO(c.logs());
  c.start({"w1", "w2"}, {"--cpus", "2", "--memory", "4GiB"});
  c.worker("w2").signal(SIGKILL);
  CHECK(c.wait_node("w2", "lost", 10000));
  auto nodes = c.cli({"nodes", "--json"});
  REQUIRE(nodes.exit_code == 0);
  for (const auto& n : nodes.json()) {
    if (n["name"] == "w2") CHECK(n["state"] == "lost");
    if (n["name"] == "w1") CHECK(n["state"] == "ready");
  }
}
