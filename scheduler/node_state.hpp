#pragma once
// The scheduler's dense, per-node working copy of a node's free resources. cluster_view keeps
// one per node, sorted by node name, in step with the public node_view; filters and scores
// read only this. Scratch copies of it hold "what if" states while a gang is being planned.
#include <array>
#include <bitset>
#include <cstdint>
#include <string_view>
#include <vector>

namespace gantry::sched {

struct node_view;

inline constexpr int kMaxGpuModels = 256;
using model_mask = std::bitset<kMaxGpuModels>;

// Process-wide id of a GPU model name (thread-safe, stable for the process's life).
// Returns -1 once kMaxGpuModels names are known; such GPUs match no model list.
int16_t intern_gpu_model(std::string_view name);

// Slots of node_state::affinity: running GPU tasks by shape, for the GpuClustering policy.
// 0 = a shared (fractional) GPU, k = k whole GPUs (1..16), 17 = anything else.
inline constexpr int kAffinitySlots = 18;
int affinity_slot(int32_t gpu_count, int32_t gpu_milli);

struct node_state {
  const node_view* view = nullptr;  // the public record (name, labels, fabrics, inventory)
  uint64_t version = 0;             // a fresh process-wide value after every change
  uint64_t name_hash = 0;           // of the node's name: seeds its tie-break rank
  bool schedulable = true;
  int64_t cpu_free = 0;
  int64_t mem_free = 0;
  int32_t dpu_free = 0;
  // Per GPU slot (the order of node_view::gpus).
  std::vector<int32_t> gpu_milli;      // free compute share, 0..1000
  std::vector<int64_t> gpu_mem;        // free memory
  std::vector<int64_t> gpu_mem_total;  // the GPU's memory
  std::vector<int16_t> gpu_model;      // intern_gpu_model() of the model
  std::vector<int32_t> gpu_group;      // NVLink group, else NUMA node, else -1
  std::array<int32_t, kAffinitySlots> affinity{};

  int32_t gpu_count() const { return static_cast<int32_t>(gpu_milli.size()); }
  int64_t gpu_milli_free_total() const {
    int64_t t = 0;
    for (int32_t m : gpu_milli) t += m;
    return t;
  }
};

// A new value for node_state::version (process-wide, never repeats).
uint64_t next_node_version();

}  // namespace gantry::sched
