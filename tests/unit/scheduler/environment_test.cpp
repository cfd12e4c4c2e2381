// The launch environment a placement implies.
#include <doctest/doctest.h>

#include "helpers.hpp"
#include "scheduler/scheduler.hpp"

using namespace gantry;
using namespace gantry::sched;
using namespace gantry::sched::test;

using env = std::vector<std::pair<std::string, std::string>>;

TEST_CASE("a CPU task gets no GPU variables at all") {
  task_assignment a{"n", 1000, 0, {}, 0, 0, 0};
  CHECK(gpu_environment(a).empty());
}

TEST_CASE("whole GPUs: CUDA_VISIBLE_DEVICES only") {
  task_assignment a{"n", 1000, 0, {2, 3}, 1000, int64_t{80} << 30, 0};
  CHECK(gpu_environment(a) == env{{"CUDA_VISIBLE_DEVICES", "2,3"}});
}

TEST_CASE("a fraction also gets its MPS thread share and pinned memory limit") {
  task_assignment a{"n", 1000, 0, {5}, 250, int64_t{20} << 30, 0};
  CHECK(gpu_environment(a) == env{{"CUDA_VISIBLE_DEVICES", "5"},
                                  {"CUDA_MPS_ACTIVE_THREAD_PERCENTAGE", "25"},
                                  {"CUDA_MPS_PINNED_DEVICE_MEM_LIMIT", "5=20480M"}});
  a.gpu_milli = 5;  // 0.005 of a GPU still gets 1%
  CHECK(gpu_environment(a)[1].second == "1");
}

TEST_CASE("a fraction without a memory figure gets no memory limit") {
  task_assignment a{"n", 1000, 0, {0}, 500, 0, 0};
  CHECK(gpu_environment(a) ==
        env{{"CUDA_VISIBLE_DEVICES", "0"}, {"CUDA_MPS_ACTIVE_THREAD_PERCENTAGE", "50"}});
}

TEST_CASE("a fraction without gpu_memory is given its proportional slice") {
  cluster_view view;
  view.upsert_node(make_node("a", 8000, 1, "H100", 80));
  scheduler s;
  placement p;
  std::string reason;
  REQUIRE(s.place_now(view, gpu_task("q", 1, 250), p, reason));
  CHECK(p.tasks[0].gpu_memory_bytes == int64_t{20} << 30);
  CHECK(gpu_environment(p.tasks[0]).back().second == "0=20480M");
  CHECK(view.find("a")->gpus[0].free_memory_bytes == int64_t{60} << 30);
}
