#include "worker/inventory/simulated.hpp"

#include <cctype>
#include <charconv>
#include <string>

#include "core/quantity.hpp"

namespace gantry::inventory {
namespace {

constexpr int kMaxCount = 64;
constexpr int kGpusPerNvlinkGroup = 8;

struct gpu_part {
  int count = 0;
  std::string model;
  int64_t memory_bytes = 0;
};

std::string_view trim_space(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

std::unexpected<error> bad(std::string_view quoted, std::string_view problem) {
  return fail(errc::invalid_argument, "simulated GPU spec \"" + std::string(quoted) +
                                          "\": " + std::string(problem) + "; " +
                                          std::string(kSimulatedGpuForm));
}

bool valid_model(std::string_view model) {
  for (char c : model) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-') return false;
  }
  return !model.empty();
}

// One "<count>x<model>:<memory>".
result<gpu_part> parse_part(std::string_view part) {
  size_t digits = 0;
  while (digits < part.size() && std::isdigit(static_cast<unsigned char>(part[digits]))) ++digits;
  if (digits == 0) return bad(part, "missing <count> before 'x'");
  std::string_view count_text = part.substr(0, digits);
  if (digits == part.size() || part[digits] != 'x') {
    return bad(part, "missing 'x' after the count " + std::string(count_text));
  }
  gpu_part out;
  auto [ptr, ec] = std::from_chars(count_text.data(), count_text.data() + digits, out.count);
  if (ec != std::errc() || out.count < 1 || out.count > kMaxCount) {
    return bad(part, "count " + std::string(count_text) + " is not between 1 and " +
                         std::to_string(kMaxCount));
  }
  std::string_view rest = part.substr(digits + 1);
  size_t colon = rest.find(':');
  if (colon == std::string_view::npos) return bad(part, "missing \":<memory>\"");
  std::string_view model = rest.substr(0, colon);
  if (model.empty()) return bad(part, "missing <model> between 'x' and ':'");
  if (!valid_model(model)) {
    return bad(part, "model \"" + std::string(model) + "\" may use only letters, digits and '-'");
  }
  out.model = std::string(model);
  std::string_view memory = rest.substr(colon + 1);
  if (memory.empty()) return bad(part, "missing <memory> after ':'");
  auto bytes = parse_bytes(memory);
  if (!bytes) return bad(part, "memory " + bytes.error().message);
  if (*bytes <= 0) return bad(part, "memory \"" + std::string(memory) + "\" must be above 0");
  out.memory_bytes = *bytes;
  return out;
}

}  // namespace

result<std::vector<gpu_info>> parse_simulated_gpus(std::string_view spec) {
  std::string_view whole = trim_space(spec);
  if (whole.empty()) {
    return fail(errc::invalid_argument,
                "simulated GPU spec is empty; " + std::string(kSimulatedGpuForm));
  }
  std::vector<gpu_part> parts;
  std::string_view rest = whole;
  for (int number = 1;; ++number) {
    size_t comma = rest.find(',');
    std::string_view part = trim_space(rest.substr(0, comma));
    if (part.empty()) return bad(whole, "part " + std::to_string(number) + " is empty");
    auto parsed = parse_part(part);
    if (!parsed) return fail(parsed.error());
    parts.push_back(std::move(*parsed));
    if (comma == std::string_view::npos) break;
    rest = rest.substr(comma + 1);
  }
  int total = 0;
  for (const auto& p : parts) total += p.count;
  std::vector<gpu_info> gpus;
  gpus.reserve(static_cast<size_t>(total));
  for (const auto& p : parts) {
    for (int k = 0; k < p.count; ++k) {
      const int32_t index = static_cast<int32_t>(gpus.size());
      gpu_info g;
      g.index = index;
      g.model = p.model;
      g.memory_bytes = p.memory_bytes;
      g.nvlink_group = index / kGpusPerNvlinkGroup;
      g.numa_node = index * 2 / total;
      g.uuid = "SIM-" + p.model + "-" + std::to_string(index);
      g.simulated = true;
      gpus.push_back(std::move(g));
    }
  }
  return gpus;
}

std::vector<dpu_info> make_simulated_dpus(int count) {
  std::vector<dpu_info> dpus;
  for (int i = 0; i < count; ++i) {
    dpus.push_back(dpu_info{.index = i, .model = "BlueField-3 (simulated)", .simulated = true});
  }
  return dpus;
}

}  // namespace gantry::inventory
