#pragma once
// A gantry cluster on this machine as child processes: one coordinator on 127.0.0.1 and
// named workers, sharing one directory for their data, their logs (NAME.log) and the jobs'
// shared dir. `gantry dev`, the cluster tests and the benchmarks all start clusters here.
// Secure as deployed: workers join with the coordinator's join token and CA, clients use its
// admin token and CA (DATA/tokens/admin, DATA/tls/ca.crt), unless the coordinator was started
// with --insecure.
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/result.hpp"
#include "harness/process.hpp"

namespace gantry {
class client;
struct client_credentials;
}  // namespace gantry

namespace gantry::harness {

// Waits until each named node is `ready`, all within timeout_ms, asking over `c`.
result<void> wait_ready(client& c, const std::vector<std::string>& names, uint32_t timeout_ms);

struct cluster_options {
  std::string gantry{};                          // path of the gantry binary
  std::string dir{};                             // data and logs; empty: a new temp dir
  std::string temp_prefix = "gantry";            // the temp dir is /tmp/PREFIX-XXXXXX
  bool keep_temp_dir = false;                    // leave the temp dir on disk at the end
  std::vector<std::string> coordinator_flags{};  // after --listen and --data-dir
  uint16_t port = 0;                             // the coordinator's first port; 0: any free one
  int parent_death_signal = SIGKILL;             // what the children get when this thread ends
};

// What reap_ended() found: a child that ended, and how.
struct ended_child {
  std::string name;  // "coordinator" or a worker's name
  int code = 0;      // process::wait()'s value
  std::string how;   // process::how_it_ended()
};

class local_cluster {
 public:
  // Throws std::runtime_error when the temp dir cannot be created.
  explicit local_cluster(cluster_options options);
  ~local_cluster();  // SIGKILLs the workers, then the coordinator
  local_cluster(const local_cluster&) = delete;
  local_cluster& operator=(const local_cluster&) = delete;

  const std::string& address() const { return address_; }  // "127.0.0.1:PORT" once started
  // "https://127.0.0.1:PORT" (http:// with --insecure) once started; "" with --http-listen
  // off. Unless the flags name --http-listen, the coordinator serves HTTP on 127.0.0.1:0.
  const std::string& http_url() const { return http_url_; }
  const std::string& dir() const { return dir_; }
  void keep_dir() {  // a temp dir stays on disk at the end
    if (temp_) temp_->keep();
  }
  std::string shared_dir() const { return dir_ + "/shared"; }
  std::string coordinator_data_dir() const { return dir_ + "/coordinator"; }
  // The coordinator's credentials (created by its first start).
  std::string ca_file() const { return coordinator_data_dir() + "/tls/ca.crt"; }
  std::string admin_token_file() const { return coordinator_data_dir() + "/tokens/admin"; }
  std::string join_token_file() const { return coordinator_data_dir() + "/tokens/join"; }
  // Whether the coordinator's last start had --insecure.
  bool insecure() const { return insecure_; }
  // What a client verb needs to act as admin: --token-file and --ca, or --insecure.
  std::vector<std::string> client_flags() const;
  // The same for the client library.
  client_credentials admin_credentials() const;
  // An admin client of the coordinator.
  result<std::unique_ptr<client>> connect(uint32_t timeout_ms = 5000) const;
  std::string log_path(const std::string& name) const { return dir_ + "/" + name + ".log"; }
  std::string log(const std::string& name) const { return read_file(log_path(name)); }

  // Starts the coordinator with the options' flags and then `extra`, on the port of its
  // previous start if it had one, and waits up to timeout_ms for its "listening on
  // HOST:PORT" line. Errors (unavailable) name the log.
  result<void> start_coordinator(const std::vector<std::string>& extra = {},
                                 int timeout_ms = 20000);
  bool has_coordinator() const { return coordinator_ != nullptr; }
  process& coordinator() { return *coordinator_; }
  int64_t coordinator_listening_us() const { return listening_us_; }  // steady time of its line
  // Sends `sig` and reaps it; SIGKILL when it still runs after grace_ms.
  void stop_coordinator(int sig, int grace_ms = 20000);

  // Starts worker NAME (--coordinator, --name, --data-dir DIR/NAME, --shared-dir, and
  // --join-token-file and --ca, or --insecure) with `flags` after those; its stdout and stderr go
  // to NAME.log. REQUIRES: the coordinator started once.
  void start_worker(const std::string& name, const std::vector<std::string>& flags = {});
  // Starts NAME again with the flags of its last start (SIGKILLing it first if it runs).
  void restart_worker(const std::string& name);
  process& worker(const std::string& name) { return *workers_.at(name).proc; }
  void stop_worker(const std::string& name);  // SIGKILL and reap
  std::vector<std::string> worker_names() const;

  // Connects to the coordinator and waits until each named node is `ready`, all within
  // timeout_ms.
  result<void> wait_ready(const std::vector<std::string>& names, uint32_t timeout_ms);

  // Reaps the children that ended since the last call: the coordinator first, then workers.
  std::vector<ended_child> reap_ended();

  // SIGTERM to every worker, SIGKILL to those still there after worker_grace_ms; then the
  // same for the coordinator.
  void stop(int worker_grace_ms, int coordinator_grace_ms);

  // "--- NAME.log (last N lines)" and those lines, for the coordinator and every worker.
  std::string log_tails(size_t lines) const;

 private:
  struct worker_entry {
    std::vector<std::string> flags;
    std::unique_ptr<process> proc;
    bool reported = false;  // reap_ended() told about its end
  };
  cluster_options options_;
  std::optional<temp_dir> temp_;
  std::string dir_;
  std::string address_;
  std::string http_url_;
  std::unique_ptr<process> coordinator_;
  bool coordinator_reported_ = false;
  int64_t listening_us_ = 0;
  bool insecure_ = false;
  std::map<std::string, worker_entry> workers_;
};

}  // namespace gantry::harness
