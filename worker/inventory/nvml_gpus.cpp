#include "worker/inventory/nvml_gpus.hpp"

#include <dlfcn.h>

#include <algorithm>
#include <cctype>
#include <climits>
#include <fstream>

#include "worker/inventory/gpu_topology.hpp"

namespace gantry::inventory {
namespace {

template <class F>
void resolve(void* library, const char* name, F& out) {
  out = reinterpret_cast<F>(dlsym(library, name));
}

std::string describe(const nvml_api& api, nvml::return_t rc) {
  if (api.error_string) {
    if (const char* text = api.error_string(rc)) return text;
  }
  return "NVML error " + std::to_string(rc);
}

int32_t read_numa_node(const std::filesystem::path& pci_devices, const std::string& address) {
  if (address.empty()) return -1;
  std::ifstream in(pci_devices / address / "numa_node");
  int32_t node = -1;
  if (!(in >> node) || node < 0) return -1;
  return node;
}

std::vector<std::string_view> words(std::string_view s) {
  std::vector<std::string_view> out;
  while (!s.empty()) {
    size_t start = s.find_first_not_of(' ');
    if (start == std::string_view::npos) break;
    s.remove_prefix(start);
    size_t end = std::min(s.find(' '), s.size());
    out.push_back(s.substr(0, end));
    s.remove_prefix(end);
  }
  return out;
}

}  // namespace

std::optional<nvml_api> load_nvml(const char* library, std::string& diagnostic) {
  dlerror();
  void* handle = dlopen(library, RTLD_NOW | RTLD_LOCAL);
  if (!handle) {
    const char* why = dlerror();
    diagnostic = std::string(library) + " is not loadable (" + (why ? why : "unknown error") +
                 "): no NVIDIA driver here, so no real GPUs";
    return std::nullopt;
  }
  nvml_api api;
  resolve(handle, "nvmlInit_v2", api.init);
  resolve(handle, "nvmlShutdown", api.shutdown);
  resolve(handle, "nvmlErrorString", api.error_string);
  resolve(handle, "nvmlDeviceGetCount_v2", api.device_count);
  resolve(handle, "nvmlDeviceGetHandleByIndex_v2", api.handle_by_index);
  resolve(handle, "nvmlDeviceGetName", api.device_name);
  resolve(handle, "nvmlDeviceGetMemoryInfo", api.memory_info);
  resolve(handle, "nvmlDeviceGetUUID", api.uuid);
  resolve(handle, "nvmlDeviceGetPciInfo_v3", api.pci_info);
  if (!api.pci_info) resolve(handle, "nvmlDeviceGetPciInfo_v2", api.pci_info);
  resolve(handle, "nvmlDeviceGetP2PStatus", api.p2p_status);
  resolve(handle, "nvmlDeviceGetTopologyCommonAncestor", api.common_ancestor);
  resolve(handle, "nvmlDeviceGetUtilizationRates", api.utilization);
  const std::pair<const char*, bool> required[] = {
      {"nvmlInit_v2", api.init != nullptr},
      {"nvmlShutdown", api.shutdown != nullptr},
      {"nvmlDeviceGetCount_v2", api.device_count != nullptr},
      {"nvmlDeviceGetHandleByIndex_v2", api.handle_by_index != nullptr},
      {"nvmlDeviceGetName", api.device_name != nullptr},
      {"nvmlDeviceGetMemoryInfo", api.memory_info != nullptr},
  };
  for (const auto& [name, found] : required) {
    if (found) continue;
    diagnostic = std::string(library) + " lacks " + name + ": not a usable NVML library";
    dlclose(handle);  // nothing from it was called yet
    return std::nullopt;
  }
  return api;
}

std::vector<gpu_info> read_nvml_gpus(const nvml_api& api, std::string& diagnostic,
                                     const std::filesystem::path& pci_devices) {
  if (nvml::return_t rc = api.init(); rc != nvml::kSuccess) {
    diagnostic = "nvmlInit_v2 failed: " + describe(api, rc) + "; no real GPUs";
    return {};
  }
  unsigned count = 0;
  if (nvml::return_t rc = api.device_count(&count); rc != nvml::kSuccess) {
    diagnostic = "nvmlDeviceGetCount_v2 failed: " + describe(api, rc) + "; no real GPUs";
    api.shutdown();
    return {};
  }
  std::vector<gpu_info> gpus;
  std::vector<nvml::device_t> handles;
  std::string problems;
  auto skip = [&](unsigned i, const char* call, nvml::return_t rc) {
    problems +=
        "; GPU " + std::to_string(i) + " skipped: " + call + " failed: " + describe(api, rc);
  };
  for (unsigned i = 0; i < count; ++i) {
    nvml::device_t device = nullptr;
    if (nvml::return_t rc = api.handle_by_index(i, &device); rc != nvml::kSuccess) {
      skip(i, "nvmlDeviceGetHandleByIndex_v2", rc);
      continue;
    }
    char name[nvml::kNameSize] = {};
    if (nvml::return_t rc = api.device_name(device, name, sizeof(name)); rc != nvml::kSuccess) {
      skip(i, "nvmlDeviceGetName", rc);
      continue;
    }
    name[sizeof(name) - 1] = '\0';
    nvml::memory_t memory{};
    if (nvml::return_t rc = api.memory_info(device, &memory); rc != nvml::kSuccess) {
      skip(i, "nvmlDeviceGetMemoryInfo", rc);
      continue;
    }
    gpu_info g;
    g.index = static_cast<int32_t>(i);
    g.model = short_gpu_model(name);
    g.memory_bytes = static_cast<int64_t>(std::min<unsigned long long>(memory.total, INT64_MAX));
    char uuid[nvml::kUuidSize] = {};
    if (api.uuid && api.uuid(device, uuid, sizeof(uuid)) == nvml::kSuccess) {
      uuid[sizeof(uuid) - 1] = '\0';
      g.uuid = uuid;
    }
    nvml::pci_info_t pci{};
    if (api.pci_info && api.pci_info(device, &pci) == nvml::kSuccess) {
      pci.bus_id[sizeof(pci.bus_id) - 1] = '\0';
      g.numa_node = read_numa_node(pci_devices, sysfs_pci_address(pci.bus_id));
    }
    gpus.push_back(std::move(g));
    handles.push_back(device);
  }
  std::string grouping = assign_nvlink_groups(gpus, [&](size_t a, size_t b) {
    gpu_pair_link link;
    int status = 0;
    if (api.p2p_status && api.p2p_status(handles[a], handles[b], nvml::kP2pCapsIndexNvlink,
                                         &status) == nvml::kSuccess) {
      link.nvlink = status == nvml::kP2pStatusOk;
    }
    int level = 0;
    if (api.common_ancestor &&
        api.common_ancestor(handles[a], handles[b], &level) == nvml::kSuccess) {
      link.same_pcie_switch = level <= nvml::kTopologyMultiple;
    }
    return link;
  });
  api.shutdown();
  diagnostic = "NVML: " + std::to_string(gpus.size()) + " of " + std::to_string(count) +
               " GPUs read (" + grouping + ")" + problems;
  return gpus;
}

nvml_load_reader::nvml_load_reader(nvml_api api, std::string& diagnostic) : api_(api) {
  nvml::return_t rc = api_.init();
  live_ = rc == nvml::kSuccess;
  if (!live_)
    diagnostic = std::string("NVML: nvmlInit failed (") +
                 (api_.error_string ? api_.error_string(rc) : "error " + std::to_string(rc)) +
                 "): no GPU utilisation on /metrics";
}

nvml_load_reader::~nvml_load_reader() {
  if (live_) api_.shutdown();
}

std::vector<gpu_load> nvml_load_reader::sample() const {
  std::vector<gpu_load> out;
  unsigned count = 0;
  if (!live_ || api_.device_count(&count) != nvml::kSuccess) return out;
  for (unsigned i = 0; i < count; ++i) {
    nvml::device_t device = nullptr;
    nvml::memory_t memory{};
    if (api_.handle_by_index(i, &device) != nvml::kSuccess ||
        api_.memory_info(device, &memory) != nvml::kSuccess)
      continue;
    gpu_load l;
    l.index = static_cast<int32_t>(i);
    l.memory_used_bytes =
        static_cast<int64_t>(std::min<unsigned long long>(memory.used, INT64_MAX));
    nvml::utilization_t u{};
    if (api_.utilization && api_.utilization(device, &u) == nvml::kSuccess)
      l.utilization = std::min(u.gpu, 100u) / 100.0;
    out.push_back(l);
  }
  return out;
}

std::vector<gpu_info> probe_nvml_gpus(std::string& diagnostic) {
  auto api = load_nvml("libnvidia-ml.so.1", diagnostic);
  if (!api) return {};
  return read_nvml_gpus(*api, diagnostic);
}

std::string short_gpu_model(std::string_view nvml_name) {
  std::vector<std::string_view> w = words(nvml_name);
  auto drop_front = [&](std::string_view prefix) {
    if (!w.empty() && w.front() == prefix) w.erase(w.begin());
  };
  for (std::string_view prefix : {"NVIDIA", "Tesla", "GeForce", "Quadro"}) drop_front(prefix);
  std::string model;
  if (!w.empty()) {
    model = std::string(w[0]);
    // "RTX 4090" -> "RTX4090"; "RTX A6000" -> "A6000".
    if ((w[0] == "RTX" || w[0] == "GTX" || w[0] == "TITAN") && w.size() > 1) {
      bool numeric = std::isdigit(static_cast<unsigned char>(w[1].front()));
      model = numeric ? model + std::string(w[1]) : std::string(w[1]);
    }
  }
  model = model.substr(0, model.find('-'));  // "A100-SXM4-80GB" -> "A100"
  std::erase_if(model, [](char c) { return !std::isalnum(static_cast<unsigned char>(c)); });
  return model.empty() ? "unknown" : model;
}

std::string sysfs_pci_address(std::string_view nvml_bus_id) {
  std::string id(nvml_bus_id.substr(0, nvml_bus_id.find('\0')));
  for (char& c : id) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  size_t colon = id.find(':');
  if (colon != std::string::npos && colon > 4) id.erase(0, colon - 4);  // 8-digit domain -> 4
  return id;
}

}  // namespace gantry::inventory
