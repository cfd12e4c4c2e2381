// Collective jobs with checkpoints, through real workers (issues 4 and 5). The job is
// gantry-example-allreduce: a CPU ring all-reduce over TCP that verifies every sum and
// commits a checkpoint every few steps; rank 0 writes allreduce-result.txt.
#include <doctest/doctest.h>

#include <signal.h>

#include <map>
#include <set>
#include <sstream>

#include "tests/cluster/harness.hpp"

using namespace gantry::test;
using nlohmann::json;

namespace {

std::string allreduce_manifest(const std::string& name, int ranks, int steps, int step_ms,
                               const std::string& ckpt_dir) {
  return "name: " + name +
         "\nmax_restarts: 3\nstages:\n  - name: ring\n    collective: nccl\n"
         "    replicas: " +
         std::to_string(ranks) +
         "\n"
         "    resources: { cpu: 1, memory: 64MiB }\n"
         "    checkpoint: { dir: " +
         ckpt_dir +
         " }\n"
         "    command: [ \"gantry-example-allreduce\", \"--steps\", \"" +
         std::to_string(steps) + "\", \"--checkpoint-every\", \"5\", \"--step-ms\", \"" +
         std::to_string(step_ms) + "\" ]\n";
}

// The step time of the jobs a test interrupts after their checkpoint at step 10: the 50 steps
// left (7.5 s) are the time the test has to act (a describe, a signal) before the job could
// end by itself, with sanitized CLI processes on a loaded machine (at 40 ms, it ended first).
constexpr int kStepMs = 150;

// "steps N world W checksum X restored_from S attempt A backend B" as a map.
std::map<std::string, std::string> result_of(cluster& c, const std::string& job) {
  std::istringstream in(read_file(c.shared_dir() + "/" + job + "/allreduce-result.txt"));
  std::map<std::string, std::string> out;
  for (std::string k, v; in >> k >> v;) out[k] = v;
  return out;
}

// The checksum of an uninterrupted run of the same computation.
std::string reference_checksum(cluster& c, int ranks, int steps) {
  std::string job = c.submit("reference.yaml", allreduce_manifest("reference", ranks, steps, 0,
                                                                  c.task_writable_dir("ckpt-ref")));
  auto w = c.cli({"watch", job});
  REQUIRE_MESSAGE(w.exit_code == 0, w.out);
  auto r = result_of(c, job);
  CHECK(r["restored_from"] == "-1");
  return r["checksum"];
}

// Waits until a checkpoint at or after `step` is consistent, then returns the node and pid
// of rank 1.
std::pair<std::string, pid_t> after_checkpoint(cluster& c, const std::string& job,
                                               event_stream& events, int step) {
  REQUIRE(events.until(30000, [&](const json& e) {
    std::string m = e["message"];
    auto at = m.find("checkpoint step ");
    return e["kind"] == "stage" && at != std::string::npos && std::stoi(m.substr(at + 16)) >= step;
  }));
  json d = c.cli({"describe", job, "--json"}).json();
  const json& rank1 = d["stages"][0]["ranks"][1];
  REQUIRE(rank1["state"] == "running");
  return {rank1["node"].get<std::string>(), static_cast<pid_t>(rank1["pid"].get<int64_t>())};
}

// The job ends; returns its final describe.
json finish(cluster& c, const std::string& job) {
  auto w = c.cli({"watch", job}, 120000);
  CHECK_MESSAGE(w.exit_code == 0, w.out);
  json d = c.cli({"describe", job, "--json"}).json();
  if (d["restarts"] != 1) {  // say why, for the record
    MESSAGE("events:\n" << w.out);
    MESSAGE("logs:\n" << c.cli({"logs", job}).out);
  }
  return d;
}

}  // namespace

TEST_CASE("a 2-worker x 2-rank CPU collective job succeeds with the right sums") {
  cluster c;
  INFO(c.logs());
  c.start({"a", "b"}, {"--cpus", "2", "--memory", "2GiB"});
  std::string job =
      c.submit("ring.yaml", allreduce_manifest("ring", 4, 20, 0, c.task_writable_dir("ckpt")));
  auto w = c.cli({"watch", job});
  REQUIRE_MESSAGE(w.exit_code == 0, (w.out + c.cli({"logs", job}).out));
  auto r = result_of(c, job);
  CHECK(r["world"] == "4");
  CHECK(r["steps"] == "20");
  CHECK(r["backend"] == "cpu");
  // Every step's sum was verified by every rank (a wrong sum exits 3); the ranks ran on both
  // workers.
  auto d = c.cli({"describe", job, "--json"}).json();
  std::set<std::string> nodes;
  for (const auto& rk : d["stages"][0]["ranks"]) nodes.insert(rk["node"].get<std::string>());
  CHECK(nodes == std::set<std::string>{"a", "b"});
}

TEST_CASE("a checkpointing gang that loses a worker to kill -9 resumes from its checkpoint") {
  cluster c;
  INFO(c.logs());
  c.start({"w1", "w2", "w3", "w4"},
          {"--cpus", "1", "--memory", "2GiB"});  // one rank per worker, and a spare
  std::string expected = reference_checksum(c, 3, 60);
  std::string job = c.submit(
      "ckpt.yaml", allreduce_manifest("ckpt", 3, 60, kStepMs, c.task_writable_dir("ckpt")));
  event_stream events(c, job);
  auto [node, pid] = after_checkpoint(c, job, events, 10);
  c.worker(node).signal(SIGKILL);
  json d = finish(c, job);
  CHECK(d["state"] == "succeeded");
  CHECK(d["restarts"] == 1);
  CHECK(d["stages"][0]["checkpoint_step"].get<int64_t>() >= 10);
  for (const auto& rk : d["stages"][0]["ranks"]) {
    CHECK(rk["attempt"] == 1);
    CHECK(rk["node"] != node);
  }
  auto r = result_of(c, job);
  CHECK(r["checksum"] == expected);
  CHECK(std::stoi(r["restored_from"]) > 0);
  CHECK(r["attempt"] == "1");
  CHECK_FALSE(pid_alive(pid));
}

TEST_CASE("a stopped worker that comes back after its gang moved has its old task killed") {
  cluster c;
  INFO(c.logs());
  c.start({"w1", "w2", "w3", "w4"}, {"--cpus", "1", "--memory", "2GiB"});
  std::string expected = reference_checksum(c, 3, 60);
  std::string job = c.submit(
      "stop.yaml", allreduce_manifest("stop", 3, 60, kStepMs, c.task_writable_dir("ckpt")));
  event_stream events(c, job);
  auto [node, pid] = after_checkpoint(c, job, events, 10);
  // A hung machine: the worker and its task stop; its heartbeats stop with them.
  c.worker(node).signal(SIGSTOP);
  ::kill(pid, SIGSTOP);
  // The gang moves: every rank runs again as attempt 1, elsewhere.
  REQUIRE(events.until_running(3, 30000, 1));
  // Now the machine wakes up: its stale rank must neither count nor survive.
  ::kill(pid, SIGCONT);
  c.worker(node).signal(SIGCONT);
  CHECK(wait_pid_gone(pid, 20000));
  CHECK(c.wait_node(node, "ready"));  // it registered again by itself
  json d = finish(c, job);
  CHECK(d["state"] == "succeeded");
  CHECK(d["restarts"] == 1);
  CHECK(result_of(c, job)["checksum"] == expected);
}
