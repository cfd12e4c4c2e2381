#include "harness/local_cluster.hpp"

#include <algorithm>
#include <cctype>
#include <filesystem>

#include "protocol/client.hpp"

namespace gantry::harness {

local_cluster::local_cluster(cluster_options options) : options_(std::move(options)) {
  if (options_.dir.empty()) {
    temp_.emplace(options_.temp_prefix);
    if (options_.keep_temp_dir) temp_->keep();
    dir_ = temp_->path();
    // Tasks run as another user when the workers are root (docs/isolation.md): they reach
    // their own directories inside by name, and list nothing (the daemons close their own).
    std::filesystem::permissions(dir_, std::filesystem::perms(0711));
  } else {
    dir_ = options_.dir;
  }
  std::filesystem::create_directories(shared_dir());
}

local_cluster::~local_cluster() {
  workers_.clear();
  coordinator_.reset();
}

result<void> local_cluster::start_coordinator(const std::vector<std::string>& extra,
                                              int timeout_ms) {
  std::string listen = address_.empty() ? "127.0.0.1:" + std::to_string(options_.port) : address_;
  std::vector<std::string> args{options_.gantry, "coordinator", "--listen",
                                listen,          "--data-dir",  coordinator_data_dir()};
  args.insert(args.end(), options_.coordinator_flags.begin(), options_.coordinator_flags.end());
  args.insert(args.end(), extra.begin(), extra.end());
  insecure_ = std::find(args.begin(), args.end(), "--insecure") != args.end();
  // Clusters on one machine never collide on the default HTTP port.
  if (std::find(args.begin(), args.end(), "--http-listen") == args.end()) {
    args.push_back("--http-listen");
    args.push_back("127.0.0.1:0");
  }
  coordinator_.reset();
  coordinator_ = std::make_unique<process>(
      args, spawn_options{.log_path = log_path("coordinator"),
                          .parent_death_signal = options_.parent_death_signal});
  coordinator_reported_ = false;
  std::string line = coordinator_->read_line(timeout_ms);
  listening_us_ = now_us();
  auto space = line.rfind(' ');
  if (line.find("listening on") == std::string::npos || space == std::string::npos)
    return fail(errc::unavailable, "the coordinator did not start within " +
                                       std::to_string(timeout_ms) + " ms; see " +
                                       log_path("coordinator"));
  address_ = line.substr(space + 1);
  std::string http = coordinator_->read_line(timeout_ms);
  if (!http.starts_with("gantry coordinator serving HTTP on "))
    return fail(errc::unavailable,
                "the coordinator did not say where it serves HTTP; see " + log_path("coordinator"));
  http_url_ = http.substr(http.rfind(' ') + 1);
  if (http_url_ == "off") http_url_.clear();
  return {};
}

void local_cluster::stop_coordinator(int sig, int grace_ms) {
  if (!coordinator_) return;
  coordinator_->signal(sig);
  if (coordinator_->wait(grace_ms) < 0) coordinator_->stop(0);
  coordinator_.reset();
}

void local_cluster::start_worker(const std::string& name, const std::vector<std::string>& flags) {
  std::vector<std::string> args{options_.gantry, "worker",    "--coordinator", address_,
                                "--name",        name,        "--data-dir",    dir_ + "/" + name,
                                "--shared-dir",  shared_dir()};
  if (insecure_) {
    args.push_back("--insecure");
  } else {
    for (const std::string& f :
         {std::string("--join-token-file"), join_token_file(), std::string("--ca"), ca_file()})
      args.push_back(f);
  }
  args.insert(args.end(), flags.begin(), flags.end());
  auto& w = workers_[name];
  w.proc.reset();
  w.flags = flags;
  w.reported = false;
  w.proc = std::make_unique<process>(
      args, spawn_options{.log_path = log_path(name),
                          .stdout_to_pipe = false,
                          .parent_death_signal = options_.parent_death_signal});
}

void local_cluster::restart_worker(const std::string& name) {
  std::vector<std::string> flags = workers_.at(name).flags;
  start_worker(name, flags);
}

void local_cluster::stop_worker(const std::string& name) {
  workers_.erase(name);
}

std::vector<std::string> local_cluster::worker_names() const {
  std::vector<std::string> names;
  for (const auto& [name, w] : workers_) names.push_back(name);
  return names;
}

result<void> wait_ready(client& c, const std::vector<std::string>& names, uint32_t timeout_ms) {
  int64_t deadline = now_ms() + timeout_ms;
  for (const auto& name : names) {
    int64_t left = std::max<int64_t>(1, deadline - now_ms());
    auto r = c.wait_node(name, "ready", static_cast<uint32_t>(left));
    if (!r) return fail(r.error().code, "node " + name + ": " + r.error().message);
  }
  return {};
}

std::vector<std::string> local_cluster::client_flags() const {
  if (insecure_) return {"--insecure"};
  return {"--token-file", admin_token_file(), "--ca", ca_file()};
}

client_credentials local_cluster::admin_credentials() const {
  client_credentials c;
  c.insecure = insecure_;
  if (!insecure_) {
    c.token = read_file(admin_token_file());
    while (!c.token.empty() && std::isspace(static_cast<unsigned char>(c.token.back())))
      c.token.pop_back();
    c.ca_file = ca_file();
  }
  return c;
}

result<std::unique_ptr<client>> local_cluster::connect(uint32_t timeout_ms) const {
  return client::connect(address_, admin_credentials(), timeout_ms);
}

result<void> local_cluster::wait_ready(const std::vector<std::string>& names, uint32_t timeout_ms) {
  int64_t deadline = now_ms() + timeout_ms;
  auto c = connect(timeout_ms);
  if (!c) return fail(c.error());
  return harness::wait_ready(**c, names,
                             static_cast<uint32_t>(std::max<int64_t>(1, deadline - now_ms())));
}

std::vector<ended_child> local_cluster::reap_ended() {
  std::vector<ended_child> out;
  if (coordinator_ && !coordinator_reported_ && !coordinator_->running()) {
    coordinator_reported_ = true;
    out.push_back({"coordinator", coordinator_->wait(0), coordinator_->how_it_ended()});
  }
  for (auto& [name, w] : workers_) {
    if (!w.proc || w.reported || w.proc->running()) continue;
    w.reported = true;
    out.push_back({name, w.proc->wait(0), w.proc->how_it_ended()});
  }
  return out;
}

void local_cluster::stop(int worker_grace_ms, int coordinator_grace_ms) {
  for (auto& [name, w] : workers_)
    if (w.proc) w.proc->signal(SIGTERM);
  int64_t deadline = now_ms() + worker_grace_ms;
  for (auto& [name, w] : workers_)
    if (w.proc && w.proc->wait(static_cast<int>(std::max<int64_t>(0, deadline - now_ms()))) < 0)
      w.proc->stop(0);
  if (coordinator_) coordinator_->stop(coordinator_grace_ms);
}

std::string local_cluster::log_tails(size_t lines) const {
  auto one = [&](const std::string& name) {
    return "--- " + name + ".log (last " + std::to_string(lines) + " lines)\n" +
           tail(log(name), lines) + "\n";
  };
  std::string out = one("coordinator");
  for (const auto& [name, w] : workers_) out += one(name);
  return out;
}

}  // namespace gantry::harness
