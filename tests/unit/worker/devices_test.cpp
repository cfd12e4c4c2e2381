// DPUs from a fake PCI bus, and libfabric providers on this machine.
#include <doctest/doctest.h>
#include <stdlib.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "worker/inventory/dpus.hpp"
#include "worker/inventory/fabric.hpp"

using namespace gantry::inventory;
namespace fs = std::filesystem;

namespace {

struct fake_bus {
  fake_bus() {
    std::string pattern = (fs::temp_directory_path() / "gantry-bus-XXXXXX").string();
    root = mkdtemp(pattern.data());
  }
  ~fake_bus() {
    std::error_code ec;
    fs::remove_all(root, ec);
  }
  fs::path add(const std::string& address, const char* vendor, const char* device) const {
    fs::create_directories(root / address);
    std::ofstream(root / address / "vendor") << vendor << "\n";
    std::ofstream(root / address / "device") << device << "\n";
    return root / address;
  }
  fs::path root;
};

}  // namespace

TEST_CASE("BlueField cards on the PCI bus are DPUs, one per card") {
  fake_bus bus;
  bus.add("0000:00:00.0", "0x8086", "0x1237");  // host bridge
  bus.add("0000:02:00.0", "0x15b3", "0x101d");  // a plain ConnectX-6 Dx NIC
  bus.add("0000:82:00.0", "0x15b3", "0xa2dc");  // BlueField-3 port 0
  bus.add("0000:82:00.1", "0x15b3", "0xa2dc");  // BlueField-3 port 1 (same card)
  bus.add("0000:82:00.2", "0x15b3", "0xc2d5");  // its SoC management function
  bus.add("0000:c1:00.0", "0x15b3", "0xa2d6");  // BlueField-2
  fs::path vf = bus.add("0000:c1:00.3", "0x15b3", "0xa2d6");
  fs::create_directories(vf / "physfn");         // a virtual function: ignored
  bus.add("0000:d0:00.0", "garbage", "0xa2dc");  // unreadable vendor
  auto dpus = probe_pci_dpus(bus.root);
  REQUIRE(dpus.size() == 2);
  CHECK(dpus[0].index == 0);
  CHECK(dpus[0].model == "BlueField-3");
  CHECK_FALSE(dpus[0].simulated);
  CHECK(dpus[1].index == 1);
  CHECK(dpus[1].model == "BlueField-2");
  CHECK(probe_pci_dpus(bus.root / "absent").empty());
  CHECK(bluefield_model(0x15b3, 0xa2d2) == "BlueField");
  CHECK_FALSE(bluefield_model(0x10de, 0xa2dc).has_value());
}

TEST_CASE("scanning the real PCI bus for DPUs does not fail") {
  // The development machines have none; a real DPU host would list them here.
  MESSAGE("DPUs found: " << probe_pci_dpus().size());
}

TEST_CASE("a layered provider chain names its core provider first") {
  CHECK(core_provider_name("tcp;ofi_rxm") == "tcp");
  CHECK(core_provider_name("udp;ofi_rxd") == "udp");
  CHECK(core_provider_name("verbs") == "verbs");
}

TEST_CASE("fabric discovery lists tcp") {
  std::string diagnostic;
  std::vector<std::string> providers = probe_fabric_providers(diagnostic);
  INFO("diagnostic: " << diagnostic);
  CHECK(std::find(providers.begin(), providers.end(), "tcp") != providers.end());
  CHECK(std::is_sorted(providers.begin(), providers.end()));
  CHECK(std::adjacent_find(providers.begin(), providers.end()) == providers.end());
  // Layered stacks keep their chain, and their core provider is listed too.
  CHECK(std::find(providers.begin(), providers.end(), "tcp;ofi_rxm") != providers.end());
  for (const auto& p : providers)
    CHECK(std::find(providers.begin(), providers.end(), core_provider_name(p)) != providers.end());
  CHECK(diagnostic.starts_with("libfabric 1."));
}
