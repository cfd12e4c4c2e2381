// `gantry sim --queues`: options to replays, and the report (a table, or JSON).
#include <cmath>
#include <iomanip>
#include <nlohmann/json.hpp>
#include <ostream>
#include <sstream>

#include "scheduler/sim/queue_sim.hpp"

namespace gantry::sched {

namespace {

double round2(double v) {
  return std::round(v * 100) / 100;
}

// {cpu, memory_bytes, gpu} as `queue list --json` has them; unlimited dimensions are null.
nlohmann::json resources_json(const queue_resources& r) {
  auto dim = [](int64_t v, double number) -> nlohmann::json {
    if (v == kNoLimit) return nullptr;
    return number;
  };
  return {{"cpu", dim(r.cpu_milli, r.cpu_cores())},
          {"memory_bytes", dim(r.memory_bytes, static_cast<double>(r.memory_bytes))},
          {"gpu", dim(r.gpu_milli, r.gpus())}};
}

std::string clock_text(double seconds) {
  const auto s = static_cast<int64_t>(seconds);
  std::ostringstream o;
  o << s / 3600 << ":" << std::setw(2) << std::setfill('0') << (s / 60) % 60;
  return o.str();
}

std::string amounts_text(const queue_resources& r) {
  const std::string d = describe(r);
  return d == "nothing" ? "-" : d;
}

}  // namespace

int run_queue_sim(const sim_options& opts, std::ostream& out, std::ostream& err) {
  if (!(opts.duration_s >= 60 && opts.duration_s <= 1e7)) {
    err << "gantry sim: --duration " << opts.duration_s
        << ": expected seconds in [60, 10000000], e.g. 14400\n";
    return 2;
  }
  if (!(opts.task_seconds >= 1 && opts.task_seconds <= 1e7)) {
    err << "gantry sim: --task-seconds " << opts.task_seconds
        << ": expected seconds in [1, 10000000], e.g. 900\n";
    return 2;
  }
  std::vector<policy_kind> policies;
  for (const auto& name : opts.policies.empty() ? std::vector<std::string>{"fgd"} : opts.policies) {
    if (name == "all" || name == "ALL" || name == "All") {
      for (auto p : all_policies()) policies.push_back(p);
      continue;
    }
    auto p = parse_policy(name);
    if (!p) {
      err << "gantry sim: --policy: " << p.error().message << "\n";
      return 2;
    }
    policies.push_back(*p);
  }
  const std::vector<uint64_t> seeds = opts.seeds.empty() ? std::vector<uint64_t>{42} : opts.seeds;
  auto nodes = read_sim_nodes(opts.nodes_csv);
  if (!nodes) {
    err << "gantry sim: --nodes " << nodes.error().message << "\n";
    return 2;
  }
  auto tasks = read_sim_tasks(opts.pods_csv);
  if (!tasks) {
    err << "gantry sim: --pods " << tasks.error().message << "\n";
    return 2;
  }
  auto queues = read_sim_queues(opts.queues_csv);
  if (!queues) {
    err << "gantry sim: --queues " << queues.error().message << "\n";
    return 2;
  }
  int64_t gpus = 0;
  for (const auto& n : *nodes) gpus += static_cast<int64_t>(n.gpus.size());
  if (gpus == 0) {
    err << "gantry sim: --nodes " << opts.nodes_csv << ": no node has a GPU\n";
    return 2;
  }
  queue_sim_config cfg;
  cfg.duration_s = opts.duration_s;
  cfg.task_seconds = opts.task_seconds;
  std::vector<queue_sim_result> results;
  for (policy_kind p : policies)
    results.push_back(simulate_queues(*nodes, *tasks, *queues, p, seeds, cfg));

  if (opts.json) {
    nlohmann::json all = nlohmann::json::array();
    for (size_t k = 0; k < results.size(); ++k) {
      const auto& r = results[k];
      nlohmann::json qs = nlohmann::json::array();
      for (size_t q = 0; q < queues->size(); ++q) {
        const sim_queue& sq = (*queues)[q];
        const queue_sim_queue& res = r.queues[q];
        qs.push_back(
            {{"name", sq.spec.name},
             {"weight", sq.spec.weight},
             {"guarantee", resources_json(sq.spec.guarantee)},
             {"limit", resources_json(sq.spec.limit)},
             {"start_s", sq.start_s},
             {"stop_s", sq.stop_s < 0 ? nlohmann::json(nullptr) : nlohmann::json(sq.stop_s)},
             {"backlog", sq.backlog},
             {"grace_s", sq.grace_s},
             {"share_pct", round2(res.share_pct)},
             {"preempted", res.preempted},
             {"preempted_for", res.preempted_for},
             {"placed", res.placed},
             {"mean_wait_s", round2(res.mean_wait_s)}});
      }
      nlohmann::json points = nlohmann::json::array();
      for (const auto& p : r.points) {
        nlohmann::json shares = nlohmann::json::object();
        for (size_t q = 0; q < queues->size(); ++q)
          shares[(*queues)[q].spec.name] = round2(p.share_pct[q]);
        points.push_back(
            {{"t_s", p.t_s}, {"allocated_pct", round2(p.allocated_pct)}, {"shares", shares}});
      }
      all.push_back({{"policy", to_string(policies[k])},
                     {"seconds", r.seconds},
                     {"seeds", seeds},
                     {"nodes", nodes->size()},
                     {"gpus", gpus},
                     {"duration_s", cfg.duration_s},
                     {"task_seconds", cfg.task_seconds},
                     {"round_s", cfg.round_s},
                     {"queues", qs},
                     {"points", points}});
    }
    out << all.dump(2) << "\n";
    return 0;
  }

  out << "gantry sim --queues: " << nodes->size() << " nodes, " << gpus << " GPUs; "
      << tasks->size() << " task types; " << clock_text(cfg.duration_s)
      << " simulated, rounds every " << cfg.round_s << " s, tasks " << cfg.task_seconds
      << " s on average; " << seeds.size() << " seed(s)\n";
  for (size_t k = 0; k < results.size(); ++k) {
    const auto& r = results[k];
    out << "\n"
        << to_string(policies[k]) << " (" << std::fixed << std::setprecision(2) << r.seconds
        << " s per run)\n";
    out << std::left << std::setw(14) << "queue" << std::right << std::setw(7) << "weight"
        << std::setw(16) << "guarantee" << std::setw(12) << "limit" << std::setw(9) << "share%"
        << std::setw(11) << "preempted" << std::setw(8) << "for it" << std::setw(9) << "placed"
        << std::setw(9) << "wait s"
        << "\n";
    for (size_t q = 0; q < queues->size(); ++q) {
      const sim_queue& sq = (*queues)[q];
      const queue_sim_queue& res = r.queues[q];
      out << std::left << std::setw(14) << sq.spec.name << std::right << std::setw(7)
          << std::setprecision(1) << sq.spec.weight << std::setw(16)
          << amounts_text(sq.spec.guarantee) << std::setw(12) << amounts_text(sq.spec.limit)
          << std::setw(9) << std::setprecision(2) << res.share_pct << std::setw(11)
          << std::setprecision(0) << res.preempted << std::setw(8) << res.preempted_for
          << std::setw(9) << res.placed << std::setw(9) << std::setprecision(1) << res.mean_wait_s
          << "\n";
    }
    out << "GPU share over time (% of cluster GPUs; share% above is the mean over the second "
           "half):\n"
        << std::left << std::setw(8) << "time" << std::right;
    for (const auto& sq : *queues) out << std::setw(12) << sq.spec.name.substr(0, 11);
    out << std::setw(8) << "all"
        << "\n";
    for (const auto& p : r.points) {
      out << std::left << std::setw(8) << clock_text(p.t_s) << std::right << std::setprecision(1);
      for (double s : p.share_pct) out << std::setw(12) << s;
      out << std::setw(8) << p.allocated_pct << "\n";
    }
  }
  return 0;
}

}  // namespace gantry::sched
