// gantry: one binary for the coordinator, the worker, the client verbs and the dev cluster.
// Flag parsing only (CLI11 stays in this translation unit); the work is in cli/*.cpp.
// Each subcommand is one function below: it declares the subcommand and its flags and
// returns how to run it once parsed.
#include <limits.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <functional>
#include <iostream>
#include <limits>
#include <memory>

#include "cli/commands.hpp"
#include "core/manifest.hpp"
#include "core/quantity.hpp"
#include "worker/log_cap.hpp"

using namespace gantry::cli;
using gantry::job_filter;

namespace {

struct command {
  CLI::App* app;
  std::function<int()> run;  // called when `app` was parsed; returns the exit code
};

std::string self_exe(const char* argv0) {
  char buf[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) return argv0;
  buf[n] = '\0';
  return buf;
}

const std::string kCoordinatorHelp =
    std::string("Coordinator address HOST:PORT (default: $GANTRY_COORDINATOR, else ") +
    kDefaultCoordinator + ")";
const char* const kJobHelp = "Job id (j-000042), or name: the newest job of that name";

const char* const kTokenFileHelp =
    "File with your token (default: $GANTRY_TOKEN, else the gantry login config)";
const char* const kCaHelp =
    "The cluster's CA certificate, the coordinator's DATA/tls/ca.crt (default: $GANTRY_CA, "
    "else the gantry login config)";
const char* const kInsecureHelp =
    "No TLS and no token, for a coordinator started with --insecure (debugging only)";

void add_client_flags(CLI::App* cmd, client_options& c, bool json) {
  cmd->add_option("--coordinator", c.coordinator, kCoordinatorHelp);
  cmd->add_option("--token-file", c.token_file, kTokenFileHelp);
  cmd->add_option("--ca", c.ca, kCaHelp);
  cmd->add_flag("--insecure", c.insecure, kInsecureHelp);
  if (json) cmd->add_flag("--json", c.json, "Machine-readable JSON output");
}

// What one connection or one manifest may cost the coordinator (docs/security.md).
void add_limit_flags(CLI::App* cmd, coordinator_options& o) {
  auto& l = o.limits;
  cmd->add_option("--max-connections", l.max_connections,
                  "Open connections in total (0 = the file descriptor limit minus " +
                      std::to_string(gantry::connection_limits::kReservedFds) + ")")
      ->capture_default_str();
  cmd->add_option("--max-connections-per-peer", l.max_connections_per_peer,
                  "Open connections from one IP address")
      ->capture_default_str();
  cmd->add_option("--auth-timeout-ms", l.auth_timeout_ms,
                  "A connection that has not finished its TLS handshake and credential check "
                  "this long after it opened is closed")
      ->capture_default_str()
      ->check(CLI::Range(1u, std::numeric_limits<uint32_t>::max()));
  cmd->add_option("--idle-timeout-ms", l.idle_timeout_ms,
                  "A connection without a message in or out this long is closed (0 = never)")
      ->capture_default_str();
  cmd->add_option("--max-message-bytes", l.max_message_bytes,
                  "Largest RPC message accepted from an authenticated connection")
      ->capture_default_str()
      ->check(CLI::Range(uint64_t{1} << 20, uint64_t{1} << 30));
  cmd->add_option("--max-manifest-bytes", o.config.max_manifest_bytes,
                  "Largest job manifest accepted, also after its YAML aliases are expanded")
      ->capture_default_str()
      ->check(CLI::Range(uint64_t{1} << 10, gantry::kMaxManifestBytesCeiling));
  cmd->add_option("--min-free-disk-bytes", o.config.min_free_disk_bytes,
                  "Refuse writes to the store (submit fails, state changes wait) while its "
                  "disk has less free than this")
      ->capture_default_str();
}

// --retain-finished: a duration, or "0"/"off" for no age limit.
gantry::result<int64_t> parse_retention(const std::string& text) {
  if (text == "0" || text == "off") return 0;
  return gantry::parse_duration_ms(text);
}

// --max-log-bytes: a size of at least gantry::kMinLogCap, or "0" for uncapped logs.
gantry::result<int64_t> parse_log_cap(const std::string& text) {
  auto r = gantry::parse_bytes(text);
  if (r && *r > 0 && *r < gantry::kMinLogCap)
    return gantry::fail(gantry::errc::invalid_argument,
                        "a log cap is at least " + gantry::format_bytes(gantry::kMinLogCap) +
                            " (or 0 for uncapped), got " + text);
  return r;
}

// An option whose text `parse` reads into `target`: the check refuses what parse refuses,
// with its message, and --help shows the default as `format` writes it.
CLI::Option* add_parsed_option(CLI::App* cmd, const std::string& name, int64_t& target,
                               gantry::result<int64_t> (*parse)(const std::string&),
                               std::string (*format)(int64_t), const std::string& help) {
  return cmd
      ->add_option_function<std::string>(
          name, [&target, parse](const std::string& v) { target = *parse(v); }, help)
      ->check([parse](const std::string& v) {
        auto r = parse(v);
        return r ? std::string() : r.error().message;
      })
      ->default_str(format(target));
}

// Bounded history (docs/operations.md, Retention).
void add_retention_flags(CLI::App* cmd, gantry::coordinator_config& cfg) {
  add_parsed_option(cmd, "--retain-finished", cfg.retain_finished_ms, parse_retention,
                    gantry::format_duration_ms,
                    "Forget a finished job (its record and events) this long after it "
                    "finished, e.g. 7d, 12h (0 or off = no age limit)");
  cmd->add_option("--retain-max-jobs", cfg.retain_max_jobs,
                  "Keep at most this many finished jobs, forgetting the oldest-finished first "
                  "(0 = no limit)")
      ->capture_default_str();
}

command coordinator_command(CLI::App& app) {
  auto o = std::make_shared<coordinator_options>();
  auto& cfg = o->config;
  auto* cmd = app.add_subcommand("coordinator", "Run the coordinator (scheduling, state, API)");
  cmd->add_option("--listen", o->listen, "Address to serve on, HOST:PORT (port 0 = any)")
      ->capture_default_str();
  cmd->add_option("--data-dir", o->data_dir,
                  "Where the state store and the credentials (tls/, tokens/) live")
      ->required();
  cmd->add_option("--advertise", o->advertise,
                  "Another name clients and workers dial (repeatable): added to the server "
                  "certificate");
  cmd->add_flag("--insecure", o->insecure,
                "Debugging only: no TLS, no tokens, every connection is admin; loopback "
                "--listen only");
  cmd->add_option("--http-listen", o->http_listen,
                  "Address of HTTPS (plain HTTP with --insecure) for the dashboard (/), /metrics, "
                  "/api/v1 and /healthz, HOST:PORT (port 0 = any), or off")
      ->capture_default_str();
  cmd->add_option("--heartbeat-interval-ms", cfg.heartbeat_interval_ms, "Worker heartbeat interval")
      ->capture_default_str();
  cmd->add_option("--heartbeat-timeout-ms", cfg.heartbeat_timeout_ms,
                  "A node that sends nothing this long is lost")
      ->capture_default_str();
  cmd->add_option("--heartbeat-timeout-max-ms", cfg.heartbeat_timeout_max_ms,
                  "How far late heartbeats (a starved machine) may stretch the timeout")
      ->capture_default_str();
  cmd->add_option("--reconnect-grace-ms", cfg.reconnect_grace_ms,
                  "After a restart, how long known workers have to reconnect")
      ->capture_default_str();
  cmd->add_option("--kill-grace-ms", cfg.kill_grace_ms,
                  "SIGTERM to SIGKILL grace when stopping tasks")
      ->capture_default_str();
  cmd->add_option("--restart-backoff-ms", cfg.restart_backoff_ms,
                  "Delay before a job's second restart; doubles up to 16x (the first is immediate)")
      ->capture_default_str();
  cmd->add_option("--drain-grace-ms", cfg.drain_grace_ms,
                  "On drain: time between a stage's checkpoint signal and moving its tasks, "
                  "unless the stage sets checkpoint.grace")
      ->capture_default_str();
  cmd->add_flag("--require-isolation", cfg.require_isolation,
                "Refuse workers that cannot put tasks in cgroups (isolation: none)");
  add_retention_flags(cmd, cfg);
  add_limit_flags(cmd, *o);
  return {cmd, [o] { return run_coordinator(*o); }};
}

command worker_command(CLI::App& app) {
  auto o = std::make_shared<worker_options>();
  auto labels = std::make_shared<std::vector<std::string>>();
  auto* cmd = app.add_subcommand("worker", "Run a worker on this machine");
  cmd->add_option("--coordinator", o->coordinator, kCoordinatorHelp);
  cmd->add_option("--name", o->name, "Node name (default: the host name)");
  cmd->add_option("--data-dir", o->data_dir, "Task logs, scratch space and the node credential")
      ->required();
  cmd->add_option("--join-token-file", o->join_token_file,
                  "The coordinator's DATA/tokens/join: the first start exchanges it for a node "
                  "credential kept in DATA_DIR");
  cmd->add_option("--ca", o->ca,
                  "The coordinator's DATA/tls/ca.crt: launches are accepted only from a "
                  "coordinator it signed (default: $GANTRY_CA)");
  cmd->add_flag("--insecure", o->insecure, kInsecureHelp);
  cmd->add_option("--http-listen", o->http_listen,
                  "Address of plain HTTP, without tokens, for /metrics and /healthz, HOST:PORT "
                  "(port 0 = any), or off")
      ->capture_default_str();
  cmd->add_option("--shared-dir", o->shared_dir,
                  "Job output dirs shared by ranks (default: DATA_DIR/shared)");
  cmd->add_option("--cpus", o->cpus, "CPUs to offer (default: what this machine has)");
  cmd->add_option("--memory", o->memory,
                  "Memory to offer, e.g. 16GiB (default: what this machine has)");
  cmd->add_option("--simulate-gpus", o->simulate_gpus,
                  "Simulated GPUs instead of real ones, e.g. 4xH100:80GiB");
  cmd->add_option("--simulate-dpus", o->simulate_dpus, "Number of simulated DPUs");
  cmd->add_option("--label", *labels, "Node label KEY=VALUE (repeatable)");
  cmd->add_option("--pass-env", o->pass_env,
                  "Worker variables tasks also get, e.g. NCCL_*,FOO ('*' matches any run; "
                  "repeatable). Tasks otherwise get only PATH, HOME, LANG and LC_* from the "
                  "worker (a root worker's tasks get their own directory as HOME)")
      ->delimiter(',');
  cmd->add_option("--cgroups", o->cgroups,
                  "Task isolation: auto (cgroup v2 if usable, else v1, else none), v1, v2 "
                  "(fail if unusable) or none")
      ->capture_default_str();
  cmd->add_option("--cgroup-root", o->cgroup_root,
                  "Where task cgroups go, relative to the worker's own cgroup (or absolute "
                  "in each hierarchy when it starts with /); the worker adds worker.PID")
      ->capture_default_str();
  cmd->add_option("--pids-limit", o->pids_limit,
                  "Processes and threads per task, with cgroups (0: no limit)")
      ->capture_default_str();
  cmd->add_option("--time-limit-grace-ms", o->time_limit_grace_ms,
                  "After a task's time limit: SIGTERM, then SIGKILL this much later")
      ->capture_default_str();
  cmd->add_option(
      "--user-map", o->user_map,
      "A worker running as root runs each task as the Unix user this file maps its "
      "job's owner to (lines 'OWNER USER[:GROUP]', '*' for the rest; docs/isolation.md); "
      "unmapped owners run as nobody. Ignored when the worker is not root");
  // `o` outlives parsing: the closure returned below holds it.
  add_parsed_option(cmd, "--retain-task-files", o->retain_task_files_ms, parse_retention,
                    gantry::format_duration_ms,
                    "Remove a finished task's directory (its log and scratch files) this long "
                    "after it ended, e.g. 7d, 12h (0 or off = keep forever)");
  cmd->add_option("--fleet", o->fleet,
                  "Scale testing: run this many simulated workers instead, each a node of its "
                  "own over its own connection, starting no process (a task 'runs' for "
                  "GANTRY_FLEET_SECONDS of its stage's env, default 0; docs/scale.md)")
      ->check(CLI::Range(0, 100000));
  cmd->add_option("--name-prefix", o->name_prefix,
                  "With --fleet: the workers' names are PREFIX00001, PREFIX00002, ...")
      ->capture_default_str();
  add_parsed_option(cmd, "--max-log-bytes", o->max_log_bytes, parse_log_cap, gantry::format_bytes,
                    "Keep at most this much of each task's output (its log), dropping the "
                    "oldest and starting the log with a line saying how much went, e.g. 64MiB, "
                    "1GiB (0 = keep all); needs ext4 or xfs under the data dir");
  return {cmd, [o, labels] {
            for (const auto& l : *labels) {
              auto eq = l.find('=');
              if (eq == std::string::npos || eq == 0) {
                std::cerr << "gantry worker: --label expects KEY=VALUE, got \"" << l << "\"\n";
                return kExitUsage;
              }
              o->labels[l.substr(0, eq)] = l.substr(eq + 1);
            }
            return run_worker(*o);
          }};
}

command submit_command(CLI::App& app) {
  struct options {
    client_options c;
    std::vector<std::string> files;
    bool watch = false;
    bool allow_unschedulable = false;
  };
  auto o = std::make_shared<options>();
  auto* cmd = app.add_subcommand(
      "submit", "Submit job manifests; prints each job's id on a line of its own, in order");
  cmd->add_option("FILE", o->files,
                  "Manifests (YAML); all are checked before any is sent, over one connection")
      ->required();
  cmd->add_flag("--watch", o->watch, "Then stream its events until it ends");
  cmd->add_flag("--allow-unschedulable", o->allow_unschedulable,
                "Accept a stage no known node could ever host; it stays pending with its reason");
  add_client_flags(cmd, o->c, true);
  return {cmd, [o] { return run_submit(o->c, o->files, o->watch, o->allow_unschedulable); }};
}

command watch_command(CLI::App& app) {
  struct options {
    client_options c;
    std::string job;
    uint64_t from_seq = 1;
  };
  auto o = std::make_shared<options>();
  auto* cmd = app.add_subcommand(
      "watch", "Stream a job's events; exit 0 if it succeeded, 1 if it failed or was cancelled");
  cmd->add_option("JOB", o->job, kJobHelp)->required();
  cmd->add_option("--from", o->from_seq, "Start at this event number (resume after a disconnect)")
      ->capture_default_str();
  add_client_flags(cmd, o->c, true);
  return {cmd, [o] { return run_watch(o->c, o->job, o->from_seq); }};
}

command jobs_command(CLI::App& app) {
  struct options {
    client_options c;
    std::string state;
    uint32_t limit = 0;
  };
  auto o = std::make_shared<options>();
  auto* cmd = app.add_subcommand("jobs", "List jobs, oldest first");
  cmd->add_option("--state", o->state, "Only jobs in this state")
      ->check(CLI::IsMember(
          std::vector<std::string>{"pending", "running", "succeeded", "failed", "cancelled"}));
  cmd->add_option("--limit", o->limit, "Only the newest N (of those in --state)")
      ->check(CLI::Range(1u, std::numeric_limits<uint32_t>::max()));
  add_client_flags(cmd, o->c, true);
  return {cmd, [o] {
            job_filter f;
            if (!o->state.empty()) f.state = gantry::parse_job_state(o->state);
            f.limit = o->limit;
            return run_jobs(o->c, f);
          }};
}

command nodes_command(CLI::App& app) {
  auto c = std::make_shared<client_options>();
  auto r = std::make_shared<client_options>();
  auto name = std::make_shared<std::string>();
  auto* cmd = app.add_subcommand("nodes", "List nodes (simulated GPUs and DPUs are marked)");
  add_client_flags(cmd, *c, true);
  auto* remove = cmd->add_subcommand(
      "remove", "Admin: revoke a node's credential (it is lost; its name may join again)");
  remove->add_option("NAME", *name, "Node name")->required();
  add_client_flags(remove, *r, false);
  return {cmd, [c, r, name, remove] {
            if (*remove) return run_remove_node(*r, *name);
            return run_nodes(*c);
          }};
}

command login_command(CLI::App& app) {
  auto o = std::make_shared<login_options>();
  auto* cmd = app.add_subcommand(
      "login", "Remember a coordinator, token and CA in ~/.config/gantry/config (0600)");
  cmd->add_option("--coordinator", o->coordinator, "Coordinator address HOST:PORT")->required();
  cmd->add_option("--token-file", o->token_file, "File with your token")->required();
  cmd->add_option("--ca", o->ca, "The cluster's CA certificate (the coordinator's DATA/tls/ca.crt)")
      ->required();
  return {cmd, [o] { return run_login(*o); }};
}

command token_command(CLI::App& app) {
  struct options {
    client_options c;
    std::string user, role = "user", ttl, id;
  };
  auto o = std::make_shared<options>();
  auto* cmd = app.add_subcommand("token", "Admin: create, list and revoke tokens");
  cmd->require_subcommand(1);
  auto* create = cmd->add_subcommand("create", "Print a new token (alone, once) for a user");
  create->add_option("--user", o->user, "Who the token is for")->required();
  create->add_option("--role", o->role, "user or admin")
      ->check(CLI::IsMember(std::vector<std::string>{"user", "admin"}))
      ->capture_default_str();
  create->add_option("--ttl", o->ttl, "Valid for this long: 30d, 12h, 90m (default: no expiry)");
  add_client_flags(create, o->c, false);
  auto* list = cmd->add_subcommand("list", "List tokens (ids, users, roles; never the secret)");
  add_client_flags(list, o->c, true);
  auto* revoke = cmd->add_subcommand("revoke", "Revoke a token now (its connections close)");
  revoke->add_option("ID", o->id, "Token id (gantry token list)")->required();
  add_client_flags(revoke, o->c, false);
  return {cmd, [o, create, list] {
            if (*create) return run_token_create(o->c, o->user, o->role, o->ttl);
            if (*list) return run_token_list(o->c);
            return run_token_revoke(o->c, o->id);
          }};
}

command queue_command(CLI::App& app) {
  struct options {
    client_options c;
    std::string name, guarantee, limit;
    double weight = 0;
  };
  auto o = std::make_shared<options>();
  auto* cmd = app.add_subcommand("queue", "Queues: guarantees, limits, fair-share weights");
  cmd->require_subcommand(1);
  auto quota_flags = [o](CLI::App* sub) {
    sub->add_option("NAME", o->name, "Queue name")->required();
    sub->add_option("--guarantee", o->guarantee,
                    "Capacity it gets back by preemption: gpu=8,cpu=64,memory=512GiB, or none");
    sub->add_option(
        "--limit", o->limit,
        "The most it may use, borrowing included: gpu=16 (unnamed: unlimited), or none");
    sub->add_option("--weight", o->weight, "Its share of borrowed capacity (default 1)")
        ->check(CLI::PositiveNumber);
    add_client_flags(sub, o->c, false);
  };
  auto* create = cmd->add_subcommand("create", "Admin: create a queue");
  quota_flags(create);
  auto* update = cmd->add_subcommand("update", "Admin: change a queue's given fields");
  quota_flags(update);
  auto* del = cmd->add_subcommand("delete", "Admin: delete a queue that holds no unfinished job");
  del->add_option("NAME", o->name, "Queue name")->required();
  add_client_flags(del, o->c, false);
  auto* list = cmd->add_subcommand("list", "List queues: quotas, usage, borrowing, pending jobs");
  add_client_flags(list, o->c, true);
  return {cmd, [o, create, update, del] {
            if (*create || *update) {
              gantry::queue_change change;
              change.name = o->name;
              change.create = create->parsed();
              if (!o->guarantee.empty()) change.guarantee = o->guarantee;
              if (!o->limit.empty()) change.limit = o->limit;
              if (o->weight > 0) change.weight = o->weight;
              return run_queue_set(o->c, change);
            }
            if (*del) return run_queue_delete(o->c, o->name);
            return run_queue_list(o->c);
          }};
}

command describe_command(CLI::App& app) {
  struct options {
    client_options c;
    std::string job;
  };
  auto o = std::make_shared<options>();
  auto* cmd = app.add_subcommand("describe", "Show a job's stages and ranks");
  cmd->add_option("JOB", o->job, kJobHelp)->required();
  add_client_flags(cmd, o->c, true);
  return {cmd, [o] { return run_describe(o->c, o->job); }};
}

command cancel_command(CLI::App& app) {
  struct options {
    client_options c;
    std::string job;
  };
  auto o = std::make_shared<options>();
  auto* cmd = app.add_subcommand("cancel", "Cancel a job: its tasks get SIGTERM, then SIGKILL");
  cmd->add_option("JOB", o->job, kJobHelp)->required();
  add_client_flags(cmd, o->c, false);
  return {cmd, [o] { return run_cancel(o->c, o->job); }};
}

command logs_command(CLI::App& app) {
  struct options {
    client_options c;
    std::string job, stage;
    std::optional<int32_t> rank, attempt;
    bool follow = false;
  };
  auto o = std::make_shared<options>();
  auto* cmd = app.add_subcommand("logs", "Print the output of a job's ranks");
  cmd->add_option("JOB", o->job, kJobHelp)->required();
  cmd->add_option("--stage", o->stage, "Only this stage");
  cmd->add_option("--rank", o->rank, "Only this rank");
  cmd->add_option("--attempt", o->attempt,
                  "The output of this attempt (0 = the first run) instead of the current one")
      ->check(CLI::Range(0, std::numeric_limits<int32_t>::max()));
  cmd->add_flag("--follow,-f", o->follow, "Keep printing until the ranks end");
  add_client_flags(cmd, o->c, false);
  return {cmd, [o] { return run_logs(o->c, o->job, o->stage, o->rank, o->follow, o->attempt); }};
}

command wait_command(CLI::App& app) {
  struct options {
    client_options c;
    std::string target, state;
    std::optional<uint32_t> timeout_ms;
  };
  auto o = std::make_shared<options>();
  auto* cmd = app.add_subcommand(
      "wait",
      "With --state: wait until node NAME is in that state (ready, lost, cordoned, draining). "
      "Without: wait until job NAME ends (exit 0 succeeded, 1 failed or cancelled)");
  cmd->add_option("NAME", o->target, "A node (with --state), else a job id or name")->required();
  cmd->add_option("--state", o->state, "The node state to wait for");
  cmd->add_option("--timeout-ms", o->timeout_ms,
                  "Give up after this long (exit 1); default 30000 for a node, none for a job");
  add_client_flags(cmd, o->c, true);
  return {cmd, [o] {
            if (o->state.empty()) return run_wait_job(o->c, o->target, o->timeout_ms.value_or(0));
            return run_wait_node(o->c, o->target, o->state, o->timeout_ms.value_or(30000));
          }};
}

command node_action_command(CLI::App& app, const std::string& verb, const std::string& help) {
  struct options {
    client_options c;
    std::string node;
  };
  auto o = std::make_shared<options>();
  auto* cmd = app.add_subcommand(verb, help);
  cmd->add_option("NODE", o->node, "Node name")->required();
  add_client_flags(cmd, o->c, false);
  return {cmd, [o, verb] { return run_node_action(o->c, o->node, verb); }};
}

command rendezvous_command(CLI::App& app) {
  struct options {
    std::string scope, key, value;
    uint32_t timeout_ms = 60000;
  };
  auto o = std::make_shared<options>();
  const char* scope_help = "HOST:PORT/JOB/STAGE/ATTEMPT (default: $GANTRY_RENDEZVOUS)";
  auto* cmd = app.add_subcommand("rendezvous",
                                 "Exchange small values between the ranks of a collective stage");
  cmd->require_subcommand(1);
  auto* put = cmd->add_subcommand("put", "Store VALUE under KEY for this gang attempt");
  put->add_option("KEY", o->key, "Key")->required();
  put->add_option("VALUE", o->value, "Value")->required();
  put->add_option("--scope", o->scope, scope_help);
  auto* get = cmd->add_subcommand("get", "Print KEY's value, waiting until a rank puts it");
  get->add_option("KEY", o->key, "Key")->required();
  get->add_option("--timeout-ms", o->timeout_ms, "Give up after this long (exit 1)")
      ->capture_default_str();
  get->add_option("--scope", o->scope, scope_help);
  return {cmd, [o, put] {
            if (*put) return run_rendezvous(o->scope, "put", o->key, o->value, 0);
            return run_rendezvous(o->scope, "get", o->key, "", o->timeout_ms);
          }};
}

command dev_command(CLI::App& app, const std::string& self) {
  auto o = std::make_shared<dev_options>();
  auto* cmd =
      app.add_subcommand("dev", "Run a whole local cluster (coordinator + workers) until Ctrl-C");
  cmd->add_option("--workers", o->workers, "Number of workers")->capture_default_str();
  cmd->add_option("--simulate-gpus", o->simulate_gpus, "Simulated GPUs per worker (\"\" for none)")
      ->capture_default_str();
  cmd->add_option("--data-dir", o->data_dir, "Keep state here instead of a temp dir");
  cmd->add_option("--port", o->port, "Coordinator port (default: any free port)");
  cmd->add_option("--run", o->run_file,
                  "Submit this manifest, stream its events, then stop the cluster");
  return {cmd, [o, self] { return run_dev(*o, self); }};
}

command sim_command(CLI::App& app) {
  auto o = std::make_shared<sim_cli_options>();
  auto* cmd = app.add_subcommand(
      "sim", "Replay a GPU cluster trace through the scheduler (no RPC, no actors)");
  cmd->add_option("--nodes", o->nodes_csv, "Node list CSV (sn,cpu_milli,memory_mib,gpu,model)")
      ->required();
  cmd->add_option("--pods", o->pods_csv,
                  "Pod list CSV (name,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec,...)")
      ->required();
  cmd->add_option("--policy", o->policy, "Policy name, or all")->capture_default_str();
  cmd->add_option("--seed", o->seeds, "Seed");
  cmd->add_option("--seeds", o->seeds, "Seeds: 42, 42..51 or 1,2,3 (results are averaged)");
  cmd->add_option("--load", o->load, "Arrived GPU load to replay up to (1.3 = 130%)")
      ->capture_default_str();
  cmd->add_flag("--json", o->json, "JSON output");
  cmd->add_option("--queues", o->queues_csv,
                  "Queue list CSV (name,weight,guarantee_gpu,...): replay the queues over time");
  cmd->add_option("--duration", o->duration, "With --queues: simulated seconds")
      ->capture_default_str();
  cmd->add_option("--task-seconds", o->task_seconds, "With --queues: mean task duration (s)")
      ->capture_default_str();
  return {cmd, [o] { return run_sim(*o); }};
}

// The first word that is not a flag must name a subcommand (and, below one that has its own
// subcommands, the next word one of those). Returns the usage exit code after naming the
// closest match, or 0 when the words are known.
int check_command_words(const CLI::App& app, int argc, char** argv) {
  const CLI::App* level = &app;
  std::string path = "gantry";
  for (int i = 1; i < argc && !level->get_subcommands({}).empty() &&
                  (level == &app || level->get_require_subcommand_min() > 0);
       ++i) {
    std::string word = argv[i];
    if (word.empty() || word[0] == '-') continue;
    std::vector<std::string> names;
    const CLI::App* next = nullptr;
    for (const CLI::App* sub : level->get_subcommands({})) {
      names.push_back(sub->get_name());
      if (sub->get_name() == word) next = sub;
    }
    if (!next) {
      std::string best = gantry::detail::closest_match(word, names);
      std::cerr << path << ": unknown command '" << word << "'";
      if (!best.empty()) std::cerr << "; did you mean '" << best << "'?";
      std::cerr << "\n" << path << " --help lists the commands\n";
      return kExitUsage;
    }
    level = next;
    path += " " + word;
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "gantry: places and runs pipelines of CPU, GPU and DPU stages on a cluster.\n"
      "Exit codes: 0 ok, 1 job failed or cancelled, 2 bad usage or invalid manifest, "
      "3 coordinator unreachable, 4 not authenticated or not permitted."};
  app.require_subcommand(1);
  app.set_version_flag("--version", "gantry 0.1.0 (protocol 3)");

  std::vector<command> commands{
      coordinator_command(app),
      worker_command(app),
      submit_command(app),
      watch_command(app),
      jobs_command(app),
      nodes_command(app),
      login_command(app),
      token_command(app),
      queue_command(app),
      describe_command(app),
      cancel_command(app),
      logs_command(app),
      wait_command(app),
      node_action_command(app, "cordon", "Stop placing new tasks on a node"),
      node_action_command(app, "uncordon", "Allow placements on a node again"),
      node_action_command(app, "drain", "Move a node's work elsewhere"),
      rendezvous_command(app),
      dev_command(app, self_exe(argv[0])),
      sim_command(app),
  };

  if (int code = check_command_words(app, argc, argv)) return code;
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    return code == 0 ? 0 : kExitUsage;
  }
  for (const auto& c : commands)
    if (*c.app) return c.run();
  return kExitUsage;
}
