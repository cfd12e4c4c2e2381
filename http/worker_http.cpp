#include "http/worker_http.hpp"

#include "http/process_stats.hpp"
#include "http/prometheus_text.hpp"
#include "protocol/kj_bridge.hpp"

namespace gantry::http {

std::string worker_metrics_text(const std::string& node, const std::vector<gpu_info>& gpus,
                                const std::vector<task_sample>& tasks,
                                const std::vector<gpu_load>& load) {
  prometheus_text out;
  out.family("gantry_worker_tasks", "gauge", "Tasks running on this worker");
  out.sample("gantry_worker_tasks", {{"node", node}}, static_cast<double>(tasks.size()));
  auto task_labels = [&](const task_sample& t) {
    return labels{{"node", node},
                  {"job", t.job_id},
                  {"task", t.task_id},
                  {"source", t.from_cgroup ? "cgroup" : "process"}};
  };
  out.family("gantry_task_cpu_seconds_total", "counter",
             "CPU time of a running task: its cgroup's, or without one its main process's");
  for (const auto& t : tasks)
    if (t.cpu_usec >= 0)
      out.sample("gantry_task_cpu_seconds_total", task_labels(t),
                 static_cast<double>(t.cpu_usec) / 1e6);
  out.family("gantry_task_memory_peak_bytes", "gauge",
             "Peak memory of a running task: its cgroup's, or without one its main process's");
  for (const auto& t : tasks)
    if (t.peak_memory_bytes >= 0)
      out.sample("gantry_task_memory_peak_bytes", task_labels(t),
                 static_cast<double>(t.peak_memory_bytes));
  auto gpu_labels = [&](const gpu_info& g) {
    return labels{{"node", node},
                  {"gpu", std::to_string(g.index)},
                  {"model", g.model},
                  {"simulated", g.simulated ? "true" : "false"}};
  };
  out.family("gantry_worker_gpu_memory_bytes", "gauge",
             "Memory of one of this worker's GPUs (simulated=\"true\": not a real device)");
  for (const auto& g : gpus)
    out.sample("gantry_worker_gpu_memory_bytes", gpu_labels(g),
               static_cast<double>(g.memory_bytes));
  auto gpu_of = [&](int32_t index) -> const gpu_info* {
    for (const auto& g : gpus)
      if (g.index == index) return &g;
    return nullptr;
  };
  out.family("gantry_worker_gpu_utilization_ratio", "gauge",
             "Share of the last sample period a real GPU was busy (NVML)");
  for (const auto& l : load)
    if (const gpu_info* g = gpu_of(l.index); g && l.utilization >= 0)
      out.sample("gantry_worker_gpu_utilization_ratio", gpu_labels(*g), l.utilization);
  out.family("gantry_worker_gpu_memory_used_bytes", "gauge",
             "Memory in use on a real GPU, by any process (NVML)");
  for (const auto& l : load)
    if (const gpu_info* g = gpu_of(l.index))
      out.sample("gantry_worker_gpu_memory_used_bytes", gpu_labels(*g),
                 static_cast<double>(l.memory_used_bytes));
  append_process_metrics(out);
  return out.text();
}

router worker_routes(std::string node, std::vector<gpu_info> gpus, task_sampler sample,
                     gpu_sampler gpu_load) {
  router r;
  r.add("/healthz", access::open, [](request) {
    return kj::Promise<response>(response{200, "text/plain; charset=utf-8", "ok\n"});
  });
  r.add("/metrics", access::open, [node, gpus, sample, gpu_load](request) {
    auto b = to_promise<std::vector<task_sample>>();
    sample(std::move(b.fn));
    return b.promise.then([node, gpus, gpu_load](result<std::vector<task_sample>> tasks) {
      if (!tasks) return error_response(tasks.error());
      std::vector<gantry::gpu_load> load;
      if (gpu_load) load = gpu_load();
      return response{200, kPrometheusContentType, worker_metrics_text(node, gpus, *tasks, load)};
    });
  });
  return r;
}

}  // namespace gantry::http
