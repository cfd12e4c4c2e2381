#pragma once
// Which GPU device files a task may not open: every /dev/nvidia<N> but its own GPUs'. The
// shared control files (nvidiactl, nvidia-uvm, nvidia-uvm-tools, nvidia-modeset, nvidia-caps)
// stay open to all tasks, as CUDA needs them. N is taken as the GPU's index, which is the
// device's minor number on the usual installs (docs/isolation.md).
#include <cstdint>
#include <string>
#include <vector>

namespace gantry {

struct dev_entry {
  std::string name;  // "nvidia3", relative to /dev
  bool char_device = false;
  uint32_t major = 0, minor = 0;
};

// One device a task may not open (read, write or mknod).
struct device_rule {
  char type = 'c';  // 'c' character, 'b' block
  uint32_t major = 0, minor = 0;
  bool operator==(const device_rule&) const = default;
};

// The rule as the v1 devices controller's devices.deny takes it: "c 195:3 rwm".
std::string v1_deny_line(const device_rule& r);

// The character devices directly in `dir` whose names start with "nvidia".
std::vector<dev_entry> list_nvidia_devices(const std::string& dir = "/dev");

// The per-GPU files in `devs` that are not in `gpus`, in `devs`' order.
std::vector<device_rule> gpu_deny(const std::vector<dev_entry>& devs,
                                  const std::vector<int32_t>& gpus);

}  // namespace gantry
