// `gantry sim --queues` on small synthetic traces the test writes itself.
#include <doctest/doctest.h>

#include <unistd.h>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "scheduler/sim/queue_sim.hpp"

using namespace gantry;
using namespace gantry::sched;
namespace fs = std::filesystem;

namespace {

struct scratch {
  fs::path path;
  scratch() {
    static int n = 0;
    path = fs::temp_directory_path() /
           ("gantry-queue-sim-test-" + std::to_string(::getpid()) + "-" + std::to_string(n++));
    fs::create_directories(path);
  }
  ~scratch() { fs::remove_all(path); }
  std::string write(const std::string& name, const std::string& text) const {
    std::ofstream(path / name) << text;
    return (path / name).string();
  }
};

// 8 nodes, 32 GPUs.
std::string nodes_csv() {
  std::string s = "sn,cpu_milli,memory_mib,gpu,model\n";
  for (int i = 0; i < 8; ++i) s += "n" + std::to_string(i) + ",64000,262144,4,G2\n";
  return s;
}

const char* kQueuePods =
    "name,cpu_milli,memory_mib,num_gpu,gpu_milli\n"
    "one,4000,8192,1,1000\n"
    "half,2000,4096,1,500\n"
    "two,8000,16384,2,1000\n";

std::vector<sim_task> tasks_of(const scratch& d) {
  return read_sim_tasks(d.write("pods.csv", kQueuePods)).value();
}
std::vector<node_inventory> nodes_of(const scratch& d) {
  return read_sim_nodes(d.write("nodes.csv", nodes_csv())).value();
}

}  // namespace

TEST_CASE("read_sim_queues reads definitions and traffic, empty cells take defaults") {
  scratch d;
  auto q = read_sim_queues(d.write("q.csv",
                                   "name,weight,guarantee_gpu,guarantee_memory,limit_gpu,start_s,"
                                   "stop_s,backlog,grace_s\n"
                                   "vision,2,8,64GiB,16,3600,7200,5,10\n"
                                   "nlp,,,,,,,,\n"));
  REQUIRE(q);
  REQUIRE(q->size() == 2);
  const sim_queue& v = (*q)[0];
  CHECK(v.spec.name == "vision");
  CHECK(v.spec.weight == 2);
  CHECK(v.spec.guarantee == queue_resources{0, int64_t{64} << 30, 8000});
  CHECK(v.spec.limit == queue_resources{kNoLimit, kNoLimit, 16000});
  CHECK(v.start_s == 3600);
  CHECK(v.stop_s == 7200);
  CHECK(v.backlog == 5);
  CHECK(v.grace_s == 10);
  const sim_queue& n = (*q)[1];
  CHECK(n.spec.weight == 1);
  CHECK(n.spec.guarantee.zero());
  CHECK(n.spec.limit == queue_resources::unlimited());
  CHECK(n.stop_s == -1);
  CHECK(n.backlog == 20);
}

TEST_CASE("read_sim_queues names the file, line and column of a mistake") {
  scratch d;
  auto err = [&](const std::string& text) {
    auto r = read_sim_queues(d.write("bad.csv", text));
    REQUIRE_FALSE(r);
    return r.error().message;
  };
  CHECK(err("weight\n1\n").find("bad.csv:1:1: header lacks column 'name'") != std::string::npos);
  CHECK(err("name,weight\na,0\n").find("bad.csv:2:3: weight: expected a number") !=
        std::string::npos);
  CHECK(err("name\na\na\n").find("bad.csv:3:1: name: duplicate queue a") != std::string::npos);
  CHECK(err("name,guarantee_gpu\na,lots\n").find("bad.csv:2:3: guarantee_gpu:") !=
        std::string::npos);
  CHECK(err("name,guarantee_gpu,limit_gpu\na,8,4\n").find("below the guarantee") !=
        std::string::npos);
  CHECK(err("name\n").find("no queues") != std::string::npos);
}

TEST_CASE("queue replay: two flooding queues weighted 1:2 share the GPUs 1:2") {
  scratch d;
  std::vector<sim_queue> queues(2);
  queues[0].spec.name = "a";
  queues[1].spec.name = "b";
  queues[1].spec.weight = 2;
  queue_sim_config cfg;
  cfg.duration_s = 4 * 3600;
  cfg.task_seconds = 600;
  const auto r = simulate_queues(nodes_of(d), tasks_of(d), queues, policy_kind::fgd, {42, 43}, cfg);
  REQUIRE(r.queues.size() == 2);
  const double a = r.queues[0].share_pct, b = r.queues[1].share_pct;
  MESSAGE("shares a " << a << "%, b " << b << "%");
  CHECK(a + b > 85);  // saturated
  CHECK(std::abs(a / (a + b) / (1.0 / 3) - 1) <= 0.05);
  CHECK(r.queues[0].preempted == 0);  // borrowing alone shares it: nothing is preempted
  CHECK(r.queues[1].preempted == 0);
  REQUIRE(r.points.size() == 24);
  CHECK(r.points.back().t_s == doctest::Approx(cfg.duration_s));
}

TEST_CASE("queue replay: a queue that starts later takes its guarantee back by preemption") {
  scratch d;
  std::vector<sim_queue> queues(2);
  queues[0].spec.name = "flood";
  queues[1].spec.name = "late";
  queues[1].spec.guarantee.gpu_milli = 16000;  // half the cluster
  queues[1].start_s = 3600;
  queue_sim_config cfg;
  cfg.duration_s = 3 * 3600;
  cfg.task_seconds = 1800;
  const auto r = simulate_queues(nodes_of(d), tasks_of(d), queues, policy_kind::fgd, {7}, cfg);
  const auto& flood = r.queues[0];
  const auto& late = r.queues[1];
  MESSAGE("flood " << flood.share_pct << "%, late " << late.share_pct << "%, preempted "
                   << flood.preempted);
  // Before it starts, flood has everything it can use.
  CHECK(r.points[5].share_pct[1] == 0);
  CHECK(r.points[5].share_pct[0] > 85);
  // After: late holds at least its guarantee (50%) and shares the rest 1:1.
  CHECK(late.share_pct >= 50);
  CHECK(std::abs(late.share_pct - 75) <= 75 * 0.05);
  CHECK(flood.preempted > 0);
  CHECK(late.preempted_for == flood.preempted);
  CHECK(late.preempted == 0);
}

TEST_CASE("gantry sim --queues prints a table or JSON, and refuses bad durations") {
  scratch d;
  sim_options o;
  o.nodes_csv = d.write("nodes.csv", nodes_csv());
  o.pods_csv = d.write("pods.csv", kQueuePods);
  o.queues_csv = d.write("q.csv", "name,weight,guarantee_gpu\nvision,1,8\ndefault,2,\n");
  o.duration_s = 3600;
  o.json = true;
  std::ostringstream out, err;
  REQUIRE(run_sim(o, out, err) == 0);
  const auto j = nlohmann::json::parse(out.str());
  REQUIRE(j.size() == 1);
  CHECK(j[0]["policy"] == "FGD");
  CHECK(j[0]["gpus"] == 32);
  REQUIRE(j[0]["queues"].size() == 2);
  const auto& v = j[0]["queues"][0];
  CHECK(v["name"] == "vision");
  CHECK(v["guarantee"]["gpu"] == 8);
  CHECK(v["guarantee"]["cpu"] == 0);
  CHECK(v["limit"]["gpu"].is_null());
  CHECK(v.contains("share_pct"));
  CHECK(v.contains("preempted"));
  CHECK(v.contains("preempted_for"));
  CHECK(j[0]["points"].size() == 24);
  CHECK(j[0]["points"][0]["shares"].contains("default"));

  o.json = false;
  std::ostringstream table;
  REQUIRE(run_sim(o, table, err) == 0);
  CHECK(table.str().find("GPU share over time") != std::string::npos);
  CHECK(table.str().find("vision") != std::string::npos);

  o.duration_s = 10;
  std::ostringstream bad;
  CHECK(run_sim(o, out, bad) == 2);
  CHECK(bad.str().find("--duration") != std::string::npos);
  o.duration_s = 3600;
  o.queues_csv = d.write("bad.csv", "name\n");
  std::ostringstream bad2;
  CHECK(run_sim(o, out, bad2) == 2);
  CHECK(bad2.str().find("--queues") != std::string::npos);
}
