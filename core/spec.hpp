#pragma once
// The job manifest as parsed and validated (see docs/manifest.md for the YAML form).
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/resources.hpp"

namespace gantry {

enum class device_kind { cpu, gpu, dpu };
enum class collective_kind { none, nccl };
enum class placement_pref { none, pack, spread };

const char* to_string(device_kind v);
const char* to_string(collective_kind v);
const char* to_string(placement_pref v);

// The number of a catchable signal named like "SIGUSR1" or "USR1" (SIGHUP, SIGINT, SIGQUIT,
// SIGUSR1, SIGUSR2, SIGTERM, SIGALRM, SIGWINCH); 0 for any other text.
int signal_number(std::string_view name);

// Longest `checkpoint.grace` a manifest may ask for.
constexpr int64_t kMaxCheckpointGraceMs = 3'600'000;

struct checkpoint_spec {
  std::string dir;
  // Sent to the stage's tasks on a drain, as written ("SIGUSR1" or "USR1"); empty: none,
  // and a drain stops them at once.
  std::string signal;
  // How long a drain waits after `signal` before it moves them; 0: the coordinator's
  // --drain-grace-ms.
  int64_t grace_ms = 0;
  friend bool operator==(const checkpoint_spec&, const checkpoint_spec&) = default;
};

struct stage_spec {
  std::string name;
  device_kind device = device_kind::cpu;
  int32_t replicas = 1;
  resource_request resources;
  std::map<std::string, std::string> env;
  std::vector<std::string> command;
  std::string working_dir;         // absolute; empty = the task's own directory
  std::vector<std::string> after;  // stage names that must succeed first
  collective_kind collective = collective_kind::none;
  placement_pref placement = placement_pref::none;
  std::optional<checkpoint_spec> checkpoint;
  std::string colocate_with;                         // stage name; empty = none
  std::string fabric;                                // required libfabric provider; empty = any
  std::map<std::string, std::string> node_selector;  // node labels that must match
  std::vector<int32_t> no_retry_exit_codes;
  int64_t time_limit_ms = 0;  // wall clock per attempt; 0: the job's

  bool is_gang() const { return collective != collective_kind::none; }
  friend bool operator==(const stage_spec&, const stage_spec&) = default;
};

struct job_spec {
  std::string name;
  // The queue it is charged to and admitted through (docs/queues.md); it must exist at submit.
  std::string queue = "default";
  int32_t priority = 0;       // higher first; FIFO within a priority
  int32_t max_restarts = 0;   // restarts of a failed gang/task before the job fails
  int64_t time_limit_ms = 0;  // wall clock per attempt of every rank; 0 none
  // A rank stopped by its time limit is restarted (counted under max_restarts) only if true.
  bool restart_on_time_limit = false;
  std::vector<stage_spec> stages;

  const stage_spec* find_stage(const std::string& stage_name) const;
  friend bool operator==(const job_spec&, const job_spec&) = default;
};

}  // namespace gantry
