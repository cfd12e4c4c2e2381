// kv_store in memory: one ordered map per column, guarded by one mutex.
#include <array>
#include <map>
#include <mutex>
#include <new>

#include "storage/kv_store.hpp"

namespace gantry::storage {

const char* to_string(column cf) {
  switch (cf) {
    case column::nodes:
      return "nodes";
    case column::jobs:
      return "jobs";
    case column::events:
      return "events";
    case column::meta:
      return "meta";
    case column::tokens:
      return "tokens";
    case column::queues:
      return "queues";
  }
  return "?";
}

namespace {

class memory_store final : public kv_store {
 public:
  result<void> write(const std::vector<write_op>& ops, bool /*sync*/) override {
    // Allocate every new entry first, then splice them in (which cannot fail): a failed
    // allocation leaves the store as it was.
    std::vector<map::node_type> entries;
    try {
      entries.reserve(ops.size());
      for (const auto& op : ops) {
        auto& e = entries.emplace_back();
        if (!op.value) continue;
        map one;
        one.emplace(op.key, *op.value);
        e = one.extract(one.begin());
      }
    } catch (const std::bad_alloc&) {
      return fail(errc::io_error, "memory store: write: out of memory");
    }
    std::lock_guard lock(mutex_);
    for (size_t i = 0; i < ops.size(); ++i) {
      auto& m = columns_[index(ops[i].cf)];
      if (entries[i]) {
        auto r = m.insert(std::move(entries[i]));
        if (!r.inserted) r.position->second = std::move(r.node.mapped());
      } else if (auto it = m.find(ops[i].key); it != m.end()) {
        m.erase(it);
      }
    }
    return {};
  }

  result<std::optional<std::string>> get(column cf, std::string_view key) override {
    std::lock_guard lock(mutex_);
    const auto& m = columns_[index(cf)];
    auto it = m.find(key);
    if (it == m.end()) return std::optional<std::string>();
    return std::optional<std::string>(it->second);
  }

  result<void> scan(column cf, std::string_view prefix,
                    const std::function<bool(std::string_view, std::string_view)>& fn) override {
    std::lock_guard lock(mutex_);
    const auto& m = columns_[index(cf)];
    for (auto it = m.lower_bound(prefix); it != m.end() && it->first.starts_with(prefix); ++it)
      if (!fn(it->first, it->second)) break;
    return {};
  }

  result<void> compact(column, std::string_view, std::string_view) override { return {}; }

  result<uint64_t> data_bytes() override {
    std::lock_guard lock(mutex_);
    uint64_t total = 0;
    for (const auto& m : columns_)
      for (const auto& [k, v] : m) total += k.size() + v.size();
    return total;
  }

 private:
  using map = std::map<std::string, std::string, std::less<>>;
  static size_t index(column cf) { return static_cast<size_t>(cf); }

  std::mutex mutex_;
  std::array<map, std::size(kAllColumns)> columns_;
};

}  // namespace

std::unique_ptr<kv_store> make_memory_store() {
  return std::make_unique<memory_store>();
}

}  // namespace gantry::storage
