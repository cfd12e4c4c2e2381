// cluster_view: the public node records (std::map by name) and the dense node_state array
// the scheduler scans, kept in step by every mutation below.
#include <algorithm>
#include <atomic>
#include <mutex>

#include "scheduler/cluster_view.hpp"

namespace gantry::sched {

namespace {

std::atomic<uint64_t> g_node_version{0};

int32_t gpu_group(const gpu_info& g) {
  if (g.nvlink_group >= 0) return g.nvlink_group;
  if (g.numa_node >= 0) return 1'000'000 + g.numa_node;
  return -1;
}

uint64_t fnv1a(std::string_view s) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char ch : s) h = (h ^ ch) * 0x100000001b3ULL;
  return h;
}

// Rebuilds `s` from `v`, keeping s.affinity (the view does not know its tasks).
void load_state(node_state& s, const node_view& v) {
  s.view = &v;
  s.version = next_node_version();
  s.name_hash = fnv1a(v.inventory.name);
  s.schedulable = v.schedulable;
  s.cpu_free = v.free_cpu_milli;
  s.mem_free = v.free_memory_bytes;
  s.dpu_free = v.free_dpus;
  const size_t n = v.gpus.size();
  s.gpu_milli.resize(n);
  s.gpu_mem.resize(n);
  s.gpu_mem_total.resize(n);
  s.gpu_model.resize(n);
  s.gpu_group.resize(n);
  for (size_t i = 0; i < n; ++i) {
    const gpu_slot& g = v.gpus[i];
    s.gpu_milli[i] = g.free_milli;
    s.gpu_mem[i] = g.free_memory_bytes;
    s.gpu_mem_total[i] = g.info.memory_bytes;
    s.gpu_model[i] = intern_gpu_model(g.info.model);
    s.gpu_group[i] = gpu_group(g.info);
  }
}

}  // namespace

uint64_t next_node_version() {
  return g_node_version.fetch_add(1) + 1;
}

int16_t intern_gpu_model(std::string_view name) {
  static std::mutex mu;
  static std::map<std::string, int16_t, std::less<>> ids;
  std::lock_guard<std::mutex> lock(mu);
  if (auto it = ids.find(name); it != ids.end()) return it->second;
  if (ids.size() >= static_cast<size_t>(kMaxGpuModels)) return -1;
  const auto id = static_cast<int16_t>(ids.size());
  ids.emplace(std::string(name), id);
  return id;
}

int affinity_slot(int32_t gpu_count, int32_t gpu_milli) {
  if (gpu_count == 1 && gpu_milli < kGpuMilliWhole) return 0;
  if (gpu_milli == kGpuMilliWhole && gpu_count >= 1 && gpu_count <= 16) return gpu_count;
  return kAffinitySlots - 1;
}

cluster_view::cluster_view(const cluster_view& other)
    : nodes_(other.nodes_),
      dense_(other.dense_),
      versions_(other.versions_),
      mutations_(other.mutations_),
      max_cpu_milli_(other.max_cpu_milli_),
      max_gpus_(other.max_gpus_) {
  rebuild_dense();
}

cluster_view& cluster_view::operator=(const cluster_view& other) {
  if (this != &other) {
    nodes_ = other.nodes_;
    dense_ = other.dense_;
    versions_ = other.versions_;
    mutations_ = other.mutations_;
    max_cpu_milli_ = other.max_cpu_milli_;
    max_gpus_ = other.max_gpus_;
    rebuild_dense();
  }
  return *this;
}

// Points the copied dense entries at this view's own node records (versions stay: the
// states are identical, so cached scores remain valid).
void cluster_view::rebuild_dense() {
  for (node_state& s : dense_) s.view = &nodes_.at(s.view->inventory.name);
}

int32_t cluster_view::dense_index(std::string_view name) const {
  auto it = std::lower_bound(
      dense_.begin(), dense_.end(), name,
      [](const node_state& s, std::string_view n) { return s.view->inventory.name < n; });
  if (it == dense_.end() || it->view->inventory.name != name) return -1;
  return static_cast<int32_t>(it - dense_.begin());
}

void cluster_view::refresh_maxima() {
  max_cpu_milli_ = 0;
  max_gpus_ = 0;
  for (const auto& [name, v] : nodes_) {
    max_cpu_milli_ = std::max(max_cpu_milli_, v.inventory.cpu_milli);
    max_gpus_ = std::max(max_gpus_, static_cast<int32_t>(v.inventory.gpus.size()));
  }
}

void cluster_view::upsert_node(const node_inventory& inv) {
  mutations_ = next_node_version();
  auto it = nodes_.find(inv.name);
  if (it == nodes_.end()) {
    node_view v;
    v.inventory = inv;
    v.free_cpu_milli = inv.cpu_milli;
    v.free_memory_bytes = inv.memory_bytes;
    v.free_dpus = static_cast<int32_t>(inv.dpus.size());
    for (const auto& g : inv.gpus) v.gpus.push_back({g, kGpuMilliWhole, g.memory_bytes});
    auto [pos, inserted] = nodes_.emplace(inv.name, std::move(v));
    node_state s;
    load_state(s, pos->second);
    auto at = std::lower_bound(
        dense_.begin(), dense_.end(), inv.name,
        [](const node_state& d, const std::string& n) { return d.view->inventory.name < n; });
    versions_.insert(versions_.begin() + (at - dense_.begin()), s.version);
    dense_.insert(at, std::move(s));
    max_cpu_milli_ = std::max(max_cpu_milli_, inv.cpu_milli);
    max_gpus_ = std::max(max_gpus_, static_cast<int32_t>(inv.gpus.size()));
    return;
  }
  // Keep reservations: shift free amounts by the change in capacity.
  node_view& v = it->second;
  v.free_cpu_milli += inv.cpu_milli - v.inventory.cpu_milli;
  v.free_memory_bytes += inv.memory_bytes - v.inventory.memory_bytes;
  v.free_dpus +=
      static_cast<int32_t>(inv.dpus.size()) - static_cast<int32_t>(v.inventory.dpus.size());
  std::vector<gpu_slot> gpus;
  for (const auto& g : inv.gpus) {
    gpu_slot s{g, kGpuMilliWhole, g.memory_bytes};
    for (const auto& old : v.gpus) {
      if (old.info.index == g.index) {
        s.free_milli = old.free_milli;
        s.free_memory_bytes = old.free_memory_bytes + (g.memory_bytes - old.info.memory_bytes);
      }
    }
    gpus.push_back(s);
  }
  v.gpus = std::move(gpus);
  v.inventory = inv;
  const int32_t idx = dense_index(inv.name);
  load_state(dense_[idx], v);
  versions_[idx] = dense_[idx].version;
  refresh_maxima();
}

void cluster_view::remove_node(const std::string& name) {
  const int32_t idx = dense_index(name);
  if (idx < 0) return;
  mutations_ = next_node_version();
  dense_.erase(dense_.begin() + idx);
  versions_.erase(versions_.begin() + idx);
  nodes_.erase(name);
  refresh_maxima();
}

void cluster_view::set_schedulable(const std::string& name, bool schedulable) {
  auto it = nodes_.find(name);
  if (it == nodes_.end() || it->second.schedulable == schedulable) return;
  mutations_ = next_node_version();
  it->second.schedulable = schedulable;
  const int32_t idx = dense_index(name);
  dense_[idx].schedulable = schedulable;
  dense_[idx].version = versions_[idx] = next_node_version();
}

const node_view* cluster_view::find(const std::string& name) const {
  auto it = nodes_.find(name);
  return it == nodes_.end() ? nullptr : &it->second;
}

// Adds sign * a to the node's free amounts (sign -1 reserves, +1 releases).
void cluster_view::take(int32_t idx, const task_assignment& a, int sign) {
  mutations_ = next_node_version();
  node_state& s = dense_[idx];
  auto& v = const_cast<node_view&>(*s.view);  // ours: the record lives in nodes_
  v.free_cpu_milli += sign * a.cpu_milli;
  v.free_memory_bytes += sign * a.memory_bytes;
  v.free_dpus += sign * a.dpus;
  s.cpu_free = v.free_cpu_milli;
  s.mem_free = v.free_memory_bytes;
  s.dpu_free = v.free_dpus;
  for (int32_t index : a.gpus) {
    for (size_t i = 0; i < v.gpus.size(); ++i) {
      if (v.gpus[i].info.index != index) continue;
      v.gpus[i].free_milli += sign * a.gpu_milli;
      v.gpus[i].free_memory_bytes += sign * a.gpu_memory_bytes;
      s.gpu_milli[i] = v.gpus[i].free_milli;
      s.gpu_mem[i] = v.gpus[i].free_memory_bytes;
      break;
    }
  }
  if (!a.gpus.empty()) {
    int32_t& n = s.affinity[affinity_slot(static_cast<int32_t>(a.gpus.size()), a.gpu_milli)];
    n = std::max(0, n - sign);
  }
  s.version = versions_[idx] = next_node_version();
}

void cluster_view::apply(const placement& p) {
  for (const auto& a : p.tasks) {
    if (int32_t idx = dense_index(a.node); idx >= 0) take(idx, a, -1);
  }
}

void cluster_view::release(const task_assignment& a) {
  if (int32_t idx = dense_index(a.node); idx >= 0) take(idx, a, +1);
}

}  // namespace gantry::sched
