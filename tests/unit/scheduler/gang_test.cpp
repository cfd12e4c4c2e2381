// Gangs: all ranks or none, packing and spreading, and the anti-starvation reservation.
#include <doctest/doctest.h>

#include <set>

#include "helpers.hpp"
#include "scheduler/scheduler.hpp"

using namespace gantry;
using namespace gantry::sched;
using namespace gantry::sched::test;

namespace {

std::set<std::string> nodes_of(const placement& p) {
  std::set<std::string> out;
  for (const auto& t : p.tasks) out.insert(t.node);
  return out;
}

int64_t free_gpus(const cluster_view& v) {
  int64_t n = 0;
  for (const auto& [name, node] : v.nodes()) {
    for (const auto& g : node.gpus) n += g.free_milli == 1000 ? 1 : 0;
  }
  return n;
}

}  // namespace

TEST_CASE("a gang that does not fit takes nothing, and its reason is about the last rank") {
  cluster_view view;
  for (int i = 0; i < 3; ++i) view.upsert_node(make_node("n" + std::to_string(i), 64000, 2));
  scheduler s;
  auto gang = gpu_task("j/train", 1, 1000, 7);
  s.enqueue(gang);
  auto res = s.schedule(view);
  CHECK(res.placed.empty());
  REQUIRE(res.pending.size() == 1);
  CHECK(res.pending[0].reason ==
        "0/3 nodes: 3 insufficient gpu; 6 of 7 ranks fit; exceeds cluster capacity");
  CHECK(free_gpus(view) == 6);
}

TEST_CASE("a placed gang is applied whole and released rank by rank") {
  cluster_view view;
  for (int i = 0; i < 3; ++i) view.upsert_node(make_node("n" + std::to_string(i), 64000, 2));
  scheduler s;
  s.enqueue(gpu_task("g", 1, 1000, 5));
  auto res = s.schedule(view);
  REQUIRE(res.placed.size() == 1);
  CHECK(res.placed[0].tasks.size() == 5);
  CHECK(free_gpus(view) == 1);
  for (const auto& t : res.placed[0].tasks) view.release(t);
  CHECK(free_gpus(view) == 6);
  CHECK(s.queued() == 0);
}

TEST_CASE("pack uses the fewest nodes, spread uses as many as it can") {
  cluster_view view;
  for (int i = 0; i < 4; ++i) view.upsert_node(make_node("n" + std::to_string(i), 64000, 4));
  for (policy_kind policy : all_policies()) {
    CAPTURE(to_string(policy));
    scheduler s(policy);
    placement p;
    std::string reason;
    auto pack = gpu_task("p", 1, 1000, 8);
    pack.placement = placement_pref::pack;
    REQUIRE(s.try_place(view, pack, p, reason));
    CHECK(nodes_of(p).size() == 2);
    auto spread = gpu_task("s", 1, 1000, 4);
    spread.placement = placement_pref::spread;
    REQUIRE(s.try_place(view, spread, p, reason));
    CHECK(nodes_of(p).size() == 4);
    spread.count = 6;  // more ranks than nodes: a second round
    REQUIRE(s.try_place(view, spread, p, reason));
    CHECK(nodes_of(p).size() == 4);
  }
}

TEST_CASE("pack gives a node's ranks NVLink-near GPUs") {
  auto n = make_node("a", 64000, 8);
  for (int i = 0; i < 8; ++i) n.gpus[i].nvlink_group = i % 2;  // interleaved groups
  cluster_view view;
  view.upsert_node(n);
  scheduler s(policy_kind::best_fit);
  auto gang = gpu_task("g", 1, 1000, 4);
  gang.placement = placement_pref::pack;
  placement p;
  std::string reason;
  REQUIRE(s.try_place(view, gang, p, reason));
  std::set<int32_t> groups;
  for (const auto& t : p.tasks) groups.insert(t.gpus[0] % 2);
  CHECK(groups.size() == 1);
}

TEST_CASE("two gangs that cannot both fit: one runs whole, the other holds nothing") {
  cluster_view view;
  view.upsert_node(make_node("a", 64000, 4));
  view.upsert_node(make_node("b", 64000, 4));
  scheduler s;
  auto g1 = gpu_task("g1", 1, 1000, 6);
  g1.submit_seq = 1;
  auto g2 = gpu_task("g2", 1, 1000, 6);
  g2.submit_seq = 2;
  s.enqueue(g2);
  s.enqueue(g1);
  auto res = s.schedule(view);
  REQUIRE(res.placed.size() == 1);
  CHECK(res.placed[0].request_id == "g1");  // older first
  REQUIRE(res.pending.size() == 1);
  CHECK(res.pending[0].request_id == "g2");
  CHECK(free_gpus(view) == 2);
  for (const auto& t : res.placed[0].tasks) view.release(t);
  res = s.schedule(view);
  REQUIRE(res.placed.size() == 1);
  CHECK(res.placed[0].request_id == "g2");
}

TEST_CASE("priority first, then submission order") {
  cluster_view view;
  view.upsert_node(make_node("a", 2000, 0));
  scheduler s;
  auto low = cpu_task("low", 2000);
  low.priority = 0;
  low.submit_seq = 1;
  auto high = cpu_task("high", 2000);
  high.priority = 5;
  high.submit_seq = 2;
  s.enqueue(low);
  s.enqueue(high);
  auto res = s.schedule(view);
  REQUIRE(res.placed.size() == 1);
  CHECK(res.placed[0].request_id == "high");
  s.withdraw("low");
  CHECK(s.queued() == 0);
}

TEST_CASE("a big gang at the head is not starved by a stream of small tasks") {
  // Two 4-GPU nodes, each with one GPU busy. An 8-rank gang waits; small 1-GPU tasks keep
  // arriving. Without a reservation they would take every GPU that frees up.
  cluster_view view;
  view.upsert_node(make_node("a", 64000, 4));
  view.upsert_node(make_node("b", 64000, 4));
  scheduler s;
  std::vector<task_assignment> running;
  for (const char* n : {"a", "b"}) {
    auto t = gpu_task(std::string("old-") + n, 1);
    t.colocate_nodes = {n};
    t.submit_seq = 0;
    s.enqueue(t);
  }
  for (const auto& p : s.schedule(view).placed) running.push_back(p.tasks[0]);
  REQUIRE(running.size() == 2);

  auto gang = gpu_task("gang", 1, 1000, 8);
  gang.submit_seq = 1;
  s.enqueue(gang);
  uint64_t seq = 2;
  bool gang_placed = false;
  for (int round = 0; round < 10 && !gang_placed; ++round) {
    auto small = gpu_task("small-" + std::to_string(round), 1);
    small.submit_seq = seq++;
    s.enqueue(small);
    auto res = s.schedule(view);
    for (const auto& p : res.placed) {
      CHECK(p.request_id != small.id);  // backfill may not use the gang's nodes
      if (p.request_id == "gang") gang_placed = true;
    }
    for (const auto& u : res.pending) {
      if (u.request_id == small.id && !gang_placed) {
        CHECK(u.reason.find("reserved for gang") != std::string::npos);
      }
    }
    // Running tasks end one per round.
    if (!running.empty()) {
      view.release(running.back());
      running.pop_back();
    }
  }
  CHECK(gang_placed);
}

TEST_CASE("backfill still uses nodes the waiting gang does not need") {
  cluster_view view;
  view.upsert_node(make_node("gpu", 64000, 4));
  view.upsert_node(make_node("cpu", 64000, 0));
  scheduler s;
  auto busy = gpu_task("busy", 1);
  busy.colocate_nodes = {"gpu"};
  s.enqueue(busy);
  REQUIRE(s.schedule(view).placed.size() == 1);
  auto gang = gpu_task("gang", 1, 1000, 4);
  gang.submit_seq = 1;
  s.enqueue(gang);
  auto small = cpu_task("small", 1000);
  small.submit_seq = 2;
  s.enqueue(small);
  auto res = s.schedule(view);
  REQUIRE(res.placed.size() == 1);
  CHECK(res.placed[0].request_id == "small");
  CHECK(res.placed[0].tasks[0].node == "cpu");
}

TEST_CASE("a request that can never fit reserves nothing") {
  cluster_view view;
  view.upsert_node(make_node("a", 64000, 2));
  scheduler s;
  auto huge = gpu_task("huge", 4);
  huge.submit_seq = 1;
  s.enqueue(huge);
  auto small = gpu_task("small", 1);
  small.submit_seq = 2;
  s.enqueue(small);
  auto res = s.schedule(view);
  REQUIRE(res.placed.size() == 1);
  CHECK(res.placed[0].request_id == "small");
  REQUIRE(res.pending.size() == 1);
  CHECK(res.pending[0].reason == "0/1 nodes: 1 too few gpus; exceeds cluster capacity");
}

TEST_CASE("two ranks of one gang never share a GPU, whatever the placement preference") {
  for (auto pref : {placement_pref::none, placement_pref::pack, placement_pref::spread}) {
    CAPTURE(to_string(pref));
    cluster_view view;
    view.upsert_node(make_node("a", 64000, 2));
    view.upsert_node(make_node("b", 64000, 1));
    scheduler s;
    auto gang = gpu_task("j/train", 1, 250, 3);
    gang.placement = pref;
    s.enqueue(gang);
    auto res = s.schedule(view);
    REQUIRE(res.placed.size() == 1);
    std::set<std::pair<std::string, int32_t>> gpus;
    for (const auto& t : res.placed[0].tasks) {
      REQUIRE(t.gpus.size() == 1);
      gpus.insert({t.node, t.gpus[0]});
    }
    CHECK(gpus.size() == 3);  // three ranks on the cluster's three GPUs
  }
  // One GPU with room for four quarter shares still takes one rank of a gang only.
  cluster_view view;
  view.upsert_node(make_node("a", 64000, 1));
  scheduler s;
  s.enqueue(gpu_task("j/train", 1, 250, 2));
  auto res = s.schedule(view);
  CHECK(res.placed.empty());
  REQUIRE(res.pending.size() == 1);
  CHECK(res.pending[0].reason.find("1 of 2 ranks fit") != std::string::npos);
  CHECK(free_milli(view, "a") == std::vector<int32_t>{1000});
  // Plain (non-gang) tasks still share it.
  auto plain = gpu_task("j/prep", 1, 250);
  s.withdraw("j/train");
  s.enqueue(plain);
  CHECK(s.schedule(view).placed.size() == 1);
  CHECK(free_milli(view, "a") == std::vector<int32_t>{750});
}
