#include "worker/inventory/dpus.hpp"

#include <charconv>
#include <fstream>
#include <set>
#include <string>
#include <system_error>

namespace gantry::inventory {
namespace {

namespace fs = std::filesystem;

// A sysfs id file ("0x15b3\n") as a number; nullopt when unreadable.
std::optional<uint32_t> read_hex_id(const fs::path& file) {
  std::ifstream in(file);
  std::string text;
  if (!(in >> text)) return std::nullopt;
  std::string_view digits = text;
  if (digits.starts_with("0x") || digits.starts_with("0X")) digits.remove_prefix(2);
  uint32_t v = 0;
  auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), v, 16);
  if (digits.empty() || ec != std::errc() || ptr != digits.data() + digits.size()) {
    return std::nullopt;
  }
  return v;
}

}  // namespace

std::optional<std::string_view> bluefield_model(uint32_t vendor, uint32_t device) {
  if (vendor != kMellanoxVendorId) return std::nullopt;
  switch (device) {
    case 0xa2d2:
      return "BlueField";
    case 0xa2d6:
      return "BlueField-2";
    case 0xa2dc:
      return "BlueField-3";
    case 0xa2d9:
      return "BlueField-3 Lx";
    default:
      return std::nullopt;
  }
}

std::vector<dpu_info> probe_pci_dpus(const fs::path& pci_devices) {
  std::error_code ec;
  std::set<std::string> addresses;  // sorted: PCI address order
  for (fs::directory_iterator it(pci_devices, ec), end; !ec && it != end; it.increment(ec)) {
    addresses.insert(it->path().filename().string());
  }
  std::vector<dpu_info> dpus;
  std::set<std::string> slots;
  for (const std::string& address : addresses) {
    const fs::path dir = pci_devices / address;
    if (fs::exists(dir / "physfn", ec)) continue;  // an SR-IOV virtual function
    auto vendor = read_hex_id(dir / "vendor");
    auto device = read_hex_id(dir / "device");
    if (!vendor || !device) continue;
    auto model = bluefield_model(*vendor, *device);
    if (!model) continue;
    std::string slot = address.substr(0, address.rfind('.'));  // "0000:82:00.1" -> "0000:82:00"
    if (!slots.insert(slot).second) continue;
    dpus.push_back(dpu_info{.index = static_cast<int32_t>(dpus.size()),
                            .model = std::string(*model),
                            .simulated = false});
  }
  return dpus;
}

}  // namespace gantry::inventory
