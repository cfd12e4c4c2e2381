#pragma once
// The gantry subcommands. main.cpp parses flags (CLI11) into these option structs; each
// run_* returns the process exit code:
//   0 ok, 1 the job failed or was cancelled, 2 bad usage or an invalid manifest,
//   3 the coordinator cannot be reached, 4 not authenticated or not permitted.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "actors/config.hpp"
#include "core/result.hpp"
#include "protocol/connection_limits.hpp"
#include "protocol/job_filter.hpp"
#include "worker/log_cap.hpp"
#include "worker/task_files.hpp"

namespace gantry::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitJobFailed = 1;
inline constexpr int kExitUsage = 2;
inline constexpr int kExitUnreachable = 3;
inline constexpr int kExitNotPermitted = 4;

inline constexpr const char* kDefaultCoordinator = "127.0.0.1:7070";
// Where the coordinator serves HTTP (/metrics, /api/v1, /healthz) unless told otherwise.
inline constexpr const char* kDefaultCoordinatorHttp = "127.0.0.1:7071";

// --coordinator, else $GANTRY_COORDINATOR, else kDefaultCoordinator; an address that is not
// HOST:PORT is errc::invalid_argument naming where it came from.
result<std::string> coordinator_address(const std::string& flag);

struct coordinator_options {
  std::string listen = kDefaultCoordinator;
  std::string data_dir;
  std::vector<std::string> advertise;                 // extra names in the server certificate
  bool insecure = false;                              // no TLS, no tokens (loopback only)
  std::string http_listen = kDefaultCoordinatorHttp;  // HOST:PORT, or "off"
  coordinator_config config;                          // the tunables, with their defaults
  connection_limits limits;  // what one connection may do, with their defaults
};
int run_coordinator(const coordinator_options& o);

struct worker_options {
  std::string coordinator;
  std::string join_token_file;  // the coordinator's DATA/tokens/join, for the first start
  std::string ca;               // the coordinator's DATA/tls/ca.crt (else $GANTRY_CA)
  bool insecure = false;
  std::string name;
  std::string data_dir;
  std::string shared_dir;  // default <data_dir>/shared
  std::optional<double> cpus;
  std::string memory;         // "16GiB"
  std::string simulate_gpus;  // "4xH100:80GiB"
  int simulate_dpus = 0;
  std::map<std::string, std::string> labels;
  std::vector<std::string> pass_env;  // worker variables tasks also get: names or globs
  std::string cgroups = "auto";       // auto | v1 | v2 | none (worker/cgroup.hpp)
  std::string cgroup_root = "gantry";
  int64_t pids_limit = 4096;
  uint32_t time_limit_grace_ms = 10000;
  std::string user_map;  // owner -> Unix user (worker/user_map.hpp); empty: all run as nobody
  int64_t retain_task_files_ms = kDefaultRetainTaskFilesMs;  // 0 = keep forever
  int64_t max_log_bytes = kDefaultMaxLogBytes;               // per task log; 0 = uncapped
  std::string http_listen = "off";                           // HOST:PORT serving /metrics, or "off"
  int fleet = 0;                       // > 0: that many simulated workers (cli/fleet.hpp)
  std::string name_prefix = "fleet-";  // their names: PREFIX00001, ...
};
int run_worker(const worker_options& o);

struct client_options {
  std::string coordinator;
  std::string token_file;  // else $GANTRY_TOKEN, else the login config
  std::string ca;          // else $GANTRY_CA, else the login config
  bool insecure = false;
  bool json = false;
};

// Where a JOB argument is expected, it is a job id (j-NNNNNN) or a job name: the newest job of
// that name (stderr says which one when several have it).
// Several files: all validated first (one bad, none submitted), then submitted over one
// connection; one job id per line, in order.
int run_submit(const client_options& c, const std::vector<std::string>& files, bool watch,
               bool allow_unschedulable = false);
int run_watch(const client_options& c, const std::string& job, uint64_t from_seq);
int run_jobs(const client_options& c, const job_filter& filter);
int run_nodes(const client_options& c);
int run_describe(const client_options& c, const std::string& job);
int run_cancel(const client_options& c, const std::string& job);
// `attempt`: an earlier attempt's output instead of the current one's.
int run_logs(const client_options& c, const std::string& job, const std::string& stage,
             std::optional<int32_t> rank, bool follow,
             std::optional<int32_t> attempt = std::nullopt);
int run_wait_node(const client_options& c, const std::string& node, const std::string& state,
                  uint32_t timeout_ms);
// Until the job ends: 0 succeeded, 1 failed or cancelled, or not ended within timeout_ms
// (0 = no limit).
int run_wait_job(const client_options& c, const std::string& job, uint32_t timeout_ms);
int run_node_action(const client_options& c, const std::string& node, const std::string& action);

// Admin: `nodes remove NAME`.
int run_remove_node(const client_options& c, const std::string& node);
// `token create|list|revoke`; ttl as "30d", "12h", "90m", "45s" ("" = no expiry).
int run_token_create(const client_options& c, const std::string& user, const std::string& role,
                     const std::string& ttl);
int run_token_list(const client_options& c);
int run_token_revoke(const client_options& c, const std::string& id);

// `queue create|update|delete|list` (docs/cli.md).
int run_queue_set(const client_options& c, const queue_change& change);
int run_queue_delete(const client_options& c, const std::string& name);
int run_queue_list(const client_options& c);

struct login_options {
  std::string coordinator, token_file, ca;
};
// Checks the credentials against the coordinator, then writes the login config.
int run_login(const login_options& o);

// put KEY VALUE | get KEY: the scope comes from --scope or $GANTRY_RENDEZVOUS
// ("HOST:PORT/JOB/STAGE/ATTEMPT", set for every rank of a collective stage).
int run_rendezvous(const std::string& scope, const std::string& verb, const std::string& key,
                   const std::string& value, uint32_t timeout_ms);

struct dev_options {
  int workers = 2;
  std::string simulate_gpus = "4xH100:80GiB";
  std::string data_dir;  // default: a new temp dir, removed at exit
  std::string run_file;  // --run FILE: submit, watch to the end, stop
  uint16_t port = 0;     // 0 = any free port
};
int run_dev(const dev_options& o, const std::string& self_exe);

struct sim_cli_options {
  std::string nodes_csv;
  std::string pods_csv;
  std::string policy = "fgd";
  std::string seeds = "42";
  double load = 1.3;
  bool json = false;
  std::string queues_csv;     // --queues: the multi-queue replay instead
  double duration = 14400;    // --duration (seconds), with --queues
  double task_seconds = 900;  // --task-seconds (mean), with --queues
};
int run_sim(const sim_cli_options& o);

}  // namespace gantry::cli
