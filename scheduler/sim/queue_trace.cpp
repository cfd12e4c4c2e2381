// `gantry sim --queues`: the queue list CSV.
#include <set>

#include "scheduler/sim/csv.hpp"
#include "scheduler/sim/queue_sim.hpp"

namespace gantry::sched {

namespace {

// "guarantee_gpu" etc.: one amount each, parsed as the CLI's gpu=, cpu=, memory= items.
result<void> read_amounts(const csv::csv_file& csv, size_t line, const std::string& prefix,
                          queue_resources& out) {
  for (const char* dim : {"gpu", "cpu", "memory"}) {
    const std::string column = prefix + "_" + dim;
    if (!csv.has(column)) continue;
    auto f = csv.field(line, column, true);
    if (!f) return fail(f.error());
    if (f->text.empty()) continue;
    auto v = parse_queue_resources(std::string(dim) + "=" + std::string(f->text));
    if (!v)
      return fail(errc::invalid_argument,
                  csv.where(line, f->column) + ": " + column + ": " + v.error().message);
    if (std::string_view(dim) == "gpu") out.gpu_milli = v->gpu_milli;
    if (std::string_view(dim) == "cpu") out.cpu_milli = v->cpu_milli;
    if (std::string_view(dim) == "memory") out.memory_bytes = v->memory_bytes;
  }
  return {};
}

}  // namespace

result<std::vector<sim_queue>> read_sim_queues(const std::string& path) {
  csv::csv_file csv;
  if (auto r = csv.open(path, {"name"}); !r) return fail(r.error());
  std::vector<sim_queue> queues;
  std::set<std::string> seen;
  for (size_t line = 2; line <= csv.rows(); ++line) {
    if (csv.blank(line)) continue;
    auto name = csv.field(line, "name");
    if (!name) return fail(name.error());
    sim_queue q;
    q.spec.name = std::string(name->text);
    if (!seen.insert(q.spec.name).second)
      return fail(errc::invalid_argument,
                  csv.where(line, name->column) + ": name: duplicate queue " + q.spec.name);
    auto weight = csv.real(line, "weight", 1e-6, 1e6, 1);
    if (!weight) return fail(weight.error());
    q.spec.weight = *weight;
    if (auto r = read_amounts(csv, line, "guarantee", q.spec.guarantee); !r) return fail(r.error());
    // Limits start unlimited: only the dimensions given are limited.
    if (auto r = read_amounts(csv, line, "limit", q.spec.limit); !r) return fail(r.error());
    if (auto v = validate(q.spec); !v)
      return fail(errc::invalid_argument, csv.where(line, 1) + ": " + v.error().message);
    auto start = csv.real(line, "start_s", 0, 1e9, 0);
    if (!start) return fail(start.error());
    auto stop = csv.real(line, "stop_s", 0, 1e9, -1);
    if (!stop) return fail(stop.error());
    auto backlog = csv.real(line, "backlog", 1, 100000, 20);
    if (!backlog) return fail(backlog.error());
    auto grace = csv.real(line, "grace_s", 0, 86400, 30);
    if (!grace) return fail(grace.error());
    q.start_s = *start;
    q.stop_s = *stop;
    q.backlog = static_cast<int32_t>(*backlog);
    q.grace_s = *grace;
    queues.push_back(std::move(q));
  }
  if (queues.empty()) return fail(errc::invalid_argument, path + ":2:1: no queues");
  return queues;
}

}  // namespace gantry::sched
