// Names of enums as they appear in manifests, output and JSON.
#include "core/result.hpp"
#include "core/spec.hpp"
#include "core/state.hpp"

#include <csignal>

namespace gantry {

int signal_number(std::string_view name) {
  if (name.substr(0, 3) == "SIG") name.remove_prefix(3);
  static constexpr std::pair<std::string_view, int> kSignals[] = {
      {"HUP", SIGHUP},   {"INT", SIGINT},   {"QUIT", SIGQUIT}, {"USR1", SIGUSR1},
      {"USR2", SIGUSR2}, {"TERM", SIGTERM}, {"ALRM", SIGALRM}, {"WINCH", SIGWINCH}};
  for (const auto& [n, number] : kSignals)
    if (n == name) return number;
  return 0;
}

const char* to_string(errc code) {
  switch (code) {
    case errc::ok:
      return "ok";
    case errc::invalid_argument:
      return "invalid argument";
    case errc::not_found:
      return "not found";
    case errc::already_exists:
      return "already exists";
    case errc::unavailable:
      return "unavailable";
    case errc::io_error:
      return "i/o error";
    case errc::timeout:
      return "timeout";
    case errc::internal:
      return "internal error";
    case errc::version_mismatch:
      return "version mismatch";
    case errc::failed_precondition:
      return "failed precondition";
  }
  return "?";
}

const char* to_string(device_kind v) {
  switch (v) {
    case device_kind::cpu:
      return "cpu";
    case device_kind::gpu:
      return "gpu";
    case device_kind::dpu:
      return "dpu";
  }
  return "?";
}

const char* to_string(collective_kind v) {
  return v == collective_kind::nccl ? "nccl" : "none";
}

const char* to_string(placement_pref v) {
  switch (v) {
    case placement_pref::none:
      return "none";
    case placement_pref::pack:
      return "pack";
    case placement_pref::spread:
      return "spread";
  }
  return "?";
}

const char* to_string(job_state s) {
  switch (s) {
    case job_state::pending:
      return "pending";
    case job_state::running:
      return "running";
    case job_state::succeeded:
      return "succeeded";
    case job_state::failed:
      return "failed";
    case job_state::cancelled:
      return "cancelled";
  }
  return "?";
}

const char* to_string(stage_state s) {
  switch (s) {
    case stage_state::waiting:
      return "waiting";
    case stage_state::pending:
      return "pending";
    case stage_state::running:
      return "running";
    case stage_state::succeeded:
      return "succeeded";
    case stage_state::failed:
      return "failed";
    case stage_state::cancelled:
      return "cancelled";
  }
  return "?";
}

const char* to_string(rank_state s) {
  switch (s) {
    case rank_state::pending:
      return "pending";
    case rank_state::starting:
      return "starting";
    case rank_state::running:
      return "running";
    case rank_state::succeeded:
      return "succeeded";
    case rank_state::failed:
      return "failed";
    case rank_state::cancelled:
      return "cancelled";
  }
  return "?";
}

const char* to_string(node_state s) {
  switch (s) {
    case node_state::ready:
      return "ready";
    case node_state::lost:
      return "lost";
    case node_state::cordoned:
      return "cordoned";
    case node_state::draining:
      return "draining";
    case node_state::unknown:
      return "unknown";
  }
  return "?";
}

std::optional<job_state> parse_job_state(std::string_view s) {
  for (auto v : {job_state::pending, job_state::running, job_state::succeeded, job_state::failed,
                 job_state::cancelled})
    if (s == to_string(v)) return v;
  return std::nullopt;
}

std::optional<node_state> parse_node_state(std::string_view s) {
  for (auto v : {node_state::ready, node_state::lost, node_state::cordoned, node_state::draining,
                 node_state::unknown})
    if (s == to_string(v)) return v;
  return std::nullopt;
}

const stage_spec* job_spec::find_stage(const std::string& stage_name) const {
  for (const auto& s : stages)
    if (s.name == stage_name) return &s;
  return nullptr;
}

}  // namespace gantry
