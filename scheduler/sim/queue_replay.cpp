// `gantry sim --queues`: the replay loop. Simulated time advances in rounds; in each, tasks
// that ended or stopped give back what they held, queues top up their backlogs, and the
// queue book runs one round whose placements and stop orders the loop carries out.
#include <chrono>
#include <cmath>
#include <map>
#include <unordered_map>

#include "scheduler/random.hpp"
#include "scheduler/sim/queue_sim.hpp"

namespace gantry::sched {

namespace {

struct sim_job {
  const sim_task* task = nullptr;
  size_t queue = 0;
  int64_t remaining_ms = 0;      // work left
  int64_t waiting_since_ms = 0;  // pending since
  int64_t started_ms = -1;       // running since; -1 while pending
  int64_t ends_ms = 0;           // when it finishes unless stopped
  int64_t ordered_ms = -1;       // a stop order's time; -1: none
  int64_t stops_ms = -1;         // and when it stops
  std::vector<task_assignment> tasks;
};

struct queue_run_result {
  std::vector<queue_sim_queue> queues;
  std::vector<queue_sim_point> points;
  double seconds = 0;
};

class queue_replayer {
 public:
  queue_replayer(const cluster_view& base, int64_t capacity, const std::vector<sim_task>& tasks,
                 const std::vector<workload_type>& workload, const std::vector<sim_queue>& queues,
                 policy_kind policy, uint64_t seed, const queue_sim_config& cfg)
      : view_(base),
        capacity_(static_cast<double>(capacity)),
        tasks_(tasks),
        queues_(queues),
        cfg_(cfg),
        book_(policy, seed),
        gen_(seed ^ 0x51a7e5eedULL),
        waiting_(queues.size(), 0) {
    book_.placer().set_target_workload(workload);
    for (size_t i = 0; i < queues.size(); ++i) {
      (void)book_.define(queues[i].spec);  // validated when read
      index_[queues[i].spec.name] = i;
    }
    out_.queues.resize(queues.size());
    for (size_t i = 0; i < queues.size(); ++i) out_.queues[i].name = queues[i].spec.name;
  }

  queue_run_result run() {
    const auto start = std::chrono::steady_clock::now();
    const auto round_ms = static_cast<int64_t>(cfg_.round_s * 1000);
    const auto end_ms = static_cast<int64_t>(cfg_.duration_s * 1000);
    std::vector<double> share_sum(queues_.size(), 0), wait_sum(queues_.size(), 0);
    int64_t share_rounds = 0;
    int32_t next_point = 1;
    for (int64_t now = 0; now <= end_ms; now += round_ms) {
      settle(now);
      top_up(now);
      const book_round r = book_.schedule(view_, now);
      for (const auto& a : r.placed) placed(a, now, wait_sum);
      for (const auto& o : r.stops) stop(o, now);
      const std::vector<double> shares = usage_pct();
      if (now * 2 >= end_ms) {
        for (size_t q = 0; q < shares.size(); ++q) share_sum[q] += shares[q];
        ++share_rounds;
      }
      if (now * cfg_.points >= static_cast<int64_t>(next_point) * end_ms) {
        queue_sim_point p;
        p.t_s = static_cast<double>(now) / 1000.0;
        p.share_pct = shares;
        for (double s : shares) p.allocated_pct += s;
        out_.points.push_back(std::move(p));
        ++next_point;
      }
    }
    for (size_t q = 0; q < queues_.size(); ++q) {
      auto& s = out_.queues[q];
      s.share_pct = share_rounds > 0 ? share_sum[q] / static_cast<double>(share_rounds) : 0;
      s.mean_wait_s = s.placed > 0 ? wait_sum[q] / s.placed / 1000.0 : 0;
    }
    out_.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return std::move(out_);
  }

 private:
  void submit(const std::string& id, sim_job& j) {
    queued_request r;
    r.request.id = id;
    r.request.per_task = j.task->resources;
    r.request.submit_seq = ++seq_;
    r.job = id;
    r.queue = queues_[j.queue].spec.name;
    r.ranks = {0};
    r.checkpoint_signal = "SIGUSR1";
    r.grace_ms = static_cast<int64_t>(queues_[j.queue].grace_s * 1000);
    r.has_checkpoint = true;
    (void)book_.submit(std::move(r));
    ++waiting_[j.queue];
  }

  // Tasks whose end or stop is due give back what they held; stopped ones wait again with
  // the work they had left when they were told to stop (they checkpoint at the signal).
  void settle(int64_t now) {
    while (!due_.empty() && due_.begin()->first <= now) {
      const auto [t, id] = *due_.begin();
      due_.erase(due_.begin());
      auto it = jobs_.find(id);
      if (it == jobs_.end() || it->second.started_ms < 0) continue;
      sim_job& j = it->second;
      const bool ends = j.ends_ms <= t && (j.stops_ms < 0 || j.ends_ms <= j.stops_ms);
      const bool stops = !ends && j.stops_ms >= 0 && j.stops_ms <= t;
      if (!ends && !stops) continue;  // an event of an earlier run of the task
      for (const auto& a : j.tasks) book_.release(view_, id, a);
      j.tasks.clear();
      if (ends) {
        jobs_.erase(it);
        continue;
      }
      j.remaining_ms -= j.ordered_ms - j.started_ms;
      j.started_ms = j.ordered_ms = j.stops_ms = -1;
      j.waiting_since_ms = t;
      submit(id, j);
    }
  }

  void top_up(int64_t now) {
    const double t = static_cast<double>(now) / 1000.0;
    for (size_t q = 0; q < queues_.size(); ++q) {
      const sim_queue& sq = queues_[q];
      if (t < sq.start_s || (sq.stop_s >= 0 && t >= sq.stop_s)) continue;
      while (waiting_[q] < sq.backlog) {
        sim_job j;
        j.task = &tasks_[gen_.below(tasks_.size())];
        j.queue = q;
        // Exponential durations (at least one second), mean task_seconds.
        const double u = (static_cast<double>(gen_.below(1'000'000)) + 0.5) / 1e6;
        j.remaining_ms = std::max<int64_t>(
            1000, static_cast<int64_t>(-std::log(u) * cfg_.task_seconds * 1000.0));
        j.waiting_since_ms = now;
        const std::string id = sq.spec.name + "-" + std::to_string(++next_id_);
        submit(id, jobs_.emplace(id, std::move(j)).first->second);
      }
    }
  }

  void placed(const admission& a, int64_t now, std::vector<double>& wait_sum) {
    sim_job& j = jobs_.at(a.placed.request_id);
    --waiting_[j.queue];
    out_.queues[j.queue].placed += 1;
    wait_sum[j.queue] += static_cast<double>(now - j.waiting_since_ms);
    j.started_ms = now;
    j.ends_ms = now + j.remaining_ms;
    j.tasks = a.placed.tasks;
    due_.emplace(j.ends_ms, a.placed.request_id);
  }

  void stop(const stop_order& o, int64_t now) {
    sim_job& j = jobs_.at(o.request_id);
    j.ordered_ms = now;
    j.stops_ms = now + o.grace_ms;
    due_.emplace(j.stops_ms, o.request_id);
    out_.queues[index_.at(o.queue)].preempted += 1;
    if (auto f = jobs_.find(o.for_request); f != jobs_.end())
      out_.queues[f->second.queue].preempted_for += 1;
  }

  std::vector<double> usage_pct() const {
    std::vector<double> out(queues_.size(), 0);
    for (const auto& s : book_.status()) {
      auto it = index_.find(s.name);
      if (it != index_.end())
        out[it->second] = 100.0 * static_cast<double>(s.usage.gpu_milli) / capacity_;
    }
    return out;
  }

  cluster_view view_;
  double capacity_;
  const std::vector<sim_task>& tasks_;
  const std::vector<sim_queue>& queues_;
  queue_sim_config cfg_;
  queue_book book_;
  rng gen_;
  std::map<std::string, size_t> index_;
  std::unordered_map<std::string, sim_job> jobs_;
  std::multimap<int64_t, std::string> due_;  // ends and stops, by time
  std::vector<int32_t> waiting_;             // pending tasks per queue
  uint64_t seq_ = 0, next_id_ = 0;
  queue_run_result out_;
};

}  // namespace

queue_sim_result simulate_queues(const std::vector<node_inventory>& nodes,
                                 const std::vector<sim_task>& tasks,
                                 const std::vector<sim_queue>& queues, policy_kind policy,
                                 const std::vector<uint64_t>& seeds, const queue_sim_config& cfg) {
  cluster_view base;
  int64_t capacity = 0;
  for (const auto& n : nodes) {
    base.upsert_node(n);
    capacity += static_cast<int64_t>(n.gpus.size()) * kGpuMilliWhole;
  }
  const auto workload = trace_workload(tasks);
  queue_sim_result res;
  const auto runs = static_cast<double>(std::max<size_t>(1, seeds.size()));
  for (uint64_t seed : seeds) {
    queue_run_result r =
        queue_replayer(base, capacity, tasks, workload, queues, policy, seed, cfg).run();
    res.seconds += r.seconds / runs;
    if (res.queues.empty()) {
      res.queues.resize(r.queues.size());
      for (size_t q = 0; q < r.queues.size(); ++q) res.queues[q].name = r.queues[q].name;
    }
    for (size_t q = 0; q < r.queues.size(); ++q) {
      res.queues[q].share_pct += r.queues[q].share_pct / runs;
      res.queues[q].preempted += r.queues[q].preempted / runs;
      res.queues[q].preempted_for += r.queues[q].preempted_for / runs;
      res.queues[q].placed += r.queues[q].placed / runs;
      res.queues[q].mean_wait_s += r.queues[q].mean_wait_s / runs;
    }
    if (res.points.empty()) {
      res.points = r.points;
      for (auto& p : res.points) {
        p.allocated_pct /= runs;
        for (double& s : p.share_pct) s /= runs;
      }
      continue;
    }
    for (size_t i = 0; i < res.points.size() && i < r.points.size(); ++i) {
      res.points[i].allocated_pct += r.points[i].allocated_pct / runs;
      for (size_t q = 0; q < r.points[i].share_pct.size(); ++q)
        res.points[i].share_pct[q] += r.points[i].share_pct[q] / runs;
    }
  }
  return res;
}

}  // namespace gantry::sched
