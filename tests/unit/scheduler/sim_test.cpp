// `gantry sim` on small synthetic traces the test writes itself.
#include <doctest/doctest.h>

#include <unistd.h>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "scheduler/sim/sim.hpp"

using namespace gantry;
using namespace gantry::sched;
namespace fs = std::filesystem;

namespace {

// A scratch directory removed at the end of the test.
struct scratch_dir {
  fs::path path;
  scratch_dir() {
    path = fs::temp_directory_path() /
           ("gantry-sim-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter()++));
    fs::create_directories(path);
  }
  ~scratch_dir() { fs::remove_all(path); }
  static int& counter() {
    static int n = 0;
    return n;
  }
  std::string write(const std::string& name, const std::string& text) const {
    std::ofstream(path / name) << text;
    return (path / name).string();
  }
};

// 4 nodes, 12 GPUs.
const char* kNodes =
    "sn,cpu_milli,memory_mib,gpu,model\n"
    "n0,32000,65536,4,G2\n"
    "n1,32000,65536,4,G2\n"
    "n2,16000,65536,2,T4\n"
    "n3,16000,65536,2,T4\n";

const char* kPods =
    "name,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec,qos,pod_phase\n"
    "p0,4000,1024,1,500,,LS,Running\n"
    "p1,4000,1024,1,1000,,LS,Running\n"
    "p2,2000,1024,1,250,G2,LS,Failed\n"
    "p3,8000,2048,0,0,,BE,Running\n"
    "p4,8000,2048,2,1000,T4|G2,LS,Running\n"
    "p5,1000,512,1,700,,LS,Pending\n";

}  // namespace

TEST_CASE("parse_seeds accepts a number, a range and a list") {
  CHECK(parse_seeds("42").value() == std::vector<uint64_t>{42});
  CHECK(parse_seeds("42..45").value() == std::vector<uint64_t>{42, 43, 44, 45});
  CHECK(parse_seeds("1,2,3").value() == std::vector<uint64_t>{1, 2, 3});
  CHECK(parse_seeds("1,5..6").value() == std::vector<uint64_t>{1, 5, 6});
  CHECK_FALSE(parse_seeds("").has_value());
  CHECK_FALSE(parse_seeds("x").has_value());
  CHECK_FALSE(parse_seeds("5..3").has_value());
  CHECK_FALSE(parse_seeds("1,,2").has_value());
  CHECK(parse_seeds("5..3").error().message.find("backwards") != std::string::npos);
}

TEST_CASE("the trace readers take the openb columns") {
  scratch_dir dir;
  auto nodes = read_sim_nodes(dir.write("nodes.csv", kNodes));
  REQUIRE(nodes.has_value());
  REQUIRE(nodes->size() == 4);
  CHECK((*nodes)[2].gpus.size() == 2);
  CHECK((*nodes)[2].gpus[1].model == "T4");
  CHECK((*nodes)[0].memory_bytes == int64_t{65536} << 20);
  auto tasks = read_sim_tasks(dir.write("pods.csv", kPods));
  REQUIRE(tasks.has_value());
  REQUIRE(tasks->size() == 6);
  CHECK((*tasks)[4].resources.gpu_models == std::vector<std::string>{"T4", "G2"});
  CHECK((*tasks)[4].gpu_demand() == 2000);
  CHECK((*tasks)[3].gpu_demand() == 0);
  // The multigpu20 variant has only the first five columns.
  auto short_tasks = read_sim_tasks(dir.write("short.csv",
                                              "name,cpu_milli,memory_mib,num_gpu,gpu_milli\n"
                                              "a,1000,10,1,300\n"));
  REQUIRE(short_tasks.has_value());
  CHECK((*short_tasks)[0].resources.gpu_models.empty());
}

TEST_CASE("bad input names the file, line and column") {
  scratch_dir dir;
  const std::string nodes = dir.write("nodes.csv", kNodes);
  const std::string bad = dir.write("bad.csv",
                                    "name,cpu_milli,memory_mib,num_gpu,gpu_milli\n"
                                    "a,1000,10,1,300\n"
                                    "b,1000,ten,1,300\n");
  auto r = read_sim_tasks(bad);
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().message == bad + ":3:8: memory_mib: expected an integer in [0, " +
                                 std::to_string(int64_t{1} << 40) + "], got 'ten'");

  const std::string frac = dir.write("frac.csv",
                                     "name,cpu_milli,memory_mib,num_gpu,gpu_milli\n"
                                     "a,1000,10,2,300\n");
  r = read_sim_tasks(frac);
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().message.starts_with(frac + ":2:13: gpu_milli: must be 1000"));

  const std::string header = dir.write("header.csv", "name,cpu_milli\n");
  r = read_sim_tasks(header);
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().message == header + ":1:1: header lacks column 'memory_mib'");

  sim_options opts;
  opts.nodes_csv = nodes;
  opts.pods_csv = bad;
  std::ostringstream out, err;
  CHECK(run_sim(opts, out, err) == 2);
  CHECK(err.str().find(bad + ":3:8") != std::string::npos);
  opts.pods_csv = (dir.path / "missing.csv").string();
  err.str("");
  CHECK(run_sim(opts, out, err) == 2);
  CHECK(err.str().find("missing.csv: cannot open file") != std::string::npos);
  opts.pods_csv = dir.write("pods.csv", kPods);
  opts.policies = {"worst"};
  err.str("");
  CHECK(run_sim(opts, out, err) == 2);
  CHECK(err.str().find("unknown policy 'worst'") != std::string::npos);
}

TEST_CASE("the task order is reproducible and tuned to the load") {
  scratch_dir dir;
  auto tasks = read_sim_tasks(dir.write("pods.csv", kPods)).value();
  const int64_t capacity = 12000;  // 12 GPUs
  const auto a = sim_order(tasks, 42, 1.3, capacity);
  CHECK(a == sim_order(tasks, 42, 1.3, capacity));
  CHECK(a != sim_order(tasks, 43, 1.3, capacity));
  int64_t demand = 0;
  for (const auto* t : a) demand += t->gpu_demand();
  CHECK(demand <= 15600);
  CHECK(demand > 15600 - 2000);  // stopped by the first draw that would pass the load
  // Above the load, random tasks are dropped instead.
  const auto down = sim_order(tasks, 42, 0.2, capacity);
  demand = 0;
  for (const auto* t : down) demand += t->gpu_demand();
  CHECK(demand <= 2400);
  CHECK(down.size() < tasks.size());
}

TEST_CASE("sim replays every policy and reports allocation against arrived load") {
  scratch_dir dir;
  std::string nodes = "sn,cpu_milli,memory_mib,gpu,model\n";
  for (int i = 0; i < 40; ++i) {  // 120 GPUs: one task moves arrived load by about 1%
    nodes += "n" + std::to_string(i) + (i % 2 ? ",32000,65536,4,G2\n" : ",16000,65536,2,T4\n");
  }
  sim_options opts;
  opts.nodes_csv = dir.write("nodes.csv", nodes);
  opts.pods_csv = dir.write("pods.csv", kPods);
  opts.policies = {"all"};
  opts.seeds = {1, 2};
  opts.json = true;
  std::ostringstream out, err;
  REQUIRE(run_sim(opts, out, err) == 0);
  CHECK(err.str().empty());
  const auto json = nlohmann::json::parse(out.str());
  REQUIRE(json.is_array());
  REQUIRE(json.size() == 7);
  for (const auto& c : json) {
    CAPTURE(c["policy"].get<std::string>());
    CHECK(c["seconds"].get<double>() >= 0);
    const auto& points = c["points"];
    REQUIRE(points.size() == 131);  // every integer arrived % from 0 to 130
    double last_alloc = 0;
    for (const auto& p : points) {
      const double arrived = p["arrived_pct"].get<int>();
      const double alloc = p["gpu_alloc_pct"].get<double>();
      CHECK(alloc <= arrived + 2);  // allocated never runs ahead of arrived
      CHECK(alloc <= 100.0);
      last_alloc = alloc;
    }
    CHECK(points.back()["arrived_pct"].get<int>() == 130);
    CHECK(last_alloc > 50);  // this tiny cluster is mostly filled by every policy
  }
  CHECK(json[5]["policy"] == "FGD");

  // The table names the policies and the load columns.
  opts.json = false;
  opts.policies = {"FGD", "bestfit"};
  opts.seeds = {7};
  out.str("");
  REQUIRE(run_sim(opts, out, err) == 0);
  const std::string table = out.str();
  CHECK(table.find("FGD") != std::string::npos);
  CHECK(table.find("BestFit") != std::string::npos);
  CHECK(table.find("130%") != std::string::npos);
  CHECK(table.find("seeds 7") != std::string::npos);
}

TEST_CASE("a seed's replay is deterministic") {
  scratch_dir dir;
  auto nodes = read_sim_nodes(dir.write("nodes.csv", kNodes)).value();
  auto tasks = read_sim_tasks(dir.write("pods.csv", kPods)).value();
  for (policy_kind p : all_policies()) {
    CAPTURE(to_string(p));
    const auto a = simulate(nodes, tasks, p, {5}, 1.3);
    const auto b = simulate(nodes, tasks, p, {5}, 1.3);
    REQUIRE(a.points.size() == b.points.size());
    for (size_t i = 0; i < a.points.size(); ++i) {
      CHECK(a.points[i].gpu_alloc_pct == b.points[i].gpu_alloc_pct);
    }
  }
}
