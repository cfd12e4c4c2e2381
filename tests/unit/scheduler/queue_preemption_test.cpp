// Preemption plans: reclaiming a guarantee, priority within a queue, victim order (borrowers,
// priority, work lost), the smallest set, all or nothing, protection after a restart.
#include <doctest/doctest.h>

#include <set>

#include "queue_helpers.hpp"
#include "scheduler/queues/victims.hpp"

using namespace gantry;
using namespace gantry::sched;
using namespace gantry::sched::test;

namespace {

std::set<std::string> nodes_of(const stop_order& o) {
  std::set<std::string> out;
  for (const auto& t : o.tasks) out.insert(t.node);
  return out;
}

}  // namespace

TEST_CASE("a queue takes its guarantee back from borrowers, what they free waits for it") {
  queue_cluster c(2, 4);
  c.define(make_queue("vision", "gpu=4"));
  for (int i = 0; i < 8; ++i) c.submit("d" + std::to_string(i), "default", 1);
  c.round();
  c.now = 10'000;
  c.submit("v", "vision", 4);
  auto r = c.round();
  CHECK(r.placed.empty());
  REQUIRE(pending_of(r, "v") != nullptr);
  REQUIRE(r.stops.size() == 4);
  const std::set<std::string> node = nodes_of(r.stops[0]);
  for (const auto& o : r.stops) {
    CHECK(o.kind == stop_kind::preempt);
    CHECK(o.reason == "preempted: queue vision reclaims its guarantee (needs 4 gpu)");
    CHECK(o.for_job == "v");
    CHECK(o.queue == "default");
    CHECK(nodes_of(o) == node);  // the smallest set: one node's worth
  }
  CHECK(c.round().stops.empty());  // planned once

  const std::string freed = *node.begin();
  for (int i = 0; i < 3; ++i) c.end(r.stops[i].request_id);
  c.submit("d-late", "default", 1);
  c.round();
  CHECK_FALSE(c.is_running("v"));
  CHECK_FALSE(c.is_running("d-late"));  // the stopped victims' GPUs are held for v
  CHECK(c.gpus_used_on(freed) == 4);
  c.end(r.stops[3].request_id);
  c.round();
  REQUIRE(c.is_running("v"));
  CHECK(c.running["v"][0].node == freed);
  CHECK_FALSE(c.is_running("d-late"));
  CHECK(c.status_of("default").preempted == 4);
  CHECK(c.status_of("vision").usage.gpu_milli == 4000);
  CHECK(c.status_of("default").usage.gpu_milli == 4000);
}

TEST_CASE("nothing is stopped when the request would not fit even after preemption") {
  queue_cluster c(2, 4);
  c.define(make_queue("vision", "gpu=8"));
  for (int i = 0; i < 8; ++i) {
    auto j = c.job("d" + std::to_string(i), "default", 1);
    j.preemptible = i % 4 >= 2;  // two of each node's four may be stopped
    c.submit(std::move(j));
  }
  c.round();
  c.submit("v4", "vision", 4);       // one task of 4 GPUs: no node can free 4
  c.submit("gang", "vision", 3, 2);  // 2 ranks of 3 GPUs: neither
  auto r = c.round();
  CHECK(r.stops.empty());
  REQUIRE(pending_of(r, "v4") != nullptr);
  CHECK(pending_of(r, "v4")->reason.ends_with("; preemption would not make it fit"));
  CHECK(pending_of(r, "gang")->reason.ends_with("; preemption would not make it fit"));
  CHECK(c.status_of("default").preempted == 0);
  CHECK(c.gpus_used_on("n0") == 4);
  CHECK(c.gpus_used_on("n1") == 4);
  // The verdict stands (and its reason with it) until a replan is due.
  c.now += 500;
  r = c.round();
  CHECK(r.stops.empty());
  CHECK(pending_of(r, "v4")->reason.ends_with("; preemption would not make it fit"));
}

TEST_CASE("work within its own queue's guarantee is not reclaimed") {
  queue_cluster c(1, 4);
  c.define(make_queue("team", "gpu=4"));
  c.define(make_queue("vision", "gpu=2"));  // guarantees add up to more than the cluster
  for (int i = 0; i < 4; ++i) c.submit("t" + std::to_string(i), "team", 1);
  c.round();
  c.submit("v", "vision", 1);
  auto r = c.round();
  CHECK(r.stops.empty());
  CHECK(pending_of(r, "v") != nullptr);
}

TEST_CASE("other queues' borrowers are taken before lower-priority work of the own queue") {
  queue_cluster c(1, 4);
  c.define(make_queue("vision", "gpu=4"));
  c.submit("v-low-0", "vision", 1);
  c.submit("v-low-1", "vision", 1);
  c.submit("d0", "default", 1);
  c.submit("d1", "default", 1);
  c.round();
  c.submit("v-high", "vision", 2, 1, 5);  // within the guarantee: a reclaim
  auto r = c.round();
  CHECK(stopped_ids(r) == std::vector<std::string>{"d0", "d1"});
}

TEST_CASE("priority preemption within a queue takes the lowest priorities first") {
  queue_cluster c(1, 4);
  for (int p = 1; p <= 4; ++p) c.submit("p" + std::to_string(p), "default", 1, 1, p);
  c.round();
  c.submit("urgent", "default", 2, 1, 10);
  auto r = c.round();
  REQUIRE(stopped_ids(r) == std::vector<std::string>{"p1", "p2"});
  for (const auto& o : r.stops)
    CHECK(o.reason == "preempted: urgent (priority 10) outranks it in queue default");
  c.end("p1");
  c.end("p2");
  c.round();
  CHECK(c.is_running("urgent"));
  // Equal priority does not outrank.
  c.submit("peer", "default", 1, 1, 3);
  r = c.round();
  CHECK(stopped_ids(r) == std::vector<std::string>{});
}

TEST_CASE("priority preemption never crosses queues") {
  queue_cluster c(1, 2);
  c.define(make_queue("a"));
  c.define(make_queue("b"));
  c.submit("b0", "b", 1, 1, 0);
  c.submit("b1", "b", 1, 1, 0);
  c.round();
  c.submit("a-urgent", "a", 1, 1, 100);
  CHECK(c.round().stops.empty());
}

TEST_CASE("among equals, the victim that loses least work since its checkpoint goes first") {
  queue_cluster c(1, 3);
  auto a = c.job("a", "default", 1);
  a.checkpoint_signal = "SIGUSR1";
  a.grace_ms = 30'000;
  c.submit(std::move(a));
  c.submit("b", "default", 1);
  auto cj = c.job("c", "default", 1);
  cj.checkpoint_signal = "SIGUSR2";
  cj.grace_ms = 5'000;
  c.submit(std::move(cj));
  c.round();
  c.now = 50'000;
  c.book.checkpointed("b", c.now);
  c.now = 90'000;
  c.book.checkpointed("c", c.now);
  c.now = 100'000;
  c.submit("urgent", "default", 1, 1, 1);
  auto r = c.round();
  REQUIRE(r.stops.size() == 1);
  const stop_order& o = r.stops[0];
  CHECK(o.request_id == "c");  // lost 10 s; b 50 s, a 100 s
  CHECK(o.signal == "SIGUSR2");
  CHECK(o.grace_ms == 5'000);
  CHECK(o.has_checkpoint);
  CHECK(o.ranks == std::vector<int32_t>{0});
  c.end("c");
  c.round();
  c.submit("urgent-2", "default", 1, 1, 1);
  r = c.round();
  REQUIRE(r.stops.size() == 1);
  CHECK(r.stops[0].request_id == "b");
  c.end("b");
  c.round();
  c.submit("urgent-3", "default", 1, 1, 1);
  r = c.round();
  REQUIRE(r.stops.size() == 1);
  CHECK(r.stops[0].request_id == "a");
  CHECK_FALSE(r.stops[0].has_checkpoint);  // it restarts from the beginning
}

TEST_CASE("the fewest victims: one job on one node rather than two on another") {
  queue_cluster c(2, 2);
  c.define(make_queue("vision", "gpu=2"));
  c.submit("big", "default", 2);  // n0
  c.submit("s1", "default", 1);   // n1
  c.submit("s2", "default", 1);   // n1
  c.round();
  REQUIRE(c.running["big"][0].node == "n0");
  c.now = 100'000;
  c.book.checkpointed("s1", c.now);  // s1 and s2 would lose less work, but they are two
  c.book.checkpointed("s2", c.now);
  c.submit("v", "vision", 2);
  CHECK(stopped_ids(c.round()) == std::vector<std::string>{"big"});
}

TEST_CASE("a gang's victims are pruned to those it needs") {
  queue_cluster c(2, 2);
  c.define(make_queue("vision", "gpu=2"));
  c.submit("x1", "default", 1);  // n0
  auto x2 = c.job("x2", "default", 1);
  x2.preemptible = false;  // n0
  c.submit(std::move(x2));
  c.submit("y", "default", 2);  // n1
  c.round();
  REQUIRE(c.running["y"][0].node == "n1");
  c.now = 100'000;
  c.book.checkpointed("x1", c.now);  // first in victim order: it loses nothing
  c.submit("gang", "vision", 1, 2);  // 2 ranks of 1 GPU, one node or two
  // Greedy takes x1 (1 GPU free: not enough), then y (3 free: enough); x1 is then dropped
  // as y alone frees room for both ranks.
  CHECK(stopped_ids(c.round()) == std::vector<std::string>{"y"});
}

TEST_CASE("work that is not preemptible is never a victim") {
  queue_cluster c(1, 2);
  c.define(make_queue("vision", "gpu=1"));
  auto keep = c.job("keep", "default", 1);
  keep.preemptible = false;
  c.submit(std::move(keep));
  c.submit("p", "default", 1);
  c.round();
  c.book.checkpointed("p", 0);
  c.submit("v", "vision", 1);
  CHECK(stopped_ids(c.round()) == std::vector<std::string>{"p"});
}

TEST_CASE("a queue is pushed below its guarantee by at most one unit of work") {
  queue_cluster c(2, 4);
  c.define(make_queue("b", "gpu=2"));
  c.define(make_queue("a", "gpu=4"));
  for (int i = 0; i < 4; ++i) c.submit("b" + std::to_string(i), "b", 1);        // n0; 2 borrowed
  for (int i = 0; i < 4; ++i) c.submit("d" + std::to_string(i), "default", 1);  // n1
  c.round();
  c.now = 1'000;
  for (int i = 0; i < 4; ++i) c.submit("a" + std::to_string(i), "a", 1);
  auto r = c.round();
  REQUIRE(r.stops.size() == 4);
  int from_b = 0;
  for (const auto& o : r.stops) from_b += o.queue == "b" ? 1 : 0;
  CHECK(from_b == 2);  // b keeps its guaranteed 2 GPUs
}

TEST_CASE("work the book restarted is protected for min_runtime") {
  queue_book_config cfg;
  cfg.min_runtime_ms = 60'000;
  queue_cluster c(1, 2, cfg);
  c.submit("lo-a", "default", 1);
  c.submit("lo-b", "default", 1);
  c.round();
  c.now = 1'000;
  c.submit("hi", "default", 1, 1, 5);
  auto r = c.round();
  REQUIRE(r.stops.size() == 1);
  const std::string first = r.stops[0].request_id;
  const std::string other = first == "lo-a" ? "lo-b" : "lo-a";
  c.end(first);
  c.round();
  REQUIRE(c.is_running("hi"));
  c.submit(first, "default", 1);  // the victim asks again
  c.end("hi");
  c.round();
  REQUIRE(c.is_running(first));  // restarted at 1 s: protected until 61 s
  c.now = 2'000;
  c.submit("hi-2", "default", 1, 1, 5);
  r = c.round();
  CHECK(stopped_ids(r) == std::vector<std::string>{other});  // not `first` again
  c.end(other);
  c.round();
  c.submit("hi-3", "default", 1, 1, 5);
  r = c.round();
  CHECK(r.stops.empty());  // only `first` is left, and it is protected
  c.now = 62'000;
  r = c.round();
  CHECK(stopped_ids(r) == std::vector<std::string>{first});
}

TEST_CASE("a preemptor withdrawn while its victims stop leaves nothing held") {
  queue_cluster c(1, 2);
  c.define(make_queue("vision", "gpu=2"));
  c.submit("d0", "default", 1);
  c.submit("d1", "default", 1);
  c.round();
  c.submit("v", "vision", 2);
  auto r = c.round();
  REQUIRE(r.stops.size() == 2);
  c.book.withdraw("v");
  c.end("d0");
  c.end("d1");
  c.submit("d2", "default", 2);
  c.round();
  CHECK(c.is_running("d2"));
  CHECK(c.status_of("vision").usage.zero());
}

TEST_CASE("plan_victims leaves the view as it was when no plan exists") {
  cluster_view view;
  view.upsert_node(make_node("n0", 8000, 2));
  scheduler s(policy_kind::first_fit);
  placement held;
  std::string reason;
  REQUIRE(s.place_now(view, gpu_task("held", 1), held, reason));
  placement other;
  REQUIRE(s.place_now(view, gpu_task("other", 1), other, reason));
  const auto before = view.find("n0")->gpus;
  round_state rs;
  victim_candidate c;
  c.unit = 1;
  c.queue = "default";
  c.tasks = &held.tasks;
  c.held = {1000, 0, 1000};
  victim_rules rules;
  rules.own_queue = "default";
  const placement_request big = gpu_task("big", 2);  // needs both GPUs; only one may go
  CHECK_FALSE(plan_victims(view, s, rs, big, {c}, rules));
  CHECK(view.find("n0")->gpus[0].free_milli == before[0].free_milli);
  CHECK(view.find("n0")->gpus[1].free_milli == before[1].free_milli);
  auto plan = plan_victims(view, s, rs, gpu_task("one", 1), {c}, rules);
  REQUIRE(plan);
  REQUIRE(plan->actions.size() == 1);
  CHECK(plan->request.tasks.size() == 1);
  CHECK(view.find("n0")->free_cpu_milli == 8000 - 2000);  // other + the planned request
}

TEST_CASE("a request held back by its queue's limit may preempt lower-priority work of its queue") {
  queue_cluster c(1, 8);
  c.define(make_queue("a", "", "gpu=2"));
  c.submit("lo-1", "a", 1, 1, 0);
  c.submit("lo-2", "a", 1, 1, 0);
  c.round();
  c.submit("peer", "a", 1, 1, 0);
  c.submit("hi", "a", 1, 1, 5);
  auto r = c.round();
  REQUIRE(r.stops.size() == 1);  // for hi alone: peer outranks nothing
  CHECK(r.stops[0].for_request == "hi");
  CHECK(r.stops[0].reason == "preempted: hi (priority 5) outranks it in queue a");
  c.end(r.stops[0].request_id);
  c.round();
  CHECK(c.is_running("hi"));
  CHECK_FALSE(c.is_running("peer"));
  CHECK(c.status_of("a").usage.gpu_milli == 2000);
}

namespace {

// Every node's free amounts, GPU by GPU.
std::vector<std::vector<int64_t>> free_amounts(const cluster_view& v) {
  std::vector<std::vector<int64_t>> out;
  for (const auto& [name, n] : v.nodes()) {
    std::vector<int64_t> row{n.free_cpu_milli, n.free_memory_bytes, n.free_dpus};
    for (const auto& g : n.gpus) {
      row.push_back(g.free_milli);
      row.push_back(g.free_memory_bytes);
    }
    out.push_back(std::move(row));
  }
  return out;
}

}  // namespace

TEST_CASE("planning leaves the view as it was, apart from what plans hold for their claimants") {
  queue_cluster c(2, 4);
  c.define(make_queue("vision", "gpu=8"));
  for (int i = 0; i < 7; ++i) {
    auto j = c.job("d" + std::to_string(i), "default", 1);
    j.preemptible = i != 3;
    c.submit(std::move(j));
  }
  c.round();  // n0: d0..d3 (d3 stays), n1: d4..d6 and one free GPU
  const auto before = free_amounts(c.view);
  c.submit("v4", "vision", 4);  // n1: three victims and the free GPU (held from now on)
  c.submit("v3", "vision", 3);  // n0: three victims
  c.submit("v9", "vision", 9);  // can never fit: exceeds the cluster
  auto r = c.round();
  REQUIRE(r.stops.size() == 6);
  auto after = free_amounts(c.view);
  // Only the free GPU on n1 changed: it is held for v4.
  REQUIRE(after.size() == 2);
  CHECK(after[0] == before[0]);
  CHECK(after[1][0] == before[1][0]);  // v4's one core comes from its victims' three
  int changed = 0;
  for (size_t k = 3; k < after[1].size(); k += 2) changed += after[1][k] != before[1][k] ? 1 : 0;
  CHECK(changed == 1);
  // A round whose plans fail changes nothing.
  const auto held = free_amounts(c.view);
  c.submit("v2", "vision", 2);  // nothing left to take: d3 is not preemptible
  r = c.round();
  CHECK(r.stops.empty());
  CHECK(free_amounts(c.view) == held);
}
