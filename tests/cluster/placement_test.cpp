// The placement engine through the real cluster (issue 3).
#include <doctest/doctest.h>

#include <map>

#include "tests/cluster/harness.hpp"

using namespace gantry::test;
using nlohmann::json;

TEST_CASE("a gang that cannot fit stays pending with a reason and holds nothing") {
  cluster c;
  INFO(c.logs());
  c.start({"w1", "w2"}, {"--cpus", "4", "--memory", "4GiB", "--simulate-gpus", "4xH100:80GiB"});
  // 12 GPUs on a cluster of 8 would be refused at submit (the test below); this one asks to
  // wait anyway.
  std::string big = c.submit("big.yaml", R"(
name: big
stages:
  - name: train
    device: gpu
    collective: nccl
    replicas: 3
    resources: { cpu: 1, memory: 64MiB, gpu: 4 }
    command: [ "true" ]
)",
                             {"--allow-unschedulable"});
  std::string reason;
  REQUIRE(event_stream(c, big).until(20000, [&](const json& e) {
    if (e["kind"] == "stage" && e["state"] == "pending" && !e["message"].get<std::string>().empty())
      reason = e["message"];
    return !reason.empty();
  }));
  MESSAGE("reason: " << reason);
  CHECK(reason.find("0/2 nodes") != std::string::npos);
  auto d = c.cli({"describe", big, "--json"}).json();
  CHECK(d["state"] == "pending");
  CHECK(d["stages"][0]["state"] == "pending");
  CHECK(d["stages"][0]["reason"] == reason);
  for (const auto& r : d["stages"][0]["ranks"]) CHECK(r["node"] == "");
  // Nothing is held anywhere...
  for (const auto& n : c.cli({"nodes", "--json"}).json()) {
    CHECK(n["allocated_cpus"].get<double>() == 0.0);
    for (const auto& g : n["gpus"]) CHECK(g["allocated_milli"] == 0);
  }
  // ...so a job that fits runs while the gang waits.
  std::string small = c.submit("small.yaml", R"(
name: small
stages:
  - name: s
    device: gpu
    resources: { cpu: 1, memory: 64MiB, gpu: 1 }
    command: [ "true" ]
)");
  auto w = c.cli({"watch", small});
  CHECK_MESSAGE(w.exit_code == 0, w.out);
  auto cancel = c.cli({"cancel", big});
  CHECK(cancel.exit_code == 0);
  CHECK(c.cli({"watch", big}).exit_code == 1);
}

TEST_CASE("a request no node could ever host is refused at submit unless --allow-unschedulable") {
  cluster c;
  INFO(c.logs());
  c.start({"w1"}, {"--cpus", "2", "--memory", "1GiB", "--simulate-gpus", "2xH100:80GiB"});
  const std::string manifest = R"(
name: huge
stages:
  - name: train
    device: gpu
    resources: { cpu: 1, memory: 64MiB, gpu: 2147483647 }
    command: [ "true" ]
)";
  auto refused = c.cli({"submit", c.write_manifest("huge.yaml", manifest)});
  CHECK(refused.exit_code == 2);
  CHECK(refused.out.empty());  // no job id
  CHECK_MESSAGE(refused.err.find("stages[0].resources.gpu: stage \"train\" can never be placed") !=
                    std::string::npos,
                refused.err);
  CHECK_MESSAGE(refused.err.find("0/1 nodes: 1 too few gpus") != std::string::npos, refused.err);
  CHECK(c.cli({"jobs", "--json"}).json().empty());  // nothing was stored

  std::string id = c.submit("huge.yaml", manifest, {"--allow-unschedulable"});
  std::string reason;
  REQUIRE(event_stream(c, id).until(20000, [&](const json& e) {
    if (e["kind"] == "stage" && e["stage"] == "train" && e["state"] == "pending" &&
        !e["message"].get<std::string>().empty())
      reason = e["message"];
    return !reason.empty();
  }));
  json job;
  for (const auto& j : c.cli({"jobs", "--json"}).json())
    if (j["id"] == id) job = j;
  CHECK_MESSAGE(job["state"] == "pending", job.dump());
  CHECK_MESSAGE(job["pending_reason"] == "train: " + reason, job.dump());
  CHECK(reason.find("0/1 nodes: 1 too few gpus") != std::string::npos);
  CHECK(c.cli({"cancel", id}).exit_code == 0);
}

TEST_CASE(
    "eight gpu: 0.5 tasks share four GPUs, two per GPU, with the right CUDA_VISIBLE_DEVICES") {
  cluster c;
  INFO(c.logs());
  c.start({"g1"}, {"--cpus", "8", "--memory", "8GiB", "--simulate-gpus", "4xH100:80GiB"});
  // Each task publishes what it was given through the rendezvous, then waits there for
  // the test to let it go: all eight must be running at the same time.
  std::string job = c.submit("halves.yaml", R"(
name: halves
stages:
  - name: half
    device: gpu
    replicas: 8
    resources: { cpu: 0.5, memory: 64MiB, gpu: 0.5 }
    command: [ "sh", "-c", "S=$GANTRY_COORDINATOR/$GANTRY_JOB_ID/half/0; gantry rendezvous put --scope $S gpu-$GANTRY_RANK \"$CUDA_VISIBLE_DEVICES $CUDA_MPS_ACTIVE_THREAD_PERCENTAGE\" && gantry rendezvous get --scope $S release --timeout-ms 60000" ]
)");
  std::string scope = c.address() + "/" + job + "/half/0";
  int running = 0;
  REQUIRE(event_stream(c, job).until(20000, [&](const json& e) {
    if (e["kind"] == "rank" && e["state"] == "running") ++running;
    return running == 8;
  }));
  auto d = c.cli({"describe", job, "--json"}).json();
  std::map<int, int> per_gpu;
  for (const auto& r : d["stages"][0]["ranks"]) {
    CHECK(r["state"] == "running");
    REQUIRE(r["gpus"].size() == 1);
    int gpu = r["gpus"][0];
    per_gpu[gpu]++;
    CHECK(r["gpu_milli"] == 500);
    // The task saw the GPU it was placed on (by UUID), at half its compute.
    auto seen = c.cli({"rendezvous", "get", "gpu-" + std::to_string(r["rank"].get<int>()),
                       "--scope", scope, "--timeout-ms", "20000"});
    CHECK(seen.out == "SIM-H100-" + std::to_string(gpu) + " 50\n");
  }
  CHECK(per_gpu == std::map<int, int>{{0, 2}, {1, 2}, {2, 2}, {3, 2}});
  // `gantry nodes` shows the same: every GPU fully taken by two halves, 8 x 0.5 CPUs used.
  json nodes = c.cli({"nodes", "--json"}).json();
  REQUIRE(nodes.size() == 1);
  CHECK(nodes[0]["allocated_cpus"].get<double>() == 4.0);
  for (const auto& g : nodes[0]["gpus"]) CHECK(g["allocated_milli"] == 1000);
  CHECK(c.cli({"rendezvous", "put", "release", "go", "--scope", scope}).exit_code == 0);
  auto w = c.cli({"watch", job});
  CHECK_MESSAGE(w.exit_code == 0, w.out);
}
