#include "core/task_environment.hpp"

#include <algorithm>
#include <cctype>
#include <map>

#include "core/fabric_env.hpp"

namespace gantry {
namespace {

using env_map = std::map<std::string, std::string>;

// What every task keeps from the worker, whatever the pass-env list says.
bool always_inherited(std::string_view name) {
  return name == "PATH" || name == "HOME" || name == "LANG" || name.starts_with("LC_");
}

void inherit(env_map& env, const worker_facts& facts) {
  for (const auto& [name, value] : facts.own_env) {
    bool pass = always_inherited(name);
    for (size_t i = 0; !pass && i < facts.pass_env.size(); ++i)
      pass = env_name_matches(facts.pass_env[i], name);
    if (pass) env[name] = value;
  }
}

void gantry_identity(env_map& env, const task_spec& t, const worker_facts& facts,
                     const task_paths& paths) {
  env["GANTRY_JOB_ID"] = t.job_id;
  env["GANTRY_JOB_NAME"] = t.job_name;
  env["GANTRY_STAGE"] = t.stage;
  env["GANTRY_RANK"] = std::to_string(t.rank);
  env["GANTRY_WORLD_SIZE"] = std::to_string(t.world_size);
  env["GANTRY_ATTEMPT"] = std::to_string(t.attempt);
  env["GANTRY_TASK_ID"] = t.task_id;
  env["GANTRY_NODE"] = facts.node;
  env["GANTRY_OUTPUT_DIR"] = paths.output_dir;
  env["GANTRY_TASK_DIR"] = paths.task_dir;
  if (!facts.coordinator.empty()) env["GANTRY_COORDINATOR"] = facts.coordinator;
  if (!facts.ca_file.empty()) env["GANTRY_CA"] = facts.ca_file;
  if (!t.task_token.empty()) env["GANTRY_TASK_TOKEN"] = t.task_token;
  if (!t.checkpoint_dir.empty()) {
    env["GANTRY_CHECKPOINT_DIR"] = t.checkpoint_dir;
    if (t.restore_step >= 0) env["GANTRY_RESTORE_STEP"] = std::to_string(t.restore_step);
  }
}

// What torchrun gives each worker process it starts (one role: the stage).
void torchrun(env_map& env, const task_spec& t, const gang_coordinates& g,
              const worker_facts& facts) {
  env["RANK"] = std::to_string(t.rank);
  env["WORLD_SIZE"] = std::to_string(t.world_size);
  env["LOCAL_RANK"] = std::to_string(g.local_rank);
  env["LOCAL_WORLD_SIZE"] = std::to_string(g.local_world_size);
  env["GROUP_RANK"] = std::to_string(g.group_rank);
  env["GROUP_WORLD_SIZE"] = std::to_string(g.group_world_size);
  env["ROLE_RANK"] = std::to_string(t.rank);
  env["ROLE_WORLD_SIZE"] = std::to_string(t.world_size);
  env["ROLE_NAME"] = "default";
  env["MASTER_ADDR"] = g.master_addr;
  env["MASTER_PORT"] = std::to_string(g.master_port);
  env["TORCHELASTIC_RESTART_COUNT"] = std::to_string(t.attempt);
  env["TORCHELASTIC_MAX_RESTARTS"] = std::to_string(g.max_restarts);
  env["TORCHELASTIC_RUN_ID"] = t.job_id;
  if (!facts.coordinator.empty())
    env["GANTRY_RENDEZVOUS"] = format_rendezvous(facts.coordinator, g.rendezvous);
}

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& s : items) out += (out.empty() ? "" : ",") + s;
  return out;
}

result<void> gpu_devices(env_map& env, const task_spec& t, const worker_facts& facts,
                         const task_paths& paths) {
  if (t.gpus.empty()) {
    env["CUDA_VISIBLE_DEVICES"] = "";
    return {};
  }
  std::vector<std::string> uuids, indices;
  for (int32_t index : t.gpus) {
    auto it = std::find_if(facts.gpus.begin(), facts.gpus.end(),
                           [&](const gpu_info& g) { return g.index == index; });
    if (it == facts.gpus.end())
      return fail(errc::invalid_argument, "GPU " + std::to_string(index) + " of task " + t.task_id +
                                              " is not on this node");
    uuids.push_back(it->uuid);
    indices.push_back(std::to_string(index));
  }
  bool all_uuids = std::none_of(uuids.begin(), uuids.end(), [](auto& u) { return u.empty(); });
  // Indices are NVML's, in PCI bus order: make CUDA count the same way.
  env["CUDA_DEVICE_ORDER"] = "PCI_BUS_ID";
  env["CUDA_VISIBLE_DEVICES"] = join(all_uuids ? uuids : indices);
  if (t.gpu_milli >= kGpuMilliWhole) return {};
  const bool mps = !paths.mps_pipe_dir.empty();
  env["GANTRY_GPU_SHARING"] = mps ? "mps" : "time-sliced";
  if (mps) {
    env["CUDA_MPS_PIPE_DIRECTORY"] = paths.mps_pipe_dir;
    env["CUDA_MPS_LOG_DIRECTORY"] = paths.mps_log_dir;
  }
  env["CUDA_MPS_ACTIVE_THREAD_PERCENTAGE"] = std::to_string(std::max<int32_t>(1, t.gpu_milli / 10));
  // Without a memory figure (a GPU that reported none) a limit of 0 would starve the task.
  if (t.gpu_memory_bytes <= 0) return {};
  // CUDA numbers the visible devices 0..n-1 in CUDA_VISIBLE_DEVICES' order.
  const std::string mib = std::to_string(std::max<int64_t>(1, t.gpu_memory_bytes >> 20)) + "M";
  std::string limits;
  for (size_t ordinal = 0; ordinal < t.gpus.size(); ++ordinal)
    limits += (ordinal ? "," : "") + std::to_string(ordinal) + "=" + mib;
  env["CUDA_MPS_PINNED_DEVICE_MEM_LIMIT"] = limits;
  return {};
}

}  // namespace

result<environment> task_environment(const task_spec& task, const worker_facts& facts,
                                     const task_paths& paths) {
  env_map env;
  inherit(env, facts);
  if (!paths.home.empty()) env["HOME"] = paths.home;
  env["OMP_NUM_THREADS"] = std::to_string(std::max<int64_t>(1, task.cpu_milli / 1000));
  for (const auto& [name, value] : task.env) env[name] = value;
  gantry_identity(env, task, facts, paths);
  for (auto& [name, value] : fabric_environment(task.fabric)) env[name] = std::move(value);
  if (task.gang) torchrun(env, task, *task.gang, facts);
  if (auto gpus = gpu_devices(env, task, facts, paths); !gpus) return fail(gpus.error());
  return environment(env.begin(), env.end());
}

bool env_name_matches(std::string_view pattern, std::string_view name) {
  // Greedy glob with backtracking to the last '*': linear for one '*', fine for a few.
  size_t p = 0, n = 0, star = std::string_view::npos, resume = 0;
  while (n < name.size()) {
    if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      resume = n;
    } else if (p < pattern.size() && pattern[p] == name[n]) {
      ++p;
      ++n;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      n = ++resume;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

result<void> check_pass_env(std::string_view pattern) {
  auto bad = [&] {
    return fail(errc::invalid_argument,
                "expected a variable name of letters, digits and '_' (not starting with a "
                "digit), '*' matching any run of characters, got \"" +
                    std::string(pattern) + "\"");
  };
  if (pattern.empty() || std::isdigit(static_cast<unsigned char>(pattern[0]))) return bad();
  for (char c : pattern)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '*') return bad();
  return {};
}

}  // namespace gantry
