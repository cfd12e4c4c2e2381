// Typed layer over kv_store: key layout, JSON encoding, group commit, ordered loads.
#include "storage/state_store.hpp"

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <iterator>

#include "storage/codec.hpp"

namespace gantry::storage {
namespace {

constexpr int kSeqDigits = 20;  // UINT64_MAX has 20 decimal digits

}  // namespace

std::string event_key(std::string_view job_id, uint64_t seq) {
  char digits[kSeqDigits + 1];
  std::snprintf(digits, sizeof digits, "%020llu", static_cast<unsigned long long>(seq));
  std::string key;
  key.reserve(job_id.size() + 1 + kSeqDigits);
  key.append(job_id).append("/").append(digits, kSeqDigits);
  return key;
}

void state_store::batch::put_job(const job_record& job) {
  ops_.push_back({column::jobs, job.id, encode(job)});
}

void state_store::batch::put_event(const job_event& event) {
  ops_.push_back({column::events, event_key(event.job_id, event.seq), encode(event)});
}

void state_store::batch::put_node(const node_record& node) {
  ops_.push_back({column::nodes, node.inventory.name, encode(node)});
}

void state_store::batch::erase_node(const std::string& name) {
  ops_.push_back({column::nodes, name, std::nullopt});
}

void state_store::batch::put_meta(std::string key, std::string value) {
  ops_.push_back({column::meta, std::move(key), std::move(value)});
}

void state_store::batch::put_token(std::string id, std::string record_json) {
  ops_.push_back({column::tokens, std::move(id), std::move(record_json)});
}

void state_store::batch::erase_token(std::string id) {
  ops_.push_back({column::tokens, std::move(id), std::nullopt});
}

void state_store::batch::put_queue(std::string name, std::string definition_json) {
  ops_.push_back({column::queues, std::move(name), std::move(definition_json)});
}

void state_store::batch::erase_queue(std::string name) {
  ops_.push_back({column::queues, std::move(name), std::nullopt});
}

void state_store::batch::merge(batch&& other) {
  if (ops_.empty()) {
    ops_ = std::move(other.ops_);
  } else {
    ops_.reserve(ops_.size() + other.ops_.size());
    std::ranges::move(other.ops_, std::back_inserter(ops_));
  }
  other.ops_.clear();
}

state_store::state_store(kv_store& kv) : kv_(kv) {}

result<void> state_store::commit(const batch& b) {
  if (b.empty()) return {};
  return kv_.write(b.ops_, /*sync=*/true);
}

result<void> state_store::commit(const std::vector<const batch*>& group) {
  size_t total = 0;
  const batch* last = nullptr;
  size_t non_empty = 0;
  for (const batch* b : group) {
    if (b->empty()) continue;
    total += b->size();
    last = b;
    ++non_empty;
  }
  if (non_empty == 0) return {};
  if (non_empty == 1) return kv_.write(last->ops_, /*sync=*/true);
  std::vector<write_op> ops;
  ops.reserve(total);
  for (const batch* b : group) ops.insert(ops.end(), b->ops_.begin(), b->ops_.end());
  return kv_.write(ops, /*sync=*/true);
}

result<std::vector<job_record>> state_store::load_jobs() {
  // Decoding in the scan callback avoids copying every value first. Decoding on several
  // threads was measured slower on 2 cores: allocation and page faults dominate, not parsing.
  std::vector<job_record> jobs;
  std::optional<error> bad;
  auto scanned = kv_.scan(column::jobs, "", [&](std::string_view k, std::string_view v) {
    auto job = decode_job_record(v);
    if (!job) {
      bad = error::io("stored job " + std::string(k) + ": " + job.error().message);
      return false;
    }
    jobs.push_back(std::move(*job));
    return true;
  });
  if (!scanned) return fail(scanned.error());
  if (bad) return fail(std::move(*bad));
  // Ids are usually issued in submission order, so this is mostly a check.
  if (!std::ranges::is_sorted(jobs, {}, &job_record::submit_seq))
    std::ranges::stable_sort(jobs, {}, &job_record::submit_seq);
  return jobs;
}

result<std::optional<job_record>> state_store::get_job(const std::string& id) {
  auto value = kv_.get(column::jobs, id);
  if (!value) return fail(value.error());
  if (!*value) return std::optional<job_record>();
  auto job = decode_job_record(**value);
  if (!job) return fail(errc::io_error, "stored job " + id + ": " + job.error().message);
  return std::optional<job_record>(std::move(*job));
}

result<std::vector<node_record>> state_store::load_nodes() {
  std::vector<node_record> nodes;
  std::optional<error> bad;
  auto scanned = kv_.scan(column::nodes, "", [&](std::string_view k, std::string_view v) {
    auto node = decode_node_record(v);
    if (!node) {
      bad = error::io("stored node " + std::string(k) + ": " + node.error().message);
      return false;
    }
    nodes.push_back(std::move(*node));
    return true;
  });
  if (!scanned) return fail(scanned.error());
  if (bad) return fail(std::move(*bad));
  return nodes;
}

result<std::vector<job_event>> state_store::load_events(const std::string& job_id,
                                                        uint64_t from_seq) {
  const std::string prefix = job_id + "/";
  const std::string first = event_key(job_id, from_seq);
  std::vector<job_event> events;
  std::optional<error> bad;
  auto scanned = kv_.scan(column::events, prefix, [&](std::string_view k, std::string_view v) {
    if (k < first) return true;  // keys sort by seq: skip without decoding
    auto event = decode_job_event(v);
    if (!event) {
      bad = error::io("stored event " + std::string(k) + ": " + event.error().message);
      return false;
    }
    events.push_back(std::move(*event));
    return true;
  });
  if (!scanned) return fail(scanned.error());
  if (bad) return fail(std::move(*bad));
  return events;
}

result<void> state_store::add_forget(batch& b, const std::vector<std::string>& ids) {
  for (const auto& id : ids) {
    b.ops_.push_back({column::jobs, id, std::nullopt});
    auto scanned = kv_.scan(column::events, id + "/", [&](std::string_view k, std::string_view) {
      b.ops_.push_back({column::events, std::string(k), std::nullopt});
      return true;
    });
    if (!scanned) return fail(scanned.error());
  }
  return {};
}

result<void> state_store::reclaim(const std::string& first_id, const std::string& last_id) {
  if (auto r = kv_.compact(column::jobs, first_id, last_id); !r) return r;
  // Event keys are "<job id>/<seq>": '0' follows '/', so "<last_id>0" bounds them all.
  return kv_.compact(column::events, first_id + "/", last_id + "0");
}

result<std::optional<std::string>> state_store::get_meta(const std::string& key) {
  return kv_.get(column::meta, key);
}

namespace {

result<std::vector<std::pair<std::string, std::string>>> load_column_pairs(kv_store& kv,
                                                                           column cf) {
  std::vector<std::pair<std::string, std::string>> out;
  auto scanned = kv.scan(cf, "", [&](std::string_view k, std::string_view v) {
    out.emplace_back(std::string(k), std::string(v));
    return true;
  });
  if (!scanned) return fail(scanned.error());
  return out;
}

}  // namespace

result<std::vector<std::pair<std::string, std::string>>> state_store::load_tokens() {
  return load_column_pairs(kv_, column::tokens);
}

result<std::vector<std::pair<std::string, std::string>>> state_store::load_queues() {
  return load_column_pairs(kv_, column::queues);
}

result<void> state_store::check_schema() {
  auto stored = kv_.get(column::meta, kSchemaVersionKey);
  if (!stored) return fail(stored.error());
  if (!*stored) {
    batch b;
    b.put_meta(kSchemaVersionKey, std::to_string(kSchemaVersion));
    return commit(b);
  }
  const std::string& text = **stored;
  int version = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), version);
  if (ec != std::errc() || end != text.data() + text.size())
    return fail(errc::version_mismatch, "state store schema version '" + text +
                                            "' is not a number; expected " +
                                            std::to_string(kSchemaVersion));
  if (version != kSchemaVersion)
    return fail(errc::version_mismatch,
                "state store schema version " + text +
                    (version > kSchemaVersion ? " is newer than" : " differs from") +
                    " this gantry's version " + std::to_string(kSchemaVersion) +
                    (version > kSchemaVersion ? "; upgrade gantry" : ""));
  return {};
}

}  // namespace gantry::storage
