#include <doctest/doctest.h>

#include "helpers.hpp"
#include "scheduler/scheduler.hpp"

using namespace gantry;
using namespace gantry::sched;
using namespace gantry::sched::test;

TEST_CASE("a gang that does not fit places nothing and says why") {
  cluster_view view;
  view.upsert_node(make_node("a", 4000, 1));
  view.upsert_node(make_node("b", 4000, 1));
  scheduler s(policy_kind::first_fit);
  placement_request req;
  req.id = "j/train";
  req.count = 3;
  req.gang = true;
  req.per_task.cpu_milli = 1000;
  req.per_task.gpu_count = 1;
  req.per_task.gpu_milli = 1000;
  s.enqueue(req);
  auto res = s.schedule(view);
  CHECK(res.placed.empty());
  REQUIRE(res.pending.size() == 1);
  CHECK(res.pending[0].reason ==
        "0/2 nodes: 2 insufficient gpu; 2 of 3 ranks fit; exceeds cluster capacity");
  CHECK(view.find("a")->free_cpu_milli == 4000);
  CHECK(view.find("a")->gpus[0].free_milli == 1000);
}

TEST_CASE("release gives back exactly what a placement took") {
  cluster_view view;
  view.upsert_node(make_node("a", 4000, 2));
  scheduler s;
  placement_request req;
  req.id = "j/s/0";
  req.per_task.cpu_milli = 1500;
  req.per_task.memory_bytes = 1 << 30;
  req.per_task.gpu_count = 1;
  req.per_task.gpu_milli = 250;
  req.per_task.gpu_memory_bytes = 10LL << 30;
  s.enqueue(req);
  auto res = s.schedule(view);
  REQUIRE(res.placed.size() == 1);
  CHECK(view.find("a")->free_cpu_milli == 2500);
  CHECK(view.find("a")->gpus[0].free_milli == 750);
  view.release(res.placed[0].tasks[0]);
  CHECK(view.find("a")->free_cpu_milli == 4000);
  CHECK(view.find("a")->free_memory_bytes == 64LL << 30);
  CHECK(view.find("a")->gpus[0].free_milli == 1000);
  CHECK(view.find("a")->gpus[0].free_memory_bytes == 80LL << 30);
}
