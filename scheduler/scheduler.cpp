#include "scheduler/scheduler.hpp"

#include <algorithm>

namespace gantry::sched {

void cluster_view::upsert_node(const node_inventory& inv) {
  auto it = nodes_.find(inv.name);
  if (it == nodes_.end()) {
    node_view v;
    v.inventory = inv;
    v.free_cpu_milli = inv.cpu_milli;
    v.free_memory_bytes = inv.memory_bytes;
    v.free_dpus = static_cast<int32_t>(inv.dpus.size());
    for (const auto& g : inv.gpus) v.gpus.push_back({g, kGpuMilliWhole, g.memory_bytes});
    nodes_.emplace(inv.name, std::move(v));
    return;
  }
  // Keep reservations: shift free amounts by the change in capacity.
  node_view& v = it->second;
  v.free_cpu_milli += inv.cpu_milli - v.inventory.cpu_milli;
  v.free_memory_bytes += inv.memory_bytes - v.inventory.memory_bytes;
  v.free_dpus += static_cast<int32_t>(inv.dpus.size()) - static_cast<int32_t>(v.inventory.dpus.size());
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
}

void cluster_view::remove_node(const std::string& name) { nodes_.erase(name); }

void cluster_view::set_schedulable(const std::string& name, bool schedulable) {
  if (auto it = nodes_.find(name); it != nodes_.end()) it->second.schedulable = schedulable;
}

const node_view* cluster_view::find(const std::string& name) const {
  auto it = nodes_.find(name);
  return it == nodes_.end() ? nullptr : &it->second;
}

static gpu_slot* find_gpu(node_view& v, int32_t index) {
  for (auto& g : v.gpus)
    if (g.info.index == index) return &g;
  return nullptr;
}

void cluster_view::apply(const placement& p) {
  for (const auto& a : p.tasks) {
    auto it = nodes_.find(a.node);
    if (it == nodes_.end()) continue;
    node_view& v = it->second;
    v.free_cpu_milli -= a.cpu_milli;
    v.free_memory_bytes -= a.memory_bytes;
    v.free_dpus -= a.dpus;
    for (int32_t idx : a.gpus) {
      if (gpu_slot* g = find_gpu(v, idx)) {
        g->free_milli -= a.gpu_milli;
        g->free_memory_bytes -= a.gpu_memory_bytes;
      }
    }
  }
}

void cluster_view::release(const task_assignment& a) {
  auto it = nodes_.find(a.node);
  if (it == nodes_.end()) return;
  node_view& v = it->second;
  v.free_cpu_milli += a.cpu_milli;
  v.free_memory_bytes += a.memory_bytes;
  v.free_dpus += a.dpus;
  for (int32_t idx : a.gpus) {
    if (gpu_slot* g = find_gpu(v, idx)) {
      g->free_milli += a.gpu_milli;
      g->free_memory_bytes += a.gpu_memory_bytes;
    }
  }
}

void scheduler::enqueue(placement_request req) {
  auto pos = std::find_if(queue_.begin(), queue_.end(), [&](const placement_request& q) {
    return q.priority < req.priority ||
           (q.priority == req.priority && q.submit_seq > req.submit_seq);
  });
  queue_.insert(pos, std::move(req));
}

void scheduler::withdraw(const std::string& request_id) {
  std::erase_if(queue_, [&](const placement_request& q) { return q.id == request_id; });
}

namespace {

bool model_ok(const resource_request& r, const gpu_slot& g) {
  if (r.gpu_models.empty()) return true;
  return std::find(r.gpu_models.begin(), r.gpu_models.end(), g.info.model) != r.gpu_models.end();
}

// First fit of one task on one node; fills `a` and returns "" or a short reason.
std::string fit_on_node(const node_view& v, const placement_request& req, task_assignment& a) {
  const resource_request& r = req.per_task;
  if (!v.schedulable) return "unschedulable";
  for (const auto& [k, val] : req.node_selector) {
    auto it = v.inventory.labels.find(k);
    if (it == v.inventory.labels.end() || it->second != val) return "node selector mismatch";
  }
  if (!req.fabric.empty() && std::find(v.inventory.fabrics.begin(), v.inventory.fabrics.end(),
                                       req.fabric) == v.inventory.fabrics.end())
    return "missing fabric " + req.fabric;
  if (!req.colocate_nodes.empty() &&
      std::find(req.colocate_nodes.begin(), req.colocate_nodes.end(), v.inventory.name) ==
          req.colocate_nodes.end())
    return "not colocated";
  if (v.free_cpu_milli < r.cpu_milli) return "insufficient cpu";
  if (v.free_memory_bytes < r.memory_bytes) return "insufficient memory";
  if (v.free_dpus < r.dpus) return "insufficient dpu";
  a = task_assignment{v.inventory.name, r.cpu_milli, r.memory_bytes, {}, 0, 0, r.dpus};
  if (r.gpu_count == 0) return "";
  a.gpu_milli = r.gpu_milli;
  for (const auto& g : v.gpus) {
    if (static_cast<int32_t>(a.gpus.size()) == r.gpu_count) break;
    if (!model_ok(r, g)) continue;
    int64_t mem = r.gpu_memory_bytes;
    if (r.gpu_milli >= kGpuMilliWhole) mem = g.info.memory_bytes;  // whole GPU: all its memory
    if (g.free_milli < r.gpu_milli || g.free_memory_bytes < mem) continue;
    a.gpus.push_back(g.info.index);
    a.gpu_memory_bytes = mem;
  }
  if (static_cast<int32_t>(a.gpus.size()) < r.gpu_count) return "insufficient gpu";
  return "";
}

}  // namespace

bool scheduler::try_place(const cluster_view& view, const placement_request& req, placement& out,
                          std::string& reason) const {
  cluster_view scratch = view;  // first fit is simple; the real engine avoids this copy
  out = placement{req.id, {}};
  std::map<std::string, int> why;
  for (int32_t i = 0; i < req.count; ++i) {
    bool placed = false;
    why.clear();  // the reason is about the rank that did not fit
    for (auto& [name, v] : scratch.nodes_) {
      task_assignment a;
      std::string r = fit_on_node(v, req, a);
      if (r.empty()) {
        placement one{req.id, {a}};
        scratch.apply(one);
        out.tasks.push_back(a);
        placed = true;
        break;
      }
      why[r]++;
    }
    if (!placed) break;
  }
  if (static_cast<int32_t>(out.tasks.size()) == req.count) return true;
  reason = "0/" + std::to_string(view.nodes_.size()) + " nodes";
  const char* sep = ": ";
  for (const auto& [r, n] : why) {
    reason += sep + std::to_string(n) + " " + r;
    sep = ", ";
  }
  out.tasks.clear();
  return false;
}

schedule_result scheduler::schedule(cluster_view& view) {
  schedule_result res;
  std::vector<placement_request> keep;
  for (auto& req : queue_) {
    placement p;
    std::string reason;
    if (try_place(view, req, p, reason)) {
      view.apply(p);
      res.placed.push_back(std::move(p));
    } else {
      res.pending.push_back({req.id, reason});
      keep.push_back(std::move(req));
    }
  }
  queue_ = std::move(keep);
  return res;
}

}  // namespace gantry::sched
