// gantry: one binary for the coordinator, the worker, the client verbs and the dev cluster.
// Flag parsing only (CLI11 stays in this translation unit); the work is in cli/*.cpp.
#include <limits.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <iostream>

#include "cli/commands.hpp"

using namespace gantry::cli;

namespace {

std::string self_exe(const char* argv0) {
  char buf[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) return argv0;
  buf[n] = '\0';
  return buf;
}

void add_client_flags(CLI::App* cmd, client_options& c, bool json) {
  cmd->add_option(
      "--coordinator", c.coordinator,
      "Coordinator address HOST:PORT (default: $GANTRY_COORDINATOR, else 127.0.0.1:7070)");
  if (json) cmd->add_flag("--json", c.json, "Machine-readable JSON output");
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "gantry: places and runs pipelines of CPU, GPU and DPU stages on a cluster.\n"
      "Exit codes: 0 ok, 1 job failed or cancelled, 2 bad usage or invalid manifest, "
      "3 coordinator unreachable."};
  app.require_subcommand(1);
  app.set_version_flag("--version", "gantry 0.1.0 (protocol 1)");

  coordinator_options co;
  auto* coord = app.add_subcommand("coordinator", "Run the coordinator (scheduling, state, API)");
  coord->add_option("--listen", co.listen, "Address to serve on, HOST:PORT (port 0 = any)")
      ->capture_default_str();
  coord->add_option("--data-dir", co.data_dir, "Where the RocksDB state store lives")->required();
  coord
      ->add_option("--heartbeat-interval-ms", co.heartbeat_interval_ms, "Worker heartbeat interval")
      ->capture_default_str();
  coord
      ->add_option("--heartbeat-timeout-ms", co.heartbeat_timeout_ms,
                   "A node without heartbeats this long is lost")
      ->capture_default_str();
  coord
      ->add_option("--reconnect-grace-ms", co.reconnect_grace_ms,
                   "After a restart, how long known workers have to reconnect")
      ->capture_default_str();
  coord
      ->add_option("--kill-grace-ms", co.kill_grace_ms,
                   "SIGTERM to SIGKILL grace when stopping tasks")
      ->capture_default_str();
  coord
      ->add_option(
          "--restart-backoff-ms", co.restart_backoff_ms,
          "Delay before a job's second restart; doubles up to 16x (the first is immediate)")
      ->capture_default_str();
  coord
      ->add_option("--drain-grace-ms", co.drain_grace_ms,
                   "On drain: time between SIGUSR1 (checkpoint now) and moving the tasks")
      ->capture_default_str();

  worker_options wo;
  std::vector<std::string> labels;
  auto* worker = app.add_subcommand("worker", "Run a worker on this machine");
  worker->add_option(
      "--coordinator", wo.coordinator,
      "Coordinator address HOST:PORT (default: $GANTRY_COORDINATOR, else 127.0.0.1:7070)");
  worker->add_option("--name", wo.name, "Node name (default: the host name)");
  worker->add_option("--data-dir", wo.data_dir, "Task logs and scratch space")->required();
  worker->add_option("--shared-dir", wo.shared_dir,
                     "Job output dirs shared by ranks (default: DATA_DIR/shared)");
  worker->add_option("--cpus", wo.cpus, "CPUs to offer (default: what this machine has)");
  worker->add_option("--memory", wo.memory,
                     "Memory to offer, e.g. 16GiB (default: what this machine has)");
  worker->add_option("--simulate-gpus", wo.simulate_gpus,
                     "Simulated GPUs instead of real ones, e.g. 4xH100:80GiB");
  worker->add_option("--simulate-dpus", wo.simulate_dpus, "Number of simulated DPUs");
  worker->add_option("--label", labels, "Node label KEY=VALUE (repeatable)");

  client_options cl;
  std::string file, job, stage, node, state;
  bool watch_after = false, follow = false;
  uint64_t from_seq = 1;
  std::optional<int32_t> rank;
  uint32_t timeout_ms = 30000;

  auto* submit = app.add_subcommand("submit", "Submit a job manifest; prints the job id");
  submit->add_option("FILE", file, "Manifest (YAML)")->required();
  submit->add_flag("--watch", watch_after, "Then stream its events until it ends");
  add_client_flags(submit, cl, true);

  auto* watch = app.add_subcommand(
      "watch", "Stream a job's events; exit 0 if it succeeded, 1 if it failed or was cancelled");
  watch->add_option("JOB", job, "Job id")->required();
  watch->add_option("--from", from_seq, "Start at this event number (resume after a disconnect)");
  add_client_flags(watch, cl, true);

  auto* jobs = app.add_subcommand("jobs", "List jobs");
  add_client_flags(jobs, cl, true);
  auto* nodes = app.add_subcommand("nodes", "List nodes (simulated GPUs and DPUs are marked)");
  add_client_flags(nodes, cl, true);
  auto* describe = app.add_subcommand("describe", "Show a job's stages and ranks");
  describe->add_option("JOB", job, "Job id")->required();
  add_client_flags(describe, cl, true);
  auto* cancel = app.add_subcommand("cancel", "Cancel a job: its tasks get SIGTERM, then SIGKILL");
  cancel->add_option("JOB", job, "Job id")->required();
  add_client_flags(cancel, cl, false);

  auto* logs = app.add_subcommand("logs", "Print the output of a job's ranks");
  logs->add_option("JOB", job, "Job id")->required();
  logs->add_option("--stage", stage, "Only this stage");
  logs->add_option("--rank", rank, "Only this rank");
  logs->add_flag("--follow,-f", follow, "Keep printing until the ranks end");
  add_client_flags(logs, cl, false);

  auto* wait =
      app.add_subcommand("wait", "Wait until a node reaches a state (ready, lost, cordoned, ...)");
  wait->add_option("NODE", node, "Node name")->required();
  wait->add_option("--state", state, "State to wait for")->required();
  wait->add_option("--timeout-ms", timeout_ms, "Give up after this long (exit 1)")
      ->capture_default_str();
  add_client_flags(wait, cl, true);

  std::string action;
  for (const char* verb : {"cordon", "uncordon", "drain"}) {
    auto* cmd = app.add_subcommand(
        verb, std::string(verb) == "cordon"     ? "Stop placing new tasks on a node"
              : std::string(verb) == "uncordon" ? "Allow placements on a node again"
                                                : "Move a node's work elsewhere");
    cmd->add_option("NODE", node, "Node name")->required();
    add_client_flags(cmd, cl, false);
    cmd->callback([&action, verb] { action = verb; });
  }

  std::string rdv_scope, rdv_key, rdv_value;
  uint32_t rdv_timeout_ms = 60000;
  auto* rdv = app.add_subcommand("rendezvous",
                                 "Exchange small values between the ranks of a collective stage");
  rdv->require_subcommand(1);
  auto* rdv_put = rdv->add_subcommand("put", "Store VALUE under KEY for this gang attempt");
  rdv_put->add_option("KEY", rdv_key, "Key")->required();
  rdv_put->add_option("VALUE", rdv_value, "Value")->required();
  rdv_put->add_option("--scope", rdv_scope,
                      "HOST:PORT/JOB/STAGE/ATTEMPT (default: $GANTRY_RENDEZVOUS)");
  auto* rdv_get = rdv->add_subcommand("get", "Print KEY's value, waiting until a rank puts it");
  rdv_get->add_option("KEY", rdv_key, "Key")->required();
  rdv_get->add_option("--timeout-ms", rdv_timeout_ms, "Give up after this long (exit 1)")
      ->capture_default_str();
  rdv_get->add_option("--scope", rdv_scope,
                      "HOST:PORT/JOB/STAGE/ATTEMPT (default: $GANTRY_RENDEZVOUS)");

  dev_options dv;
  auto* dev =
      app.add_subcommand("dev", "Run a whole local cluster (coordinator + workers) until Ctrl-C");
  dev->add_option("--workers", dv.workers, "Number of workers")->capture_default_str();
  dev->add_option("--simulate-gpus", dv.simulate_gpus, "Simulated GPUs per worker (\"\" for none)")
      ->capture_default_str();
  dev->add_option("--data-dir", dv.data_dir, "Keep state here instead of a temp dir");
  dev->add_option("--port", dv.port, "Coordinator port (default: any free port)");
  dev->add_option("--run", dv.run_file,
                  "Submit this manifest, stream its events, then stop the cluster");

  sim_cli_options so;
  auto* sim = app.add_subcommand(
      "sim", "Replay a GPU cluster trace through the scheduler (no RPC, no actors)");
  sim->add_option("--nodes", so.nodes_csv, "Node list CSV (sn,cpu_milli,memory_mib,gpu,model)")
      ->required();
  sim->add_option("--pods", so.pods_csv,
                  "Pod list CSV (name,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec,...)")
      ->required();
  sim->add_option("--policy", so.policy, "Policy name, or all")->capture_default_str();
  sim->add_option("--seed", so.seeds, "Seed");
  sim->add_option("--seeds", so.seeds, "Seeds: 42, 42..51 or 1,2,3 (results are averaged)");
  sim->add_option("--load", so.load, "Arrived GPU load to replay up to (1.3 = 130%)")
      ->capture_default_str();
  sim->add_flag("--json", so.json, "JSON output");
  sim->add_option("--queues", so.queues_csv,
                  "Queue list CSV (name,weight,guarantee_gpu,...): replay the queues over time");
  sim->add_option("--duration", so.duration, "With --queues: simulated seconds")
      ->capture_default_str();
  sim->add_option("--task-seconds", so.task_seconds, "With --queues: mean task duration (s)")
      ->capture_default_str();

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    return code == 0 ? 0 : kExitUsage;
  }

  for (const auto& l : labels) {
    auto eq = l.find('=');
    if (eq == std::string::npos || eq == 0) {
      std::cerr << "gantry worker: --label expects KEY=VALUE, got \"" << l << "\"\n";
      return kExitUsage;
    }
    wo.labels[l.substr(0, eq)] = l.substr(eq + 1);
  }

  if (*coord) return run_coordinator(co);
  if (*worker) return run_worker(wo);
  if (*submit) return run_submit(cl, file, watch_after);
  if (*watch) return run_watch(cl, job, from_seq);
  if (*jobs) return run_jobs(cl);
  if (*nodes) return run_nodes(cl);
  if (*describe) return run_describe(cl, job);
  if (*cancel) return run_cancel(cl, job);
  if (*logs) return run_logs(cl, job, stage, rank, follow);
  if (*wait) return run_wait_node(cl, node, state, timeout_ms);
  if (!action.empty()) return run_node_action(cl, node, action);
  if (*dev) return run_dev(dv, self_exe(argv[0]));
  if (*rdv_put) return run_rendezvous(rdv_scope, "put", rdv_key, rdv_value, 0);
  if (*rdv_get) return run_rendezvous(rdv_scope, "get", rdv_key, "", rdv_timeout_ms);
  if (*sim) return run_sim(so);
  return kExitUsage;
}
