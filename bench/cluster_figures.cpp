// bench_cluster: submit -> running latency, sustained submissions and durable state
// transitions, and memory, through the real RPC path of a dev-like cluster (a coordinator and
// 2 workers on 127.0.0.1; BENCHMARKS.md #2, #3, #7). A measurement, not a test: prints a table
// with the floors next to the figures and writes JSON.
#include <unistd.h>

#include <atomic>
#include <barrier>
#include <cstdio>
#include <map>
#include <set>
#include <sstream>

#include "bench/bench_process.hpp"

using namespace gantry;
using namespace gantry::bench;
using json = nlohmann::json;

namespace {

const char* kUsage =
    "bench_cluster: submit latency, sustained submissions and memory of a local cluster\n"
    "  --runs N              repetitions of hello.yaml and of each throughput figure (default 5)\n"
    "  --samples N           sequential jobs for the submit -> running latency (default 200)\n"
    "  --jobs-per-client N   jobs each client submits in a throughput run (default 200)\n"
    "  --memory-jobs LIST    finished jobs at which the coordinator's RSS is taken (default "
    "1000,10000)\n"
    "  --history-jobs LIST   finished jobs at which jobs/s is measured (default 1000,30000)\n"
    "  --burst N             jobs of each measured burst in the history figure (default 1000)\n"
    "  --history-flags LIST  coordinator flags for the history figure, comma-separated\n"
    "                        (e.g. --retain-max-jobs,1000; default none)\n"
    "  --only LIST           latency,throughput,memory,history (default all)\n"
    "  --source DIR          the gantry source tree, for examples/hello.yaml\n"
    "  --json PATH           also write the figures as JSON\n"
    "  --cgroups MODE        the workers' --cgroups (auto, v1, v2, none; default auto)\n"
    "  --coordinator-flags LIST  more coordinator flags for the latency and throughput cluster,\n"
    "                        comma-separated (e.g. --insecure: no TLS, no tokens; default none)\n"
    "  --worker-flags LIST   more worker flags, comma-separated (e.g. --user-map,FILE)\n";

// Workers offer more CPUs than the machine has: the jobs run `true` and ask for 0.1 CPU.
std::vector<std::string> g_worker_flags{"--cpus", "8", "--memory", "8GiB"};
const char* kTrueJob = R"(name: bench-true
stages:
  - name: main
    device: cpu
    resources: { cpu: 0.1, memory: 16MiB }
    command: [ "true" ]
)";

// A dev-like cluster: the coordinator and workers w1, w2.
std::unique_ptr<client> start_dev(local_cluster& cl) {
  return start_cluster(cl, {"w1", "w2"}, g_worker_flags);
}

// Watches jobs one after another over one client that is already connected, so that a watch
// starts right after its submit returned.
class serial_watcher {
 public:
  explicit serial_watcher(const std::string& address) {
    thread_ = std::thread([this, address] {
      auto c = connect(address);
      std::unique_lock lock(mu_);
      for (;;) {
        cv_.wait(lock, [&] { return stop_ || !job_.empty(); });
        if (stop_) return;
        std::string id = job_;
        lock.unlock();
        std::vector<timed_event> got;
        auto r = c->watch(id, 1, [&](const job_event& e) { got.push_back({e, now_us()}); });
        if (!r) fail_now("watch " + id + ": " + r.error().message);
        lock.lock();
        events_ = std::move(got);
        job_.clear();
        cv_.notify_all();
      }
    });
  }
  ~serial_watcher() {
    {
      std::lock_guard lock(mu_);
      stop_ = true;
      cv_.notify_all();
    }
    thread_.join();
  }
  // The job's events once it ended; fails the bench after timeout_ms.
  std::vector<timed_event> watch(const std::string& id, int timeout_ms) {
    deadline d(timeout_ms, "watching " + id);
    std::unique_lock lock(mu_);
    job_ = id;
    cv_.notify_all();
    cv_.wait(lock, [&] { return job_.empty(); });
    return std::move(events_);
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::string job_;
  std::vector<timed_event> events_;
  bool stop_ = false;
  std::thread thread_;
};

const timed_event* find_event(const std::vector<timed_event>& ev, event_kind kind,
                              const char* state) {
  for (const auto& te : ev)
    if (te.event.kind == kind && te.event.state == state) return &te;
  return nullptr;
}

json bench_latency(const std::string& address, int samples, int runs, const std::string& source) {
  auto c = connect(address);
  serial_watcher watcher(address);
  std::vector<double> ack, running, running_recorded, succeeded, hello;
  int missing = 0;
  for (int i = 0; i < samples; ++i) {
    deadline d(60000, "latency sample " + std::to_string(i));
    int64_t wall = wall_ms(), t = now_us();
    auto reply = must(c->submit(kTrueJob, "true.yaml"), "submit");
    int64_t acked = now_us();
    if (reply.job_id.empty()) fail_now("the job was rejected: " + reply.errors.at(0).message);
    auto ev = watcher.watch(reply.job_id, 30000);
    const timed_event* run = find_event(ev, event_kind::rank, "running");
    const timed_event* done = find_event(ev, event_kind::job, "succeeded");
    if (!done) fail_now("job " + reply.job_id + " did not succeed");
    ack.push_back(ms_between(t, acked));
    succeeded.push_back(ms_between(t, done->at_us));
    if (!run) {
      ++missing;
      continue;
    }
    running.push_back(ms_between(t, run->at_us));
    running_recorded.push_back(static_cast<double>(run->event.time_ms - wall));
  }
  std::string text = read_file(source + "/examples/hello.yaml");
  if (text.empty()) fail_now("cannot read " + source + "/examples/hello.yaml (pass --source DIR)");
  for (int r = 0; r < runs; ++r) {
    deadline d(90000, "hello.yaml run " + std::to_string(r));
    int64_t t = now_us();
    auto reply = must(c->submit(text, "hello.yaml"), "submit hello.yaml");
    if (reply.job_id.empty()) fail_now("hello.yaml was rejected: " + reply.errors.at(0).message);
    auto ev = watcher.watch(reply.job_id, 60000);
    const timed_event* done = find_event(ev, event_kind::job, "succeeded");
    if (!done) fail_now("hello.yaml job " + reply.job_id + " did not succeed");
    hello.push_back(ms_between(t, done->at_us));
  }
  auto a = summarize(ack), b = summarize(running), e = summarize(running_recorded),
       s = summarize(succeeded), h = summarize(hello);
  print_header("submit latency, 1-rank `true` job, " + std::to_string(samples) +
               " sequential samples; coordinator + 2 workers; ms");
  print_row("submit RPC (durable ack)", a);
  print_row("submit -> rank running, seen by a watcher", b);
  print_row("submit -> rank running, event time (1 ms)", e);
  print_row("submit -> job succeeded, seen by a watcher", s);
  print_row("examples/hello.yaml submit -> succeeded", h);
  if (missing)
    std::printf(
        "  (%d jobs went starting -> succeeded without a `running` event: not in the "
        "running figures)\n",
        missing);
  return {{"submit_ack_ms", figure(a, "ms")},
          {"submit_to_running_ms", figure(b, "ms")},
          {"submit_to_running_event_time_ms", figure(e, "ms")},
          {"submit_to_succeeded_ms", figure(s, "ms")},
          {"hello_submit_to_succeeded_ms", figure(h, "ms")},
          {"jobs_without_running_event", missing}};
}

// One burst of submissions: the job ids, when the clients started (steady and wall clock) and
// when the last submit was acknowledged.
struct burst {
  std::vector<std::string> ids;
  int64_t start_us = 0, start_wall_ms = 0, acked_us = 0;
};

// Submits clients x per_client copies of kTrueJob from one thread and client per client, all
// starting together.
burst submit_parallel(const std::string& address, int clients, int per_client) {
  std::vector<std::vector<std::string>> ids(static_cast<size_t>(clients));
  std::vector<int64_t> ends(static_cast<size_t>(clients));
  burst out;
  std::barrier sync(clients, [&]() noexcept {
    out.start_us = now_us();
    out.start_wall_ms = wall_ms();
  });
  std::vector<std::thread> threads;
  for (int k = 0; k < clients; ++k)
    threads.emplace_back([&, k] {
      auto c = connect(address);
      sync.arrive_and_wait();
      for (int i = 0; i < per_client; ++i) {
        auto reply = must(c->submit(kTrueJob, "true.yaml"), "submit");
        if (reply.job_id.empty()) fail_now("the job was rejected");
        ids[static_cast<size_t>(k)].push_back(reply.job_id);
      }
      ends[static_cast<size_t>(k)] = now_us();
    });
  for (auto& t : threads) t.join();
  out.acked_us = *std::max_element(ends.begin(), ends.end());
  for (auto& v : ids) out.ids.insert(out.ids.end(), v.begin(), v.end());
  return out;
}

// Polls list_jobs every 250 ms (rarely, not to load the coordinator) until every job of the
// burst ended; returns the ms from the burst's start to the last job's finished_ms (the
// coordinator's clock) and counts the jobs that did not succeed.
double wait_all_ended(client& c, const burst& b, int& not_succeeded) {
  std::set<std::string> want(b.ids.begin(), b.ids.end());
  for (;;) {
    auto jobs = must(c.list_jobs(), "list_jobs");
    size_t ended = 0;
    int64_t last = 0;
    not_succeeded = 0;
    for (const auto& j : jobs) {
      if (!want.contains(j.id) || !is_terminal(j.state)) continue;
      ++ended;
      last = std::max(last, j.finished_ms);
      not_succeeded += j.state != job_state::succeeded;
    }
    if (ended == want.size()) {
      if (last == 0) fail_now("list_jobs reports no finished_ms for ended jobs");
      return static_cast<double>(last - b.start_wall_ms);
    }
    usleep(250000);
  }
}

// Replays the events of ended jobs: `all` persisted events, and `transitions`, the events
// that changed the state of their job, stage or rank (the rest update a pending reason).
void count_events(client& c, const std::vector<std::string>& ids, uint64_t& all,
                  uint64_t& transitions) {
  all = transitions = 0;
  for (const auto& id : ids) {
    std::map<std::string, std::string> state;  // "kind/stage/rank" -> state
    must(c.watch(id, 1,
                 [&](const job_event& e) {
                   ++all;
                   std::string key = std::to_string(static_cast<int>(e.kind)) + "/" + e.stage +
                                     "/" + std::to_string(e.rank);
                   auto [it, fresh] = state.emplace(key, e.state);
                   if (fresh || it->second != e.state) ++transitions;
                   it->second = e.state;
                 }),
         "replaying the events of " + id);
  }
}

json bench_throughput(const std::string& address, int runs, int per_client) {
  auto c = connect(address);
  json out = json::object();
  print_header("sustained submissions of 1-rank `true` jobs; " + std::to_string(runs) + " runs");
  for (int clients : {1, 4}) {
    std::vector<double> submit_rate, done_ms, job_rate, event_rate, transition_rate, per_job;
    int failed = 0;
    for (int r = 0; r < runs; ++r) {
      deadline d(600000, std::to_string(clients) + "-client throughput run " + std::to_string(r));
      burst b = submit_parallel(address, clients, per_client);
      int bad = 0;
      double ended_ms = wait_all_ended(*c, b, bad);
      failed += bad;
      uint64_t events = 0, transitions = 0;
      count_events(*c, b.ids, events, transitions);
      double n = static_cast<double>(b.ids.size());
      submit_rate.push_back(n / (ms_between(b.start_us, b.acked_us) / 1e3));
      done_ms.push_back(ended_ms);
      job_rate.push_back(n / (done_ms.back() / 1e3));
      event_rate.push_back(static_cast<double>(events) / (done_ms.back() / 1e3));
      transition_rate.push_back(static_cast<double>(transitions) / (done_ms.back() / 1e3));
      per_job.push_back(static_cast<double>(events) / n);
    }
    std::string tag = std::to_string(clients) + " x " + std::to_string(per_client) + " jobs";
    auto a = summarize(submit_rate), b = summarize(done_ms), j = summarize(job_rate),
         e = summarize(event_rate), t = summarize(transition_rate), p = summarize(per_job);
    print_row("submissions/s (" + tag + ")", a);
    print_row("first submit -> all succeeded, ms (" + tag + ")", b);
    print_row("jobs finished/s (" + tag + ")", j);
    print_row("durable state transitions/s (" + tag + ")", t);
    print_row("durable events/s, with reason updates (" + tag + ")", e);
    print_row("events per job (" + tag + ")", p);
    if (failed) std::printf("  (%d jobs did not succeed)\n", failed);
    out[std::to_string(clients) + "_clients"] = {{"jobs", clients * per_client},
                                                 {"submissions_per_s", figure(a, "1/s")},
                                                 {"all_succeeded_ms", figure(b, "ms")},
                                                 {"jobs_finished_per_s", figure(j, "1/s")},
                                                 {"durable_transitions_per_s", figure(t, "1/s")},
                                                 {"durable_events_per_s", figure(e, "1/s")},
                                                 {"events_per_job", figure(p, "events")},
                                                 {"not_succeeded", failed}};
  }
  return out;
}

double mib(int64_t bytes) {
  return static_cast<double>(bytes) / (1 << 20);
}

json bench_memory(const std::vector<int64_t>& counts) {
  local_cluster cl;
  auto c = start_dev(cl);
  usleep(1'000'000);  // let the workers' first inventory and heartbeats settle
  int64_t idle = rss_bytes(cl.coordinator().pid());
  json out{{"coordinator_idle_bytes", idle}, {"points", json::array()}};
  std::printf("\n== memory (VmRSS), coordinator + 2 workers, 1-rank `true` jobs\n");
  std::printf("%-56s %10s %10s %10s %10s %10s\n", "point", "coord MiB", "B/job", "B/job+", "w1 MiB",
              "w2 MiB");
  int64_t prev_rss = idle, prev_jobs = 0;
  // B/job: growth since idle over all jobs; B/job+: growth since the previous point.
  auto row = [&](const std::string& name, int64_t jobs) {
    int64_t rss = rss_bytes(cl.coordinator().pid());
    if (rss < 0) fail_now("the coordinator is gone:\n" + tail(cl.log("coordinator"), 20));
    int64_t w1 = rss_bytes(cl.worker("w1").pid()), w2 = rss_bytes(cl.worker("w2").pid());
    double per_job = jobs ? static_cast<double>(rss - idle) / static_cast<double>(jobs) : 0;
    double marginal = jobs > prev_jobs ? static_cast<double>(rss - prev_rss) /
                                             static_cast<double>(jobs - prev_jobs)
                                       : 0;
    std::printf("%-56s %10.1f %10.0f %10.0f %10.1f %10.1f\n", name.c_str(), mib(rss), per_job,
                marginal, mib(w1), mib(w2));
    out["points"].push_back({{"finished_jobs", jobs},
                             {"coordinator_bytes", rss},
                             {"bytes_per_job", per_job},
                             {"bytes_per_job_since_previous", marginal},
                             {"worker_bytes", {w1, w2}}});
    prev_rss = rss;
    prev_jobs = jobs;
  };
  row("idle, 2 workers", 0);
  int64_t done = 0;
  for (int64_t target : counts) {
    deadline d(1800000, "memory: running " + std::to_string(target) + " jobs");
    int64_t missing = target - done;
    if (missing <= 0) continue;
    burst b = submit_parallel(cl.address(), 4, static_cast<int>((missing + 3) / 4));
    int bad = 0;
    double ended_ms = wait_all_ended(*c, b, bad);
    done += static_cast<int64_t>(b.ids.size());
    usleep(500'000);  // lets the finished jobs' actors go away
    double rate = static_cast<double>(b.ids.size()) / (ended_ms / 1e3);
    row("after " + std::to_string(done) + " finished jobs (" +
            std::to_string(static_cast<int>(rate)) + " jobs/s)",
        done);
    if (bad) std::printf("  (%d jobs did not succeed)\n", bad);
  }
  return out;
}

// Submits n copies of kTrueJob from 4 clients and watches each to its end (not polling
// list_jobs, whose cost grows with the jobs kept); returns the burst's jobs/s, from the first
// submit to the last job's `succeeded` event (coordinator clock).
double timed_burst(const std::string& address, int n) {
  constexpr int kClients = 4;
  std::vector<int64_t> last(kClients, 0);
  int64_t start_wall = 0;
  std::barrier sync(kClients, [&]() noexcept { start_wall = wall_ms(); });
  std::vector<std::thread> threads;
  for (int k = 0; k < kClients; ++k)
    threads.emplace_back([&, k] {
      auto c = connect(address);
      std::vector<std::string> ids;
      sync.arrive_and_wait();
      for (int i = k; i < n; i += kClients) {
        auto reply = must(c->submit(kTrueJob, "true.yaml"), "submit");
        if (reply.job_id.empty()) fail_now("the job was rejected");
        ids.push_back(reply.job_id);
      }
      for (const auto& id : ids)
        must(c->watch(id, 1,
                      [&](const job_event& e) {
                        auto st = parse_job_state(e.state);
                        if (e.kind == event_kind::job && st && is_terminal(*st))
                          last[static_cast<size_t>(k)] =
                              std::max(last[static_cast<size_t>(k)], e.time_ms);
                      }),
             "watch " + id);
    });
  for (auto& t : threads) t.join();
  int64_t end = *std::max_element(last.begin(), last.end());
  return n / (static_cast<double>(end - start_wall) / 1e3);
}

// jobs/s of a fixed burst with 1,000 and with 30,000 jobs already finished: what a history
// of finished jobs costs the coordinator (issue 12).
json bench_history(const std::vector<int64_t>& counts, int burst_jobs, int runs,
                   const std::vector<std::string>& coordinator_flags) {
  local_cluster cl(coordinator_flags);
  start_dev(cl);
  json out = json::array();
  print_header("jobs/s of a " + std::to_string(burst_jobs) +
               "-job burst (4 clients) with N finished jobs kept; " + std::to_string(runs) +
               " bursts per point");
  int64_t done = 0;
  for (int64_t target : counts) {
    deadline d(3600000, "history: reaching " + std::to_string(target) + " finished jobs");
    if (target > done) {
      burst b = submit_parallel(cl.address(), 4, static_cast<int>((target - done + 3) / 4));
      int bad = 0;
      wait_all_ended(*connect(cl.address()), b, bad);  // fresh: `c` may have idled out
      done += static_cast<int64_t>(b.ids.size());
    }
    std::vector<double> rates;
    for (int r = 0; r < runs; ++r) {
      rates.push_back(timed_burst(cl.address(), burst_jobs));
      done += burst_jobs;
    }
    auto s = summarize(rates);
    print_row("jobs finished/s after " + std::to_string(target) + " finished jobs", s);
    out.push_back({{"finished_jobs", target}, {"jobs_finished_per_s", figure(s, "1/s")}});
  }
  return out;
}

// "a,b,,c" -> {"a", "b", "c"}.
std::vector<std::string> split_flags(const std::string& text) {
  std::vector<std::string> flags;
  std::stringstream list(text);
  for (std::string flag; std::getline(list, flag, ',');)
    if (!flag.empty()) flags.push_back(flag);
  return flags;
}

}  // namespace

int main(int argc, char** argv) {
  install_cleanup();
  auto f = parse_flags(argc, argv,
                       {{"--runs", "5"},
                        {"--samples", "200"},
                        {"--jobs-per-client", "200"},
                        {"--memory-jobs", "1000,10000"},
                        {"--history-jobs", "1000,30000"},
                        {"--burst", "1000"},
                        {"--history-flags", ""},
                        {"--only", "latency,throughput,memory,history"},
                        {"--source", GANTRY_SOURCE_DIR},
                        {"--json", ""},
                        {"--cgroups", "auto"},
                        {"--coordinator-flags", ""},
                        {"--worker-flags", ""}},
                       kUsage);
  int runs = std::stoi(f["--runs"]), samples = std::stoi(f["--samples"]);
  int per_client = std::stoi(f["--jobs-per-client"]);
  if (runs < 1 || samples < 1 || per_client < 1)
    fail_now("--runs, --samples and --jobs-per-client must be >= 1");
  std::string only = f["--only"];
  g_worker_flags.insert(g_worker_flags.end(), {"--cgroups", f["--cgroups"]});
  for (auto& flag : split_flags(f["--worker-flags"])) g_worker_flags.push_back(flag);
  temp_dir probe;
  auto fl = measure_floors(probe.path());
  json out{{"bench", "cluster"}, {"runs", runs}, {"floors", to_json(fl)}};
  std::printf("bench_cluster: gantry from %s\n", gantry_bin().c_str());
  print_floors(fl);
  if (only.find("latency") != std::string::npos || only.find("throughput") != std::string::npos) {
    local_cluster cl(split_flags(f["--coordinator-flags"]));
    start_dev(cl);
    if (only.find("latency") != std::string::npos)
      out["latency"] = bench_latency(cl.address(), samples, runs, f["--source"]);
    if (only.find("throughput") != std::string::npos)
      out["throughput"] = bench_throughput(cl.address(), runs, per_client);
  }
  if (only.find("memory") != std::string::npos)
    out["memory"] = bench_memory(parse_list(f["--memory-jobs"]));
  if (only.find("history") != std::string::npos) {
    out["history"] = bench_history(parse_list(f["--history-jobs"]), std::stoi(f["--burst"]), runs,
                                   split_flags(f["--history-flags"]));
  }
  write_json(f["--json"], out);
  return 0;
}
