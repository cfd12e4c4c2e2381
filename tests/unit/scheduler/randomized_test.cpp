// Seeded random placements and releases: no node or GPU is ever oversubscribed, and
// releasing everything gives back exactly the capacity the cluster started with.
#include <doctest/doctest.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>

#include "helpers.hpp"
#include "scheduler/random.hpp"
#include "scheduler/scheduler.hpp"

using namespace gantry;
using namespace gantry::sched;
using namespace gantry::sched::test;

namespace {

uint64_t test_seed() {
  if (const char* s = std::getenv("GANTRY_TEST_SEED")) return std::strtoull(s, nullptr, 10);
  return static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
}

void check_invariants(const cluster_view& view) {
  for (const auto& [name, n] : view.nodes()) {
    CHECK(n.free_cpu_milli >= 0);
    CHECK(n.free_cpu_milli <= n.inventory.cpu_milli);
    CHECK(n.free_memory_bytes >= 0);
    CHECK(n.free_memory_bytes <= n.inventory.memory_bytes);
    CHECK(n.free_dpus >= 0);
    CHECK(n.free_dpus <= static_cast<int32_t>(n.inventory.dpus.size()));
    for (const auto& g : n.gpus) {
      CHECK(g.free_milli >= 0);
      CHECK(g.free_milli <= 1000);
      CHECK(g.free_memory_bytes >= 0);
      CHECK(g.free_memory_bytes <= g.info.memory_bytes);
    }
  }
}

placement_request random_request(rng& gen, int i) {
  placement_request r;
  r.id = "r" + std::to_string(i);
  r.submit_seq = static_cast<uint64_t>(i);
  r.priority = static_cast<int32_t>(gen.below(3));
  r.per_task.cpu_milli = 500 * static_cast<int64_t>(1 + gen.below(16));
  r.per_task.memory_bytes = static_cast<int64_t>(gen.below(8)) << 30;
  switch (gen.below(4)) {
    case 0:
      break;  // CPU only
    case 1:
      r.per_task.gpu_count = 1;
      r.per_task.gpu_milli = static_cast<int32_t>(50 * (1 + gen.below(19)));
      if (gen.below(2)) r.per_task.gpu_memory_bytes = static_cast<int64_t>(1 + gen.below(30)) << 30;
      break;
    default:
      r.per_task.gpu_count = static_cast<int32_t>(1 + gen.below(4));
      r.per_task.gpu_milli = 1000;
  }
  if (gen.below(5) == 0) r.per_task.gpu_models = {gen.below(2) ? "A100" : "H100"};
  r.per_task.dpus = gen.below(6) == 0 ? 1 : 0;
  if (gen.below(4) == 0) {
    r.count = static_cast<int32_t>(2 + gen.below(7));
    r.gang = true;
    r.placement = static_cast<placement_pref>(gen.below(3));
  }
  return r;
}

}  // namespace

TEST_CASE("random placements never oversubscribe and releases give back exactly") {
#ifdef GANTRY_SANITIZE
  constexpr int kRequests =
      500;  // -O0 with the sanitizers is ~50x slower; memory errors show early
#else
  constexpr int kRequests = 1500;
#endif
  const uint64_t seed = test_seed();
  std::printf("randomized scheduler test seed: %llu (set GANTRY_TEST_SEED to repeat)\n",
              static_cast<unsigned long long>(seed));
  INFO("seed " << seed);
  rng gen(seed);
  cluster_view view;
  for (int i = 0; i < 24; ++i) {
    auto n = make_node("n" + std::to_string(i), 16000 + 8000 * (i % 3), i % 4 == 3 ? 0 : 4,
                       i % 2 ? "A100" : "H100", i % 2 ? 40 : 80, 64);
    for (size_t g = 0; g < n.gpus.size(); ++g) n.gpus[g].nvlink_group = static_cast<int>(g / 2);
    if (i % 5 == 0) n.dpus.push_back({0, "BF3", true});
    view.upsert_node(n);
  }
  const cluster_view empty = view;
  for (policy_kind policy : all_policies()) {
    CAPTURE(to_string(policy));
    scheduler s(policy, seed);
    std::vector<task_assignment> running;
    int placed = 0;
    for (int i = 0; i < kRequests; ++i) {
      s.enqueue(random_request(gen, i));
      if (gen.below(3) == 0) {
        auto res = s.schedule(view);
        for (const auto& p : res.placed) {
          ++placed;
          for (const auto& t : p.tasks) running.push_back(t);
        }
        CHECK(res.pending.size() == s.queued());
        check_invariants(view);
      }
      // Tasks end at random; the queue is trimmed so it does not grow without bound.
      while (!running.empty() && gen.below(2) == 0) {
        const size_t k = gen.below(running.size());
        view.release(running[k]);
        running[k] = running.back();
        running.pop_back();
      }
      if (s.queued() > 64) s.withdraw("r" + std::to_string(i - 64));
    }
    check_invariants(view);
    CHECK(placed > kRequests / 8);
    for (const auto& t : running) view.release(t);
    for (const auto& [name, n] : view.nodes()) {
      const node_view& e = *empty.find(name);
      CHECK(n.free_cpu_milli == e.free_cpu_milli);
      CHECK(n.free_memory_bytes == e.free_memory_bytes);
      CHECK(n.free_dpus == e.free_dpus);
      for (size_t g = 0; g < n.gpus.size(); ++g) {
        CHECK(n.gpus[g].free_milli == e.gpus[g].free_milli);
        CHECK(n.gpus[g].free_memory_bytes == e.gpus[g].free_memory_bytes);
      }
    }
  }
}

TEST_CASE("a copied view schedules like the original and owns its own records") {
  cluster_view view;
  view.upsert_node(make_node("a", 8000, 2));
  cluster_view copy = view;
  scheduler s;
  placement p;
  std::string reason;
  REQUIRE(s.place_now(copy, gpu_task("t", 2), p, reason));
  CHECK(view.find("a")->gpus[0].free_milli == 1000);
  CHECK(copy.find("a")->gpus[0].free_milli == 0);
  REQUIRE(s.place_now(view, gpu_task("u", 2), p, reason));  // the original still has room
}

TEST_CASE("re-registering a node keeps its reservations") {
  cluster_view view;
  view.upsert_node(make_node("a", 8000, 2));
  scheduler s;
  placement p;
  std::string reason;
  REQUIRE(s.place_now(view, gpu_task("t", 1, 1000, 1, 3000), p, reason));
  view.upsert_node(make_node("a", 16000, 2));
  CHECK(view.find("a")->free_cpu_milli == 13000);
  CHECK(free_milli(view, "a") == std::vector<int32_t>{0, 1000});
  view.release(p.tasks[0]);
  CHECK(view.find("a")->free_cpu_milli == 16000);
  CHECK(free_milli(view, "a") == std::vector<int32_t>{1000, 1000});
  view.remove_node("a");
  view.release(p.tasks[0]);  // unknown node: ignored
  CHECK(view.nodes().empty());
}
