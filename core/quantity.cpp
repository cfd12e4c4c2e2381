#include "core/quantity.hpp"

#include <array>
#include <cctype>
#include <charconv>
#include <cmath>
#include <limits>

namespace gantry {
namespace {

struct unit {
  std::string_view name;
  int64_t factor;
};

constexpr int64_t kKi = 1024;
constexpr std::array<unit, 17> kUnits{{
    {"", 1},
    {"B", 1},
    {"K", kKi},
    {"Ki", kKi},
    {"KiB", kKi},
    {"KB", 1000},
    {"M", kKi* kKi},
    {"Mi", kKi* kKi},
    {"MiB", kKi* kKi},
    {"MB", 1000 * 1000},
    {"G", kKi* kKi* kKi},
    {"Gi", kKi* kKi* kKi},
    {"GiB", kKi* kKi* kKi},
    {"GB", 1000LL * 1000 * 1000},
    {"T", kKi* kKi* kKi* kKi},
    {"TiB", kKi* kKi* kKi* kKi},
    {"TB", 1000LL * 1000 * 1000 * 1000},
}};

// Splits "1.5GiB" into the number 1.5 and the suffix "GiB".
bool split_number(std::string_view text, double& number, std::string_view& suffix) {
  size_t i = 0;
  while (i < text.size() && (std::isdigit(static_cast<unsigned char>(text[i])) || text[i] == '.'))
    ++i;
  if (i == 0) return false;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + i, number);
  if (ec != std::errc() || ptr != text.data() + i) return false;
  suffix = text.substr(i);
  while (!suffix.empty() && suffix.front() == ' ') suffix.remove_prefix(1);
  return true;
}

}  // namespace

result<int64_t> parse_bytes(std::string_view text) {
  double number = 0;
  std::string_view suffix;
  if (!split_number(text, number, suffix))
    return fail(errc::invalid_argument,
                "\"" + std::string(text) + "\" is not a size (expected e.g. 512MiB or 8GiB)");
  for (const auto& u : kUnits) {
    if (u.name != suffix) continue;
    double bytes = number * static_cast<double>(u.factor);
    if (bytes >= static_cast<double>(std::numeric_limits<int64_t>::max()))
      return fail(errc::invalid_argument, "\"" + std::string(text) + "\" is too large");
    return static_cast<int64_t>(std::llround(bytes));
  }
  return fail(errc::invalid_argument,
              "\"" + std::string(text) + "\" has an unknown unit (use B, KiB, MiB, GiB or TiB)");
}

result<int64_t> parse_cpu_milli(std::string_view text) {
  double number = 0;
  std::string_view suffix;
  if (!split_number(text, number, suffix) || (suffix != "" && suffix != "m"))
    return fail(errc::invalid_argument,
                "\"" + std::string(text) + "\" is not a CPU amount (expected e.g. 2, 0.5 or 500m)");
  double milli = suffix == "m" ? number : number * 1000.0;
  if (milli > 1e12)
    return fail(errc::invalid_argument, "\"" + std::string(text) + "\" is too large");
  if (std::fabs(milli - std::round(milli)) > 1e-6)
    return fail(errc::invalid_argument,
                "\"" + std::string(text) + "\" is finer than 1m (one thousandth of a core)");
  return static_cast<int64_t>(std::llround(milli));
}

namespace {
struct duration_unit {
  std::string_view name;
  int64_t ms;
};
// Longest names first, so that "ms" is not read as "m" followed by "s".
constexpr duration_unit kDurationUnits[] = {
    {"ms", 1}, {"d", 86'400'000}, {"h", 3'600'000}, {"m", 60'000}, {"s", 1000}};
}  // namespace

result<int64_t> parse_duration_ms(std::string_view text) {
  auto bad = [&] {
    return fail(errc::invalid_argument,
                "\"" + std::string(text) + "\" is not a duration (expected e.g. 30s, 2m or 500ms)");
  };
  size_t digits = 0;
  while (digits < text.size() && std::isdigit(static_cast<unsigned char>(text[digits]))) ++digits;
  if (digits == 0) return bad();
  int64_t number = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + digits, number);
  if (ec != std::errc{}) return bad();
  std::string_view unit = text.substr(digits);
  int64_t factor = 0;
  for (const auto& u : kDurationUnits)
    if (unit == u.name) factor = u.ms;
  if (factor == 0) return bad();
  if (number > std::numeric_limits<int64_t>::max() / factor)
    return fail(errc::invalid_argument, "\"" + std::string(text) + "\" is too long");
  return number * factor;
}

std::string format_duration_ms(int64_t ms) {
  if (ms != 0 && ms % 86'400'000 == 0) return std::to_string(ms / 86'400'000) + "d";
  if (ms != 0 && ms % 3'600'000 == 0) return std::to_string(ms / 3'600'000) + "h";
  if (ms != 0 && ms % 60'000 == 0) return std::to_string(ms / 60'000) + "m";
  if (ms != 0 && ms % 1000 == 0) return std::to_string(ms / 1000) + "s";
  return std::to_string(ms) + "ms";
}

std::string format_bytes(int64_t bytes) {
  static constexpr std::array<std::pair<int64_t, const char*>, 4> kSteps{
      {{kKi * kKi * kKi * kKi, "TiB"}, {kKi * kKi * kKi, "GiB"}, {kKi * kKi, "MiB"}, {kKi, "KiB"}}};
  for (const auto& [factor, name] : kSteps) {
    if (bytes < factor) continue;
    if (bytes % factor == 0) return std::to_string(bytes / factor) + name;
    double v = static_cast<double>(bytes) / static_cast<double>(factor);
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1f%s", v, name);
    return buf;
  }
  return std::to_string(bytes) + "B";
}

std::string format_cpu(int64_t milli) {
  if (milli % 1000 == 0) return std::to_string(milli / 1000);
  if (milli % 100 == 0) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1f", static_cast<double>(milli) / 1000.0);
    return buf;
  }
  return std::to_string(milli) + "m";
}

result<int64_t> parse_time_limit_ms(std::string_view text) {
  auto bad = [&](const std::string& why) {
    return fail(errc::invalid_argument, "expected a duration like 2h, 90m or 30s, got \"" +
                                            std::string(text) + "\"" +
                                            (why.empty() ? "" : " (" + why + ")"));
  };
  if (text.empty()) return bad("");
  int64_t total = 0;
  size_t i = 0;
  while (i < text.size()) {
    size_t start = i;
    int64_t n = 0;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
      if (n > (INT64_MAX - 9) / 10) return bad("too long");
      n = n * 10 + (text[i++] - '0');
    }
    if (i == start) return bad("");
    const duration_unit* unit = nullptr;
    for (const auto& u : kDurationUnits)
      if (text.substr(i, u.name.size()) == u.name) {
        unit = &u;
        break;
      }
    if (!unit) return bad(i == text.size() ? "a unit is required: ms, s, m, h or d" : "");
    i += unit->name.size();
    if (n > (INT64_MAX - total) / unit->ms) return bad("too long");
    total += n * unit->ms;
  }
  if (total <= 0) return bad("it must be above zero");
  return total;
}

std::string format_duration(int64_t ms) {
  if (ms <= 0) return "0s";
  std::string out;
  for (const auto& u : {kDurationUnits[1], kDurationUnits[2], kDurationUnits[3], kDurationUnits[4],
                        kDurationUnits[0]}) {
    if (ms >= u.ms) {
      out += std::to_string(ms / u.ms) + std::string(u.name);
      ms %= u.ms;
    }
  }
  return out;
}

}  // namespace gantry
