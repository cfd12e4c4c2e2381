#pragma once
// Resource quantities shared by manifests, inventory, the scheduler and the wire protocol.
// Units: CPU in millicores (1000 = one core), memory in bytes, GPU share in milli-GPU
// (1000 = one whole GPU).
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace gantry {

inline constexpr int32_t kGpuMilliWhole = 1000;
inline constexpr const char* kGpuSharingMps = "mps";
inline constexpr const char* kGpuSharingTimeSliced = "time-sliced";

// What one task (one rank of a stage) asks for.
struct resource_request {
  int64_t cpu_milli = 0;
  int64_t memory_bytes = 0;
  // GPUs: `gpu: 2` is {gpu_count 2, gpu_milli 1000}; `gpu: 0.25` is {1, 250}.
  int32_t gpu_count = 0;
  int32_t gpu_milli = 0;                // share of each GPU taken; 1000 for whole GPUs
  int64_t gpu_memory_bytes = 0;         // per GPU; 0 = no requirement
  std::vector<std::string> gpu_models;  // any of these; empty = any model
  int32_t dpus = 0;

  bool wants_gpu() const { return gpu_count > 0; }
  bool fractional_gpu() const { return gpu_count == 1 && gpu_milli < kGpuMilliWhole; }
  friend bool operator==(const resource_request&, const resource_request&) = default;
};

// What one GPU is doing at a moment (a worker's /metrics; real GPUs only).
struct gpu_load {
  int32_t index = 0;
  double utilization = -1;  // 0..1 of the last sample period; -1 unknown
  int64_t memory_used_bytes = 0;
};

struct gpu_info {
  int32_t index = 0;
  std::string model;  // e.g. "H100"
  int64_t memory_bytes = 0;
  int32_t nvlink_group = -1;  // GPUs sharing an NVLink domain share a group; -1 unknown
  int32_t numa_node = -1;
  std::string uuid;
  bool simulated = false;
  friend bool operator==(const gpu_info&, const gpu_info&) = default;
};

struct dpu_info {
  int32_t index = 0;
  std::string model;
  bool simulated = false;
  friend bool operator==(const dpu_info&, const dpu_info&) = default;
};

// What a worker machine offers, as reported when it registers.
struct node_inventory {
  std::string name;
  std::string hostname;  // address other ranks use to reach this machine
  int64_t cpu_milli = 0;
  int64_t memory_bytes = 0;
  std::vector<gpu_info> gpus;
  std::vector<dpu_info> dpus;
  std::vector<std::string> fabrics;  // libfabric providers: tcp, shm, verbs, efa, ...
  std::map<std::string, std::string> labels;
  // How tasks sharing one of its GPUs share it: kGpuSharingMps (fenced by the MPS daemon
  // the worker runs, docs/gpu.md) or kGpuSharingTimeSliced (no compute or memory cap).
  std::string gpu_sharing = kGpuSharingTimeSliced;
  std::string isolation;  // how the worker isolates tasks: none | v1 | v2 (cgroup version)
  friend bool operator==(const node_inventory&, const node_inventory&) = default;
};

}  // namespace gantry
