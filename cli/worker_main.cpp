// `gantry worker`: probes the machine, dials the coordinator, runs the tasks it is given.
#include <limits.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <mutex>

#include "cli/commands.hpp"
#include "cli/runtime.hpp"
#include "core/log.hpp"
#include "core/quantity.hpp"
#include "core/task_environment.hpp"
#include "protocol/worker_link.hpp"
#include "worker/inventory/probe.hpp"
#include "worker/supervisor.hpp"

namespace gantry::cli {
namespace {

// Lets the supervisor exist before the link it reports to.
class forwarding_sink final : public report_sink {
 public:
  void set(std::shared_ptr<report_sink> target) {
    std::lock_guard lock(mu_);
    target_ = std::move(target);
  }
  void task_exited(task_report r) override {
    if (auto t = get()) t->task_exited(std::move(r));
  }
  void checkpoint_committed(std::string task_id, int64_t step) override {
    if (auto t = get()) t->checkpoint_committed(std::move(task_id), step);
  }

 private:
  std::shared_ptr<report_sink> get() {
    std::lock_guard lock(mu_);
    return target_;
  }
  std::mutex mu_;
  std::shared_ptr<report_sink> target_;
};

// Tasks find gantry's own programs (examples, `gantry` itself) before anything else.
void put_own_dir_on_path() {
  char exe[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (n <= 0) return;
  exe[n] = '\0';
  std::string dir = std::filesystem::path(exe).parent_path().string();
  const char* path = std::getenv("PATH");
  std::string value = dir + ":" + (path ? path : "/usr/local/bin:/usr/bin:/bin");
  setenv("PATH", value.c_str(), 1);
}

environment own_environment() {
  environment env;
  for (char** e = environ; e && *e; ++e) {
    std::string_view kv(*e);
    auto eq = kv.find('=');
    if (eq != std::string_view::npos)
      env.emplace_back(std::string(kv.substr(0, eq)), std::string(kv.substr(eq + 1)));
  }
  return env;
}

// MPS daemons for real GPUs when nvidia-cuda-mps-control is on PATH (sets the inventory's
// gpu_sharing to mps); else null, and shared GPUs are time-sliced. Simulated GPUs are never
// fenced.
std::shared_ptr<mps_manager> gpu_sharing(node_inventory& inv, const std::string& data_dir) {
  inv.gpu_sharing = kGpuSharingTimeSliced;
  bool real = std::any_of(inv.gpus.begin(), inv.gpus.end(), [](auto& g) { return !g.simulated; });
  if (!real) return nullptr;
  auto mps = std::make_shared<mps_manager>(
      mps_options{"nvidia-cuda-mps-control", data_dir + "/mps", own_environment(), 10000});
  if (mps->control_path().empty()) {
    log_warn(
        "GPU sharing: time-sliced (nvidia-cuda-mps-control is not on PATH): tasks that "
        "share a GPU get no compute or memory cap");
    return nullptr;
  }
  inv.gpu_sharing = kGpuSharingMps;
  log_info("GPU sharing: mps (" + mps->control_path() + ", daemons under " + data_dir + "/mps)");
  return mps;
}

}  // namespace

int run_worker(const worker_options& o) {
  auto coordinator = coordinator_address(o.coordinator);
  if (!coordinator) {
    std::cerr << "gantry worker: " << coordinator.error().message << "\n";
    return kExitUsage;
  }
  inventory::probe_options popts;
  popts.name = o.name;
  if (o.cpus) {
    if (*o.cpus <= 0) {
      std::cerr << "gantry worker: --cpus must be above 0, got " << *o.cpus << "\n";
      return kExitUsage;
    }
    popts.cpu_milli = static_cast<int64_t>(std::llround(*o.cpus * 1000));
  }
  if (!o.memory.empty()) {
    auto mem = parse_bytes(o.memory);
    if (!mem) {
      std::cerr << "gantry worker: --memory: " << mem.error().message << "\n";
      return kExitUsage;
    }
    popts.memory_bytes = *mem;
  }
  popts.simulate_gpus = o.simulate_gpus;
  popts.simulate_dpus = o.simulate_dpus;
  popts.labels = o.labels;
  std::string notes;
  auto inv = inventory::probe(popts, &notes);
  if (!inv) {
    std::cerr << "gantry worker: " << inv.error().message << "\n";
    return kExitUsage;
  }
  if (o.data_dir.empty()) {
    std::cerr << "gantry worker: --data-dir is required (task logs and scratch space live there)\n";
    return kExitUsage;
  }
  set_log_identity("worker[" + inv->name + "]");
  for (size_t start = 0; start < notes.size();) {
    size_t end = notes.find('\n', start);
    if (end == std::string::npos) end = notes.size();
    if (end > start) log_info(notes.substr(start, end - start));
    start = end + 1;
  }
  for (const auto& pattern : o.pass_env) {
    if (auto ok = check_pass_env(pattern); !ok) {
      std::cerr << "gantry worker: --pass-env: " << ok.error().message << "\n";
      return kExitUsage;
    }
  }
  put_own_dir_on_path();

  capture_stop_signals();  // before any thread exists
  auto io = kj::setupAsyncIo();
  auto sys = make_actor_system();
  auto mailbox = std::make_shared<kj_mailbox>();
  auto reports = std::make_shared<forwarding_sink>();
  supervisor_options sopts;
  sopts.data_dir = o.data_dir;
  sopts.shared_dir = o.shared_dir.empty() ? o.data_dir + "/shared" : o.shared_dir;
  sopts.facts = {inv->name, *coordinator, inv->gpus, own_environment(), o.pass_env};
  sopts.mps = gpu_sharing(*inv, o.data_dir);
  sopts.retain_task_files_ms = o.retain_task_files_ms;
  supervisor sup(*sys, sopts, reports);
  worker_link link(io, mailbox, sup.agent(), {*coordinator, *inv});
  reports->set(link.reports());

  auto mail = mailbox->run().eagerlyEvaluate(nullptr);
  auto running = link.run().eagerlyEvaluate([](kj::Exception&& e) {
    log_error(std::string("link stopped: ") + e.getDescription().cStr());
  });
  int sig = wait_for_stop_signal(io);
  log_info(std::string("stopping on ") + strsignal(sig) + ": terminating tasks");
  // Let the loop run while tasks stop, so their exits still reach the coordinator.
  auto b = to_promise<void>();
  sup.stop_all(3000, std::move(b.fn));
  b.promise
      .exclusiveJoin(
          io.provider->getTimer().afterDelay(5 * kj::SECONDS).then([] { return result<void>{}; }))
      .wait(io.waitScope);
  io.provider->getTimer().afterDelay(100 * kj::MILLISECONDS).wait(io.waitScope);
  mailbox->close();
  std::fflush(nullptr);
  _exit(0);
}

}  // namespace gantry::cli
