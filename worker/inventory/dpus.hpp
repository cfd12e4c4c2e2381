#pragma once
// Real DPUs: NVIDIA (Mellanox) BlueField cards found on the PCI bus.
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string_view>
#include <vector>

#include "core/resources.hpp"

namespace gantry::inventory {

inline constexpr uint32_t kMellanoxVendorId = 0x15b3;

// The BlueField generation of a PCI function, from its vendor and device id:
// 0xa2d2 "BlueField", 0xa2d6 "BlueField-2", 0xa2dc "BlueField-3", 0xa2d9 "BlueField-3 Lx"
// (the integrated ConnectX network functions). nullopt for anything else.
std::optional<std::string_view> bluefield_model(uint32_t vendor, uint32_t device);

// Scans `pci_devices` (normally /sys/bus/pci/devices: one directory per function, with
// `vendor` and `device` files such as "0x15b3"). One DPU per card: the functions of one
// slot (domain:bus:device, e.g. the two ports .0 and .1) count once; virtual functions
// (a `physfn` link) are ignored. Indices follow PCI address order. Missing dir -> empty.
std::vector<dpu_info> probe_pci_dpus(
    const std::filesystem::path& pci_devices = "/sys/bus/pci/devices");

}  // namespace gantry::inventory
