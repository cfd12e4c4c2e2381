#pragma once
// Lifecycle states of jobs, stages, ranks and nodes, and their names in output.
#include <optional>
#include <string_view>

namespace gantry {

enum class job_state { pending, running, succeeded, failed, cancelled };
// waiting: its `after` stages have not all succeeded yet.
enum class stage_state { waiting, pending, running, succeeded, failed, cancelled };
// starting: placed and a launch was sent; running: the worker reported the process.
enum class rank_state { pending, starting, running, succeeded, failed, cancelled };
// unknown: the coordinator restarted and the worker has not reconnected yet.
enum class node_state { ready, lost, cordoned, draining, unknown };

const char* to_string(job_state s);
const char* to_string(stage_state s);
const char* to_string(rank_state s);
const char* to_string(node_state s);

std::optional<job_state> parse_job_state(std::string_view s);
std::optional<node_state> parse_node_state(std::string_view s);

inline bool is_terminal(job_state s) {
  return s == job_state::succeeded || s == job_state::failed || s == job_state::cancelled;
}
inline bool is_terminal(stage_state s) {
  return s == stage_state::succeeded || s == stage_state::failed || s == stage_state::cancelled;
}
inline bool is_terminal(rank_state s) {
  return s == rank_state::succeeded || s == rank_state::failed || s == rank_state::cancelled;
}

}  // namespace gantry
