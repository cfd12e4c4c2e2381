#include "worker/inventory/probe.hpp"

#include <vector>

#include "core/quantity.hpp"

namespace gantry::inventory {
namespace {

std::string describe_gpu(const gpu_info& g) {
  std::string line = "  gpu " + std::to_string(g.index) + ": " + g.model + " " +
                     format_bytes(g.memory_bytes) + ", nvlink_group " +
                     std::to_string(g.nvlink_group) + ", numa " + std::to_string(g.numa_node);
  if (!g.uuid.empty()) line += ", " + g.uuid;
  if (g.simulated) line += " (simulated)";
  return line;
}

std::string join(const std::vector<std::string>& items, std::string_view separator) {
  std::string out;
  for (const auto& item : items) {
    if (!out.empty()) out += separator;
    out += item;
  }
  return out;
}

}  // namespace

result<node_inventory> probe(const probe_options& opts, std::string* notes) {
  if (opts.cpu_milli && *opts.cpu_milli <= 0) {
    return fail(errc::invalid_argument,
                "--cpus: must be above 0 (got " + std::to_string(*opts.cpu_milli) + "m)");
  }
  if (opts.memory_bytes && *opts.memory_bytes <= 0) {
    return fail(errc::invalid_argument,
                "--memory: must be above 0 (got " + std::to_string(*opts.memory_bytes) + " bytes)");
  }
  if (opts.simulate_dpus < 0) {
    return fail(errc::invalid_argument, "--simulate-dpus: must be 0 or more (got " +
                                            std::to_string(opts.simulate_dpus) + ")");
  }
  std::vector<gpu_info> simulated_gpus;
  if (!opts.simulate_gpus.empty()) {
    auto parsed = parse_simulated_gpus(opts.simulate_gpus);
    if (!parsed) return fail(errc::invalid_argument, "--simulate-gpus: " + parsed.error().message);
    simulated_gpus = std::move(*parsed);
  }

  std::vector<std::string> lines;
  node_inventory inv;
  inv.hostname = probe_hostname();
  inv.name = opts.name.empty() ? inv.hostname : opts.name;
  inv.labels = opts.labels;
  lines.push_back("node: " + inv.name + " (host " + inv.hostname + ")");

  std::string how;
  if (opts.cpu_milli) {
    inv.cpu_milli = *opts.cpu_milli;
    lines.push_back("cpu: " + format_cpu(inv.cpu_milli) + " from --cpus");
  } else {
    inv.cpu_milli = probe_cpu_milli(&how);
    lines.push_back(how + " -> " + format_cpu(inv.cpu_milli));
  }
  if (opts.memory_bytes) {
    inv.memory_bytes = *opts.memory_bytes;
    lines.push_back("memory: " + format_bytes(inv.memory_bytes) + " from --memory");
  } else {
    inv.memory_bytes = probe_memory_bytes(&how);
    lines.push_back(how + " -> " + format_bytes(inv.memory_bytes));
  }

  if (!opts.simulate_gpus.empty()) {
    inv.gpus = std::move(simulated_gpus);
    lines.push_back("gpus: " + std::to_string(inv.gpus.size()) +
                    " simulated from --simulate-gpus " + opts.simulate_gpus +
                    " (real GPUs not probed)");
  } else {
    std::string diagnostic;
    inv.gpus = probe_nvml_gpus(diagnostic);
    lines.push_back("gpus: " + std::to_string(inv.gpus.size()) + " (" + diagnostic + ")");
  }
  for (const auto& g : inv.gpus) lines.push_back(describe_gpu(g));

  if (opts.simulate_dpus > 0) {
    inv.dpus = make_simulated_dpus(opts.simulate_dpus);
    lines.push_back("dpus: " + std::to_string(inv.dpus.size()) +
                    " simulated BlueField-3 from --simulate-dpus");
  } else {
    inv.dpus = probe_pci_dpus();
    std::vector<std::string> models;
    for (const auto& d : inv.dpus) models.push_back(d.model);
    lines.push_back("dpus: " + std::to_string(inv.dpus.size()) + " BlueField on the PCI bus" +
                    (models.empty() ? "" : " (" + join(models, ", ") + ")"));
  }

  std::string diagnostic;
  inv.fabrics = probe_fabric_providers(diagnostic);
  lines.push_back("fabrics: " + (inv.fabrics.empty() ? "none" : join(inv.fabrics, ", ")) + " (" +
                  diagnostic + ")");

  if (notes) *notes = join(lines, "\n");
  return inv;
}

}  // namespace gantry::inventory
