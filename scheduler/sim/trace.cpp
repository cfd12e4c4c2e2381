// Trace input for `gantry sim`: CSV node and task lists, seed lists, and the paper's
// per-seed task order.
#include <algorithm>
#include <charconv>
#include <set>

#include "scheduler/random.hpp"
#include "scheduler/sim/csv.hpp"
#include "scheduler/sim/sim.hpp"

namespace gantry::sched {

using csv::csv_file;

namespace {

constexpr int64_t kMaxMilliCpu = int64_t{1} << 40;
constexpr int64_t kMaxMib = int64_t{1} << 40;

}  // namespace

result<std::vector<node_inventory>> read_sim_nodes(const std::string& path) {
  csv_file csv;
  const std::string name_col = "sn";
  if (auto r = csv.open(path, {"cpu_milli", "memory_mib", "gpu", "model"}); !r)
    return fail(r.error());
  const std::string key = csv.has(name_col) ? name_col : "name";
  if (!csv.has(key))
    return fail(errc::invalid_argument, path + ":1:1: header lacks column 'sn' (or 'name')");
  std::vector<node_inventory> nodes;
  std::set<std::string> seen;
  for (size_t line = 2; line <= csv.rows(); ++line) {
    if (csv.blank(line)) continue;
    auto name = csv.field(line, key);
    if (!name) return fail(name.error());
    if (name->text.empty() || !seen.insert(std::string(name->text)).second)
      return fail(errc::invalid_argument,
                  csv.where(line, name->column) + ": " + key + ": empty or duplicate node name");
    auto cpu = csv.integer(line, "cpu_milli", 0, kMaxMilliCpu);
    if (!cpu) return fail(cpu.error());
    auto mem = csv.integer(line, "memory_mib", 0, kMaxMib);
    if (!mem) return fail(mem.error());
    auto gpus = csv.integer(line, "gpu", 0, 1024);
    if (!gpus) return fail(gpus.error());
    auto model = csv.field(line, "model");
    if (!model) return fail(model.error());
    node_inventory n;
    n.name = n.hostname = std::string(name->text);
    n.cpu_milli = *cpu;
    n.memory_bytes = *mem << 20;
    for (int32_t i = 0; i < *gpus; ++i) {
      gpu_info g;
      g.index = i;
      g.model = std::string(model->text);
      g.simulated = true;
      n.gpus.push_back(g);
    }
    nodes.push_back(std::move(n));
  }
  if (nodes.empty()) return fail(errc::invalid_argument, path + ":2:1: no nodes");
  return nodes;
}

result<std::vector<sim_task>> read_sim_tasks(const std::string& path) {
  csv_file csv;
  if (auto r = csv.open(path, {"name", "cpu_milli", "memory_mib", "num_gpu", "gpu_milli"}); !r)
    return fail(r.error());
  std::vector<sim_task> tasks;
  for (size_t line = 2; line <= csv.rows(); ++line) {
    if (csv.blank(line)) continue;
    auto name = csv.field(line, "name");
    if (!name) return fail(name.error());
    auto cpu = csv.integer(line, "cpu_milli", 0, kMaxMilliCpu);
    if (!cpu) return fail(cpu.error());
    auto mem = csv.integer(line, "memory_mib", 0, kMaxMib);
    if (!mem) return fail(mem.error());
    auto count = csv.integer(line, "num_gpu", 0, 1024);
    if (!count) return fail(count.error());
    auto milli = csv.integer(line, "gpu_milli", 0, kGpuMilliWhole);
    if (!milli) return fail(milli.error());
    auto bad_milli = [&](const std::string& why) -> result<std::vector<sim_task>> {
      auto f = csv.field(line, "gpu_milli");
      return fail(errc::invalid_argument, csv.where(line, f ? f->column : 1) + ": gpu_milli: " +
                                              why + ", got " + std::to_string(*milli));
    };
    if (*count == 0 && *milli != 0) return bad_milli("must be 0 when num_gpu is 0");
    if (*count > 0 && *milli == 0) return bad_milli("must be 1..1000 when num_gpu > 0");
    if (*count > 1 && *milli != kGpuMilliWhole)
      return bad_milli("must be 1000 when num_gpu > 1 (fractions take one GPU)");
    sim_task t;
    t.name = std::string(name->text);
    t.resources.cpu_milli = *cpu;
    t.resources.memory_bytes = *mem << 20;
    t.resources.gpu_count = static_cast<int32_t>(*count);
    t.resources.gpu_milli = static_cast<int32_t>(*milli);
    if (csv.has("gpu_spec")) {
      auto spec = csv.field(line, "gpu_spec", true);
      if (!spec) return fail(spec.error());
      std::string_view s = spec->text;
      while (!s.empty()) {
        const size_t bar = s.find('|');
        std::string_view m = s.substr(0, bar);
        if (!m.empty()) t.resources.gpu_models.emplace_back(m);
        if (bar == std::string_view::npos) break;
        s.remove_prefix(bar + 1);
      }
    }
    tasks.push_back(std::move(t));
  }
  if (tasks.empty()) return fail(errc::invalid_argument, path + ":2:1: no tasks");
  return tasks;
}

result<std::vector<uint64_t>> parse_seeds(std::string_view text) {
  std::vector<uint64_t> seeds;
  auto number = [](std::string_view s, uint64_t& v) {
    const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    return !s.empty() && ec == std::errc() && p == s.data() + s.size();
  };
  auto bad = [&](const std::string& why) {
    return fail(errc::invalid_argument,
                "--seeds '" + std::string(text) + "': " + why + " (expected 42, 42..51 or 1,2,3)");
  };
  if (text.empty()) return bad("empty");
  while (true) {
    const size_t comma = text.find(',');
    const std::string_view item = text.substr(0, comma);
    const size_t dots = item.find("..");
    uint64_t a = 0, b = 0;
    if (dots == std::string_view::npos) {
      if (!number(item, a)) return bad("'" + std::string(item) + "' is not a number");
      b = a;
    } else if (!number(item.substr(0, dots), a) || !number(item.substr(dots + 2), b)) {
      return bad("'" + std::string(item) + "' is not a range A..B");
    }
    if (b < a) return bad("range " + std::string(item) + " runs backwards");
    if (b - a >= 100000 || seeds.size() + (b - a) >= 100000) return bad("too many seeds");
    for (uint64_t s = a;; ++s) {
      seeds.push_back(s);
      if (s == b) break;
    }
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
  }
  return seeds;
}

std::vector<const sim_task*> sim_order(const std::vector<sim_task>& tasks, uint64_t seed,
                                       double load, int64_t cluster_gpu_milli) {
  std::vector<const sim_task*> order;
  for (const auto& t : tasks) order.push_back(&t);
  std::stable_sort(order.begin(), order.end(),
                   [](const sim_task* a, const sim_task* b) { return a->name < b->name; });
  rng gen(seed ^ 0x5eedf00dULL);
  for (size_t i = order.size(); i > 1; --i) std::swap(order[i - 1], order[gen.below(i)]);
  const double target = load * static_cast<double>(cluster_gpu_milli);
  int64_t demand = 0;
  for (const auto* t : order) demand += t->gpu_demand();
  const bool any_gpu =
      std::any_of(tasks.begin(), tasks.end(), [](const sim_task& t) { return t.gpu_demand() > 0; });
  if (!any_gpu) return order;
  if (static_cast<double>(demand) < target) {
    while (true) {  // append draws with replacement while they keep demand within target
      const sim_task* t = &tasks[gen.below(tasks.size())];
      if (static_cast<double>(demand + t->gpu_demand()) > target) break;
      demand += t->gpu_demand();
      order.push_back(t);
    }
  } else {
    while (static_cast<double>(demand) > target && !order.empty()) {
      const size_t i = gen.below(order.size());
      demand -= order[i]->gpu_demand();
      order.erase(order.begin() + static_cast<std::ptrdiff_t>(i));
    }
  }
  return order;
}

}  // namespace gantry::sched
