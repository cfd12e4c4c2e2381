// bench_placement: placement throughput and per-decision latency of the scheduler at 1,000 /
// 5,000 / 10,000 nodes (8 GPUs each), for single CPU tasks, fractional GPU tasks and 8- and
// 64-rank gangs, plus the bytes per node of the scheduler's snapshot (cluster_view).
// A measurement, not a test: prints figures and writes JSON (BENCHMARKS.md #1).
//   bench_placement [--nodes 1000,5000,10000] [--policy FGD] [--seed 1] [--out FILE]
//                   [--quick] [--book]
// --book: the same decisions through the queue book (one queue, nothing to preempt: the
// coordinator's common path), plus `reclaim_1gpu`: a round that plans a preemption on a
// cluster full of borrowed work.
#include <malloc.h>
#include <time.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "scheduler/queues/queue_book.hpp"
#include "scheduler/random.hpp"
#include "scheduler/scheduler.hpp"

using namespace gantry;
using namespace gantry::sched;

namespace {

using clock_type = std::chrono::steady_clock;

// This thread's CPU time: unlike wall time it excludes waits for the shared cores.
double thread_cpu_us() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1e6 + static_cast<double>(ts.tv_nsec) / 1e3;
}

node_inventory make_node(int i) {
  node_inventory n;
  char name[32];
  std::snprintf(name, sizeof(name), "node-%05d", i);
  n.name = n.hostname = name;
  n.cpu_milli = 128000;
  n.memory_bytes = int64_t{1024} << 30;
  for (int g = 0; g < 8; ++g) {
    gpu_info info;
    info.index = g;
    info.model = "H100";
    info.memory_bytes = int64_t{80} << 30;
    info.nvlink_group = 0;
    info.numa_node = g / 4;
    info.uuid = "GPU-" + n.name + "-" + std::to_string(g);
    n.gpus.push_back(info);
  }
  n.dpus.push_back({0, "BF3", false});
  n.fabrics = {"tcp", "verbs"};
  n.labels = {{"zone", i % 2 ? "a" : "b"}};
  return n;
}

placement_request request(const std::string& id, int64_t cpu, int32_t gpus, int32_t milli,
                          int32_t count) {
  placement_request r;
  r.id = id;
  r.per_task.cpu_milli = cpu;
  r.per_task.memory_bytes = int64_t{4} << 30;
  r.per_task.gpu_count = gpus;
  r.per_task.gpu_milli = gpus > 0 ? milli : 0;
  if (gpus > 0 && milli < kGpuMilliWhole) r.per_task.gpu_memory_bytes = int64_t{16} << 30;
  r.count = count;
  r.gang = count > 1;
  r.placement = count > 1 ? placement_pref::pack : placement_pref::none;
  return r;
}

// Fills the cluster to about half its GPUs with a mix of task shapes, so that scores differ.
void prefill(cluster_view& view, scheduler& s, uint64_t seed) {
  rng gen(seed);
  const int64_t target = static_cast<int64_t>(view.nodes().size()) * 8 * kGpuMilliWhole / 2;
  int64_t used = 0;
  placement p;
  std::string reason;
  for (int i = 0; used < target; ++i) {
    const uint64_t k = gen.below(10);
    placement_request r;
    if (k < 4) {
      r = request("fill", 4000, 1, gen.below(2) ? 250 : 500, 1);
    } else if (k < 8) {
      r = request("fill", 8000, 1, kGpuMilliWhole, 1);
    } else if (k < 9) {
      r = request("fill", 16000, 1 << gen.below(4), kGpuMilliWhole, 1);
    } else {
      r = request("fill", 8000, 0, 0, 1);
    }
    if (!s.place_now(view, r, p, reason)) break;
    used += static_cast<int64_t>(r.per_task.gpu_count) * r.per_task.gpu_milli;
  }
}

struct figures {
  std::string scenario;
  int64_t nodes = 0;
  int64_t decisions = 0;
  int64_t placed_tasks = 0;
  double seconds = 0;
  double p50_us = 0, p99_us = 0, max_us = 0;  // wall time per decision
  double cpu_p50_us = 0, cpu_p99_us = 0;      // thread CPU time per decision
};

double pct(std::vector<double>& v, double q) {
  if (v.empty()) return 0;
  const auto k = static_cast<size_t>(q * static_cast<double>(v.size() - 1));
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(k), v.end());
  return v[k];
}

// The scheduler's own queue and round.
struct scheduler_path {
  scheduler s;
  scheduler_path(policy_kind policy, uint64_t seed) : s(policy, seed) {}
  void submit(placement_request r) { s.enqueue(std::move(r)); }
  std::vector<placement> round(cluster_view& view, int64_t) { return s.schedule(view).placed; }
  void end(cluster_view& view, const placement& p) {
    for (const auto& a : p.tasks) view.release(a);
  }
  void withdraw(const std::string& id) { s.withdraw(id); }
};

// The queue book (default queue only): admission, then the scheduler's round.
struct book_path {
  queue_book b;
  book_path(policy_kind policy, uint64_t seed) : b(policy, seed) {}
  void submit(placement_request r) {
    queued_request q;
    q.job = r.id;
    q.request = std::move(r);
    (void)b.submit(std::move(q));
  }
  std::vector<placement> round(cluster_view& view, int64_t now) {
    std::vector<placement> out;
    for (auto& a : b.schedule(view, now).placed) out.push_back(std::move(a.placed));
    return out;
  }
  void end(cluster_view& view, const placement& p) {
    for (const auto& a : p.tasks) b.release(view, p.request_id, a);
  }
  void withdraw(const std::string& id) { b.withdraw(id); }
};

// Enqueue one request and run one scheduling round, `decisions` times; gangs are released
// after each round so the cluster stays at its prefilled level.
template <class Path>
figures run(const std::string& name, const cluster_view& base, policy_kind policy, uint64_t seed,
            const placement_request& shape, int decisions, bool release) {
  cluster_view view = base;
  Path path(policy, seed);
  std::vector<double> lat, cpu;
  lat.reserve(decisions);
  cpu.reserve(decisions);
  figures f;
  f.scenario = name;
  f.nodes = static_cast<int64_t>(view.nodes().size());
  const auto start = clock_type::now();
  for (int i = 0; i < decisions; ++i) {
    placement_request r = shape;
    r.id = name + "/" + std::to_string(i);
    r.submit_seq = static_cast<uint64_t>(i);
    path.submit(std::move(r));
    const double c0 = thread_cpu_us();
    const auto t0 = clock_type::now();
    std::vector<placement> placed = path.round(view, i);
    const auto t1 = clock_type::now();
    cpu.push_back(thread_cpu_us() - c0);
    lat.push_back(std::chrono::duration<double, std::micro>(t1 - t0).count());
    ++f.decisions;
    for (const auto& p : placed) f.placed_tasks += static_cast<int64_t>(p.tasks.size());
    if (placed.empty()) {
      path.withdraw(name + "/" + std::to_string(i));
      break;  // full
    }
    if (release) {
      for (const auto& p : placed) path.end(view, p);
    }
  }
  f.seconds = std::chrono::duration<double>(clock_type::now() - start).count();
  f.p50_us = pct(lat, 0.50);
  f.p99_us = pct(lat, 0.99);
  f.max_us = lat.empty() ? 0 : *std::max_element(lat.begin(), lat.end());
  f.cpu_p50_us = pct(cpu, 0.50);
  f.cpu_p99_us = pct(cpu, 0.99);
  return f;
}

// A cluster full of 1-GPU tasks of the default queue (borrowed); each decision is the round
// in which a guaranteed queue's 1-GPU request gets its preemption plan (a victim, checked by
// trial placements on the view with the victims released). The victim then stops and the request is
// placed, outside the measurement.
figures run_reclaim(const cluster_view& empty, policy_kind policy, uint64_t seed, int decisions) {
  cluster_view view = empty;
  queue_book book(policy, seed);
  queue_spec vision;
  vision.name = "vision";
  vision.guarantee.gpu_milli = int64_t{1} << 40;
  (void)book.define(vision);
  int64_t gpus = 0;
  for (const auto& [name, n] : view.nodes()) gpus += static_cast<int64_t>(n.gpus.size());
  uint64_t seq = 0;
  for (int64_t i = 0; i < gpus; ++i) {
    queued_request q;
    q.request = request("fill/" + std::to_string(i), 8000, 1, kGpuMilliWhole, 1);
    q.request.submit_seq = ++seq;
    q.job = q.request.id;
    (void)book.submit(std::move(q));
  }
  (void)book.schedule(view, 0);
  std::vector<double> lat, cpu;
  figures f;
  f.scenario = "reclaim_1gpu";
  f.nodes = static_cast<int64_t>(view.nodes().size());
  const auto start = clock_type::now();
  for (int i = 0; i < decisions; ++i) {
    const int64_t now = 1000 + i;
    queued_request q;
    q.request = request("vision/" + std::to_string(i), 8000, 1, kGpuMilliWhole, 1);
    q.request.submit_seq = ++seq;
    q.job = q.request.id;
    q.queue = "vision";
    (void)book.submit(std::move(q));
    const double c0 = thread_cpu_us();
    const auto t0 = clock_type::now();
    const book_round r = book.schedule(view, now);
    const auto t1 = clock_type::now();
    cpu.push_back(thread_cpu_us() - c0);
    lat.push_back(std::chrono::duration<double, std::micro>(t1 - t0).count());
    ++f.decisions;
    if (r.stops.size() != 1) break;  // nothing left to reclaim
    for (const auto& a : r.stops[0].tasks) book.release(view, r.stops[0].request_id, a);
    f.placed_tasks += static_cast<int64_t>(book.schedule(view, now).placed.size());
  }
  f.seconds = std::chrono::duration<double>(clock_type::now() - start).count();
  f.p50_us = pct(lat, 0.50);
  f.p99_us = pct(lat, 0.99);
  f.max_us = lat.empty() ? 0 : *std::max_element(lat.begin(), lat.end());
  f.cpu_p50_us = pct(cpu, 0.50);
  f.cpu_p99_us = pct(cpu, 0.99);
  return f;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<int> sizes = {1000, 5000, 10000};
  policy_kind policy = policy_kind::fgd;
  uint64_t seed = 1;
  std::string out_path = "bench_placement.json";
  bool quick = false;
  bool book = false;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto value = [&]() -> std::string { return i + 1 < argc ? argv[++i] : ""; };
    if (arg == "--nodes") {
      sizes.clear();
      std::string v = value();
      for (size_t pos = 0; pos < v.size();) {
        const size_t comma = v.find(',', pos);
        sizes.push_back(std::stoi(v.substr(pos, comma - pos)));
        pos = comma == std::string::npos ? v.size() : comma + 1;
      }
    } else if (arg == "--policy") {
      auto p = parse_policy(value());
      if (!p) {
        std::cerr << p.error().message << "\n";
        return 2;
      }
      policy = *p;
    } else if (arg == "--seed") {
      seed = std::stoull(value());
    } else if (arg == "--out") {
      out_path = value();
    } else if (arg == "--quick") {
      quick = true;
    } else if (arg == "--book") {
      book = true;
    } else {
      std::cerr << "usage: bench_placement [--nodes 1000,5000,10000] [--policy FGD] [--seed 1] "
                   "[--out FILE] [--quick] [--book]\n";
      return 2;
    }
  }
  const int singles = quick ? 2000 : 20000;
  const int gangs8 = quick ? 100 : 1000;
  const int gangs64 = quick ? 50 : 300;
  nlohmann::json results = nlohmann::json::array();
  std::printf("bench_placement: policy %s, seed %llu; clusters half full before measuring; %s\n",
              to_string(policy), static_cast<unsigned long long>(seed),
              book ? "through the queue book" : "through the scheduler's queue");
  std::printf("%-7s %-16s %9s %12s %9s %9s %9s %9s %9s\n", "nodes", "scenario", "decisions",
              "placements/s", "p50 us", "p99 us", "max us", "cpu p50", "cpu p99");
  for (int n : sizes) {
    const size_t heap_before = mallinfo2().uordblks;
    cluster_view base;
    for (int i = 0; i < n; ++i) base.upsert_node(make_node(i));
    const size_t heap_after = mallinfo2().uordblks;
    const double bytes_per_node =
        static_cast<double>(heap_after - heap_before) / static_cast<double>(n);
    {
      scheduler filler(policy, seed);
      prefill(base, filler, seed);
    }
    std::vector<figures> rows;
    auto scenario = [&](const std::string& name, const placement_request& shape, int decisions,
                        bool release) {
      rows.push_back(
          book ? run<book_path>(name, base, policy, seed, shape, decisions, release)
               : run<scheduler_path>(name, base, policy, seed, shape, decisions, release));
    };
    scenario("single_cpu", request("", 1000, 0, 0, 1), singles, false);
    scenario("fractional_gpu", request("", 2000, 1, 250, 1), singles, false);
    scenario("gang_8x1gpu", request("", 8000, 1, kGpuMilliWhole, 8), gangs8, true);
    scenario("gang_64x1gpu", request("", 8000, 1, kGpuMilliWhole, 64), gangs64, true);
    if (book) {
      cluster_view empty;
      for (int i = 0; i < n; ++i) empty.upsert_node(make_node(i));
      rows.push_back(run_reclaim(empty, policy, seed, quick ? 20 : 200));
    }
    for (const auto& f : rows) {
      const double rate = f.seconds > 0 ? static_cast<double>(f.decisions) / f.seconds : 0;
      std::printf("%-7d %-16s %9lld %12.0f %9.1f %9.1f %9.1f %9.1f %9.1f\n", n, f.scenario.c_str(),
                  static_cast<long long>(f.decisions), rate, f.p50_us, f.p99_us, f.max_us,
                  f.cpu_p50_us, f.cpu_p99_us);
      results.push_back({{"nodes", n},
                         {"scenario", f.scenario},
                         {"path", book ? "queue_book" : "scheduler"},
                         {"policy", to_string(policy)},
                         {"decisions", f.decisions},
                         {"tasks_placed", f.placed_tasks},
                         {"seconds", f.seconds},
                         {"decisions_per_s", rate},
                         {"tasks_per_s", f.seconds > 0 ? f.placed_tasks / f.seconds : 0},
                         {"p50_us", f.p50_us},
                         {"p99_us", f.p99_us},
                         {"max_us", f.max_us},
                         {"cpu_p50_us", f.cpu_p50_us},
                         {"cpu_p99_us", f.cpu_p99_us},
                         {"snapshot_bytes_per_node", bytes_per_node}});
    }
    std::printf("%-7d snapshot: %.0f bytes per node (cluster_view: records + dense state)\n", n,
                bytes_per_node);
  }
  std::ofstream out(out_path);
  out << results.dump(2) << "\n";
  std::printf("wrote %s\n", out_path.c_str());
  return 0;
}
