// What a placement means for the task's environment (core/task_environment.hpp builds it).
#include <doctest/doctest.h>

#include <map>

#include "core/task_environment.hpp"
#include "helpers.hpp"
#include "scheduler/scheduler.hpp"

using namespace gantry;
using namespace gantry::sched;
using namespace gantry::sched::test;

namespace {

// The environment of a task given exactly what the placement reserved.
std::map<std::string, std::string> env_of(const task_assignment& a, const node_inventory& node) {
  task_spec t;
  t.task_id = "j.s.0.0";
  t.cpu_milli = a.cpu_milli;
  t.gpus = a.gpus;
  t.gpu_milli = a.gpu_milli;
  t.gpu_memory_bytes = a.gpu_memory_bytes;
  worker_facts facts;
  facts.gpus = node.gpus;
  auto env = task_environment(t, facts, {});
  REQUIRE(env.has_value());
  return {env->begin(), env->end()};
}

}  // namespace

TEST_CASE("a fraction without gpu_memory is given its proportional slice") {
  cluster_view view;
  node_inventory node = make_node("a", 8000, 1, "H100", 80);
  view.upsert_node(node);
  scheduler s;
  placement p;
  std::string reason;
  REQUIRE(s.place_now(view, gpu_task("q", 1, 250), p, reason));
  CHECK(p.tasks[0].gpu_memory_bytes == int64_t{20} << 30);
  CHECK(env_of(p.tasks[0], node)["CUDA_MPS_PINNED_DEVICE_MEM_LIMIT"] == "0=20480M");
  CHECK(view.find("a")->gpus[0].free_memory_bytes == int64_t{60} << 30);
}

TEST_CASE("a task placed on a node's later GPUs sees them as CUDA devices 0..n-1") {
  cluster_view view;
  node_inventory node = make_node("a", 8000, 4, "H100", 80);
  for (auto& g : node.gpus) g.uuid = "GPU-" + std::to_string(9 - g.index);
  view.upsert_node(node);
  scheduler s;
  placement first, second;
  std::string reason;
  REQUIRE(s.place_now(view, gpu_task("one", 1), first, reason));
  REQUIRE(s.place_now(view, gpu_task("half", 1, 500), second, reason));
  REQUIRE(first.tasks[0].gpus.size() == 1);
  REQUIRE(second.tasks[0].gpus.size() == 1);
  int32_t index = second.tasks[0].gpus[0];
  CHECK(index != first.tasks[0].gpus[0]);
  auto env = env_of(second.tasks[0], node);
  CHECK(env["CUDA_VISIBLE_DEVICES"] == "GPU-" + std::to_string(9 - index));
  CHECK(env["CUDA_MPS_ACTIVE_THREAD_PERCENTAGE"] == "50");
  CHECK(env["CUDA_MPS_PINNED_DEVICE_MEM_LIMIT"] == "0=40960M");
}
