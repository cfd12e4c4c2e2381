#pragma once
// Figures of the benchmarks: statistics over repeated runs, table rows with their targets,
// JSON, the physical floors measured in the same run, and command-line flags.
#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace gantry::bench {

struct summary {
  size_t n = 0;
  double median = 0, p99 = 0, max = 0, min = 0, mean = 0;
};
summary summarize(std::vector<double> values);  // p99 by nearest rank
nlohmann::json to_json(const summary& s);
// One table row: name, median, p99/max, and the target (<= target, on the p99 when
// target_on_p99, else the median) with "ok" or "MISSED"; target < 0 = none.
void print_header(const std::string& title);
void print_row(const std::string& name, const summary& s, double target = -1,
               bool target_on_p99 = false);
// The summary as JSON, with the target and whether it was met.
nlohmann::json figure(const summary& s, const std::string& unit, double target = -1,
                      bool target_on_p99 = false);

// Physical floors on this machine, measured now: loopback TCP round trip, fdatasync of a 4 KiB
// write in `dir` (the disk the coordinator's store uses), fork+exec+wait of /bin/true.
struct floors {
  double tcp_rtt_us = 0, fdatasync_ms = 0, spawn_ms = 0;
};
floors measure_floors(const std::string& dir);
void print_floors(const floors& f);
nlohmann::json to_json(const floors& f);

// --name VALUE flags; `allowed` maps each flag to its default. --help prints usage and exits
// 0; an unknown flag or a missing value prints usage and exits 2.
std::map<std::string, std::string> parse_flags(int argc, char** argv,
                                               std::map<std::string, std::string> allowed,
                                               const std::string& usage);
std::vector<int64_t> parse_list(const std::string& csv);            // "10000,100000"
void write_json(const std::string& path, const nlohmann::json& j);  // no-op for ""

}  // namespace gantry::bench
