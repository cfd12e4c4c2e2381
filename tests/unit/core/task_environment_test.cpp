// The one function that builds a task's environment (core/task_environment.hpp).
#include <doctest/doctest.h>

#include <map>

#include "core/task_environment.hpp"

using namespace gantry;

namespace {

using env_map = std::map<std::string, std::string>;

worker_facts facts_for_tests() {
  worker_facts f;
  f.node = "n1";
  f.coordinator = "10.0.0.1:7070";
  f.own_env = {{"PATH", "/opt/gantry/bin:/usr/bin"},
               {"HOME", "/home/worker"},
               {"LANG", "C.UTF-8"},
               {"LC_ALL", "C"},
               {"WORKER_SECRET", "s3cret"},
               {"NCCL_DEBUG", "INFO"},
               {"NCCL_SOCKET_IFNAME", "eth0"},
               {"FOO", "1"},
               {"FOOBAR", "2"},
               {"CUDA_VISIBLE_DEVICES", "0,1,2,3"}};
  // Not in index order, and their UUIDs do not sort like their indices.
  for (int32_t index : {2, 0, 3, 1}) {
    gpu_info g;
    g.index = index;
    g.model = "H100";
    g.uuid = "GPU-" + std::string(1, static_cast<char>('z' - index)) + "-uuid";
    f.gpus.push_back(g);
  }
  return f;
}

task_spec plain_task() {
  task_spec t;
  t.task_id = "j-000007.prep.1.2";
  t.job_id = "j-000007";
  t.job_name = "recsys";
  t.stage = "prep";
  t.rank = 1;
  t.world_size = 3;
  t.attempt = 2;
  t.command = {"prep"};
  t.cpu_milli = 2500;
  return t;
}

const task_paths kPaths{"/shared/j-000007", "/data/tasks/j-000007.prep.1.2", "", ""};

env_map build(const task_spec& t, const worker_facts& f = facts_for_tests()) {
  auto env = task_environment(t, f, kPaths);
  REQUIRE_MESSAGE(env.has_value(), env.error().message);
  env_map m(env->begin(), env->end());
  CHECK(m.size() == env->size());  // one entry per name
  return m;
}

}  // namespace

TEST_CASE("a plain CPU task gets exactly its identity, the worker's basics and no GPUs") {
  CHECK(build(plain_task()) == env_map{{"CUDA_VISIBLE_DEVICES", ""},
                                       {"GANTRY_ATTEMPT", "2"},
                                       {"GANTRY_COORDINATOR", "10.0.0.1:7070"},
                                       {"GANTRY_JOB_ID", "j-000007"},
                                       {"GANTRY_JOB_NAME", "recsys"},
                                       {"GANTRY_NODE", "n1"},
                                       {"GANTRY_OUTPUT_DIR", "/shared/j-000007"},
                                       {"GANTRY_RANK", "1"},
                                       {"GANTRY_STAGE", "prep"},
                                       {"GANTRY_TASK_DIR", "/data/tasks/j-000007.prep.1.2"},
                                       {"GANTRY_TASK_ID", "j-000007.prep.1.2"},
                                       {"GANTRY_WORLD_SIZE", "3"},
                                       {"HOME", "/home/worker"},
                                       {"LANG", "C.UTF-8"},
                                       {"LC_ALL", "C"},
                                       {"OMP_NUM_THREADS", "2"},
                                       {"PATH", "/opt/gantry/bin:/usr/bin"}});
}

TEST_CASE("the environment comes sorted by name") {
  auto env = task_environment(plain_task(), facts_for_tests(), kPaths);
  REQUIRE(env.has_value());
  for (size_t i = 1; i < env->size(); ++i) CHECK((*env)[i - 1].first < (*env)[i].first);
}

TEST_CASE("OMP_NUM_THREADS: the stage's CPUs rounded down, at least 1, unless the stage sets it") {
  task_spec t = plain_task();
  t.cpu_milli = 500;
  CHECK(build(t)["OMP_NUM_THREADS"] == "1");
  t.cpu_milli = 8999;
  CHECK(build(t)["OMP_NUM_THREADS"] == "8");
  t.env = {{"OMP_NUM_THREADS", "3"}};
  CHECK(build(t)["OMP_NUM_THREADS"] == "3");
}

TEST_CASE("the stage's env is added and wins over the worker's, not over gantry's variables") {
  task_spec t = plain_task();
  t.env = {{"SHARDS", "2"}, {"PATH", "/my/bin"}, {"RANK", "9"}, {"CUDA_VISIBLE_DEVICES", "7"}};
  env_map env = build(t);
  CHECK(env["SHARDS"] == "2");
  CHECK(env["PATH"] == "/my/bin");
  CHECK(env["RANK"] == "9");  // gantry sets no RANK for a plain stage
  CHECK(env["CUDA_VISIBLE_DEVICES"] == "");
  t.gang = gang_coordinates{};
  CHECK(build(t)["RANK"] == "1");  // a collective stage's RANK is gantry's
}

TEST_CASE("--pass-env names and globs let chosen worker variables through") {
  worker_facts f = facts_for_tests();
  CHECK(build(plain_task(), f).count("WORKER_SECRET") == 0);
  CHECK(build(plain_task(), f).count("NCCL_DEBUG") == 0);
  f.pass_env = {"NCCL_*", "FOO"};
  env_map env = build(plain_task(), f);
  CHECK(env["NCCL_DEBUG"] == "INFO");
  CHECK(env["NCCL_SOCKET_IFNAME"] == "eth0");
  CHECK(env["FOO"] == "1");
  CHECK(env.count("FOOBAR") == 0);
  CHECK(env.count("WORKER_SECRET") == 0);
  // A passed variable never replaces gantry's own.
  f.pass_env = {"CUDA_*"};
  CHECK(build(plain_task(), f)["CUDA_VISIBLE_DEVICES"] == "");
}

TEST_CASE("env_name_matches: '*' is any run of characters, everything else is literal") {
  CHECK(env_name_matches("FOO", "FOO"));
  CHECK_FALSE(env_name_matches("FOO", "FOOBAR"));
  CHECK_FALSE(env_name_matches("FOO", "FO"));
  CHECK(env_name_matches("NCCL_*", "NCCL_"));
  CHECK(env_name_matches("NCCL_*", "NCCL_IB_HCA"));
  CHECK_FALSE(env_name_matches("NCCL_*", "NCCL"));
  CHECK(env_name_matches("*_PROXY", "HTTPS_PROXY"));
  CHECK(env_name_matches("A*B*C", "AxxBxxBxC"));
  CHECK_FALSE(env_name_matches("A*B*C", "AxxBxxBxD"));
  CHECK(env_name_matches("*", "ANYTHING"));
}

TEST_CASE("check_pass_env accepts names and globs, and says what it expected otherwise") {
  CHECK(check_pass_env("NCCL_*").has_value());
  CHECK(check_pass_env("FOO").has_value());
  CHECK(check_pass_env("_X1").has_value());
  for (const char* bad : {"", "1X", "A-B", "A=B", "A B"}) {
    CAPTURE(bad);
    auto r = check_pass_env(bad);
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().message.starts_with("expected a variable name"));
  }
}

TEST_CASE("whole GPUs: named by UUID in the task's order, no MPS limits") {
  task_spec t = plain_task();
  t.gpus = {3, 1};
  t.gpu_milli = 1000;
  t.gpu_memory_bytes = int64_t{80} << 30;
  env_map env = build(t);
  CHECK(env["CUDA_VISIBLE_DEVICES"] == "GPU-w-uuid,GPU-y-uuid");
  CHECK(env["CUDA_DEVICE_ORDER"] == "PCI_BUS_ID");
  CHECK(env.count("CUDA_MPS_ACTIVE_THREAD_PERCENTAGE") == 0);
  CHECK(env.count("CUDA_MPS_PINNED_DEVICE_MEM_LIMIT") == 0);
}

TEST_CASE("a share of a GPU: its compute percentage and a memory limit keyed by CUDA ordinal") {
  task_spec t = plain_task();
  t.gpus = {2};
  t.gpu_milli = 250;
  t.gpu_memory_bytes = int64_t{20} << 30;
  env_map env = build(t);
  CHECK(env["CUDA_VISIBLE_DEVICES"] == "GPU-x-uuid");
  CHECK(env["CUDA_MPS_ACTIVE_THREAD_PERCENTAGE"] == "25");
  // Ordinal 0: the only device the task sees, whatever the node calls it.
  CHECK(env["CUDA_MPS_PINNED_DEVICE_MEM_LIMIT"] == "0=20480M");
  t.gpu_milli = 5;  // 0.005 of a GPU still gets 1%
  CHECK(build(t)["CUDA_MPS_ACTIVE_THREAD_PERCENTAGE"] == "1");
}

TEST_CASE("a share under an MPS daemon names its directories, without one it says time-sliced") {
  task_spec t = plain_task();
  t.gpus = {2};
  t.gpu_milli = 500;
  t.gpu_memory_bytes = int64_t{40} << 30;
  env_map sliced = build(t);
  CHECK(sliced["GANTRY_GPU_SHARING"] == "time-sliced");
  CHECK(sliced.count("CUDA_MPS_PIPE_DIRECTORY") == 0);
  CHECK(sliced.count("CUDA_MPS_LOG_DIRECTORY") == 0);
  task_paths paths = kPaths;
  paths.mps_pipe_dir = "/data/mps/2/pipe";
  paths.mps_log_dir = "/data/mps/2/log";
  auto env = task_environment(t, facts_for_tests(), paths);
  REQUIRE(env.has_value());
  env_map mps(env->begin(), env->end());
  CHECK(mps["GANTRY_GPU_SHARING"] == "mps");
  CHECK(mps["CUDA_MPS_PIPE_DIRECTORY"] == "/data/mps/2/pipe");
  CHECK(mps["CUDA_MPS_LOG_DIRECTORY"] == "/data/mps/2/log");
  CHECK(mps["CUDA_VISIBLE_DEVICES"] == "GPU-x-uuid");  // a UUID, as the MPS docs advise
  CHECK(mps["CUDA_MPS_PINNED_DEVICE_MEM_LIMIT"] == "0=40960M");
  // Whole GPUs are not shared: no sharing mode, whatever the paths say.
  t.gpu_milli = 1000;
  env = task_environment(t, facts_for_tests(), paths);
  REQUIRE(env.has_value());
  env_map whole(env->begin(), env->end());
  CHECK(whole.count("GANTRY_GPU_SHARING") == 0);
  CHECK(whole.count("CUDA_MPS_PIPE_DIRECTORY") == 0);
}

TEST_CASE("shares of several GPUs: one limit per ordinal, in the task's order") {
  task_spec t = plain_task();
  t.gpus = {1, 3, 0};
  t.gpu_milli = 500;
  t.gpu_memory_bytes = int64_t{10} << 30;
  env_map env = build(t);
  CHECK(env["CUDA_VISIBLE_DEVICES"] == "GPU-y-uuid,GPU-w-uuid,GPU-z-uuid");
  CHECK(env["CUDA_MPS_PINNED_DEVICE_MEM_LIMIT"] == "0=10240M,1=10240M,2=10240M");
}

TEST_CASE("a share without a memory figure gets no memory limit") {
  task_spec t = plain_task();
  t.gpus = {0};
  t.gpu_milli = 500;
  env_map env = build(t);
  CHECK(env["CUDA_MPS_ACTIVE_THREAD_PERCENTAGE"] == "50");
  CHECK(env.count("CUDA_MPS_PINNED_DEVICE_MEM_LIMIT") == 0);
}

TEST_CASE("GPUs without a UUID are named by index, and a GPU the node lacks is an error") {
  worker_facts f = facts_for_tests();
  for (auto& g : f.gpus)
    if (g.index == 1) g.uuid.clear();
  task_spec t = plain_task();
  t.gpus = {3, 1};
  t.gpu_milli = 1000;
  CHECK(build(t, f)["CUDA_VISIBLE_DEVICES"] == "3,1");
  t.gpus = {3};
  CHECK(build(t, f)["CUDA_VISIBLE_DEVICES"] == "GPU-w-uuid");
  t.gpus = {4};
  auto env = task_environment(t, f, kPaths);
  REQUIRE_FALSE(env.has_value());
  CHECK(env.error().message == "GPU 4 of task j-000007.prep.1.2 is not on this node");
}

TEST_CASE("a collective stage gets torchrun's variables and its gang's rendezvous") {
  task_spec t = plain_task();
  gang_coordinates g;
  g.local_rank = 1;
  g.local_world_size = 2;
  g.group_rank = 1;
  g.group_world_size = 2;
  g.master_addr = "host-a";
  g.master_port = 29400;
  g.max_restarts = 3;
  g.rendezvous = {"j-000007", "prep", 2};
  t.gang = g;
  env_map env = build(t);
  env_map torchrun;
  for (const char* k : {"RANK", "WORLD_SIZE", "LOCAL_RANK", "LOCAL_WORLD_SIZE", "GROUP_RANK",
                        "GROUP_WORLD_SIZE", "ROLE_RANK", "ROLE_WORLD_SIZE", "ROLE_NAME",
                        "MASTER_ADDR", "MASTER_PORT", "TORCHELASTIC_RESTART_COUNT",
                        "TORCHELASTIC_MAX_RESTARTS", "TORCHELASTIC_RUN_ID", "GANTRY_RENDEZVOUS"})
    torchrun[k] = env[k];
  CHECK(torchrun == env_map{{"RANK", "1"},
                            {"WORLD_SIZE", "3"},
                            {"LOCAL_RANK", "1"},
                            {"LOCAL_WORLD_SIZE", "2"},
                            {"GROUP_RANK", "1"},
                            {"GROUP_WORLD_SIZE", "2"},
                            {"ROLE_RANK", "1"},
                            {"ROLE_WORLD_SIZE", "3"},
                            {"ROLE_NAME", "default"},
                            {"MASTER_ADDR", "host-a"},
                            {"MASTER_PORT", "29400"},
                            {"TORCHELASTIC_RESTART_COUNT", "2"},
                            {"TORCHELASTIC_MAX_RESTARTS", "3"},
                            {"TORCHELASTIC_RUN_ID", "j-000007"},
                            {"GANTRY_RENDEZVOUS", "10.0.0.1:7070/j-000007/prep/2"}});
  CHECK(build(plain_task()).size() + torchrun.size() == env.size());  // nothing else added
  // The agent store is torchrun's own: rank 0 hosts the store, as with a plain env:// init.
  CHECK(env.count("TORCHELASTIC_USE_AGENT_STORE") == 0);
}

TEST_CASE("a worker without a coordinator sets neither GANTRY_COORDINATOR nor a rendezvous") {
  worker_facts f = facts_for_tests();
  f.coordinator.clear();
  task_spec t = plain_task();
  t.gang = gang_coordinates{};
  env_map env = build(t, f);
  CHECK(env.count("GANTRY_COORDINATOR") == 0);
  CHECK(env.count("GANTRY_RENDEZVOUS") == 0);
  CHECK(env.count("RANK") == 1);
}

TEST_CASE("a launch's task credential and the worker's CA reach the task, none without them") {
  worker_facts f = facts_for_tests();
  task_spec t = plain_task();
  env_map without = build(t, f);
  CHECK(without.count("GANTRY_TASK_TOKEN") == 0);
  CHECK(without.count("GANTRY_CA") == 0);
  f.ca_file = "/etc/gantry/ca.crt";
  t.task_token = "gty_aaaaaaaaaaaa_bbbb";
  t.env.push_back({"GANTRY_TASK_TOKEN", "from the manifest"});  // a stage cannot set it
  env_map env = build(t, f);
  CHECK(env["GANTRY_TASK_TOKEN"] == "gty_aaaaaaaaaaaa_bbbb");
  CHECK(env["GANTRY_CA"] == "/etc/gantry/ca.crt");
}

TEST_CASE("checkpointing stages get the dir, and the step to restore once one is consistent") {
  task_spec t = plain_task();
  t.checkpoint_dir = "/ckpt/recsys";
  env_map env = build(t);
  CHECK(env["GANTRY_CHECKPOINT_DIR"] == "/ckpt/recsys");
  CHECK(env.count("GANTRY_RESTORE_STEP") == 0);
  t.restore_step = 0;
  CHECK(build(t)["GANTRY_RESTORE_STEP"] == "0");
  t.restore_step = 40;
  CHECK(build(t)["GANTRY_RESTORE_STEP"] == "40");
  t.checkpoint_dir.clear();  // no checkpoint: no step either
  CHECK(build(t).count("GANTRY_RESTORE_STEP") == 0);
}

TEST_CASE("a required fabric points libfabric and NCCL at it, over the stage's env") {
  task_spec t = plain_task();
  t.fabric = "tcp";
  t.env = {{"NCCL_NET", "IB"}};
  env_map env = build(t);
  CHECK(env["FI_PROVIDER"] == "tcp");
  CHECK(env["NCCL_NET"] == "Socket");
  CHECK(build(plain_task()).count("FI_PROVIDER") == 0);
}

TEST_CASE("place_in_gang: LOCAL_* within the node, GROUP_* over nodes by their lowest rank") {
  const std::vector<std::string> nodes{"b", "a", "b", "c", "a"};
  auto at = [&](int32_t r) { return place_in_gang(nodes, r); };
  // Node b holds rank 0 (group 0), a rank 1 (group 1), c rank 3 (group 2).
  CHECK(at(0).group_rank == 0);
  CHECK(at(2).group_rank == 0);
  CHECK(at(1).group_rank == 1);
  CHECK(at(4).group_rank == 1);
  CHECK(at(3).group_rank == 2);
  for (int32_t r = 0; r < 5; ++r) CHECK(at(r).group_world_size == 3);
  CHECK(at(0).local_rank == 0);
  CHECK(at(2).local_rank == 1);
  CHECK(at(2).local_world_size == 2);
  CHECK(at(3).local_rank == 0);
  CHECK(at(3).local_world_size == 1);
  CHECK(at(4).local_rank == 1);
  auto one = place_in_gang({"x"}, 0);
  CHECK(one.local_world_size == 1);
  CHECK(one.group_world_size == 1);
}

TEST_CASE("a task given its own HOME gets it instead of the worker's, and a stage's env wins") {
  task_paths paths = kPaths;
  paths.home = "/data/tasks/j-000007.prep.1.2";
  auto env = task_environment(plain_task(), facts_for_tests(), paths);
  REQUIRE(env.has_value());
  env_map m(env->begin(), env->end());
  CHECK(m["HOME"] == "/data/tasks/j-000007.prep.1.2");
  task_spec t = plain_task();
  t.env = {{"HOME", "/scratch/me"}};
  env = task_environment(t, facts_for_tests(), paths);
  REQUIRE(env.has_value());
  CHECK(env_map(env->begin(), env->end())["HOME"] == "/scratch/me");
}
