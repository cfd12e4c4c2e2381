#pragma once
// Builders shared by the scheduler tests.
#include <string>
#include <vector>

#include "scheduler/scheduler.hpp"

namespace gantry::sched::test {

// A node with `gpus` GPUs of `model`, `gpu_gib` GiB each; all in NVLink group -1.
inline node_inventory make_node(const std::string& name, int64_t cpu_milli, int gpus,
                                const std::string& model = "H100", int64_t gpu_gib = 80,
                                int64_t memory_gib = 64) {
  node_inventory n;
  n.name = n.hostname = name;
  n.cpu_milli = cpu_milli;
  n.memory_bytes = memory_gib << 30;
  for (int i = 0; i < gpus; ++i) {
    gpu_info g;
    g.index = i;
    g.model = model;
    g.memory_bytes = gpu_gib << 30;
    g.simulated = true;
    n.gpus.push_back(g);
  }
  return n;
}

inline placement_request cpu_task(const std::string& id, int64_t cpu_milli, int32_t count = 1) {
  placement_request r;
  r.id = id;
  r.per_task.cpu_milli = cpu_milli;
  r.count = count;
  r.gang = count > 1;
  return r;
}

inline placement_request gpu_task(const std::string& id, int32_t gpus, int32_t milli = 1000,
                                  int32_t count = 1, int64_t cpu_milli = 1000) {
  placement_request r = cpu_task(id, cpu_milli, count);
  r.per_task.gpu_count = gpus;
  r.per_task.gpu_milli = milli;
  return r;
}

// Free milli of every GPU of `node`, in slot order.
inline std::vector<int32_t> free_milli(const cluster_view& v, const std::string& node) {
  std::vector<int32_t> out;
  for (const auto& g : v.find(node)->gpus) out.push_back(g.free_milli);
  return out;
}

}  // namespace gantry::sched::test
