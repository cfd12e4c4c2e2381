#include "scheduler/queues/queue_resources.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>

#include "core/quantity.hpp"

namespace gantry::sched {

namespace {

int64_t add_sat(int64_t a, int64_t b) {
  if (a == kNoLimit || b == kNoLimit) return kNoLimit;
  return a > kNoLimit - b ? kNoLimit : a + b;
}

int64_t sub_sat(int64_t a, int64_t b) {
  if (a == kNoLimit) return kNoLimit;
  return a - b;
}

std::string trim_number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.3f", v);
  std::string s = buf;
  while (s.back() == '0') s.pop_back();
  if (s.back() == '.') s.pop_back();
  return s;
}

result<int64_t> parse_gpu_milli(std::string_view text) {
  double v = 0;
  const auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  const double milli = v * kGpuMilliWhole;
  if (text.empty() || ec != std::errc() || p != text.data() + text.size() || !(v >= 0) ||
      milli > 1e15 || std::fabs(milli - std::round(milli)) > 1e-6)
    return fail(errc::invalid_argument,
                "\"" + std::string(text) + "\" is not a GPU amount (expected e.g. 8 or 0.5)");
  return static_cast<int64_t>(std::llround(milli));
}

}  // namespace

queue_resources& queue_resources::operator+=(const queue_resources& o) {
  cpu_milli = add_sat(cpu_milli, o.cpu_milli);
  memory_bytes = add_sat(memory_bytes, o.memory_bytes);
  gpu_milli = add_sat(gpu_milli, o.gpu_milli);
  return *this;
}

queue_resources& queue_resources::operator-=(const queue_resources& o) {
  cpu_milli = sub_sat(cpu_milli, o.cpu_milli);
  memory_bytes = sub_sat(memory_bytes, o.memory_bytes);
  gpu_milli = sub_sat(gpu_milli, o.gpu_milli);
  return *this;
}

bool fits_within(const queue_resources& a, const queue_resources& b) {
  return a.cpu_milli <= b.cpu_milli && a.memory_bytes <= b.memory_bytes &&
         a.gpu_milli <= b.gpu_milli;
}

queue_resources excess(const queue_resources& a, const queue_resources& b) {
  auto over = [](int64_t x, int64_t y) { return y == kNoLimit || x <= y ? 0 : x - y; };
  return {over(a.cpu_milli, b.cpu_milli), over(a.memory_bytes, b.memory_bytes),
          over(a.gpu_milli, b.gpu_milli)};
}

queue_resources lesser(const queue_resources& a, const queue_resources& b) {
  return {std::min(a.cpu_milli, b.cpu_milli), std::min(a.memory_bytes, b.memory_bytes),
          std::min(a.gpu_milli, b.gpu_milli)};
}

bool overlaps(const queue_resources& a, const queue_resources& b) {
  return (a.cpu_milli > 0 && b.cpu_milli > 0) || (a.memory_bytes > 0 && b.memory_bytes > 0) ||
         (a.gpu_milli > 0 && b.gpu_milli > 0);
}

queue_resources guaranteed_part(const queue_resources& r, const queue_resources& guarantee) {
  return {guarantee.cpu_milli > 0 ? r.cpu_milli : 0,
          guarantee.memory_bytes > 0 ? r.memory_bytes : 0,
          guarantee.gpu_milli > 0 ? r.gpu_milli : 0};
}

queue_resources limited_part(const queue_resources& r, const queue_resources& limit) {
  return {limit.cpu_milli != kNoLimit ? r.cpu_milli : 0,
          limit.memory_bytes != kNoLimit ? r.memory_bytes : 0,
          limit.gpu_milli != kNoLimit ? r.gpu_milli : 0};
}

queue_resources demand_of(const resource_request& r, int32_t count) {
  const int64_t n = std::max(0, count);
  return {r.cpu_milli * n, r.memory_bytes * n, static_cast<int64_t>(r.gpu_count) * r.gpu_milli * n};
}

result<queue_resources> parse_queue_resources(std::string_view text, int64_t absent) {
  queue_resources out{absent, absent, absent};
  bool seen[3] = {false, false, false};
  if (text.empty())
    return fail(errc::invalid_argument,
                "empty resource list (expected e.g. gpu=8,cpu=64,memory=512GiB)");
  while (!text.empty()) {
    const size_t comma = text.find(',');
    const std::string_view item = text.substr(0, comma);
    text = comma == std::string_view::npos ? std::string_view() : text.substr(comma + 1);
    const size_t eq = item.find('=');
    const std::string_view key = item.substr(0, eq);
    const std::string_view value = eq == std::string_view::npos ? "" : item.substr(eq + 1);
    auto bad = [&](const std::string& why) {
      return fail(errc::invalid_argument, "\"" + std::string(item) + "\": " + why);
    };
    int slot = key == "cpu" ? 0 : key == "memory" ? 1 : key == "gpu" ? 2 : -1;
    if (slot < 0 || eq == std::string_view::npos)
      return bad("expected cpu=N, memory=SIZE or gpu=N");
    if (seen[slot]) return bad("given twice");
    seen[slot] = true;
    result<int64_t> v = slot == 0   ? parse_cpu_milli(value)
                        : slot == 1 ? parse_bytes(value)
                                    : parse_gpu_milli(value);
    if (!v) return bad(v.error().message);
    (slot == 0 ? out.cpu_milli : slot == 1 ? out.memory_bytes : out.gpu_milli) = *v;
  }
  return out;
}

std::string describe(const queue_resources& r) {
  std::string out;
  auto add = [&](const std::string& s) { out += (out.empty() ? "" : ", ") + s; };
  if (r.gpu_milli > 0 && r.gpu_milli != kNoLimit) add(trim_number(r.gpus()) + " gpu");
  if (r.cpu_milli > 0 && r.cpu_milli != kNoLimit) add(format_cpu(r.cpu_milli) + " cpu");
  if (r.memory_bytes > 0 && r.memory_bytes != kNoLimit)
    add(format_bytes(r.memory_bytes) + " memory");
  return out.empty() ? "nothing" : out;
}

}  // namespace gantry::sched
