#include "worker/device_rules.hpp"

#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <algorithm>
#include <filesystem>

namespace gantry {

std::string v1_deny_line(const device_rule& r) {
  return std::string(1, r.type) + " " + std::to_string(r.major) + ":" + std::to_string(r.minor) +
         " rwm";
}

std::vector<dev_entry> list_nvidia_devices(const std::string& dir) {
  std::vector<dev_entry> out;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
    std::string name = e.path().filename().string();
    if (name.rfind("nvidia", 0) != 0) continue;
    struct stat sb {};
    if (::stat(e.path().c_str(), &sb) != 0 || !S_ISCHR(sb.st_mode)) continue;
    out.push_back({name, true, major(sb.st_rdev), minor(sb.st_rdev)});
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
  return out;
}

std::vector<device_rule> gpu_deny(const std::vector<dev_entry>& devs,
                                  const std::vector<int32_t>& gpus) {
  std::vector<device_rule> rules;
  for (const auto& d : devs) {
    if (!d.char_device || d.name.size() <= 6) continue;
    std::string digits = d.name.substr(6);  // "nvidia3" -> "3"; nvidiactl etc. are not GPUs
    if (digits.find_first_not_of("0123456789") != std::string::npos) continue;
    int32_t index = std::stoi(digits);
    if (std::find(gpus.begin(), gpus.end(), index) != gpus.end()) continue;
    rules.push_back({'c', d.major, d.minor});
  }
  return rules;
}

}  // namespace gantry
