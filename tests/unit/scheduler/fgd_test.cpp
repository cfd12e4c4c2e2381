// FGD's fragmentation measure and target workload, checked against hand-worked values
// (the same cases the FGD paper's simulator tests, pkg/utils/frag_test.go).
#include <doctest/doctest.h>

#include "helpers.hpp"
#include "scheduler/fgd.hpp"

using namespace gantry;
using namespace gantry::sched;
using namespace gantry::sched::test;

namespace {

// The paper's test workload "with non-GPU tasks" (cpu milli, gpu count, gpu milli, %).
std::vector<workload_type> paper_workload() {
  const struct {
    int64_t cpu;
    int32_t n;
    int32_t m;
    double pct;
  } rows[] = {{15700, 1, 1000, 28.69}, {11900, 1, 1000, 18.93}, {11400, 1, 1000, 12.27},
              {1000, 0, 0, 7.36},      {18710, 1, 1000, 4.85},  {8200, 1, 1000, 3.79},
              {16400, 1, 1000, 3.31},  {9810, 1, 1000, 1.97},   {15200, 1, 1000, 1.87},
              {11200, 1, 1000, 1.81},  {14200, 1, 1000, 1.76},  {12000, 0, 0, 1.65},
              {14900, 1, 1000, 1.39},  {60200, 4, 1000, 1.23},  {64200, 8, 1000, 1.07},
              {32200, 4, 1000, 1.01},  {17400, 2, 1000, 0.91},  {30200, 2, 1000, 0.69},
              {16000, 1, 1000, 0.64},  {15000, 1, 1000, 0.59},  {64000, 8, 1000, 0.53},
              {15000, 0, 0, 0.53},     {11910, 1, 1000, 0.53},  {120200, 8, 1000, 0.48},
              {11300, 1, 1000, 0.37},  {30000, 2, 1000, 0.32},  {9800, 1, 1000, 0.32},
              {8000, 1, 1000, 0.32},   {2000, 1, 1000, 0.27},   {2000, 1, 80, 0.27},
              {1000, 1, 1000, 0.27}};
  std::vector<workload_type> out;
  for (const auto& r : rows) out.push_back({r.cpu, 0, r.n, r.m, {}, r.pct / 100});
  return out;
}

double paper_total() {
  double t = 0;
  for (const auto& w : paper_workload()) t += w.weight;
  return t;
}

const node_state& state_of(const cluster_view& v, const std::string& name) {
  return v.dense()[v.dense_index(name)];
}

}  // namespace

TEST_CASE("fragmentation of idle and half-used nodes matches the paper's simulator") {
  fgd_model fgd;
  fgd.set(paper_workload());  // renormalised: the paper's figures are divided by the total
  cluster_view view;
  view.upsert_node(make_node("empty", 64000, 8, "P100"));
  CHECK(fgd.frag(state_of(view, "empty")) * paper_total() == doctest::Approx(887.20));

  // 32 cores and GPUs 4..7 taken.
  scheduler s(policy_kind::first_fit);
  placement p;
  std::string reason;
  auto four = gpu_task("t", 4, 1000, 1, 32000);
  REQUIRE(s.place_now(view, four, p, reason));
  CHECK(free_milli(view, "empty") == std::vector<int32_t>{0, 0, 0, 0, 1000, 1000, 1000, 1000});
  CHECK(fgd.frag(state_of(view, "empty")) * paper_total() == doctest::Approx(554.4));
}

TEST_CASE("a type that fits counts only the GPUs with too little free as fragments") {
  fgd_model fgd;
  fgd.set({{1000, 0, 1, 500, {}, 1.0}});
  cluster_view view;
  view.upsert_node(make_node("a", 64000, 3));
  scheduler s(policy_kind::first_fit);
  placement p;
  std::string reason;
  REQUIRE(s.place_now(view, gpu_task("x", 1, 700), p, reason));
  CHECK(fgd.frag(state_of(view, "a")) == doctest::Approx(300));  // GPU 0's 300 < 500
  fgd.set({{128000, 0, 1, 500, {}, 1.0}});  // needs more CPU than the node has: all lost
  CHECK(fgd.frag(state_of(view, "a")) == doctest::Approx(2300));
  fgd.set({{1000, 0, 1, 500, {"A100"}, 1.0}});  // wrong model: all lost
  CHECK(fgd.frag(state_of(view, "a")) == doctest::Approx(2300));
}

TEST_CASE("FGD's score is sigmoid((before - after) / 1000) * 100, truncated") {
  CHECK(fgd_score(0, 0) == 50);
  CHECK(fgd_score(1000, 0) == 73);
  CHECK(fgd_score(0, 1000) == 26);
  CHECK(fgd_score(8000, 0) == 99);
}

TEST_CASE("the target workload is the commonest types up to 95% of tasks") {
  std::vector<workload_type> tasks;
  for (int i = 0; i < 60; ++i) tasks.push_back({1000, 0, 1, 500, {}, 1});
  for (int i = 0; i < 36; ++i) tasks.push_back({2000, 0, 1, 1000, {}, 1});
  for (int i = 0; i < 4; ++i) tasks.push_back({4000, 0, 8, 1000, {}, 1});
  const auto typical = typical_workload(tasks, 0.95);
  REQUIRE(typical.size() == 2);
  CHECK(typical[0].gpu_milli == 500);
  CHECK(typical[0].weight == doctest::Approx(0.625));
  CHECK(typical[1].weight == doctest::Approx(0.375));
  CHECK(typical_workload(tasks, 1.0).size() == 3);
}

TEST_CASE("without a set workload FGD learns one from the requests it sees") {
  cluster_view view;
  view.upsert_node(make_node("a", 64000, 2));
  scheduler s;  // FGD
  for (int i = 0; i < 8; ++i) s.enqueue(gpu_task("q" + std::to_string(i), 1, 250));
  CHECK(s.schedule(view).placed.size() == 8);
  CHECK(free_milli(view, "a") == std::vector<int32_t>{0, 0});
}
