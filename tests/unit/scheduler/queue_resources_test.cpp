// Queue resources (parsing, arithmetic, wording), queue definitions and DRF shares.
#include <doctest/doctest.h>

#include "helpers.hpp"
#include "scheduler/queues/fair_share.hpp"
#include "scheduler/queues/queue_spec.hpp"

using namespace gantry;
using namespace gantry::sched;
using namespace gantry::sched::test;

TEST_CASE("parse_queue_resources reads gpu, cpu and memory in any order") {
  auto r = parse_queue_resources("gpu=8,cpu=64,memory=512GiB");
  REQUIRE(r);
  CHECK(r->gpu_milli == 8000);
  CHECK(r->cpu_milli == 64000);
  CHECK(r->memory_bytes == int64_t{512} << 30);
  auto half = parse_queue_resources("memory=1GiB,gpu=0.5,cpu=500m");
  REQUIRE(half);
  CHECK(*half == queue_resources{500, int64_t{1} << 30, 500});
  // Dimensions not named take the `absent` value: 0 for a guarantee, no limit for a limit.
  CHECK(parse_queue_resources("gpu=16").value() == queue_resources{0, 0, 16000});
  CHECK(parse_queue_resources("gpu=16", kNoLimit).value() ==
        queue_resources{kNoLimit, kNoLimit, 16000});
}

TEST_CASE("parse_queue_resources names the item that is wrong") {
  CHECK(parse_queue_resources("").error().message.find("empty") != std::string::npos);
  CHECK(parse_queue_resources("disk=1").error().message.find("\"disk=1\"") != std::string::npos);
  CHECK(parse_queue_resources("gpu=x").error().message.find("GPU amount") != std::string::npos);
  CHECK(parse_queue_resources("gpu=-1").error().message.find("GPU amount") != std::string::npos);
  CHECK(parse_queue_resources("gpu=0.0001").error().code == errc::invalid_argument);
  CHECK(parse_queue_resources("gpu=1,gpu=2").error().message.find("twice") != std::string::npos);
  CHECK(parse_queue_resources("memory=lots").error().message.find("memory=lots") !=
        std::string::npos);
  CHECK(parse_queue_resources("cpu").error().message.find("expected cpu=N") != std::string::npos);
}

TEST_CASE("describe words amounts as events do") {
  CHECK(describe({0, 0, 4000}) == "4 gpu");
  CHECK(describe({8000, int64_t{16} << 30, 500}) == "0.5 gpu, 8 cpu, 16GiB memory");
  CHECK(describe({1500, 0, 250}) == "0.25 gpu, 1.5 cpu");
  CHECK(describe({}) == "nothing");
  CHECK(describe(queue_resources::unlimited()) == "nothing");
  CHECK(describe({kNoLimit, kNoLimit, 16000}) == "16 gpu");
}

TEST_CASE("queue resources: unlimited stays unlimited, excess and fits_within are per dimension") {
  const queue_resources unlimited = queue_resources::unlimited();
  CHECK(unlimited - queue_resources{1, 2, 3} == unlimited);
  CHECK(unlimited + queue_resources{1, 2, 3} == unlimited);
  CHECK(fits_within({1, 1, 1}, unlimited));
  CHECK(fits_within({1000, 0, 2000}, {1000, 5, 2000}));
  CHECK_FALSE(fits_within({1000, 0, 2001}, {1000, 5, 2000}));
  CHECK(excess({5000, 10, 3000}, {2000, 20, 3000}) == queue_resources{3000, 0, 0});
  CHECK(excess({5, 5, 5}, unlimited) == queue_resources{});
  CHECK(overlaps({0, 0, 1}, {1, 1, 1}));
  CHECK_FALSE(overlaps({1, 0, 0}, {0, 1, 1}));
}

TEST_CASE("demand_of counts fractions of a GPU and every rank") {
  resource_request frac;
  frac.cpu_milli = 2000;
  frac.memory_bytes = 1 << 20;
  frac.gpu_count = 1;
  frac.gpu_milli = 250;
  CHECK(demand_of(frac, 4) == queue_resources{8000, 4 << 20, 1000});
  resource_request whole;
  whole.gpu_count = 2;
  whole.gpu_milli = kGpuMilliWhole;
  CHECK(demand_of(whole, 3).gpu_milli == 6000);
}

TEST_CASE("validate checks a queue's name, weight, guarantee and limit") {
  queue_spec q;
  q.name = "vision";
  q.guarantee = {0, 0, 8000};
  CHECK(validate(q));
  q.limit = {kNoLimit, kNoLimit, 4000};
  auto below = validate(q);
  REQUIRE_FALSE(below);
  CHECK(below.error().message == "queue vision: limit: 4 gpu is below the guarantee 8 gpu");
  q.limit = queue_resources::unlimited();
  q.weight = 0;
  CHECK(validate(q).error().message.find("weight") != std::string::npos);
  q.weight = 2;
  q.name = "-bad";
  CHECK_FALSE(validate(q));
  q.name = "a b";
  CHECK_FALSE(validate(q));
  queue_spec def;
  def.name = "default";
  def.weight = 3;
  CHECK(validate(def));  // only its weight may change
  def.guarantee.gpu_milli = 1000;
  CHECK(validate(def).error().message.find("default queue") != std::string::npos);
}

TEST_CASE("weighted DRF: the dominant share of what a queue borrows, over its weight") {
  const queue_resources cap{100000, int64_t{1000} << 30, 10000};  // 100 cores, 1000 GiB, 10 GPUs
  // 4 GPUs used, 2 guaranteed: 2 of 10 GPUs borrowed is the dominant share (0.2).
  CHECK(borrowed_share({10000, 0, 4000}, {0, 0, 2000}, cap, 1) == doctest::Approx(0.2));
  CHECK(borrowed_share({10000, 0, 4000}, {0, 0, 2000}, cap, 2) == doctest::Approx(0.1));
  // CPU dominates when it is the larger fraction: 50 of 100 cores.
  CHECK(borrowed_share({50000, 0, 1000}, {}, cap, 1) == doctest::Approx(0.5));
  CHECK(borrowed_share({0, 0, 1000}, {0, 0, 2000}, cap, 1) == 0);
  CHECK(guarantee_fill({0, 0, 1000}, {0, 0, 4000}) == doctest::Approx(0.25));
  CHECK(guarantee_fill({0, 0, 1000}, {}) == 0);
}

TEST_CASE("capacity_of counts schedulable nodes only") {
  cluster_view v;
  v.upsert_node(make_node("a", 8000, 4));
  v.upsert_node(make_node("b", 8000, 2));
  CHECK(capacity_of(v).gpu_milli == 6000);
  v.set_schedulable("b", false);
  CHECK(capacity_of(v) == queue_resources{8000, int64_t{64} << 30, 4000});
}

TEST_CASE("borrowed_of: what comes with guaranteed work is guaranteed too") {
  // 4 GPUs used, 2 guaranteed: half the work is borrowed, so half its CPU and memory too.
  CHECK(borrowed_of({8000, 4 << 20, 4000}, {0, 0, 2000}) == queue_resources{4000, 2 << 20, 2000});
  CHECK(borrowed_of({8000, 0, 2000}, {0, 0, 2000}) == queue_resources{});
  // No guarantee: everything is borrowed; a guarantee on unused dimensions: likewise.
  CHECK(borrowed_of({8000, 0, 2000}, {}) == queue_resources{8000, 0, 2000});
  CHECK(borrowed_of({8000, 0, 0}, {0, 0, 2000}) == queue_resources{8000, 0, 0});
  // Covered dimensions count alone; the largest fraction beyond sets the rest.
  CHECK(borrowed_of({6000, 100, 3000}, {4000, 0, 2000}) == queue_resources{2000, 33, 1000});
}
