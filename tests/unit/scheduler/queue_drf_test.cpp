// Weighted DRF under saturation: a small simulation in which every queue always has work
// waiting and work ends at random times; each queue's share of the GPUs over time must match
// its weight (of what is borrowed: guarantees come first).
#include <doctest/doctest.h>

#include <cmath>
#include <cstdio>
#include <map>

#include "queue_helpers.hpp"
#include "scheduler/random.hpp"

using namespace gantry;
using namespace gantry::sched;
using namespace gantry::sched::test;

namespace {

struct flood_result {
  std::map<std::string, double> share;  // of all GPU time used after the warm-up
};

// `queues` flood a cluster of 4 x 8 GPUs with tasks of 1 or `max_gpus` GPUs lasting 20..180
// s, keeping 12 requests pending each; shares are measured from 600 s to 4,000 s.
flood_result flood(const std::vector<queue_spec>& queues, int32_t max_gpus, uint64_t seed) {
  std::printf("queue DRF simulation seed: %llu\n", static_cast<unsigned long long>(seed));
  queue_cluster c(4, 8, {}, policy_kind::fgd);
  for (const auto& q : queues) c.define(q);
  rng gen(seed);
  std::map<std::string, int32_t> waiting;
  std::multimap<int64_t, std::string> ends;  // time -> request id
  std::map<std::string, double> used;
  int next = 0;
  for (int64_t t = 0; t <= 4000; ++t) {
    c.now = t * 1000;
    while (!ends.empty() && ends.begin()->first <= t) {
      c.end(ends.begin()->second);
      ends.erase(ends.begin());
    }
    for (const auto& q : queues) {
      for (; waiting[q.name] < 12; ++waiting[q.name]) {
        const int32_t gpus = gen.below(2) == 0 ? 1 : max_gpus;
        c.submit(q.name + "-" + std::to_string(next++), q.name, gpus);
      }
    }
    const book_round r = c.round();
    REQUIRE(r.stops.empty());  // no guarantee is short: borrowing alone shares the cluster
    for (const auto& a : r.placed) {
      --waiting[a.queue];
      ends.emplace(t + 20 + static_cast<int64_t>(gen.below(161)), a.placed.request_id);
    }
    if (t < 600) continue;
    for (const auto& q : queues) used[q.name] += c.status_of(q.name).usage.gpus();
  }
  double total = 0;
  for (const auto& [name, u] : used) total += u;
  flood_result out;
  for (const auto& [name, u] : used) out.share[name] = u / total;
  return out;
}

// Within 5% of the target, relative to it.
bool near(double actual, double target) {
  return std::abs(actual / target - 1) <= 0.05;
}

}  // namespace

TEST_CASE("weighted DRF: queues weighted 1:2 get a third and two thirds of a saturated cluster") {
  const auto r = flood({make_queue("a", "", "", 1), make_queue("b", "", "", 2)}, 1, 42);
  MESSAGE("shares a " << r.share.at("a") << ", b " << r.share.at("b"));
  CHECK(near(r.share.at("a"), 1.0 / 3));
  CHECK(near(r.share.at("b"), 2.0 / 3));
}

TEST_CASE("weighted DRF holds with tasks of different sizes") {
  const auto r = flood({make_queue("a", "", "", 1), make_queue("b", "", "", 2)}, 2, 7);
  MESSAGE("shares a " << r.share.at("a") << ", b " << r.share.at("b"));
  CHECK(near(r.share.at("a"), 1.0 / 3));
  CHECK(near(r.share.at("b"), 2.0 / 3));
}

TEST_CASE("weighted DRF shares what is borrowed, guarantees are served first") {
  // 32 GPUs: a is guaranteed 8; the other 24 are split 1:2, so a gets 8 + 8 and b 16.
  const auto r = flood({make_queue("a", "gpu=8", "", 1), make_queue("b", "", "", 2)}, 1, 11);
  MESSAGE("shares a " << r.share.at("a") << ", b " << r.share.at("b"));
  CHECK(near(r.share.at("a"), 0.5));
  CHECK(near(r.share.at("b"), 0.5));
}

TEST_CASE("three queues weighted 1:1:2 under saturation") {
  const auto r = flood(
      {make_queue("a", "", "", 1), make_queue("b", "", "", 1), make_queue("c", "", "", 2)}, 1, 3);
  CHECK(near(r.share.at("a"), 0.25));
  CHECK(near(r.share.at("b"), 0.25));
  CHECK(near(r.share.at("c"), 0.5));
}
