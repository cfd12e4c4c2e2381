// The GPU device rules (worker/device_rules.hpp) against a fake /dev listing.
#include <doctest/doctest.h>

#include "worker/device_rules.hpp"

using namespace gantry;

namespace {

// What a node with four GPUs has in /dev.
const std::vector<dev_entry> kDev{{"nvidia-caps", false, 0, 0},  {"nvidia-modeset", true, 195, 254},
                                  {"nvidia-uvm", true, 508, 0},  {"nvidia-uvm-tools", true, 508, 1},
                                  {"nvidia0", true, 195, 0},     {"nvidia1", true, 195, 1},
                                  {"nvidia2", true, 195, 2},     {"nvidia3", true, 195, 3},
                                  {"nvidiactl", true, 195, 255}, {"nvidia10x", true, 195, 9}};

// gpu_deny as the v1 devices controller takes it.
std::vector<std::string> gpu_deny_rules(const std::vector<dev_entry>& devs,
                                        const std::vector<int32_t>& gpus) {
  std::vector<std::string> lines;
  for (const auto& r : gpu_deny(devs, gpus)) lines.push_back(v1_deny_line(r));
  return lines;
}

}  // namespace

TEST_CASE("device rules: a task is denied every GPU file but its own, never the control files") {
  CHECK(gpu_deny_rules(kDev, {1, 3}) == std::vector<std::string>{"c 195:0 rwm", "c 195:2 rwm"});
  CHECK(gpu_deny_rules(kDev, {0, 1, 2, 3}).empty());
  // A CPU task gets no GPU at all; nvidiactl and nvidia-uvm stay open (not GPU files).
  CHECK(gpu_deny_rules(kDev, {}) ==
        std::vector<std::string>{"c 195:0 rwm", "c 195:1 rwm", "c 195:2 rwm", "c 195:3 rwm"});
  // No /dev/nvidia* (simulated GPUs): nothing to deny.
  CHECK(gpu_deny_rules({}, {0}).empty());
}

TEST_CASE("device rules: listing finds only nvidia character devices") {
  for (const auto& d : list_nvidia_devices("/dev")) {
    CHECK(d.name.rfind("nvidia", 0) == 0);
    CHECK(d.char_device);
  }
  CHECK(list_nvidia_devices("/no/such/dir").empty());
}
