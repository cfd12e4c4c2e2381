// What a task is given, end to end: a clean environment, torchrun's variables, GPUs by
// UUID, working_dir, and starts that fail reported as such (core/task_environment.hpp).
#include <doctest/doctest.h>
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <map>
#include <set>
#include <sstream>

#include "tests/cluster/harness.hpp"

using namespace gantry::test;
using nlohmann::json;

namespace {

using env_map = std::map<std::string, std::string>;

// The output of `env` run as the task's program: exactly the task's environment.
env_map task_env(cluster& c, const std::string& job, const std::string& stage, int rank) {
  auto r = c.cli({"logs", job, "--stage", stage, "--rank", std::to_string(rank)});
  REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  env_map env;
  std::istringstream in(r.out);
  for (std::string line; std::getline(in, line);) {
    auto eq = line.find('=');
    if (eq != std::string::npos) env[line.substr(0, eq)] = line.substr(eq + 1);
  }
  return env;
}

json ranks_of(cluster& c, const std::string& job, size_t stage = 0) {
  auto d = c.cli({"describe", job, "--json"});
  REQUIRE_MESSAGE(d.exit_code == 0, d.err);
  return d.json()["stages"][stage]["ranks"];
}

// Variables of the worker's that a test sets for the length of one cluster.
struct worker_variables {
  explicit worker_variables(env_map vars) : vars_(std::move(vars)) {
    for (const auto& [k, v] : vars_) setenv(k.c_str(), v.c_str(), 1);
  }
  ~worker_variables() {
    for (const auto& [k, v] : vars_) unsetenv(k.c_str());
  }
  env_map vars_;
};

bool gantry_sets(const std::string& name) {
  static const std::set<std::string> torchrun{
      "RANK",        "WORLD_SIZE",       "LOCAL_RANK",     "LOCAL_WORLD_SIZE",
      "GROUP_RANK",  "GROUP_WORLD_SIZE", "ROLE_RANK",      "ROLE_WORLD_SIZE",
      "ROLE_NAME",   "MASTER_ADDR",      "MASTER_PORT",    "OMP_NUM_THREADS",
      "FI_PROVIDER", "NCCL_NET",         "NCCL_IB_DISABLE"};
  return name.starts_with("GANTRY_") || name.starts_with("TORCHELASTIC_") ||
         name.starts_with("CUDA_") || torchrun.count(name) > 0;
}

}  // namespace

TEST_CASE("a gang's tasks get a clean environment with torchrun's variables") {
  worker_variables vars({{"ENV_TEST_SECRET", "worker-only"},
                         {"ENV_TEST_PASS_A", "a"},
                         {"ENV_TEST_PASS_B", "b"},
                         {"ENV_TEST_ONE", "1"},
                         {"ENV_TEST_ONE_MORE", "no"},
                         {"LC_TIME", "C"}});
  cluster c;
  INFO(c.logs());
  c.start({"a", "b"},
          {"--cpus", "4", "--memory", "2GiB", "--pass-env", "ENV_TEST_PASS_*,ENV_TEST_ONE"});
  std::string job = c.submit("env.yaml", R"(
name: env
max_restarts: 2
stages:
  - name: ranks
    collective: nccl
    replicas: 4
    fabric: tcp
    resources: { cpu: 2, memory: 32MiB }
    env: { STAGE_VAR: "from the manifest" }
    command: [ "env" ]
)");
  CHECK(c.cli({"watch", job}).exit_code == 0);
  json ranks = ranks_of(c, job);
  REQUIRE(ranks.size() == 4);
  std::string master_node = ranks[0]["node"];
  for (int r = 0; r < 4; ++r) {
    CAPTURE(r);
    env_map env = task_env(c, job, "ranks", r);
    // From the worker: the basics, and what --pass-env names; nothing else.
    CHECK(env.count("ENV_TEST_SECRET") == 0);
    CHECK(env.count("ENV_TEST_ONE_MORE") == 0);
    CHECK(env["ENV_TEST_PASS_A"] == "a");
    CHECK(env["ENV_TEST_PASS_B"] == "b");
    CHECK(env["ENV_TEST_ONE"] == "1");
    CHECK(env["LC_TIME"] == "C");
    CHECK(env["PATH"].starts_with(std::filesystem::path(bin("gantry")).parent_path().string()));
    // A root worker runs tasks as nobody, with their own directory as HOME.
    if (geteuid() == 0)
      CHECK(env["HOME"] == env["GANTRY_TASK_DIR"]);
    else if (const char* home = std::getenv("HOME"))
      CHECK(env["HOME"] == home);
    std::set<std::string> allowed{
        "PATH", "HOME", "LANG", "STAGE_VAR", "ENV_TEST_PASS_A", "ENV_TEST_PASS_B", "ENV_TEST_ONE"};
    for (const auto& [k, v] : env)
      CHECK_MESSAGE(allowed.count(k) + gantry_sets(k) + k.starts_with("LC_") > 0,
                    "unexpected variable " << k);
    CHECK(env["STAGE_VAR"] == "from the manifest");
    // torchrun's view: the stage is the one role; nodes are groups ordered by lowest rank.
    std::string node = ranks[r]["node"];
    CHECK(env["RANK"] == std::to_string(r));
    CHECK(env["WORLD_SIZE"] == "4");
    CHECK(env["ROLE_RANK"] == std::to_string(r));
    CHECK(env["ROLE_WORLD_SIZE"] == "4");
    CHECK(env["ROLE_NAME"] == "default");
    CHECK(env["GROUP_WORLD_SIZE"] == "2");
    CHECK(env["GROUP_RANK"] == (node == master_node ? "0" : "1"));
    CHECK(env["LOCAL_WORLD_SIZE"] == "2");
    CHECK(env["GANTRY_NODE"] == node);
    // Its credential for its rendezvous, and the CA to check the coordinator with.
    CHECK(env["GANTRY_TASK_TOKEN"].rfind("gty_", 0) == 0);
    // The worker's public copy of the CA: tasks run as other users than the worker.
    CHECK(env["GANTRY_CA"] == c.dir() + "/" + node + "/ca.crt");
    CHECK(read_file(env["GANTRY_CA"]) == read_file(c.local().ca_file()));
    CHECK(env["TORCHELASTIC_RUN_ID"] == job);
    CHECK(env["TORCHELASTIC_RESTART_COUNT"] == "0");
    CHECK(env["TORCHELASTIC_MAX_RESTARTS"] == "2");
    CHECK(env["OMP_NUM_THREADS"] == "2");  // the stage's CPUs per rank
    CHECK(env["GANTRY_RENDEZVOUS"] == c.address() + "/" + job + "/ranks/0");
    CHECK(env["FI_PROVIDER"] == "tcp");
    CHECK(env["CUDA_VISIBLE_DEVICES"] == "");  // no GPU: none of the node's either
  }
  // A pass-env entry that is no variable name is refused before the worker starts.
  auto bad = c.cli_without_credentials(
      {"worker", "--name", "bad", "--data-dir", c.dir() + "/bad", "--pass-env", "NCCL_*,A-B"},
      20000);
  CHECK(bad.exit_code == 2);
  CHECK(bad.err.find("--pass-env: expected a variable name") != std::string::npos);
  CHECK(bad.err.find("\"A-B\"") != std::string::npos);
}

TEST_CASE("GPU tasks see their GPUs by UUID, with MPS limits keyed by CUDA ordinal") {
  cluster c;
  INFO(c.logs());
  c.start({"g"}, {"--cpus", "8", "--memory", "8GiB", "--simulate-gpus", "4xH100:80GiB"});
  // Together each stage's ranks use every GPU, so most of them sit on GPUs whose index is
  // not their CUDA ordinal. whole and pairs are gangs; halves is not (a collective stage
  // cannot share GPUs), so its eight ranks pack the four GPUs two by two.
  std::string job = c.submit("gpus.yaml", R"(
name: gpus
stages:
  - name: whole
    device: gpu
    collective: nccl
    replicas: 4
    resources: { cpu: 1, memory: 32MiB, gpu: 1 }
    command: [ "env" ]
  - name: halves
    device: gpu
    after: [ whole ]
    replicas: 8
    resources: { cpu: 0.5, memory: 32MiB, gpu: 0.5 }
    env: { OMP_NUM_THREADS: "7" }
    command: [ "env" ]
  - name: pairs
    device: gpu
    after: [ halves ]
    collective: nccl
    replicas: 2
    resources: { cpu: 1, memory: 32MiB, gpu: 2 }
    command: [ "env" ]
)");
  auto w = c.cli({"watch", job});
  REQUIRE_MESSAGE(w.exit_code == 0, w.out);
  auto uuids = [](const json& gpus) {
    std::string out;
    for (const auto& g : gpus) out += (out.empty() ? "SIM-H100-" : ",SIM-H100-") + g.dump();
    return out;
  };
  struct expect {
    const char* stage;
    size_t index;
    size_t ranks;
    size_t gpus_each;
  };
  for (expect e : {expect{"whole", 0, 4, 1}, expect{"halves", 1, 8, 1}, expect{"pairs", 2, 2, 2}}) {
    CAPTURE(e.stage);
    json ranks = ranks_of(c, job, e.index);
    REQUIRE(ranks.size() == e.ranks);
    std::set<int> used;
    for (const auto& r : ranks) {
      CAPTURE(r.dump());
      REQUIRE(r["gpus"].size() == e.gpus_each);
      for (const auto& g : r["gpus"]) used.insert(g.get<int>());
      env_map env = task_env(c, job, e.stage, r["rank"].get<int>());
      CHECK(env["CUDA_VISIBLE_DEVICES"] == uuids(r["gpus"]));
      CHECK(env["CUDA_DEVICE_ORDER"] == "PCI_BUS_ID");
      if (std::string(e.stage) == "halves") {
        CHECK(env["CUDA_MPS_ACTIVE_THREAD_PERCENTAGE"] == "50");
        CHECK(env["CUDA_MPS_PINNED_DEVICE_MEM_LIMIT"] == "0=40960M");  // ordinal 0, whatever GPU
        CHECK(env["OMP_NUM_THREADS"] == "7");                          // the stage's own value wins
        // Simulated GPUs are never fenced by MPS: the task, describe and nodes all say so.
        CHECK(env["GANTRY_GPU_SHARING"] == "time-sliced");
        CHECK(env.count("CUDA_MPS_PIPE_DIRECTORY") == 0);
        CHECK(r["gpu_sharing"] == "time-sliced");
      } else {
        CHECK(env.count("CUDA_MPS_ACTIVE_THREAD_PERCENTAGE") == 0);
        CHECK(env.count("CUDA_MPS_PINNED_DEVICE_MEM_LIMIT") == 0);
        CHECK(env["OMP_NUM_THREADS"] == "1");
        CHECK(env.count("GANTRY_GPU_SHARING") == 0);
        CHECK_FALSE(r.contains("gpu_sharing"));
      }
    }
    CHECK(used == std::set<int>{0, 1, 2, 3});
  }
  auto nodes = c.cli({"nodes", "--json"});
  REQUIRE(nodes.exit_code == 0);
  CHECK(nodes.json()[0]["gpu_sharing"] == "time-sliced");
}

TEST_CASE("working_dir is where a task runs, and a start that fails says why instead of exit 127") {
  cluster c;
  INFO(c.logs());
  c.start({"a"}, {"--cpus", "2", "--memory", "1GiB"});
  std::string wd = c.dir() + "/work dir";
  std::filesystem::create_directories(wd);
  std::string ok = c.submit("wd.yaml", R"(
name: wd
stages:
  - name: s
    resources: { cpu: 0.5, memory: 16MiB }
    working_dir: ")" + wd + R"("
    command: [ "sh", "-c", "pwd; echo $GANTRY_TASK_DIR" ]
)");
  CHECK(c.cli({"watch", ok}).exit_code == 0);
  auto out = c.cli({"logs", ok});
  REQUIRE(out.exit_code == 0);
  std::istringstream lines(out.out);
  std::string pwd, task_dir;
  std::getline(lines, pwd);
  std::getline(lines, task_dir);
  CHECK(pwd == wd);
  CHECK(task_dir.find("/tasks/" + ok + ".s.0.0") != std::string::npos);

  struct bad_start {
    const char* name;
    std::string fields;
    std::string why;
  };
  for (const auto& b :
       {bad_start{"noprog", "command: [ gantry-no-such-program ]",
                  "cannot execute gantry-no-such-program: No such file or directory"},
        bad_start{
            "nodir", "working_dir: " + wd + "/missing\n    command: [ \"true\" ]",
            "cannot enter working directory " + wd + "/missing: No such file or directory"}}) {
    CAPTURE(b.name);
    std::string job = c.submit(std::string(b.name) + ".yaml", "name: " + std::string(b.name) +
                                                                  R"(
stages:
  - name: s
    resources: { cpu: 0.5, memory: 16MiB }
    )" + b.fields + "\n");
    auto watched = c.cli({"watch", job, "--json"});
    CHECK(watched.exit_code == 1);
    std::istringstream events(watched.out);
    for (std::string line; std::getline(events, line);) {
      json e = json::parse(line);
      CHECK_MESSAGE(!(e["kind"] == "rank" && e["state"] == "running"), line);
    }
    auto d = c.cli({"describe", job, "--json"}).json();
    CHECK(d["state"] == "failed");
    json rank = d["stages"][0]["ranks"][0];
    CHECK(rank["state"] == "failed");
    CHECK_MESSAGE(rank["reason"].get<std::string>().find(b.why) != std::string::npos,
                  rank["reason"]);
    CHECK_MESSAGE(d["reason"].get<std::string>().find(b.why) != std::string::npos, d["reason"]);
    // The rank's log says so too.
    auto log = c.cli({"logs", job});
    CHECK(log.out.find(b.why) != std::string::npos);
  }
}
