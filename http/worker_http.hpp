#pragma once
// The worker's HTTP endpoints (docs/operations.md "HTTP"), plain HTTP without tokens:
//   /healthz   the process serves HTTP
//   /metrics   Prometheus text: its running tasks' CPU time and peak memory, its GPUs (and,
//              for real ones, their utilisation and memory in use)
#include <functional>
#include <vector>

#include "core/resources.hpp"
#include "http/http_server.hpp"
#include "worker/supervisor.hpp"

namespace gantry::http {

// Asks for the running tasks' usage (supervisor::sample).
using task_sampler = std::function<void(callback<std::vector<task_sample>>)>;

// What the worker's real GPUs are doing now (inventory::nvml_load_reader); null where there
// are none (simulated GPUs, no NVML). Called on the KJ thread at each scrape.
using gpu_sampler = std::function<std::vector<gpu_load>()>;

// REQUIRES: called on the KJ thread.
router worker_routes(std::string node, std::vector<gpu_info> gpus, task_sampler sample,
                     gpu_sampler gpu_load = nullptr);

std::string worker_metrics_text(const std::string& node, const std::vector<gpu_info>& gpus,
                                const std::vector<task_sample>& tasks,
                                const std::vector<gpu_load>& load = {});

}  // namespace gantry::http
