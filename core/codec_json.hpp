#pragma once
// nlohmann-json ADL hooks for the records in core/records.hpp and core/spec.hpp; see
// core/codec.hpp for the layout and the non-throwing string API. Both go through the same
// field lists, so they agree on names and values (nlohmann orders keys alphabetically).
// from_json throws an std::exception when the input has the wrong shape or an unknown enum
// name; missing keys keep their defaults. Dump with error_handler_t::replace when strings
// may hold invalid UTF-8 (encode() does that itself).
#include <nlohmann/json_fwd.hpp>

#include "core/records.hpp"

namespace gantry {

void to_json(nlohmann::json& j, device_kind v);
void from_json(const nlohmann::json& j, device_kind& v);
void to_json(nlohmann::json& j, collective_kind v);
void from_json(const nlohmann::json& j, collective_kind& v);
void to_json(nlohmann::json& j, placement_pref v);
void from_json(const nlohmann::json& j, placement_pref& v);
void to_json(nlohmann::json& j, job_state v);
void from_json(const nlohmann::json& j, job_state& v);
void to_json(nlohmann::json& j, stage_state v);
void from_json(const nlohmann::json& j, stage_state& v);
void to_json(nlohmann::json& j, rank_state v);
void from_json(const nlohmann::json& j, rank_state& v);
void to_json(nlohmann::json& j, node_state v);
void from_json(const nlohmann::json& j, node_state& v);
void to_json(nlohmann::json& j, event_kind v);
void from_json(const nlohmann::json& j, event_kind& v);

void to_json(nlohmann::json& j, const resource_request& v);
void from_json(const nlohmann::json& j, resource_request& v);
void to_json(nlohmann::json& j, const checkpoint_spec& v);
void from_json(const nlohmann::json& j, checkpoint_spec& v);
void to_json(nlohmann::json& j, const stage_spec& v);
void from_json(const nlohmann::json& j, stage_spec& v);
void to_json(nlohmann::json& j, const job_spec& v);
void from_json(const nlohmann::json& j, job_spec& v);

void to_json(nlohmann::json& j, const rank_record& v);
void from_json(const nlohmann::json& j, rank_record& v);
void to_json(nlohmann::json& j, const stage_record& v);
void from_json(const nlohmann::json& j, stage_record& v);
void to_json(nlohmann::json& j, const job_record& v);
void from_json(const nlohmann::json& j, job_record& v);
void to_json(nlohmann::json& j, const job_event& v);
void from_json(const nlohmann::json& j, job_event& v);

void to_json(nlohmann::json& j, const gpu_info& v);
void from_json(const nlohmann::json& j, gpu_info& v);
void to_json(nlohmann::json& j, const dpu_info& v);
void from_json(const nlohmann::json& j, dpu_info& v);
void to_json(nlohmann::json& j, const node_inventory& v);
void from_json(const nlohmann::json& j, node_inventory& v);
void to_json(nlohmann::json& j, const node_record& v);
void from_json(const nlohmann::json& j, node_record& v);
void to_json(nlohmann::json& j, const rendezvous_scope& v);
void from_json(const nlohmann::json& j, rendezvous_scope& v);
void to_json(nlohmann::json& j, const gang_coordinates& v);
void from_json(const nlohmann::json& j, gang_coordinates& v);
void to_json(nlohmann::json& j, const task_spec& v);
void from_json(const nlohmann::json& j, task_spec& v);

}  // namespace gantry
