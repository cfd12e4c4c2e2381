#include "actors/queue_records.hpp"

#include <nlohmann/json.hpp>

namespace gantry {
namespace {

using json = nlohmann::json;

json quota_json(const sched::queue_resources& r) {
  auto dim = [](int64_t v) { return v == sched::kNoLimit ? json(nullptr) : json(v); };
  return {{"cpu_milli", dim(r.cpu_milli)},
          {"memory_bytes", dim(r.memory_bytes)},
          {"gpu_milli", dim(r.gpu_milli)}};
}

// A missing object or dimension is `absent`; null is unlimited.
result<sched::queue_resources> quota_of(const json& j, const char* field, int64_t absent) {
  sched::queue_resources r{absent, absent, absent};
  auto it = j.find(field);
  if (it == j.end()) return r;
  if (!it->is_object()) return fail(errc::invalid_argument, std::string(field) + ": not an object");
  auto dim = [&](const char* name, int64_t& out) -> result<void> {
    auto d = it->find(name);
    if (d == it->end()) return {};
    if (d->is_null()) {
      out = sched::kNoLimit;
      return {};
    }
    if (!d->is_number_integer())
      return fail(errc::invalid_argument, std::string(field) + "." + name + ": not an integer");
    out = d->get<int64_t>();
    return {};
  };
  if (auto ok = dim("cpu_milli", r.cpu_milli); !ok) return fail(ok.error());
  if (auto ok = dim("memory_bytes", r.memory_bytes); !ok) return fail(ok.error());
  if (auto ok = dim("gpu_milli", r.gpu_milli); !ok) return fail(ok.error());
  return r;
}

// "none" is no amount at all (`absent` in every dimension).
result<sched::queue_resources> parse_quota(const std::string& text, int64_t absent,
                                           const char* field) {
  if (text == "none") return sched::queue_resources{absent, absent, absent};
  auto r = sched::parse_queue_resources(text, absent);
  if (!r) return fail(errc::invalid_argument, std::string(field) + ": " + r.error().message);
  return r;
}

queue_quota to_quota(const sched::queue_resources& r) {
  auto dim = [](int64_t v) { return v == sched::kNoLimit ? kQuotaUnlimited : v; };
  return {dim(r.cpu_milli), dim(r.memory_bytes), dim(r.gpu_milli)};
}

}  // namespace

std::string encode_queue(const sched::queue_spec& q) {
  return json{{"name", q.name},
              {"guarantee", quota_json(q.guarantee)},
              {"limit", quota_json(q.limit)},
              {"weight", q.weight}}
      .dump();
}

result<sched::queue_spec> decode_queue(const std::string& name, const std::string& text) {
  auto bad = [&](const std::string& why) {
    return fail(errc::invalid_argument, "stored queue " + name + ": " + why);
  };
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return bad("not a JSON object");
  sched::queue_spec q;
  q.name = name;
  auto guarantee = quota_of(j, "guarantee", 0);
  if (!guarantee) return bad(guarantee.error().message);
  auto limit = quota_of(j, "limit", sched::kNoLimit);
  if (!limit) return bad(limit.error().message);
  q.guarantee = *guarantee;
  q.limit = *limit;
  if (auto w = j.find("weight"); w != j.end()) {
    if (!w->is_number()) return bad("weight: not a number");
    q.weight = w->get<double>();
  }
  if (auto ok = sched::validate(q); !ok) return bad(ok.error().message);
  return q;
}

result<sched::queue_spec> apply_change(const std::optional<sched::queue_spec>& current,
                                       const queue_change& change) {
  if (change.create && current)
    return fail(errc::already_exists,
                "queue " + change.name + " already exists (gantry queue update changes it)");
  if (!change.create && !current)
    return fail(errc::not_found, "no queue " + change.name + " (gantry queue list shows them)");
  sched::queue_spec q = current.value_or(sched::queue_spec{});
  q.name = change.name;
  if (change.guarantee) {
    auto g = parse_quota(*change.guarantee, 0, "guarantee");
    if (!g) return fail(g.error());
    q.guarantee = *g;
  }
  if (change.limit) {
    auto l = parse_quota(*change.limit, sched::kNoLimit, "limit");
    if (!l) return fail(l.error());
    q.limit = *l;
  }
  if (change.weight) q.weight = *change.weight;
  if (auto ok = sched::validate(q); !ok) return fail(ok.error());
  return q;
}

queue_info info_of(const sched::queue_status& s) {
  queue_info out;
  out.name = s.name;
  out.guarantee = to_quota(s.guarantee);
  out.limit = to_quota(s.limit);
  out.weight = s.weight;
  out.usage = to_quota(s.usage);
  out.borrowed = to_quota(s.borrowed);
  out.pending_jobs = s.pending_jobs;
  out.pending_requests = s.pending_requests;
  out.running = s.running;
  out.preempted = s.preempted;
  return out;
}

}  // namespace gantry
