#pragma once
// JSON encoding of the durable records (core/records.hpp) and manifests (core/spec.hpp), as
// the state store keeps them. Enums are written as their lowercase names (core/names.cpp).
// Decoders never throw: input that is not JSON of the expected shape gives
// errc::invalid_argument naming the offending field (`stages[1].ranks[0].state: ...`).
// Keys missing from the input keep their defaults, so adding a field stays compatible.
#include <string>
#include <string_view>

#include "core/records.hpp"
#include "core/result.hpp"

namespace gantry {

std::string encode(const job_record& v);
result<job_record> decode_job_record(std::string_view text);

std::string encode(const job_event& v);
result<job_event> decode_job_event(std::string_view text);

std::string encode(const node_record& v);
result<node_record> decode_node_record(std::string_view text);

std::string encode(const job_spec& v);
result<job_spec> decode_job_spec(std::string_view text);

std::string encode(const task_spec& v);
result<task_spec> decode_task_spec(std::string_view text);

// "job", "stage", "rank".
const char* to_string(event_kind v);

}  // namespace gantry
