// Elastic gangs (replicas: {min, max}): the largest size that fits at start, shrinking for a
// guarantee before being stopped whole, growing into idle capacity, and the holds that keep
// planned capacity for whoever a plan is for.
#include <doctest/doctest.h>

#include "queue_helpers.hpp"

using namespace gantry;
using namespace gantry::sched;
using namespace gantry::sched::test;

namespace {

queued_request elastic(queue_cluster& c, const std::string& id, const std::string& queue,
                       int32_t min, int32_t max) {
  queued_request r = c.job(id, queue, 1, max);
  r.min_count = min;
  r.checkpoint_signal = "SIGUSR1";
  r.grace_ms = 30'000;
  return r;
}

size_t size_of(queue_cluster& c, const std::string& id) {
  return c.is_running(id) ? c.running[id].size() : 0;
}

}  // namespace

TEST_CASE("an elastic gang starts at the largest size that fits, at least its minimum") {
  queue_cluster c(2, 4);
  for (int i = 0; i < 3; ++i) c.submit("d" + std::to_string(i), "default", 1);
  c.round();
  c.submit(elastic(c, "e", "default", 2, 8));
  c.round();
  CHECK(size_of(c, "e") == 5);
  c.submit(elastic(c, "f", "default", 2, 8));  // nothing left: it waits at its minimum
  auto r = c.round();
  REQUIRE(pending_of(r, "f") != nullptr);
  CHECK(pending_of(r, "f")->reason.find("of 2 ranks fit") == std::string::npos);
  CHECK(pending_of(r, "f")->reason.starts_with("0/2 nodes"));
}

TEST_CASE("an elastic gang's start is bounded by its queue's limit") {
  queue_cluster c(2, 4);
  c.define(make_queue("a", "", "gpu=3"));
  c.submit(elastic(c, "e", "a", 2, 8));
  c.round();
  CHECK(size_of(c, "e") == 3);
  CHECK(c.status_of("a").usage.gpu_milli == 3000);
}

TEST_CASE(
    "a guarantee shrinks a borrowing elastic gang toward its minimum instead of stopping it") {
  queue_cluster c(2, 4);
  c.define(make_queue("vision", "gpu=4"));
  c.submit(elastic(c, "e", "default", 2, 8));
  c.round();
  REQUIRE(size_of(c, "e") == 8);
  c.now = 100'000;
  c.submit("v", "vision", 1, 4);  // 4 ranks of 1 GPU
  auto r = c.round();
  REQUIRE(r.stops.size() == 1);
  const stop_order& o = r.stops[0];
  CHECK(o.kind == stop_kind::resize);
  CHECK(o.from == 8);
  CHECK(o.to == 4);  // as little as needed, not all the way to 2
  CHECK(o.reason == "resized 8 \u2192 4: making room for v");
  CHECK(o.signal == "SIGUSR1");
  CHECK(o.grace_ms == 30'000);
  CHECK(c.status_of("default").preempted == 1);
  // The gang checkpoints and stops; its job asks again with its range.
  c.end("e");
  c.submit(elastic(c, "e", "default", 2, 8));
  c.round();
  CHECK(size_of(c, "v") == 4);
  CHECK(size_of(c, "e") == 4);
}

TEST_CASE("a gang shrunk as far as it may is stopped whole only when shrinking is not enough") {
  queue_cluster c(1, 4);
  c.define(make_queue("vision", "gpu=4"));
  c.submit(elastic(c, "e", "default", 2, 4));
  c.round();
  REQUIRE(size_of(c, "e") == 4);
  c.submit("v", "vision", 3);  // one task of 3 GPUs: shrinking to 2 frees only 2
  auto r = c.round();
  REQUIRE(r.stops.size() == 1);
  CHECK(r.stops[0].kind == stop_kind::preempt);
  CHECK(r.stops[0].reason == "preempted: queue vision reclaims its guarantee (needs 3 gpu)");
}

TEST_CASE("an elastic gang at its minimum is stopped whole") {
  queue_cluster c(1, 4);
  c.define(make_queue("vision", "gpu=2"));
  c.submit(elastic(c, "e", "default", 4, 8));
  c.round();
  REQUIRE(size_of(c, "e") == 4);
  c.submit("v", "vision", 2);
  auto r = c.round();
  REQUIRE(r.stops.size() == 1);
  CHECK(r.stops[0].kind == stop_kind::preempt);
}

TEST_CASE("an elastic gang grows into idle capacity after running long enough at its size") {
  queue_book_config cfg;
  cfg.grow_after_ms = 60'000;
  queue_cluster c(1, 8, cfg);
  for (int i = 0; i < 4; ++i) c.submit("d" + std::to_string(i), "default", 1);
  c.round();
  c.submit(elastic(c, "e", "default", 2, 8));
  c.round();
  REQUIRE(size_of(c, "e") == 4);
  c.now = 10'000;
  for (int i = 0; i < 4; ++i) c.end("d" + std::to_string(i));
  CHECK(c.round().stops.empty());  // ran 10 s at its size: not yet
  c.now = 60'000;
  auto r = c.round();
  REQUIRE(r.stops.size() == 1);
  CHECK(r.stops[0].kind == stop_kind::resize);
  CHECK(r.stops[0].reason == "resized 4 \u2192 8: capacity freed");
  CHECK(r.stops[0].for_job.empty());
  CHECK(c.status_of("default").preempted == 0);  // a grow is not a preemption
  // The trial of the grow was rolled back: e holds its 4 GPUs, the hold the other 4, once.
  for (const auto& [name, n] : c.view.nodes()) {
    for (const auto& g : n.gpus) CHECK(g.free_milli == 0);
  }
  // Until it restarted, the GPUs it grows into are held for it.
  c.submit("late", "default", 1);
  c.round();
  CHECK_FALSE(c.is_running("late"));
  c.end("e");
  c.submit(elastic(c, "e", "default", 2, 8));
  c.round();
  CHECK(size_of(c, "e") == 8);
  CHECK_FALSE(c.is_running("late"));
}

TEST_CASE("no grow while work waits for capacity, a grown gang is protected from shrinking") {
  queue_book_config cfg;
  cfg.grow_after_ms = 60'000;
  cfg.min_runtime_ms = 120'000;
  queue_cluster c(1, 8, cfg);
  c.define(make_queue("vision", "gpu=2"));
  c.submit("d0", "default", 4);
  c.submit(elastic(c, "e", "default", 2, 8));
  c.round();
  REQUIRE(size_of(c, "e") == 4);
  c.now = 100'000;
  c.submit("wide", "default", 6);  // waits for capacity: 4 free when d0 ends, never 6
  c.end("d0");
  auto r = c.round();
  CHECK(r.stops.empty());
  c.book.withdraw("wide");
  r = c.round();
  REQUIRE(r.stops.size() == 1);  // now it grows
  c.end("e");
  c.submit(elastic(c, "e", "default", 2, 8));
  c.round();
  REQUIRE(size_of(c, "e") == 8);
  c.now = 150'000;  // restarted at 100 s: protected until 220 s
  c.submit("v", "vision", 2);
  r = c.round();
  CHECK(r.stops.empty());
  c.now = 220'000;
  r = c.round();
  REQUIRE(r.stops.size() == 1);
  CHECK(r.stops[0].to == 6);
}

TEST_CASE("a plan holds the free capacity its claimant needs until the victims stopped") {
  queue_cluster c(1, 4);
  c.define(make_queue("vision", "gpu=3"));
  c.submit("d0", "default", 1);
  c.submit("d1", "default", 1);
  c.submit("d2", "default", 1);
  c.round();
  c.submit("v", "vision", 3);  // 1 GPU free now, 2 from victims
  auto r = c.round();
  REQUIRE(r.stops.size() == 2);
  CHECK(c.gpus_used_on("n0") == 4);  // the free GPU is held for v
  c.submit("small", "default", 1);
  c.round();
  CHECK_FALSE(c.is_running("small"));
  for (const auto& o : r.stops) c.end(o.request_id);
  c.round();
  CHECK(c.is_running("v"));
  CHECK_FALSE(c.is_running("small"));
  CHECK(c.gpus_used_on("n0") == 4);  // d? and v: nothing held twice, nothing lost
  c.end("v");
  for (const auto& id : {"d0", "d1", "d2"})
    if (c.is_running(id)) c.end(id);
  c.round();
  CHECK(c.is_running("small"));
  c.end("small");
  CHECK(c.view.find("n0")->free_cpu_milli == 64000);
  CHECK(c.gpus_used_on("n0") == 0);
}
