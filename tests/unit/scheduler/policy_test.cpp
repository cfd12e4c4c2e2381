// Each policy's node and GPU choice on small clusters where the right answer is clear.
#include <doctest/doctest.h>

#include <set>

#include "helpers.hpp"
#include "scheduler/scheduler.hpp"

using namespace gantry;
using namespace gantry::sched;
using namespace gantry::sched::test;

namespace {

placement place(scheduler& s, cluster_view& view, const placement_request& req) {
  placement p;
  std::string reason;
  INFO(reason);
  REQUIRE(s.place_now(view, req, p, reason));
  return p;
}

}  // namespace

TEST_CASE("policy names round-trip, and unknown names are refused") {
  for (policy_kind p : all_policies()) CHECK(parse_policy(to_string(p)).value() == p);
  CHECK(parse_policy("best_fit").value() == policy_kind::best_fit);
  CHECK(parse_policy("gpu-packing").value() == policy_kind::gpu_packing);
  CHECK_FALSE(parse_policy("worstfit").has_value());
  CHECK(all_policies().size() == 7);
}

TEST_CASE("every policy has one row: a unique name, found by its name and its enumerator's") {
  std::set<std::string> names;
  for (policy_kind p : all_policies()) names.insert(to_string(p));
  CHECK(names.size() == all_policies().size());
  CHECK(parse_policy("DotProd").value() == policy_kind::dot_product);
  CHECK(parse_policy("dot_product").value() == policy_kind::dot_product);
  CHECK(parse_policy("FIRST-FIT").value() == policy_kind::first_fit);
  CHECK(all_policies().front() == policy_kind::random);  // the paper's order
  CHECK(all_policies().back() == policy_kind::first_fit);
  const auto unknown = parse_policy("worstfit");
  REQUIRE_FALSE(unknown.has_value());
  for (policy_kind p : all_policies()) {
    CHECK(unknown.error().message.find(to_string(p)) != std::string::npos);
  }
}

TEST_CASE("the default policy is FGD") {
  CHECK(scheduler{}.policy() == policy_kind::fgd);
}

TEST_CASE("first-fit takes the first node by name") {
  cluster_view view;
  for (const char* n : {"c", "a", "b"}) view.upsert_node(make_node(n, 4000, 0));
  scheduler s(policy_kind::first_fit);
  CHECK(place(s, view, cpu_task("1", 3000)).tasks[0].node == "a");
  CHECK(place(s, view, cpu_task("2", 3000)).tasks[0].node == "b");
  CHECK(place(s, view, cpu_task("3", 1000)).tasks[0].node == "a");
}

TEST_CASE("best-fit takes the fullest node that fits") {
  cluster_view view;
  view.upsert_node(make_node("big", 64000, 8));
  view.upsert_node(make_node("small", 8000, 1));
  scheduler s(policy_kind::best_fit);
  CHECK(place(s, view, gpu_task("1", 1, 1000, 1, 4000)).tasks[0].node == "small");
  CHECK(place(s, view, gpu_task("2", 1, 1000, 1, 4000)).tasks[0].node == "big");
}

TEST_CASE("fractional tasks share a GPU, the fullest GPU that fits is used") {
  cluster_view view;
  view.upsert_node(make_node("a", 64000, 4));
  for (policy_kind p : {policy_kind::best_fit, policy_kind::gpu_packing, policy_kind::fgd}) {
    CAPTURE(to_string(p));
    cluster_view v = view;
    scheduler s(p);
    s.set_target_workload({{1000, 0, 1, 250, {}, 1.0}});
    for (int i = 0; i < 4; ++i) place(s, v, gpu_task("q" + std::to_string(i), 1, 250));
    // Four quarters fill one GPU instead of touching four.
    CHECK(free_milli(v, "a") == std::vector<int32_t>{0, 1000, 1000, 1000});
  }
}

TEST_CASE("FGD puts a fraction on the GPU where it fragments least") {
  cluster_view view;
  view.upsert_node(make_node("a", 64000, 2));
  scheduler setup(policy_kind::first_fit);
  place(setup, view, gpu_task("p", 1, 700));  // GPU 0: 300 free, GPU 1: 1000 free
  scheduler fgd(policy_kind::fgd);
  fgd.set_target_workload({{1000, 0, 1, 700, {}, 0.5}, {1000, 0, 1, 300, {}, 0.5}});
  // GPU 0's 300 is a fragment for the 0.7 tasks; a 0.3 task there removes it, on GPU 1 it
  // would keep it.
  CHECK(fgd.node_fragmentation(view, "a") == doctest::Approx(150.0));
  auto p = place(fgd, view, gpu_task("q", 1, 300));
  CHECK(p.tasks[0].gpus == std::vector<int32_t>{0});
  CHECK(fgd.node_fragmentation(view, "a") == doctest::Approx(0.0));
}

TEST_CASE("each rank of a fractional gang gets the GPU chosen for the node as it is then") {
  // GPU 0 has 300 free, GPU 1 is whole. FGD takes the fragment for the first 0.3 rank; the
  // GPU it chose is then full, so the second rank on the same node goes to GPU 1.
  for (placement_pref pref : {placement_pref::pack, placement_pref::none, placement_pref::spread}) {
    CAPTURE(static_cast<int>(pref));
    cluster_view view;
    view.upsert_node(make_node("a", 64000, 2));
    scheduler setup(policy_kind::first_fit);
    place(setup, view, gpu_task("p", 1, 700));
    scheduler fgd(policy_kind::fgd);
    fgd.set_target_workload({{1000, 0, 1, 700, {}, 0.5}, {1000, 0, 1, 300, {}, 0.5}});
    auto gang = gpu_task("g", 1, 300, 2);
    gang.placement = pref;
    const auto p = place(fgd, view, gang);
    REQUIRE(p.tasks.size() == 2);
    CHECK(p.tasks[0].gpus == std::vector<int32_t>{0});
    CHECK(p.tasks[1].gpus == std::vector<int32_t>{1});
    CHECK(free_milli(view, "a") == std::vector<int32_t>{0, 700});
  }
}

TEST_CASE("FGD prefers the node whose fragmentation grows least") {
  cluster_view view;
  view.upsert_node(make_node("a", 64000, 1));
  view.upsert_node(make_node("b", 64000, 1));
  scheduler setup(policy_kind::first_fit);
  place(setup, view, gpu_task("x", 1, 500));  // a: 500 free, b: 1000 free
  scheduler fgd(policy_kind::fgd, 7);
  fgd.set_target_workload({{1000, 0, 1, 1000, {}, 0.5}, {1000, 0, 1, 500, {}, 0.5}});
  // On a the half GPU no whole-GPU task could use is consumed; on b a whole GPU is split.
  CHECK(place(fgd, view, gpu_task("y", 1, 500)).tasks[0].node == "a");
}

TEST_CASE("GpuPacking fills shared GPUs, then used nodes, then idle ones") {
  cluster_view view;
  view.upsert_node(make_node("idle", 64000, 2));
  view.upsert_node(make_node("used", 64000, 2));
  scheduler setup(policy_kind::first_fit);
  auto fill = gpu_task("f", 1, 500);
  fill.colocate_nodes = {"used"};
  place(setup, view, fill);  // used: GPU 0 half taken
  scheduler s(policy_kind::gpu_packing);
  auto p = place(s, view, gpu_task("a", 1, 500));
  CHECK(p.tasks[0].node == "used");
  CHECK(p.tasks[0].gpus == std::vector<int32_t>{0});
  CHECK(place(s, view, gpu_task("b", 1, 1000)).tasks[0].node == "used");
  CHECK(place(s, view, gpu_task("c", 1, 1000)).tasks[0].node == "idle");
}

TEST_CASE("GpuClustering groups tasks of one GPU shape") {
  cluster_view view;
  view.upsert_node(make_node("shared", 64000, 4));
  view.upsert_node(make_node("whole", 64000, 4));
  scheduler setup(policy_kind::first_fit);
  auto f = gpu_task("f", 1, 500);
  f.colocate_nodes = {"shared"};
  place(setup, view, f);
  auto w = gpu_task("w", 1, 1000);
  w.colocate_nodes = {"whole"};
  place(setup, view, w);
  scheduler s(policy_kind::gpu_clustering);
  CHECK(place(s, view, gpu_task("a", 1, 250)).tasks[0].node == "shared");
  CHECK(place(s, view, gpu_task("b", 1, 1000)).tasks[0].node == "whole");
}

TEST_CASE("DotProd prefers the node whose free resources align least with the request") {
  cluster_view view;
  view.upsert_node(make_node("cpu-rich", 128000, 1));
  view.upsert_node(make_node("gpu-rich", 8000, 8));
  scheduler s(policy_kind::dot_product);
  // A CPU-heavy task scores higher (smaller dot product) on the GPU-rich node.
  CHECK(place(s, view, cpu_task("c", 6000)).tasks[0].node == "gpu-rich");
}

TEST_CASE("Random spreads over feasible nodes and is reproducible from its seed") {
  cluster_view view;
  for (int i = 0; i < 8; ++i) view.upsert_node(make_node("n" + std::to_string(i), 64000, 0));
  auto run = [&](uint64_t seed) {
    cluster_view v = view;
    scheduler s(policy_kind::random, seed);
    std::vector<std::string> nodes;
    for (int i = 0; i < 16; ++i) nodes.push_back(place(s, v, cpu_task("t", 1000)).tasks[0].node);
    return nodes;
  };
  const auto a = run(3);
  CHECK(a == run(3));
  CHECK(std::set<std::string>(a.begin(), a.end()).size() > 3);
}

TEST_CASE("ties go to the same node again, so equal-score tasks pack") {
  cluster_view view;
  for (int i = 0; i < 16; ++i) view.upsert_node(make_node("n" + std::to_string(i), 64000, 8));
  scheduler s(policy_kind::fgd, 11);
  s.set_target_workload({{1000, 0, 1, 1000, {}, 1.0}});
  std::set<std::string> used;
  for (int i = 0; i < 8; ++i) used.insert(place(s, view, gpu_task("t", 1)).tasks[0].node);
  CHECK(used.size() == 1);
}

TEST_CASE("multi-GPU tasks get NVLink-near GPUs") {
  auto n = make_node("a", 64000, 8);
  for (int i = 0; i < 8; ++i) n.gpus[i].nvlink_group = i < 4 ? 0 : 1;
  cluster_view view;
  view.upsert_node(n);
  scheduler s(policy_kind::best_fit);
  // One GPU in group 0 busy: a 4-GPU task takes all of group 1, not three plus one.
  place(s, view, gpu_task("one", 1));
  const auto p = place(s, view, gpu_task("four", 4));
  CHECK(p.tasks[0].gpus == std::vector<int32_t>{4, 5, 6, 7});
  // A 2-GPU task then fits in what is left of group 0.
  const auto q = place(s, view, gpu_task("two", 2));
  CHECK(q.tasks[0].gpus == std::vector<int32_t>{1, 2});
}

TEST_CASE("a single whole GPU goes to the smallest NVLink group that has one") {
  auto n = make_node("a", 64000, 8);
  for (int i = 0; i < 8; ++i) n.gpus[i].nvlink_group = i < 2 ? 0 : 1;
  cluster_view view;
  view.upsert_node(n);
  scheduler s(policy_kind::best_fit);
  place(s, view, gpu_task("x", 1));
  const auto p = place(s, view, gpu_task("y", 1));
  CHECK(p.tasks[0].gpus == std::vector<int32_t>{1});  // keeps group 1's six GPUs whole
}
