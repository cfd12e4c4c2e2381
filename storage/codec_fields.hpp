#pragma once
// Internal to storage/codec*.cpp: the one list of each record's JSON fields, in output order,
// which the codec (storage/codec.cpp) both writes and reads. A visitor is called as v(name, member)
// or v(name, member, kRequired); a required string must be present and non-empty, any other
// required field present.
#include <concepts>
#include <type_traits>

#include "core/records.hpp"
#include "storage/codec.hpp"

namespace gantry::codec {

inline constexpr bool kRequired = true;

template <class T, class U>
concept record_of = std::same_as<std::remove_const_t<T>, U>;

template <class V, record_of<resource_request> T>
void fields(V& v, T& r) {
  v("cpu_milli", r.cpu_milli);
  v("memory_bytes", r.memory_bytes);
  v("gpu_count", r.gpu_count);
  v("gpu_milli", r.gpu_milli);
  v("gpu_memory_bytes", r.gpu_memory_bytes);
  v("gpu_models", r.gpu_models);
  v("dpus", r.dpus);
}

template <class V, record_of<checkpoint_spec> T>
void fields(V& v, T& r) {
  v("dir", r.dir);
  v("signal", r.signal);
  v("grace_ms", r.grace_ms);
}

template <class V, record_of<stage_spec> T>
void fields(V& v, T& r) {
  v("name", r.name);
  v("device", r.device);
  v("replicas", r.replicas);
  v("resources", r.resources);
  v("env", r.env);
  v("command", r.command);
  v("working_dir", r.working_dir);
  v("after", r.after);
  v("collective", r.collective);
  v("placement", r.placement);
  v("checkpoint", r.checkpoint);  // omitted when there is none
  v("colocate_with", r.colocate_with);
  v("fabric", r.fabric);
  v("node_selector", r.node_selector);
  v("no_retry_exit_codes", r.no_retry_exit_codes);
  v("time_limit_ms", r.time_limit_ms);
}

template <class V, record_of<job_spec> T>
void fields(V& v, T& r) {
  v("name", r.name);
  v("queue", r.queue);
  v("priority", r.priority);
  v("max_restarts", r.max_restarts);
  v("time_limit_ms", r.time_limit_ms);
  v("restart_on_time_limit", r.restart_on_time_limit);
  v("stages", r.stages);
}

template <class V, record_of<rank_record> T>
void fields(V& v, T& r) {
  v("rank", r.rank);
  v("state", r.state);
  v("node", r.node);
  v("pid", r.pid);
  v("attempt", r.attempt);
  v("gpus", r.gpus);
  v("gpu_milli", r.gpu_milli);
  v("gpu_memory_bytes", r.gpu_memory_bytes);
  v("exit_code", r.exit_code);
  v("task_id", r.task_id);
  v("reason", r.reason);
  v("token_id", r.token_id);
  v("token_hash", r.token_hash);
  v("usage", r.usage);
}

template <class V, record_of<task_usage> T>
void fields(V& v, T& r) {
  v("peak_memory_bytes", r.peak_memory_bytes);
  v("cpu_usec", r.cpu_usec);
  v("wall_ms", r.wall_ms);
}

template <class V, record_of<stage_record> T>
void fields(V& v, T& r) {
  v("name", r.name);
  v("state", r.state);
  v("reason", r.reason);
  v("checkpoint_step", r.checkpoint_step);
  v("restarts", r.restarts);
  v("ranks", r.ranks);
}

template <class V, record_of<job_record> T>
void fields(V& v, T& r) {
  v("id", r.id, kRequired);
  v("owner", r.owner);
  v("state", r.state);
  v("reason", r.reason);
  v("restarts", r.restarts);
  v("submit_seq", r.submit_seq);
  v("submitted_ms", r.submitted_ms);
  v("finished_ms", r.finished_ms);
  v("last_event_seq", r.last_event_seq);
  v("stages", r.stages);
  v("spec", r.spec);
}

template <class V, record_of<job_event> T>
void fields(V& v, T& r) {
  v("job_id", r.job_id, kRequired);
  v("seq", r.seq);
  v("time_ms", r.time_ms);
  v("kind", r.kind);
  v("stage", r.stage);
  v("rank", r.rank);
  v("state", r.state);
  v("node", r.node);
  v("pid", r.pid);
  v("exit_code", r.exit_code);
  v("attempt", r.attempt);
  v("message", r.message);
  v("usage", r.usage);
}

template <class V, record_of<gpu_info> T>
void fields(V& v, T& r) {
  v("index", r.index);
  v("model", r.model);
  v("memory_bytes", r.memory_bytes);
  v("nvlink_group", r.nvlink_group);
  v("numa_node", r.numa_node);
  v("uuid", r.uuid);
  v("simulated", r.simulated);
}

template <class V, record_of<dpu_info> T>
void fields(V& v, T& r) {
  v("index", r.index);
  v("model", r.model);
  v("simulated", r.simulated);
}

template <class V, record_of<node_inventory> T>
void fields(V& v, T& r) {
  v("name", r.name, kRequired);
  v("hostname", r.hostname);
  v("cpu_milli", r.cpu_milli);
  v("memory_bytes", r.memory_bytes);
  v("gpus", r.gpus);
  v("dpus", r.dpus);
  v("fabrics", r.fabrics);
  v("labels", r.labels);
  v("gpu_sharing", r.gpu_sharing);
  v("isolation", r.isolation);
}

template <class V, record_of<node_record> T>
void fields(V& v, T& r) {
  v("inventory", r.inventory, kRequired);
  v("cordoned", r.cordoned);
  v("registered_ms", r.registered_ms);
}

template <class V, record_of<rendezvous_scope> T>
void fields(V& v, T& r) {
  v("job_id", r.job_id);
  v("stage", r.stage);
  v("attempt", r.attempt);
}

template <class V, record_of<gang_coordinates> T>
void fields(V& v, T& r) {
  v("local_rank", r.local_rank);
  v("local_world_size", r.local_world_size);
  v("group_rank", r.group_rank);
  v("group_world_size", r.group_world_size);
  v("master_addr", r.master_addr);
  v("master_port", r.master_port);
  v("max_restarts", r.max_restarts);
  v("rendezvous", r.rendezvous);
}

template <class V, record_of<task_spec> T>
void fields(V& v, T& r) {
  v("task_id", r.task_id, kRequired);
  v("job_id", r.job_id);
  v("job_name", r.job_name);
  v("stage", r.stage);
  v("rank", r.rank);
  v("world_size", r.world_size);
  v("attempt", r.attempt);
  v("command", r.command);
  v("env", r.env);
  v("working_dir", r.working_dir);
  v("cpu_milli", r.cpu_milli);
  v("gpus", r.gpus);
  v("gpu_milli", r.gpu_milli);
  v("gpu_memory_bytes", r.gpu_memory_bytes);
  v("fabric", r.fabric);
  v("checkpoint_dir", r.checkpoint_dir);
  v("restore_step", r.restore_step);
  v("gang", r.gang);  // omitted for plain stages
  v("memory_bytes", r.memory_bytes);
  v("owner", r.owner);
  v("time_limit_ms", r.time_limit_ms);
}

// Types with a field list.
struct any_visitor {
  template <class T>
  void operator()(const char*, T&, bool = false) {}
};
template <class T>
concept record = requires(any_visitor& v, T& t) {
  fields(v, t);
};

// Enums written as their names: every value, and what to call the enum in errors.
template <class E>
struct enum_names;
template <>
struct enum_names<device_kind> {
  static constexpr const char* what = "device";
  static constexpr device_kind values[] = {device_kind::cpu, device_kind::gpu, device_kind::dpu};
};
template <>
struct enum_names<collective_kind> {
  static constexpr const char* what = "collective";
  static constexpr collective_kind values[] = {collective_kind::none, collective_kind::nccl};
};
template <>
struct enum_names<placement_pref> {
  static constexpr const char* what = "placement";
  static constexpr placement_pref values[] = {placement_pref::none, placement_pref::pack,
                                              placement_pref::spread};
};
template <>
struct enum_names<job_state> {
  static constexpr const char* what = "job state";
  static constexpr job_state values[] = {job_state::pending, job_state::running,
                                         job_state::succeeded, job_state::failed,
                                         job_state::cancelled};
};
template <>
struct enum_names<stage_state> {
  static constexpr const char* what = "stage state";
  static constexpr stage_state values[] = {stage_state::waiting, stage_state::pending,
                                           stage_state::running, stage_state::succeeded,
                                           stage_state::failed,  stage_state::cancelled};
};
template <>
struct enum_names<rank_state> {
  static constexpr const char* what = "rank state";
  static constexpr rank_state values[] = {rank_state::pending, rank_state::starting,
                                          rank_state::running, rank_state::succeeded,
                                          rank_state::failed,  rank_state::cancelled};
};
template <>
struct enum_names<node_state> {
  static constexpr const char* what = "node state";
  static constexpr node_state values[] = {node_state::ready, node_state::lost, node_state::cordoned,
                                          node_state::draining, node_state::unknown};
};
template <>
struct enum_names<event_kind> {
  static constexpr const char* what = "event kind";
  static constexpr event_kind values[] = {event_kind::job, event_kind::stage, event_kind::rank};
};

template <class E>
concept named_enum = std::is_enum_v<E> && requires {
  enum_names<E>::values;
};

// The value named s, nullopt when none is.
template <named_enum E>
std::optional<E> parse_name(std::string_view s) {
  for (E v : enum_names<E>::values)
    if (s == to_string(v)) return v;
  return std::nullopt;
}

}  // namespace gantry::codec
