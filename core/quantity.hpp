#pragma once
// Parsing and printing of resource quantities as users write them.
#include <cstdint>
#include <string>
#include <string_view>

#include "core/result.hpp"

namespace gantry {

// "512MiB", "8GiB", "1.5GiB", "100MB", "4096" (bytes), "16G" (= GiB). Units: B, K/KiB/KB,
// M/MiB/MB, G/GiB/GB, T/TiB/TB; the binary ones are powers of 1024, KB/MB/GB/TB powers
// of 1000, bare K/M/G/T binary. Fails on negative, empty, unknown unit or overflow.
result<int64_t> parse_bytes(std::string_view text);

// "2", "0.5", "500m" -> millicores. Fails on negative, non-numeric or finer than 1m.
result<int64_t> parse_cpu_milli(std::string_view text);

// "500ms", "30s", "2m", "1h", "7d" -> milliseconds. Fails on a missing or unknown unit, negative,
// non-integer or overflow.
result<int64_t> parse_duration_ms(std::string_view text);

// 86400000 -> "1d", 120000 -> "2m", 30000 -> "30s", 1500 -> "1500ms".
std::string format_duration_ms(int64_t ms);

// 8589934592 -> "8GiB", 1536 MiB -> "1.5GiB", 1000 -> "1000B".
std::string format_bytes(int64_t bytes);

// 2000 -> "2", 500 -> "500m", 1500 -> "1.5".
std::string format_cpu(int64_t milli);

// A time limit: "2h", "90m", "30s", "1d", "500ms", "1h30m" -> milliseconds. Fails on a bare
// number, zero, a negative, an unknown unit or overflow.
result<int64_t> parse_time_limit_ms(std::string_view text);

// The shortest exact form in the largest units: 7200000 -> "2h", 5400000 -> "1h30m",
// 1500 -> "1s500ms".
std::string format_duration(int64_t ms);

}  // namespace gantry
