#pragma once
// Human tables and the `--json` documents of the client commands (keys in
// docs/cli.md; the ones scripts rely on are fixed by the user contract).
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/coordinator_api.hpp"
#include "core/records.hpp"

namespace gantry::cli {

nlohmann::json jobs_json(const std::vector<job_summary>& jobs);
// How each node shares its GPUs (node name -> "mps" | "time-sliced"), for the ranks that
// share one; a rank whose node is not in it is shown without.
using gpu_sharing_map = std::map<std::string, std::string>;

nlohmann::json job_json(const job_record& job, const gpu_sharing_map& sharing = {});
nlohmann::json nodes_json(const std::vector<node_status>& nodes);
nlohmann::json event_json(const job_event& e);
// `queue list --json`: [{name, guarantee, limit, weight, usage, borrowed, pending, ...}],
// quotas as {cpu (cores), memory_bytes, gpu (GPUs)}, an unlimited dimension null.
nlohmann::json queues_json(const std::vector<queue_info>& queues);

std::string jobs_table(const std::vector<job_summary>& jobs, int64_t now_ms);
std::string job_text(const job_record& job, const gpu_sharing_map& sharing = {});
std::string nodes_table(const std::vector<node_status>& nodes);
// Quotas as `gpu=8,cpu=64,memory=512GiB` ("-" for none).
std::string queues_table(const std::vector<queue_info>& queues);
// One line per event: "06:50:01.123  #4  greet/0  running on dev-1 (pid 1234)".
std::string event_line(const job_event& e);

// Left-aligned columns separated by two spaces; the first row is the header.
std::string render_table(const std::vector<std::vector<std::string>>& rows);

}  // namespace gantry::cli
