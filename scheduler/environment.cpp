// Launch environment of a task from its assignment (see scheduler.hpp).
#include <algorithm>

#include "scheduler/scheduler.hpp"

namespace gantry::sched {

std::vector<std::pair<std::string, std::string>> gpu_environment(const task_assignment& a) {
  std::vector<std::pair<std::string, std::string>> env;
  if (a.gpus.empty()) return env;
  std::string visible;
  for (int32_t index : a.gpus) {
    if (!visible.empty()) visible += ',';
    visible += std::to_string(index);
  }
  env.emplace_back("CUDA_VISIBLE_DEVICES", visible);
  if (a.gpu_milli >= kGpuMilliWhole) return env;
  env.emplace_back("CUDA_MPS_ACTIVE_THREAD_PERCENTAGE",
                   std::to_string(std::max<int32_t>(1, a.gpu_milli / 10)));
  // Without a memory figure (a GPU that reported none) a limit of 0 would starve the task.
  if (a.gpu_memory_bytes <= 0) return env;
  std::string limits;
  const int64_t mib = std::max<int64_t>(1, a.gpu_memory_bytes >> 20);
  for (int32_t index : a.gpus) {
    if (!limits.empty()) limits += ',';
    limits += std::to_string(index) + '=' + std::to_string(mib) + 'M';
  }
  env.emplace_back("CUDA_MPS_PINNED_DEVICE_MEM_LIMIT", limits);
  return env;
}

}  // namespace gantry::sched
