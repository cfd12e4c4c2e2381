// Every filter, and the aggregated reason an unschedulable request gets.
#include <doctest/doctest.h>

#include "helpers.hpp"
#include "scheduler/scheduler.hpp"

using namespace gantry;
using namespace gantry::sched;
using namespace gantry::sched::test;

namespace {

std::string why(cluster_view& view, const placement_request& req) {
  scheduler s(policy_kind::best_fit);
  placement p;
  std::string reason;
  CHECK_FALSE(s.try_place(view, req, p, reason));
  CHECK(p.tasks.empty());
  return reason;
}

}  // namespace

TEST_CASE("cordoned nodes are filtered out and come back when uncordoned") {
  cluster_view view;
  view.upsert_node(make_node("a", 4000, 0));
  view.set_schedulable("a", false);
  CHECK(why(view, cpu_task("t", 1000)) == "0/1 nodes: 1 unschedulable");
  view.set_schedulable("a", true);
  scheduler s;
  placement p;
  std::string reason;
  CHECK(s.try_place(view, cpu_task("t", 1000), p, reason));
}

TEST_CASE("node selector, colocation and fabric filters") {
  cluster_view view;
  auto a = make_node("a", 4000, 0);
  a.labels = {{"zone", "east"}};
  a.fabrics = {"tcp"};
  auto b = make_node("b", 4000, 0);
  b.labels = {{"zone", "west"}};
  b.fabrics = {"tcp", "verbs"};
  view.upsert_node(a);
  view.upsert_node(b);

  auto req = cpu_task("t", 1000);
  req.node_selector = {{"zone", "north"}};
  CHECK(why(view, req) == "0/2 nodes: 2 node selector mismatch");

  req = cpu_task("t", 1000);
  req.colocate_nodes = {"c"};
  CHECK(why(view, req) == "0/2 nodes: 2 not colocated");

  req = cpu_task("t", 1000);
  req.fabric = "efa";
  CHECK(why(view, req) == "0/2 nodes: 2 missing fabric efa");

  // Each filter lets the matching node through.
  scheduler s;
  placement p;
  std::string reason;
  req = cpu_task("t", 1000);
  req.node_selector = {{"zone", "west"}};
  REQUIRE(s.try_place(view, req, p, reason));
  CHECK(p.tasks[0].node == "b");
  req = cpu_task("t", 1000);
  req.colocate_nodes = {"a"};
  REQUIRE(s.try_place(view, req, p, reason));
  CHECK(p.tasks[0].node == "a");
  req = cpu_task("t", 1000);
  req.fabric = "verbs";
  REQUIRE(s.try_place(view, req, p, reason));
  CHECK(p.tasks[0].node == "b");
}

TEST_CASE("GPU model, count and memory capacity filters") {
  cluster_view view;
  view.upsert_node(make_node("cpu", 4000, 0));
  view.upsert_node(make_node("a100", 4000, 2, "A100", 40));
  view.upsert_node(make_node("h100", 4000, 1, "H100", 80));

  auto req = gpu_task("t", 1);
  req.per_task.gpu_models = {"B200"};
  CHECK(why(view, req) == "0/3 nodes: 2 no B200, 1 no gpu");

  req = gpu_task("t", 2);
  req.per_task.gpu_models = {"H100", "A100"};
  req.per_task.gpu_memory_bytes = int64_t{80} << 30;
  // a100 has the count but too little memory; h100 the memory but one GPU.
  CHECK(why(view, req) == "0/3 nodes: 1 insufficient gpu_memory, 1 no gpu, 1 too few gpus");
}

TEST_CASE("free CPU, memory, DPU, GPU share and GPU memory filters") {
  cluster_view view;
  auto n = make_node("a", 4000, 1, "H100", 80, 8);
  n.dpus.push_back({0, "BF3", true});
  view.upsert_node(n);

  CHECK(why(view, cpu_task("t", 5000)) == "0/1 nodes: 1 insufficient cpu");
  auto mem = cpu_task("t", 1000);
  mem.per_task.memory_bytes = int64_t{9} << 30;
  CHECK(why(view, mem) == "0/1 nodes: 1 insufficient memory");
  auto dpu = cpu_task("t", 1000);
  dpu.per_task.dpus = 2;
  CHECK(why(view, dpu) == "0/1 nodes: 1 insufficient dpu");

  // Take 0.5 of the GPU with 60 GiB: a whole GPU no longer fits, nor 0.5 with 40 GiB.
  scheduler s;
  auto half = gpu_task("h", 1, 500);
  half.per_task.gpu_memory_bytes = int64_t{60} << 30;
  placement p;
  std::string reason;
  REQUIRE(s.place_now(view, half, p, reason));
  CHECK(why(view, gpu_task("w", 1)) == "0/1 nodes: 1 insufficient gpu");
  auto small = gpu_task("s", 1, 500);
  small.per_task.gpu_memory_bytes = int64_t{40} << 30;
  CHECK(why(view, small) == "0/1 nodes: 1 insufficient gpu_memory");
  small.per_task.gpu_memory_bytes = int64_t{20} << 30;
  CHECK(s.try_place(view, small, p, reason));
}

TEST_CASE("reasons aggregate one count per filter, most common first") {
  cluster_view view;
  for (int i = 0; i < 8; ++i)
    view.upsert_node(make_node("small" + std::to_string(i), 8000, 1, "H100", 40));
  for (int i = 0; i < 4; ++i)
    view.upsert_node(make_node("a100-" + std::to_string(i), 8000, 1, "A100", 80));
  auto req = gpu_task("t", 1);
  req.per_task.gpu_models = {"H100"};
  req.per_task.gpu_memory_bytes = int64_t{80} << 30;
  CHECK(why(view, req) == "0/12 nodes: 8 insufficient gpu_memory, 4 no H100");
}

TEST_CASE("an empty cluster says so") {
  cluster_view view;
  CHECK(why(view, cpu_task("t", 1)) == "0/0 nodes");
}

TEST_CASE("a layered fabric (verbs,ofi_rxm) places where the inventory lists that chain") {
  cluster_view view;
  auto core_only = make_node("a", 4000, 0);
  core_only.fabrics = {"tcp", "verbs"};
  auto layered = make_node("b", 4000, 0);
  layered.fabrics = {"tcp", "tcp;ofi_rxm", "verbs", "verbs;ofi_rxm"};  // as probed
  view.upsert_node(core_only);
  view.upsert_node(layered);
  auto req = cpu_task("t", 1000);
  req.fabric = "verbs;ofi_rxm";
  scheduler s;
  placement p;
  std::string reason;
  REQUIRE(s.try_place(view, req, p, reason));
  CHECK(p.tasks[0].node == "b");
  view.set_schedulable("b", false);
  CHECK(why(view, req) == "0/2 nodes: 1 missing fabric verbs;ofi_rxm, 1 unschedulable");
}
