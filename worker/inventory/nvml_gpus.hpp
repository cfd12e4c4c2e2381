#pragma once
// GPUs from NVML, loaded at run time with dlopen("libnvidia-ml.so.1"): no NVML headers or
// driver are needed to build, and a machine without a driver gets an empty list and a
// diagnostic, never a crash. We declare the few NVML types and functions we call ourselves.
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/resources.hpp"

namespace gantry::inventory {

// The slice of NVML's C API that we use, with NVML's own layouts and values.
namespace nvml {
using return_t = int;  // nvmlReturn_t
using device_t = struct device_st*;
inline constexpr return_t kSuccess = 0;
inline constexpr int kP2pCapsIndexNvlink = 2;  // NVML_P2P_CAPS_INDEX_NVLINK
inline constexpr int kP2pStatusOk = 0;         // NVML_P2P_STATUS_OK
inline constexpr int kTopologyMultiple = 20;   // NVML_TOPOLOGY_MULTIPLE: no host bridge between
inline constexpr unsigned kNameSize = 96;      // NVML_DEVICE_NAME_V2_BUFFER_SIZE
inline constexpr unsigned kUuidSize = 96;      // NVML_DEVICE_UUID_V2_BUFFER_SIZE

struct memory_t {  // nvmlMemory_t
  unsigned long long total, free, used;
};
struct utilization_t {  // nvmlUtilization_t: percent of the last sample period
  unsigned gpu, memory;
};
struct pci_info_t {  // nvmlPciInfo_t (v3)
  char bus_id_legacy[16];
  unsigned domain, bus, device, pci_device_id, pci_subsystem_id;
  char bus_id[32];  // "00000000:3B:00.0"
};
}  // namespace nvml

// Entry points, resolved by load_nvml or filled in by tests. Required: init, shutdown,
// device_count, handle_by_index, device_name, memory_info. The rest may be null.
struct nvml_api {
  nvml::return_t (*init)() = nullptr;      // nvmlInit_v2
  nvml::return_t (*shutdown)() = nullptr;  // nvmlShutdown
  const char* (*error_string)(nvml::return_t) = nullptr;
  nvml::return_t (*device_count)(unsigned*) = nullptr;                     // _v2
  nvml::return_t (*handle_by_index)(unsigned, nvml::device_t*) = nullptr;  // _v2
  nvml::return_t (*device_name)(nvml::device_t, char*, unsigned) = nullptr;
  nvml::return_t (*memory_info)(nvml::device_t, nvml::memory_t*) = nullptr;
  nvml::return_t (*uuid)(nvml::device_t, char*, unsigned) = nullptr;
  nvml::return_t (*pci_info)(nvml::device_t, nvml::pci_info_t*) = nullptr;  // _v3 or _v2
  nvml::return_t (*p2p_status)(nvml::device_t, nvml::device_t, int, int*) = nullptr;
  nvml::return_t (*common_ancestor)(nvml::device_t, nvml::device_t, int*) = nullptr;
  nvml::return_t (*utilization)(nvml::device_t, nvml::utilization_t*) = nullptr;
};

// dlopen()s `library` and resolves nvml_api. nullopt with a diagnostic when the library is
// absent or lacks a required function. A loaded library stays loaded for the process's life
// (NVML is not safe to unload).
std::optional<nvml_api> load_nvml(const char* library, std::string& diagnostic);

// Initializes NVML through `api`, reads every GPU (index = NVML index, which is PCI bus
// order; model via short_gpu_model; numa_node from <pci_devices>/<bus id>/numa_node; groups
// via assign_nvlink_groups from P2P NVLink status, else PCIe common ancestor, else NUMA), and
// shuts NVML down. GPUs NVML cannot read are skipped and named in `diagnostic`. Empty with a
// diagnostic when init or the count fails. On success `diagnostic` holds one summary line.
std::vector<gpu_info> read_nvml_gpus(
    const nvml_api& api, std::string& diagnostic,
    const std::filesystem::path& pci_devices = "/sys/bus/pci/devices");

// What each GPU is doing now, for a worker's /metrics: NVML stays initialized while this lives
// (NVML counts its inits). A GPU NVML cannot read is left out of sample().
class nvml_load_reader {
 public:
  // Empty (no GPUs sampled) with a diagnostic when init fails.
  nvml_load_reader(nvml_api api, std::string& diagnostic);
  ~nvml_load_reader();
  nvml_load_reader(const nvml_load_reader&) = delete;
  nvml_load_reader& operator=(const nvml_load_reader&) = delete;
  // Utilization (0..1, from nvmlDeviceGetUtilizationRates; absent when the device does not
  // report it) and memory in use, per NVML index.
  std::vector<gpu_load> sample() const;

 private:
  nvml_api api_;
  bool live_ = false;
};

// load_nvml("libnvidia-ml.so.1") then read_nvml_gpus.
std::vector<gpu_info> probe_nvml_gpus(std::string& diagnostic);

// The short model users write in manifests: "NVIDIA H200" -> "H200",
// "NVIDIA A100-SXM4-80GB" -> "A100", "Tesla T4" -> "T4", "NVIDIA H100 80GB HBM3" -> "H100",
// "NVIDIA GeForce RTX 4090" -> "RTX4090", "NVIDIA RTX A6000" -> "A6000". "unknown" if empty.
std::string short_gpu_model(std::string_view nvml_name);

// "00000000:3B:00.0" -> "0000:3b:00.0" (the name under /sys/bus/pci/devices).
std::string sysfs_pci_address(std::string_view nvml_bus_id);

}  // namespace gantry::inventory
