// NVML probing without a GPU: the real loader against missing or wrong libraries, and the
// reader against a fake NVML (a table of plain functions) that plays a given machine.
#include <doctest/doctest.h>
#include <stdlib.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>

#include "core/task_environment.hpp"
#include "http/worker_http.hpp"
#include "worker/inventory/gpu_topology.hpp"
#include "worker/inventory/nvml_gpus.hpp"

using namespace gantry;
using namespace gantry::inventory;

namespace {

struct fake_gpu {
  std::string name;
  unsigned long long memory = 0;
  std::string bus_id;  // NVML form, "00000000:3B:00.0"
  int island = -1;     // GPUs on the same island have NVLink; -1 none
  int pcie_switch = 0;
  bool broken = false;          // nvmlDeviceGetMemoryInfo fails
  unsigned long long used = 0;  // memory in use
  int busy_percent = -1;        // nvmlDeviceGetUtilizationRates; -1: not supported
};

// The machine the fake NVML plays; reset by each test.
struct fake_machine {
  std::vector<fake_gpu> gpus;
  nvml::return_t init_rc = nvml::kSuccess;
  bool nvlink_known = true;
  bool topology_known = true;
  int live_inits = 0;
} g_machine;

nvml::device_t handle_of(unsigned i) {
  return reinterpret_cast<nvml::device_t>(uintptr_t{i} + 1);
}
const fake_gpu& gpu_of(nvml::device_t d) {
  return g_machine.gpus.at(reinterpret_cast<uintptr_t>(d) - 1);
}

nvml_api fake_api() {
  nvml_api api;
  api.init = [] {
    if (g_machine.init_rc == nvml::kSuccess) ++g_machine.live_inits;
    return g_machine.init_rc;
  };
  api.shutdown = [] {
    --g_machine.live_inits;
    return nvml::kSuccess;
  };
  api.error_string = [](nvml::return_t rc) {
    return rc == 9 ? "Driver Not Loaded" : rc == 15 ? "GPU is lost" : "Unknown Error";
  };
  api.device_count = [](unsigned* n) {
    *n = static_cast<unsigned>(g_machine.gpus.size());
    return nvml::kSuccess;
  };
  api.handle_by_index = [](unsigned i, nvml::device_t* d) {
    *d = handle_of(i);
    return nvml::kSuccess;
  };
  api.device_name = [](nvml::device_t d, char* out, unsigned size) {
    std::strncpy(out, gpu_of(d).name.c_str(), size);
    return nvml::kSuccess;
  };
  api.memory_info = [](nvml::device_t d, nvml::memory_t* m) {
    if (gpu_of(d).broken) return 15;
    m->total = gpu_of(d).memory;
    m->used = gpu_of(d).used;
    m->free = m->total - m->used;
    return nvml::kSuccess;
  };
  api.uuid = [](nvml::device_t d, char* out, unsigned size) {
    std::snprintf(out, size, "GPU-fake-%s", gpu_of(d).bus_id.c_str());
    return nvml::kSuccess;
  };
  api.pci_info = [](nvml::device_t d, nvml::pci_info_t* p) {
    std::strncpy(p->bus_id, gpu_of(d).bus_id.c_str(), sizeof(p->bus_id) - 1);
    return nvml::kSuccess;
  };
  api.p2p_status = [](nvml::device_t a, nvml::device_t b, int index, int* status) {
    if (!g_machine.nvlink_known || index != nvml::kP2pCapsIndexNvlink) return 3;  // not supp.
    bool linked = gpu_of(a).island >= 0 && gpu_of(a).island == gpu_of(b).island;
    *status = linked ? nvml::kP2pStatusOk : 5;  // NVML_P2P_STATUS_NOT_SUPPORTED
    return nvml::kSuccess;
  };
  api.utilization = [](nvml::device_t d, nvml::utilization_t* u) {
    if (gpu_of(d).busy_percent < 0) return 3;  // NVML_ERROR_NOT_SUPPORTED
    u->gpu = static_cast<unsigned>(gpu_of(d).busy_percent);
    u->memory = 0;
    return nvml::kSuccess;
  };
  api.common_ancestor = [](nvml::device_t a, nvml::device_t b, int* level) {
    if (!g_machine.topology_known) return 3;
    *level = gpu_of(a).pcie_switch == gpu_of(b).pcie_switch ? 10 : 40;
    return nvml::kSuccess;
  };
  return api;
}

// A fake /sys/bus/pci/devices with numa_node files.
struct fake_pci {
  fake_pci() {
    std::string pattern = (std::filesystem::temp_directory_path() / "gantry-pci-XXXXXX").string();
    root = mkdtemp(pattern.data());
  }
  ~fake_pci() {
    std::error_code ec;
    std::filesystem::remove_all(root, ec);
  }
  void numa(const std::string& address, int node) const {
    std::filesystem::create_directories(root / address);
    std::ofstream(root / address / "numa_node") << node << "\n";
  }
  std::filesystem::path root;
};

std::vector<int32_t> groups(const std::vector<gpu_info>& gpus) {
  std::vector<int32_t> out;
  for (const auto& g : gpus) out.push_back(g.nvlink_group);
  return out;
}

}  // namespace

TEST_CASE("without libnvidia-ml.so.1 NVML probing gives no GPUs and says why") {
  std::string diagnostic;
  std::vector<gpu_info> gpus = probe_nvml_gpus(diagnostic);
  if (!gpus.empty()) {
    MESSAGE("a driver is present here: " << diagnostic);
    return;
  }
  CHECK(diagnostic.find("libnvidia-ml.so.1") != std::string::npos);
  CHECK(diagnostic.find("no real GPUs") != std::string::npos);
}

TEST_CASE("a library that is not NVML is refused, not called") {
  std::string diagnostic;
  CHECK_FALSE(load_nvml("libgantry-no-such-library.so", diagnostic).has_value());
  CHECK(diagnostic.starts_with("libgantry-no-such-library.so is not loadable ("));
  CHECK_FALSE(load_nvml("libc.so.6", diagnostic).has_value());
  CHECK(diagnostic == "libc.so.6 lacks nvmlInit_v2: not a usable NVML library");
}

TEST_CASE("NVML names map to the short models manifests use") {
  CHECK(short_gpu_model("NVIDIA H200") == "H200");
  CHECK(short_gpu_model("NVIDIA A100-SXM4-80GB") == "A100");
  CHECK(short_gpu_model("NVIDIA A100-PCIE-40GB") == "A100");
  CHECK(short_gpu_model("NVIDIA H100 80GB HBM3") == "H100");
  CHECK(short_gpu_model("NVIDIA H100 PCIe") == "H100");
  CHECK(short_gpu_model("Tesla T4") == "T4");
  CHECK(short_gpu_model("Tesla V100-SXM2-16GB") == "V100");
  CHECK(short_gpu_model("NVIDIA L40S") == "L40S");
  CHECK(short_gpu_model("NVIDIA GH200 480GB") == "GH200");
  CHECK(short_gpu_model("NVIDIA GeForce RTX 4090") == "RTX4090");
  CHECK(short_gpu_model("NVIDIA RTX A6000") == "A6000");
  CHECK(short_gpu_model("") == "unknown");
  CHECK(sysfs_pci_address("00000000:3B:00.0") == "0000:3b:00.0");
  CHECK(sysfs_pci_address("0000:3b:00.0") == "0000:3b:00.0");
}

TEST_CASE("eight NVSwitch-connected H200s are one NVLink group") {
  g_machine = {};
  fake_pci pci;
  for (int i = 0; i < 8; ++i) {
    char bus[32];
    std::snprintf(bus, sizeof(bus), "00000000:%02X:00.0", 0x18 + i * 0x10);
    g_machine.gpus.push_back({"NVIDIA H200", 150'754'820'096ULL, bus, 0, i / 2});
    pci.numa(sysfs_pci_address(bus), i / 4);
  }
  std::string diagnostic;
  auto gpus = read_nvml_gpus(fake_api(), diagnostic, pci.root);
  REQUIRE(gpus.size() == 8);
  CHECK(groups(gpus) == std::vector<int32_t>(8, 0));
  CHECK(gpus[0].model == "H200");
  CHECK(gpus[0].memory_bytes == 150'754'820'096LL);
  CHECK(gpus[0].uuid == "GPU-fake-00000000:18:00.0");
  CHECK(gpus[3].numa_node == 0);
  CHECK(gpus[4].numa_node == 1);
  CHECK_FALSE(gpus[7].simulated);
  CHECK(diagnostic == "NVML: 8 of 8 GPUs read (groups are NVLink domains)");
  CHECK(g_machine.live_inits == 0);  // shut down again
}

TEST_CASE("NVLink islands, PCIe switches and NUMA nodes group GPUs in that order") {
  g_machine = {};
  fake_pci pci;
  // Two NVLink pairs and a lone GPU: islands 0 0 1 1 -1.
  int islands[] = {0, 0, 1, 1, -1};
  for (int i = 0; i < 5; ++i) {
    std::string bus = "00000000:0" + std::to_string(i + 1) + ":00.0";
    g_machine.gpus.push_back({"NVIDIA A100-SXM4-80GB", 80ULL << 30, bus, islands[i], i / 3});
    pci.numa(sysfs_pci_address(bus), i < 2 ? 0 : 1);
  }
  std::string diagnostic;
  CHECK(groups(read_nvml_gpus(fake_api(), diagnostic, pci.root)) ==
        std::vector<int32_t>{0, 0, 1, 1, 2});

  g_machine.nvlink_known = false;  // PCIe only: switches 0 0 0 1 1
  CHECK(groups(read_nvml_gpus(fake_api(), diagnostic, pci.root)) ==
        std::vector<int32_t>{0, 0, 0, 1, 1});
  CHECK(diagnostic.find("PCIe switch") != std::string::npos);

  g_machine.topology_known = false;  // only NUMA: 0 0 1 1 1
  CHECK(groups(read_nvml_gpus(fake_api(), diagnostic, pci.root)) ==
        std::vector<int32_t>{0, 0, 1, 1, 1});

  // Nothing known at all: -1.
  CHECK(groups(read_nvml_gpus(fake_api(), diagnostic, pci.root / "absent")) ==
        std::vector<int32_t>(5, -1));
}

TEST_CASE("NVML failures give a diagnostic, not a crash") {
  g_machine = {};
  g_machine.init_rc = 9;
  std::string diagnostic;
  CHECK(read_nvml_gpus(fake_api(), diagnostic).empty());
  CHECK(diagnostic == "nvmlInit_v2 failed: Driver Not Loaded; no real GPUs");

  g_machine = {};
  g_machine.gpus.push_back({"Tesla T4", 16ULL << 30, "00000000:01:00.0", -1, 0});
  g_machine.gpus.push_back({"Tesla T4", 16ULL << 30, "00000000:02:00.0", -1, 0, true});
  auto gpus = read_nvml_gpus(fake_api(), diagnostic, "/nonexistent");
  REQUIRE(gpus.size() == 1);
  CHECK(gpus[0].nvlink_group == 0);
  CHECK(gpus[0].numa_node == -1);
  CHECK(diagnostic ==
        "NVML: 1 of 2 GPUs read (one GPU: group 0); GPU 1 skipped: nvmlDeviceGetMemoryInfo "
        "failed: GPU is lost");
  CHECK(g_machine.live_inits == 0);
}

TEST_CASE("grouping rules on made-up facts") {
  std::vector<gpu_info> gpus(4);
  for (int i = 0; i < 4; ++i) gpus[i].numa_node = i < 3 ? 0 : -1;
  // Chain 0-1, 1-2 over NVLink: one component {0,1,2}, 3 alone.
  assign_nvlink_groups(gpus, [](size_t a, size_t b) {
    return gpu_pair_link{.nvlink = b == a + 1 && b < 3, .same_pcie_switch = std::nullopt};
  });
  CHECK(groups(gpus) == std::vector<int32_t>{0, 0, 0, 1});
  assign_nvlink_groups(gpus, [](size_t, size_t) { return gpu_pair_link{}; });
  CHECK(groups(gpus) == std::vector<int32_t>{0, 0, 0, -1});
  std::vector<gpu_info> none;
  CHECK(assign_nvlink_groups(none, [](size_t, size_t) { return gpu_pair_link{}; }) == "no GPUs");
}

TEST_CASE("tasks see NVML's GPUs by UUID, MPS limits by CUDA ordinal, around a skipped GPU") {
  g_machine = {};
  // Four GPUs, NVML index 1 lost: the node offers indices 0, 2 and 3.
  for (int i = 0; i < 4; ++i) {
    std::string bus = "00000000:" + std::to_string(40 - i * 10) + ":00.0";
    g_machine.gpus.push_back({"NVIDIA H100 80GB HBM3", 80ULL << 30, bus, -1, 0, i == 1});
  }
  std::string diagnostic;
  worker_facts facts;
  facts.gpus = read_nvml_gpus(fake_api(), diagnostic, "/nonexistent");
  REQUIRE(facts.gpus.size() == 3);
  CHECK(facts.gpus[1].index == 2);
  auto env_of = [&](std::vector<int32_t> gpus, int32_t milli) {
    task_spec t;
    t.task_id = "t";
    t.gpus = std::move(gpus);
    t.gpu_milli = milli;
    t.gpu_memory_bytes = int64_t{20} << 30;
    auto env = task_environment(t, facts, {});
    REQUIRE_MESSAGE(env.has_value(), env.error().message);
    return std::map<std::string, std::string>(env->begin(), env->end());
  };
  auto whole = env_of({3}, 1000);
  CHECK(whole["CUDA_VISIBLE_DEVICES"] == "GPU-fake-00000000:10:00.0");
  CHECK(whole.count("CUDA_MPS_PINNED_DEVICE_MEM_LIMIT") == 0);
  auto fraction = env_of({2}, 250);
  CHECK(fraction["CUDA_VISIBLE_DEVICES"] == "GPU-fake-00000000:20:00.0");
  CHECK(fraction["CUDA_MPS_ACTIVE_THREAD_PERCENTAGE"] == "25");
  CHECK(fraction["CUDA_MPS_PINNED_DEVICE_MEM_LIMIT"] == "0=20480M");
  auto multi = env_of({3, 0}, 1000);
  CHECK(multi["CUDA_VISIBLE_DEVICES"] == "GPU-fake-00000000:10:00.0,GPU-fake-00000000:40:00.0");
  auto lost =
      task_environment(task_spec{.task_id = "t", .gpus = {1}, .gpu_milli = 1000}, facts, {});
  CHECK_FALSE(lost.has_value());  // the skipped GPU is not this node's to give
}

TEST_CASE("a worker's /metrics shows its real GPUs' utilisation and memory in use from NVML") {
  g_machine = {};
  g_machine.gpus = {
      {.name = "NVIDIA H200",
       .memory = 141ULL << 30,
       .bus_id = "00000000:18:00.0",
       .used = 3ULL << 30,
       .busy_percent = 87},
      {.name = "NVIDIA H200", .memory = 141ULL << 30, .bus_id = "00000000:2A:00.0", .broken = true},
      {.name = "NVIDIA H200",
       .memory = 141ULL << 30,
       .bus_id = "00000000:3A:00.0",
       .used = 1ULL << 20,
       .busy_percent = -1}};
  std::string diagnostic;
  {
    nvml_load_reader reader(fake_api(), diagnostic);
    CHECK(diagnostic.empty());
    CHECK(g_machine.live_inits == 1);  // NVML stays initialized between scrapes
    auto load = reader.sample();
    REQUIRE(load.size() == 2);  // the GPU NVML cannot read is left out
    CHECK(load[0].index == 0);
    CHECK(load[0].utilization == doctest::Approx(0.87));
    CHECK(load[0].memory_used_bytes == int64_t{3} << 30);
    CHECK(load[1].index == 2);
    CHECK(load[1].utilization == -1);

    std::vector<gpu_info> gpus(3);
    for (int i = 0; i < 3; ++i)
      gpus[i] = {.index = i, .model = "H200", .memory_bytes = 141LL << 30};
    std::string text = http::worker_metrics_text("n1", gpus, {}, load);
    CHECK(text.find("gantry_worker_gpu_utilization_ratio{node=\"n1\",gpu=\"0\",model=\"H200\","
                    "simulated=\"false\"} 0.87") != std::string::npos);
    CHECK(text.find("gantry_worker_gpu_memory_used_bytes{node=\"n1\",gpu=\"0\",model=\"H200\","
                    "simulated=\"false\"} 3221225472") != std::string::npos);
    CHECK(text.find("gpu_utilization_ratio{node=\"n1\",gpu=\"2\"") == std::string::npos);
    CHECK(text.find("gpu_memory_used_bytes{node=\"n1\",gpu=\"2\"") != std::string::npos);
    CHECK(text.find("gpu=\"1\",model=\"H200\",simulated=\"false\"} 0") == std::string::npos);
  }
  CHECK(g_machine.live_inits == 0);

  g_machine.init_rc = 9;
  nvml_load_reader down(fake_api(), diagnostic);
  CHECK(diagnostic == "NVML: nvmlInit failed (Driver Not Loaded): no GPU utilisation on /metrics");
  CHECK(down.sample().empty());
}
