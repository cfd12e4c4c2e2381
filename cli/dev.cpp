// `gantry dev`: a whole cluster on this machine as real child processes (harness/): one
// coordinator and N workers with simulated GPUs, in a temporary data dir. A worker that exits
// is started again, and said so on stderr; a coordinator that exits ends dev with an error.
// Stops on Ctrl-C, SIGTERM or when gantry dev's own parent dies.
#include <signal.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <atomic>
#include <cctype>
#include <iostream>
#include <map>
#include <optional>
#include <thread>

#include "cli/commands.hpp"
#include "core/log.hpp"
#include "harness/local_cluster.hpp"
#include "protocol/client.hpp"

namespace gantry::cli {
namespace {

// Helper threads raise it (process-directed, blocked everywhere) to wake the loop in run_dev.
// KJ reserves SIGUSR1.
constexpr int kWakeSignal = SIGUSR2;

// A worker that exits this many times in a row, each within kQuickExitMs of its start, is
// not started again: dev ends with an error instead of restarting it forever.
constexpr int kMaxQuickExits = 5;
constexpr int64_t kQuickExitMs = 10000;

void wake_loop() {
  kill(getpid(), kWakeSignal);
}

// A client verb's options acting as the dev cluster's admin.
client_options admin_options(const harness::local_cluster& cluster) {
  client_options c;
  c.coordinator = cluster.address();
  if (cluster.insecure()) {
    c.insecure = true;
  } else {
    c.token_file = cluster.admin_token_file();
    c.ca = cluster.ca_file();
  }
  return c;
}

// After `--run`: what the job's last stage printed (the pipeline's result, say).
void show_last_stage_output(const harness::local_cluster& cluster) {
  auto cl = cluster.connect();
  if (!cl) return;
  auto jobs = (*cl)->list_jobs();
  if (!jobs || jobs->empty()) return;
  auto job = (*cl)->describe(jobs->back().id);
  if (!job || job->stages.empty()) return;
  std::string stage = job->stages.back().name;
  cl->reset();  // run_logs opens its own connection (one event loop per thread)
  std::cout << "gantry dev: output of stage " << stage << " of " << jobs->back().id << ":"
            << std::endl;
  run_logs(admin_options(cluster), jobs->back().id, stage, std::nullopt, false);
}

std::string worker_name(int i) {
  return "dev-" + std::to_string(i);
}

}  // namespace

int run_dev(const dev_options& o, const std::string& self_exe) {
  set_log_identity("dev");
  if (o.workers < 1 || o.workers > 64) {
    std::cerr << "gantry dev: --workers must be 1..64, got " << o.workers << "\n";
    return kExitUsage;
  }
  prctl(PR_SET_PDEATHSIG, SIGTERM);
  sigset_t sigs;
  sigemptyset(&sigs);
  for (int s : {SIGINT, SIGTERM, SIGCHLD, kWakeSignal}) sigaddset(&sigs, s);
  sigprocmask(SIG_BLOCK, &sigs, nullptr);  // handled below with sigwaitinfo

  const bool temp = o.data_dir.empty();
  std::optional<harness::local_cluster> cl;
  try {
    cl.emplace(harness::cluster_options{.gantry = self_exe,
                                        .dir = o.data_dir,
                                        .temp_prefix = "gantry-dev",
                                        .port = o.port,
                                        .parent_death_signal = SIGTERM});
  } catch (const std::exception& e) {
    std::cerr << "gantry dev: " << e.what() << "\n";
    return 1;
  }
  const std::string dir = cl->dir();
  if (auto r = cl->start_coordinator({}, 15000); !r) {
    std::cerr << "gantry dev: the coordinator did not start; see " << cl->log_path("coordinator")
              << "\n";
    cl->keep_dir();  // the log it names
    cl->stop(0, 2000);
    return 1;
  }
  const std::string addr = cl->address();
  std::vector<std::string> names;
  std::vector<std::string> flags;
  if (!o.simulate_gpus.empty()) flags = {"--simulate-gpus", o.simulate_gpus};
  for (int i = 1; i <= o.workers; ++i) {
    names.push_back(worker_name(i));
    cl->start_worker(names.back(), flags);
  }
  std::cout << "gantry dev: coordinator listening on " << addr << ", " << o.workers << " workers"
            << (o.simulate_gpus.empty() ? "" : " with simulated GPUs " + o.simulate_gpus) << "\n"
            << "gantry dev: HTTP (/metrics, /api/v1) on " << cl->http_url() << "\n"
            << "gantry dev: data and logs in " << dir << (temp ? " (removed at exit)" : "") << "\n"
            << "gantry dev: in another shell:\n";
  std::string token = harness::read_file(cl->admin_token_file());
  while (!token.empty() && std::isspace(static_cast<unsigned char>(token.back()))) token.pop_back();
  std::cout << "export GANTRY_COORDINATOR=" << addr << "\n";
  if (!cl->insecure())
    std::cout << "export GANTRY_TOKEN=" << token << "\nexport GANTRY_CA=" << cl->ca_file() << "\n";
  std::cout.flush();

  // Every worker registered (or the wait for it failed): then --run starts, or dev says it runs.
  std::atomic<bool> ready{false};
  std::thread ready_waiter([&] {
    if (auto c = cl->connect()) {
      for (const auto& name : names) {
        auto r = (*c)->wait_node(name, "ready", 20000);
        if (!r) std::cerr << "gantry dev: worker " << name << ": " << r.error().message << "\n";
      }
    }
    ready = true;
    wake_loop();
  });

  std::atomic<int> run_result{-1};
  std::thread runner;
  bool started = false;
  std::map<std::string, int> quick_exits;  // worker -> exits in a row soon after a start
  int code = kExitOk;
  for (;;) {
    if (ready && !started) {
      started = true;
      if (!o.run_file.empty()) {
        runner = std::thread([&] {
          int result = run_submit(admin_options(*cl), {o.run_file}, true);
          show_last_stage_output(*cl);
          run_result = result;
          wake_loop();
        });
      } else {
        std::cout << "gantry dev: running; Ctrl-C stops the cluster" << std::endl;
      }
    }
    if (run_result >= 0) {
      code = run_result;
      break;
    }
    siginfo_t info;
    int sig = sigwaitinfo(&sigs, &info);
    if (sig == SIGINT || sig == SIGTERM) {
      std::cout << "\ngantry dev: stopping" << std::endl;
      code = o.run_file.empty() ? kExitOk : kExitJobFailed;
      break;
    }
    if (sig != SIGCHLD) continue;
    bool fatal = false;
    for (const auto& e : cl->reap_ended()) {
      if (e.name == "coordinator") {
        std::cerr << "gantry dev: the coordinator exited unexpectedly: " << e.how << "; see "
                  << cl->log_path(e.name) << "\n";
        fatal = true;
        continue;
      }
      bool quick = harness::now_us() - cl->worker(e.name).started_us() < kQuickExitMs * 1000;
      int& count = quick_exits[e.name];
      count = quick ? count + 1 : 0;
      if (count >= kMaxQuickExits) {
        std::cerr << "gantry dev: " << e.name << " exited " << count << " times within "
                  << kQuickExitMs / 1000 << " s of its start (last: " << e.how
                  << "); not restarting it; see " << cl->log_path(e.name) << "\n";
        fatal = true;
        continue;
      }
      cl->restart_worker(e.name);
      std::cerr << "gantry dev: " << e.name << " exited unexpectedly: " << e.how
                << "; restarted it as pid " << cl->worker(e.name).pid() << "; see "
                << cl->log_path(e.name) << "\n";
    }
    if (fatal) {
      code = 1;
      break;
    }
  }
  cl->stop(8000, 5000);  // workers first: their tasks end cleanly
  // A helper still blocked on a coordinator that is gone is left behind: _exit ends it.
  if (ready) ready_waiter.join();
  if (runner.joinable()) {
    if (run_result < 0)
      runner.detach();
    else
      runner.join();
  }
  if (!ready) ready_waiter.detach();
  cl.reset();  // removes a temp dir
  std::cout << "gantry dev: stopped" << std::endl;
  std::cout.flush();
  _exit(code);
}

}  // namespace gantry::cli
