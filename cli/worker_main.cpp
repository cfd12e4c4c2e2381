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
#include "cli/fleet.hpp"
#include "cli/runtime.hpp"
#include "core/log.hpp"
#include "core/quantity.hpp"
#include "core/task_environment.hpp"
#include "http/worker_http.hpp"
#include "protocol/client.hpp"
#include "protocol/worker_link.hpp"
#include "security/credential_files.hpp"
#include "security/secure_files.hpp"
#include "security/tls.hpp"
#include "worker/device_rules.hpp"
#include "worker/inventory/nvml_gpus.hpp"
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

// Who tasks run as: with root, the user map (every task as nobody without one); otherwise
// null (tasks run as the worker). A map that sends owners to root is said loudly.
result<std::shared_ptr<const user_map>> task_users(const std::string& path) {
  if (geteuid() != 0) {
    if (!path.empty())
      log_warn("--user-map " + path + " ignored: the worker does not run as root, so tasks run " +
               "as the worker's own user (uid " + std::to_string(geteuid()) + ")");
    return std::shared_ptr<const user_map>();
  }
  auto users = path.empty() ? result<user_map>(user_map()) : user_map::load(path);
  if (!users) return fail(users.error());
  for (const auto& m : users->root_mappings())
    log_warn("WARNING: tasks run as root for " + m +
             ": they can read and change everything on this machine, the worker's and the "
             "coordinator's state included");
  log_info("tasks run as the users " + (path.empty() ? std::string("(no --user-map)") : path) +
           " maps their owners to; unmapped owners as " + users->user_for("").name);
  return std::shared_ptr<const user_map>(std::make_shared<user_map>(std::move(*users)));
}

}  // namespace

int run_worker(const worker_options& o) {
  auto coordinator = coordinator_address(o.coordinator);
  if (!coordinator) {
    std::cerr << "gantry worker: " << coordinator.error().message << "\n";
    return kExitUsage;
  }
  if (o.http_listen != "off") {
    if (auto ok = check_host_port(o.http_listen, /*allow_any_port=*/true); !ok) {
      std::cerr << "gantry worker: --http-listen: " << ok.error().message << " (or off)\n";
      return kExitUsage;
    }
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
  auto users = task_users(o.user_map);
  if (!users) {
    std::cerr << "gantry worker: --user-map: " << users.error().message << "\n";
    return kExitUsage;
  }
  put_own_dir_on_path();
  cgroup_options copts;
  copts.mode = o.cgroups;
  copts.root = o.cgroup_root;
  std::string no_cgroups;
  if (o.fleet > 0) copts.mode = "none";  // a fleet starts no process
  auto cgroups = open_cgroups(copts, &no_cgroups);
  if (!cgroups) {
    std::cerr << "gantry worker: --cgroups " << o.cgroups << ": " << cgroups.error().message
              << "\n";
    return kExitUsage;
  }
  std::shared_ptr<cgroup_driver> driver = std::move(*cgroups);
  inv->isolation = to_string(driver ? driver->mode() : isolation_mode::none);
  if (driver)
    log_info("isolation: cgroup " + inv->isolation + ", task groups under " + driver->describe());
  else
    log_warn("isolation: none (tasks run without cgroup limits): " + no_cgroups);

  // TLS trusting only the cluster's CA, and the credential: the node's own once it joined.
  worker_link_options lopts;
  lopts.coordinator = *coordinator;
  lopts.inventory = *inv;
  std::string ca_file;
  std::string task_ca_file;  // GANTRY_CA for tasks: the worker's copy of the CA
  if (!o.insecure) {
    const char* env = std::getenv("GANTRY_CA");
    ca_file = !o.ca.empty() ? o.ca : env ? env : "";
    if (ca_file.empty()) {
      std::cerr << "gantry worker: --ca is required (the coordinator's DATA/tls/ca.crt: launches "
                   "are accepted only from the coordinator it signed), or --insecure\n";
      return kExitUsage;
    }
    std::error_code ec;
    ca_file = std::filesystem::absolute(ca_file, ec).string();
    auto tls = security::tls_client::from_ca_file(ca_file);
    if (!tls) {
      std::cerr << "gantry worker: --ca: " << tls.error().message << "\n";
      return kExitUsage;
    }
    lopts.tls = std::make_shared<security::tls_client>(std::move(*tls));
    lopts.ca_source = "--ca " + ca_file;
    lopts.credential_file = o.data_dir + "/node-credential";
    if (!o.join_token_file.empty()) {
      auto join = security::read_token_file(o.join_token_file);
      if (!join) {
        std::cerr << "gantry worker: --join-token-file: " << join.error().message << "\n";
        return kExitUsage;
      }
      lopts.join_token = join->text;
    } else if (!security::exists_at(lopts.credential_file)) {
      std::cerr << "gantry worker: --join-token-file is required on the first start (the "
                   "coordinator's DATA/tokens/join; later starts use "
                << lopts.credential_file << ")\n";
      return kExitUsage;
    }
    if (auto ok = security::ensure_directory(o.data_dir, 0755); !ok) {
      std::cerr << "gantry worker: --data-dir: " << ok.error().message << "\n";
      return kExitUsage;
    }
    // Tasks (which run as other users) get the CA from a public copy in the data dir: the path
    // the worker was given may lie where they cannot read (the coordinator's data dir is 0700).
    auto pem = security::read_public_file(ca_file);
    auto copied = pem ? security::write_file_atomically(o.data_dir + "/ca.crt", *pem, 0644)
                      : result<void>(std::unexpected(pem.error()));
    if (!copied) {
      std::cerr << "gantry worker: copying --ca for tasks to " << o.data_dir
                << "/ca.crt: " << copied.error().message << "\n";
      return kExitUsage;
    }
    task_ca_file = o.data_dir + "/ca.crt";
  } else {
    log_warn(
        "INSECURE: --insecure is for debugging only: plain TCP, and any process that "
        "answers at the coordinator's address can launch tasks here");
  }

  if (o.fleet > 0) return run_fleet({o.fleet, o.name_prefix, o.data_dir}, *inv, lopts);

  capture_stop_signals();  // before any thread exists
  auto io = kj::setupAsyncIo();
  auto sys = make_actor_system();
  auto mailbox = std::make_shared<kj_mailbox>();
  auto reports = std::make_shared<forwarding_sink>();
  supervisor_options sopts;
  sopts.data_dir = o.data_dir;
  sopts.shared_dir = o.shared_dir.empty() ? o.data_dir + "/shared" : o.shared_dir;
  sopts.facts.node = inv->name;
  sopts.facts.coordinator = *coordinator;
  sopts.facts.ca_file = task_ca_file;
  sopts.facts.gpus = inv->gpus;
  sopts.facts.own_env = own_environment();
  sopts.facts.pass_env = o.pass_env;
  sopts.cgroups = driver;
  sopts.pids_max = o.pids_limit;
  if (!inv->gpus.empty() && !inv->gpus[0].simulated) sopts.gpu_devices = list_nvidia_devices();
  sopts.time_limit_grace_ms = o.time_limit_grace_ms;
  sopts.mps = gpu_sharing(*inv, o.data_dir);
  sopts.users = *users;
  if (*users) {
    const unix_user& nobody = (*users)->user_for("");
    for (const std::string& dir : {sopts.data_dir, sopts.shared_dir})
      if (std::string closed = unreachable_for(dir, nobody); !closed.empty())
        log_warn("tasks run as " + nobody.name + " cannot reach " + dir + ": " + closed +
                 " is closed to them (chmod o+x " + closed +
                 ", or give the worker a data dir they can reach); their starts will fail");
  }
  sopts.retain_task_files_ms = o.retain_task_files_ms;
  sopts.max_log_bytes = o.max_log_bytes;
  supervisor sup(*sys, sopts, reports);
  worker_link link(io, mailbox, sup.agent(), std::move(lopts));
  reports->set(link.reports());
  http::server_options hopts;  // plain HTTP, no tokens: docs/operations.md
  // Real GPUs' utilisation and memory in use, read from NVML at each scrape.
  std::shared_ptr<inventory::nvml_load_reader> gpu_load;
  if (o.http_listen != "off" && !inv->gpus.empty() && !inv->gpus[0].simulated) {
    std::string why;
    if (auto api = inventory::load_nvml("libnvidia-ml.so.1", why))
      gpu_load = std::make_shared<inventory::nvml_load_reader>(*api, why);
    if (!why.empty()) log_warn(why);
  }
  auto web = http::start(
      io, o.http_listen,
      http::worker_routes(
          inv->name, inv->gpus, [&sup](auto done) { sup.sample(std::move(done)); },
          gpu_load ? http::gpu_sampler([gpu_load] { return gpu_load->sample(); }) : nullptr),
      hopts);
  if (!web) {
    log_error("--http-listen: " + web.error().message + " (another port, or off)");
    return kExitUsage;
  }
  if (!(*web)->address.empty()) log_info("serving HTTP on http://" + (*web)->address);

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
