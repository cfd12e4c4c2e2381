// bench_recovery: failure detection, gang recovery and coordinator restart, measured with real
// gantry processes on 127.0.0.1 (BENCHMARKS.md #4 and #5). A measurement, not a test: prints
// a table with the targets next to the figures and writes JSON.
//   1. kill -9 of a worker -> node lost (a wait_node RPC returning), then its restart -> ready
//   2. SIGSTOP of a worker -> node lost, then SIGCONT -> ready again (it re-registers)
//   3. a 4-rank CPU gang over 3 workers: kill -9 of a worker running a rank -> node lost ->
//      every rank running again at attempt 1
//   4. coordinator crash (SIGKILL) and restart over N stored jobs: exec -> "listening on",
//      -> list_jobs answering all N, -> both workers ready again
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <map>

#include "bench/bench_process.hpp"
#include "storage/kv_store.hpp"
#include "storage/state_store.hpp"

using namespace gantry;
using namespace gantry::bench;
using json = nlohmann::json;

namespace {

const char* kUsage =
    "bench_recovery: failure detection, gang recovery and coordinator restart figures\n"
    "  --runs N          repetitions of each measurement (default 5)\n"
    "  --jobs LIST       stored jobs for the restart figures (default 10000,100000)\n"
    "  --only LIST       detect,gang,restart (default all)\n"
    "  --json PATH       also write the figures as JSON\n";

const std::vector<std::string> kWorkerFlags{"--cpus", "2", "--memory", "4GiB"};
// Lets the wait_node request reach the coordinator before the fault is injected.
constexpr useconds_t kArmUs = 100'000;

// Injects `sig` into `victim` while a wait_node(victim, lost) is pending; returns the ms from
// the signal to the RPC's answer.
double time_to_lost(local_cluster& cl, const std::string& victim, int sig) {
  node_wait w(cl.address(), victim, "lost", 15000);
  usleep(kArmUs);
  int64_t t = now_us();
  cl.worker(victim).signal(sig);
  int64_t at = w.get();
  if (at < 0) fail_now("node " + victim + " was not declared lost: " + w.error());
  return ms_between(t, at);
}

json bench_detection(int runs) {
  local_cluster cl(std::vector<std::string>{});  // default heartbeat interval and timeout
  auto c = start_cluster(cl, {"w1", "w2"}, kWorkerFlags);
  std::vector<double> killed, rejoined, stopped, resumed;
  for (int r = 0; r < runs; ++r) {
    deadline d(60000, "kill -9 detection, run " + std::to_string(r));
    killed.push_back(time_to_lost(cl, "w1", SIGKILL));
    cl.stop_worker("w1");
    cl.start_worker("w1", kWorkerFlags);
    int64_t started = cl.worker("w1").started_us();
    wait_ready(*c, {"w1"}, 20000);
    rejoined.push_back(ms_between(started, now_us()));
  }
  for (int r = 0; r < runs; ++r) {
    deadline d(60000, "SIGSTOP detection, run " + std::to_string(r));
    stopped.push_back(time_to_lost(cl, "w2", SIGSTOP));
    int64_t t = now_us();
    cl.worker("w2").signal(SIGCONT);
    wait_ready(*c, {"w2"}, 20000);
    resumed.push_back(ms_between(t, now_us()));
  }
  auto k = summarize(killed), j = summarize(rejoined), s = summarize(stopped),
       u = summarize(resumed);
  print_header("failure detection (default heartbeat 150 ms, timeout 750 ms; 2 workers; " +
               std::to_string(runs) + " runs; ms)");
  print_row("kill -9 -> node lost", k, 200, true);
  print_row("restarted worker exec -> ready", j);
  print_row("SIGSTOP -> node lost", s, 1000, true);
  print_row("SIGCONT -> ready again", u);
  return {{"kill9_to_lost_ms", figure(k, "ms", 200, true)},
          {"restart_to_ready_ms", figure(j, "ms")},
          {"sigstop_to_lost_ms", figure(s, "ms", 1000, true)},
          {"sigcont_to_ready_ms", figure(u, "ms")}};
}

const char* kGangManifest = R"(name: gang-recovery
max_restarts: 5
stages:
  - name: train
    device: cpu
    replicas: 4
    collective: nccl
    resources: { cpu: 1, memory: 64MiB }
    command: [ "sleep", "600" ]
)";

// The steady time at which every one of `ranks` ranks was last reported running at an
// attempt >= min_attempt, or -1 if that never held.
int64_t all_running_at(const std::vector<timed_event>& events, int ranks, int min_attempt) {
  std::map<int, std::pair<bool, int>> state;  // rank -> (running, attempt)
  for (const auto& te : events) {
    const auto& e = te.event;
    if (e.kind != event_kind::rank) continue;
    state[e.rank] = {e.state == "running", e.attempt};
    int ok = 0;
    for (const auto& [rank, s] : state) ok += s.first && s.second >= min_attempt;
    if (ok == ranks) return te.at_us;
  }
  return -1;
}

json bench_gang(int runs) {
  local_cluster cl;
  auto c = start_cluster(cl, {"w1", "w2", "w3"}, kWorkerFlags);
  std::vector<double> detect, recover, total, notified;
  int attempt_seen = 0;
  for (int r = 0; r < runs; ++r) {
    deadline d(120000, "gang recovery, run " + std::to_string(r));
    auto reply = must(c->submit(kGangManifest, "gang.yaml"), "submit");
    if (reply.job_id.empty()) fail_now("gang manifest rejected: " + reply.errors.at(0).message);
    std::string victim;
    {
      job_watch jw(cl.address(), reply.job_id);
      auto first = [](const std::vector<timed_event>& ev) { return all_running_at(ev, 4, 0) >= 0; };
      if (!jw.wait_for(first, 30000)) fail_now("the gang did not start: " + reply.job_id);
      auto rec = must(c->describe(reply.job_id), "describe");
      std::vector<std::string> used;
      for (const auto& rk : rec.stages.at(0).ranks)
        if (std::find(used.begin(), used.end(), rk.node) == used.end()) used.push_back(rk.node);
      std::sort(used.begin(), used.end());
      victim = used.at(static_cast<size_t>(r) % used.size());
      size_t seen = jw.events().size();
      int64_t t_kill = now_us() + kArmUs;  // replaced by the real time below
      double detect_ms = 0;
      {
        node_wait w(cl.address(), victim, "lost", 15000);
        usleep(kArmUs);
        t_kill = now_us();
        cl.worker(victim).signal(SIGKILL);
        int64_t at = w.get();
        if (at < 0) fail_now("node " + victim + " was not declared lost: " + w.error());
        detect_ms = ms_between(t_kill, at);
      }
      auto again = [](const std::vector<timed_event>& ev) { return all_running_at(ev, 4, 1) >= 0; };
      if (!jw.wait_for(again, 60000)) fail_now("the gang did not come back: " + reply.job_id);
      auto ev = jw.events();
      int64_t back = all_running_at(ev, 4, 1);
      for (size_t i = seen; i < ev.size(); ++i) {
        if (ev[i].event.kind != event_kind::rank) continue;
        notified.push_back(ms_between(t_kill, ev[i].at_us));
        break;
      }
      for (const auto& te : ev)
        if (te.event.kind == event_kind::rank)
          attempt_seen = std::max(attempt_seen, te.event.attempt);
      detect.push_back(detect_ms);
      total.push_back(ms_between(t_kill, back));
      recover.push_back(total.back() - detect_ms);
      must(c->cancel(reply.job_id), "cancel");
    }  // the watch ends with the job
    cl.stop_worker(victim);
    cl.start_worker(victim, kWorkerFlags);
    wait_ready(*c, {victim}, 20000);
  }
  auto a = summarize(detect), b = summarize(recover), t = summarize(total), n = summarize(notified);
  print_header("gang recovery (4-rank CPU gang over 3 workers, kill -9 of one; " +
               std::to_string(runs) + " runs; ms)");
  print_row("kill -9 -> node lost (detection)", a, 200, true);
  print_row("kill -9 -> first rank event", n);
  print_row("detection -> all ranks running again", b, 2000);
  print_row("kill -9 -> all ranks running again", t);
  std::printf("highest rank attempt seen: %d\n", attempt_seen);
  return {{"kill9_to_lost_ms", figure(a, "ms", 200, true)},
          {"kill9_to_first_rank_event_ms", figure(n, "ms")},
          {"detection_to_running_ms", figure(b, "ms", 2000)},
          {"kill9_to_running_ms", figure(t, "ms")}};
}

// Writes n finished one-rank jobs, their events and the job counter into a new store at dir,
// in synced batches of 1,000 jobs, as the coordinator would have left them.
void prefill(const std::string& dir, int64_t n) {
  auto kv = must(storage::open_rocksdb(dir), "opening " + dir);
  storage::state_store store(*kv);
  must(store.check_schema(), "schema");
  job_spec spec;
  spec.name = "prefilled";
  stage_spec st;
  st.name = "main";
  st.resources.cpu_milli = 100;
  st.resources.memory_bytes = int64_t{16} << 20;
  st.command = {"true"};
  spec.stages.push_back(st);
  int64_t base = wall_ms() - n * 10;
  const char* steps[][3] = {{"job", "", "pending"},         {"rank", "main", "starting"},
                            {"rank", "main", "running"},    {"rank", "main", "succeeded"},
                            {"stage", "main", "succeeded"}, {"job", "", "succeeded"}};
  for (int64_t first = 1; first <= n; first += 1000) {
    storage::state_store::batch b;
    for (int64_t i = first; i < std::min(n + 1, first + 1000); ++i) {
      char id[32];
      std::snprintf(id, sizeof id, "j-%06lld", static_cast<long long>(i));
      job_record rec = make_job_record(id, spec, static_cast<uint64_t>(i), base + i * 10);
      rec.state = job_state::succeeded;
      rec.finished_ms = rec.submitted_ms + 5;
      rec.stages[0].state = stage_state::succeeded;
      auto& rk = rec.stages[0].ranks[0];
      rk.state = rank_state::succeeded;
      rk.node = "w1";
      rk.pid = 1000 + i;
      rk.exit_code = 0;
      rk.task_id = make_task_id(id, "main", 0, 0);
      uint64_t seq = 0;
      for (const auto& s : steps) {
        job_event e;
        e.job_id = id;
        e.seq = ++seq;
        e.time_ms = rec.submitted_ms + static_cast<int64_t>(seq);
        e.kind = s[0][0] == 'j'   ? event_kind::job
                 : s[0][0] == 's' ? event_kind::stage
                                  : event_kind::rank;
        e.stage = s[1];
        e.rank = e.kind == event_kind::rank ? 0 : -1;
        e.state = s[2];
        if (e.kind == event_kind::rank) e.node = "w1";
        b.put_event(e);
      }
      rec.last_event_seq = seq;
      b.put_job(rec);
    }
    b.put_meta("next_job_number", std::to_string(n + 1));
    must(store.commit(b), "committing the prefill");
  }
}

// The coordinator's own figure, from its log line "loaded N jobs from the store in X ms".
double logged_load_ms(const std::string& log) {
  auto at = log.rfind("jobs from the store in ");
  return at == std::string::npos ? -1 : std::stod(log.substr(at + 23));
}

json bench_restart(int runs, const std::vector<int64_t>& counts) {
  json out = json::array();
  print_header("coordinator crash (SIGKILL) and restart over N stored jobs, 2 workers; " +
               std::to_string(runs) + " runs; ms");
  for (int64_t n : counts) {
    deadline d(600000, "coordinator restart with " + std::to_string(n) + " jobs");
    local_cluster cl;
    int64_t t = now_us();
    prefill(cl.coordinator_data_dir() + "/state", n);
    double prefill_s = ms_between(t, now_us()) / 1e3;
    start_cluster(cl, {"w1", "w2"}, kWorkerFlags);
    std::vector<double> listening, listed, workers, loaded, rss;
    for (int r = 0; r < runs; ++r) {
      deadline dr(120000,
                  "restart run " + std::to_string(r) + " with " + std::to_string(n) + " jobs");
      cl.stop_coordinator(SIGKILL);
      listening.push_back(start_coordinator(cl));
      int64_t started = cl.coordinator().started_us();
      auto c = connect(cl.address());
      for (;;) {
        auto jobs = must(c->list_jobs(), "list_jobs");
        if (static_cast<int64_t>(jobs.size()) >= n) break;
        usleep(1000);
      }
      listed.push_back(ms_between(started, now_us()));
      wait_ready(*c, {"w1", "w2"}, 30000);
      workers.push_back(ms_between(started, now_us()));
      loaded.push_back(logged_load_ms(cl.log("coordinator")));
      rss.push_back(static_cast<double>(rss_bytes(cl.coordinator().pid())) / (1 << 20));
    }
    auto a = summarize(listening), b = summarize(listed), w = summarize(workers),
         l = summarize(loaded), m = summarize(rss);
    std::string tag = " (" + std::to_string(n) + " jobs)";
    print_row("store load, coordinator's log" + tag, l);
    print_row("exec -> listening" + tag, a);
    print_row("exec -> list_jobs answers all" + tag, b, 2000);
    print_row("exec -> both workers ready" + tag, w);
    print_row("coordinator RSS after restart, MiB" + tag, m);
    std::printf("  (prefill of %lld jobs + %lld events took %.1f s)\n", static_cast<long long>(n),
                static_cast<long long>(n * 6), prefill_s);
    out.push_back({{"jobs", n},
                   {"prefill_s", prefill_s},
                   {"store_load_ms", figure(l, "ms")},
                   {"exec_to_listening_ms", figure(a, "ms")},
                   {"exec_to_list_jobs_ms", figure(b, "ms", 2000)},
                   {"exec_to_workers_ready_ms", figure(w, "ms")},
                   {"rss_mib", figure(m, "MiB")}});
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  install_cleanup();
  auto f = parse_flags(argc, argv,
                       {{"--runs", "5"},
                        {"--jobs", "10000,100000"},
                        {"--only", "detect,gang,restart"},
                        {"--json", ""}},
                       kUsage);
  int runs = std::stoi(f["--runs"]);
  if (runs < 1) fail_now("--runs must be at least 1");
  std::string only = f["--only"];
  temp_dir probe;
  auto fl = measure_floors(probe.path());
  json out{{"bench", "recovery"}, {"runs", runs}, {"floors", to_json(fl)}};
  std::printf("bench_recovery: %d runs per figure; gantry from %s\n", runs, gantry_bin().c_str());
  print_floors(fl);
  if (only.find("detect") != std::string::npos) out["detection"] = bench_detection(runs);
  if (only.find("gang") != std::string::npos) out["gang"] = bench_gang(runs);
  if (only.find("restart") != std::string::npos)
    out["restart"] = bench_restart(runs, parse_list(f["--jobs"]));
  write_json(f["--json"], out);
  return 0;
}
