#include "scheduler/fit.hpp"

#include <algorithm>
#include <limits>

namespace gantry::sched {

namespace {

void append_num(std::string& out, int64_t v) {
  out += std::to_string(v);
  out += ',';
}

}  // namespace

task_shape compile_shape(const placement_request& req) {
  const resource_request& r = req.per_task;
  task_shape s;
  s.req = &req;
  s.cpu = r.cpu_milli;
  s.mem = r.memory_bytes;
  s.dpus = r.dpus;
  s.gpus = r.gpu_count;
  s.milli = r.gpu_count > 0 ? std::clamp(r.gpu_milli, 1, kGpuMilliWhole) : 0;
  s.gpu_mem = r.gpu_count > 0 ? r.gpu_memory_bytes : 0;
  std::vector<std::string> models = r.gpu_models;
  std::sort(models.begin(), models.end());
  models.erase(std::unique(models.begin(), models.end()), models.end());
  s.any_model = models.empty() || r.gpu_count == 0;
  for (const auto& m : models) {
    if (int16_t id = intern_gpu_model(m); id >= 0) s.models.set(static_cast<size_t>(id));
    if (!s.models_text.empty()) s.models_text += '/';
    s.models_text += m;
  }
  s.key.reserve(64);
  append_num(s.key, s.cpu);
  append_num(s.key, s.mem);
  append_num(s.key, s.dpus);
  append_num(s.key, s.gpus);
  append_num(s.key, s.milli);
  append_num(s.key, s.gpu_mem);
  if (!s.any_model) s.key += "m=" + s.models_text + ';';
  for (const auto& [k, v] : req.node_selector) s.key += "l=" + k + '=' + v + ';';
  if (!req.fabric.empty()) s.key += "f=" + req.fabric + ';';
  if (!req.colocate_nodes.empty()) {
    std::vector<std::string> nodes = req.colocate_nodes;
    std::sort(nodes.begin(), nodes.end());
    s.key += "c=";
    for (const auto& n : nodes) s.key += n + ',';
  }
  return s;
}

bool gpu_model_ok(const node_state& n, int32_t slot, const task_shape& s) {
  if (s.any_model) return true;
  const int16_t id = n.gpu_model[slot];
  return id >= 0 && s.models.test(static_cast<size_t>(id));
}

int64_t gpu_mem_need(const node_state& n, int32_t slot, const task_shape& s) {
  if (s.whole()) return n.gpu_mem[slot];  // a whole GPU takes all of its memory
  if (s.gpu_mem > 0) return s.gpu_mem;
  return n.gpu_mem_total[slot] * s.milli / kGpuMilliWhole;  // a proportional slice
}

bool gpu_usable(const node_state& n, int32_t slot, const task_shape& s) {
  if (!gpu_model_ok(n, slot, s)) return false;
  if (n.gpu_mem_total[slot] < s.gpu_mem) return false;
  if (s.whole()) return n.gpu_milli[slot] >= kGpuMilliWhole && n.gpu_mem[slot] >= s.gpu_mem;
  return n.gpu_milli[slot] >= s.milli && n.gpu_mem[slot] >= gpu_mem_need(n, slot, s);
}

fit_code static_fit(const node_state& n, const task_shape& s) {
  if (!n.schedulable) return fit_code::unschedulable;
  const placement_request& req = *s.req;
  const node_inventory& inv = n.view->inventory;
  for (const auto& [k, v] : req.node_selector) {
    auto it = inv.labels.find(k);
    if (it == inv.labels.end() || it->second != v) return fit_code::selector;
  }
  if (!req.colocate_nodes.empty() && std::find(req.colocate_nodes.begin(), req.colocate_nodes.end(),
                                               inv.name) == req.colocate_nodes.end())
    return fit_code::colocate;
  if (!req.fabric.empty() &&
      std::find(inv.fabrics.begin(), inv.fabrics.end(), req.fabric) == inv.fabrics.end())
    return fit_code::fabric;
  if (s.gpus == 0) return fit_code::ok;
  if (n.gpu_count() == 0) return fit_code::no_gpu;
  int32_t of_model = 0, big_enough = 0;
  for (int32_t i = 0; i < n.gpu_count(); ++i) {
    if (!gpu_model_ok(n, i, s)) continue;
    ++of_model;
    if (n.gpu_mem_total[i] >= s.gpu_mem) ++big_enough;
  }
  if (of_model == 0) return fit_code::gpu_model;
  if (of_model < s.gpus) return fit_code::gpu_count;
  if (big_enough < s.gpus) return fit_code::gpu_memory_cap;
  return fit_code::ok;
}

fit_code dynamic_fit(const node_state& n, const task_shape& s) {
  if (n.cpu_free < s.cpu) return fit_code::cpu;
  if (n.mem_free < s.mem) return fit_code::memory;
  if (n.dpu_free < s.dpus) return fit_code::dpu;
  if (s.gpus == 0) return fit_code::ok;
  int32_t usable = 0, share_free = 0;
  for (int32_t i = 0; i < n.gpu_count(); ++i) {
    if (gpu_usable(n, i, s)) {
      if (++usable >= s.gpus) return fit_code::ok;
    }
    if (gpu_model_ok(n, i, s) && n.gpu_mem_total[i] >= s.gpu_mem &&
        n.gpu_milli[i] >= (s.whole() ? kGpuMilliWhole : s.milli))
      ++share_free;
  }
  return share_free >= s.gpus ? fit_code::gpu_memory : fit_code::gpu;
}

std::string fit_text(fit_code c, const task_shape& s, std::string_view reserved_for) {
  switch (c) {
    case fit_code::ok:
      return "fits";
    case fit_code::unschedulable:
      return "unschedulable";
    case fit_code::selector:
      return "node selector mismatch";
    case fit_code::colocate:
      return "not colocated";
    case fit_code::fabric:
      return "missing fabric " + s.req->fabric;
    case fit_code::no_gpu:
      return "no gpu";
    case fit_code::gpu_model:
      return "no " + s.models_text;
    case fit_code::gpu_count:
      return "too few gpus";
    case fit_code::gpu_memory_cap:
    case fit_code::gpu_memory:
      return "insufficient gpu_memory";
    case fit_code::reserved:
      return "reserved for " + std::string(reserved_for);
    case fit_code::cpu:
      return "insufficient cpu";
    case fit_code::memory:
      return "insufficient memory";
    case fit_code::dpu:
      return "insufficient dpu";
    case fit_code::gpu:
      return "insufficient gpu";
  }
  return "?";
}

int32_t capacity(const node_state& n, const task_shape& s, int32_t limit) {
  int64_t cap = limit;
  if (s.cpu > 0) cap = std::min(cap, n.cpu_free / s.cpu);
  if (s.mem > 0) cap = std::min(cap, n.mem_free / s.mem);
  if (s.dpus > 0) cap = std::min<int64_t>(cap, n.dpu_free / s.dpus);
  if (cap <= 0 || s.gpus == 0) return static_cast<int32_t>(std::max<int64_t>(cap, 0));
  if (s.whole()) {
    int64_t free = 0;
    for (int32_t i = 0; i < n.gpu_count(); ++i) free += gpu_usable(n, i, s) ? 1 : 0;
    return static_cast<int32_t>(std::min(cap, free / s.gpus));
  }
  // Fractions: how many tasks each GPU takes, then tasks needing `gpus` distinct GPUs.
  std::vector<int64_t> per_gpu;
  for (int32_t i = 0; i < n.gpu_count(); ++i) {
    if (!gpu_usable(n, i, s)) continue;
    int64_t k = n.gpu_milli[i] / s.milli;
    const int64_t need = gpu_mem_need(n, i, s);
    if (need > 0) k = std::min(k, n.gpu_mem[i] / need);
    per_gpu.push_back(k);
  }
  int64_t tasks = 0;
  while (tasks < cap) {
    int64_t slots = 0;
    for (int64_t k : per_gpu) slots += std::min(k, tasks + 1);
    if (slots < (tasks + 1) * s.gpus) break;
    ++tasks;
  }
  return static_cast<int32_t>(tasks);
}

node_state empty_copy(const node_state& n) {
  node_state e = n;
  const node_inventory& inv = n.view->inventory;
  e.cpu_free = inv.cpu_milli;
  e.mem_free = inv.memory_bytes;
  e.dpu_free = static_cast<int32_t>(inv.dpus.size());
  for (int32_t i = 0; i < e.gpu_count(); ++i) {
    e.gpu_milli[i] = kGpuMilliWhole;
    e.gpu_mem[i] = e.gpu_mem_total[i];
  }
  e.affinity = {};
  return e;
}

task_assignment make_assignment(const node_state& n, const task_shape& s,
                                const std::vector<int32_t>& slots) {
  task_assignment a;
  a.node = n.view->inventory.name;
  a.cpu_milli = s.cpu;
  a.memory_bytes = s.mem;
  a.dpus = s.dpus;
  if (!slots.empty()) {
    // One memory figure for all the task's GPUs: the smallest need, which fits each.
    int64_t mem = std::numeric_limits<int64_t>::max();
    for (int32_t slot : slots) mem = std::min(mem, gpu_mem_need(n, slot, s));
    a.gpu_milli = s.milli;
    a.gpu_memory_bytes = mem;
    for (int32_t slot : slots) a.gpus.push_back(n.view->gpus[slot].info.index);
  }
  return a;
}

task_assignment take_task(node_state& n, const task_shape& s, const std::vector<int32_t>& slots) {
  task_assignment a = make_assignment(n, s, slots);
  n.cpu_free -= s.cpu;
  n.mem_free -= s.mem;
  n.dpu_free -= s.dpus;
  for (int32_t slot : slots) {
    n.gpu_milli[slot] -= s.milli;
    n.gpu_mem[slot] -= a.gpu_memory_bytes;
  }
  if (!slots.empty()) ++n.affinity[affinity_slot(static_cast<int32_t>(slots.size()), s.milli)];
  n.version = next_node_version();
  return a;
}

}  // namespace gantry::sched
