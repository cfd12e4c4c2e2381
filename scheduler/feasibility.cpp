#include "scheduler/feasibility.hpp"

#include <algorithm>
#include <map>
#include <string>

#include "scheduler/cluster_view.hpp"
#include "scheduler/fit.hpp"

namespace gantry::sched {
namespace {

// The manifest field (below the stage) that a node's refusal points at.
const char* field_of(fit_code c) {
  switch (c) {
    case fit_code::selector:
      return "node_selector";
    case fit_code::fabric:
      return "fabric";
    case fit_code::gpu_model:
      return "resources.gpu_model";
    case fit_code::gpu_memory_cap:
    case fit_code::gpu_memory:
      return "resources.gpu_memory";
    case fit_code::cpu:
      return "resources.cpu";
    case fit_code::memory:
      return "resources.memory";
    case fit_code::dpu:
      return "resources.dpu";
    default:  // no_gpu, gpu_count, gpu
      return "resources.gpu";
  }
}

placement_request request_of(const stage_spec& stage) {
  placement_request req;
  req.id = stage.name;
  req.per_task = stage.resources;
  req.count = stage.is_gang() ? std::max(1, stage.replicas) : 1;
  req.gang = stage.is_gang();
  req.placement = stage.placement;
  req.node_selector = stage.node_selector;
  req.fabric = stage.fabric;
  return req;
}

const char* kAdvice = " (gantry submit --allow-unschedulable queues it anyway)";

}  // namespace

std::vector<manifest_error> never_schedulable(const job_spec& job,
                                              const std::vector<node_inventory>& nodes) {
  std::vector<manifest_error> out;
  if (nodes.empty()) return out;
  cluster_view view;  // every node empty and schedulable
  for (const auto& inv : nodes) view.upsert_node(inv);
  const auto n = static_cast<int32_t>(view.dense().size());
  for (size_t i = 0; i < job.stages.size(); ++i) {
    const stage_spec& stage = job.stages[i];
    const placement_request req = request_of(stage);
    const task_shape s = compile_shape(req);
    std::map<fit_code, int32_t> refused;
    int64_t room = 0;  // ranks the whole cluster could hold at once
    for (const node_state& node : view.dense()) {
      const fit_code c = check_fit(node, s);
      if (c == fit_code::ok)
        room += capacity(node, s, req.count);
      else
        ++refused[c];
    }
    if (room >= req.count) continue;
    const std::string path = "stages[" + std::to_string(i) + "].";
    const std::string who = "stage \"" + stage.name + "\"";
    if (room > 0) {
      out.push_back({path + "replicas",
                     who + " can never be placed: its " + std::to_string(req.count) +
                         " ranks run together and the whole cluster (" + std::to_string(n) +
                         " nodes) holds at most " + std::to_string(room) + kAdvice});
      continue;
    }
    // Most nodes' reason first, as in the scheduler's pending reasons.
    std::vector<std::pair<fit_code, int32_t>> sorted(refused.begin(), refused.end());
    std::stable_sort(sorted.begin(), sorted.end(),
                     [](const auto& a, const auto& b) { return a.second > b.second; });
    std::string reason = "0/" + std::to_string(n) + " nodes";
    const char* sep = ": ";
    for (const auto& [code, k] : sorted) {
      reason += sep + std::to_string(k) + " " + fit_text(code, s, {});
      sep = ", ";
    }
    out.push_back({path + field_of(sorted.front().first),
                   who + " can never be placed on this cluster, even empty: " + reason + kAdvice});
  }
  return out;
}

}  // namespace gantry::sched
