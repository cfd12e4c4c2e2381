#pragma once
// Records and temp directories shared by the storage tests.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "core/records.hpp"

namespace gantry::testing {

// A fresh directory under $TMPDIR (or /tmp), removed with everything in it on destruction.
struct temp_dir {
  temp_dir() {
    const char* base = std::getenv("TMPDIR");
    std::string tmpl = std::string(base && *base ? base : "/tmp") + "/gantry-storage-XXXXXX";
    if (!mkdtemp(tmpl.data())) std::abort();
    path = tmpl;
  }
  ~temp_dir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
  std::string sub(const std::string& name) const { return path + "/" + name; }
  std::string path;
};

inline std::string job_id(uint64_t n) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "j-%06llu", static_cast<unsigned long long>(n));
  return buf;
}

// The manifest of docs' example: a CPU stage, a 4-rank NCCL gang and a DPU stage beside it.
inline job_spec sample_spec(const std::string& name = "recsys-train") {
  job_spec spec;
  spec.name = name;
  spec.priority = 10;
  spec.max_restarts = 3;
  stage_spec features;
  features.name = "features";
  features.replicas = 2;
  features.resources.cpu_milli = 2000;
  features.resources.memory_bytes = 1LL << 30;
  features.env = {{"SHARDS", "2"}, {"MODE", "fast \"quoted\" \\ ünïcode"}};
  features.command = {"gantry-example-features", "--out", "/shared/features"};
  features.node_selector = {{"zone", "a"}};
  stage_spec train;
  train.name = "train";
  train.device = device_kind::gpu;
  train.after = {"features"};
  train.replicas = 4;
  train.collective = collective_kind::nccl;
  train.placement = placement_pref::pack;
  train.resources = {.cpu_milli = 4000,
                     .memory_bytes = 8LL << 30,
                     .gpu_count = 1,
                     .gpu_milli = 1000,
                     .gpu_memory_bytes = 40LL << 30,
                     .gpu_models = {"A100", "H100"},
                     .dpus = 0};
  train.checkpoint = checkpoint_spec{"/shared/ckpt/recsys", "SIGUSR1", 30000};
  train.command = {"gantry-example-allreduce", "--steps", "200"};
  train.fabric = "verbs";
  train.no_retry_exit_codes = {2, 3};
  stage_spec ingest;
  ingest.name = "ingest";
  ingest.device = device_kind::dpu;
  ingest.colocate_with = "train";
  ingest.placement = placement_pref::spread;
  ingest.resources.dpus = 1;
  ingest.command = {"gantry-example-ingest"};
  spec.stages = {features, train, ingest};
  return spec;
}

// A job part-way through: features done, train running on two nodes, one rank restarted.
inline job_record sample_job(uint64_t n) {
  job_record job = make_job_record(job_id(n), sample_spec(), n, 1'700'000'000'000 + n);
  job.state = job_state::running;
  job.restarts = 1;
  job.last_event_seq = 17;
  job.stages[0].state = stage_state::succeeded;
  for (auto& r : job.stages[0].ranks) {
    r.state = rank_state::succeeded;
    r.node = "cpu-0" + std::to_string(r.rank);
    r.exit_code = 0;
    r.pid = 4000 + r.rank;
    r.usage = {int64_t{700} << 20, 95'000'000 + r.rank, 60'000};
  }
  auto& train = job.stages[1];
  train.state = stage_state::running;
  train.checkpoint_step = 120;
  train.restarts = 1;
  for (auto& r : train.ranks) {
    r.state = rank_state::running;
    r.node = r.rank < 2 ? "gpu-a" : "gpu-b";
    r.pid = 91000 + r.rank;
    r.attempt = 1;
    r.gpus = {r.rank % 2};
    r.gpu_milli = 1000;
    r.task_id = make_task_id(job.id, train.name, r.rank, r.attempt);
  }
  job.stages[2].reason = "0/3 nodes: 3 insufficient dpu";
  return job;
}

inline job_event sample_event(const std::string& job, uint64_t seq) {
  job_event e;
  e.job_id = job;
  e.seq = seq;
  e.time_ms = 1'700'000'000'000 + static_cast<int64_t>(seq);
  e.kind = event_kind::rank;
  e.stage = "train";
  e.rank = static_cast<int32_t>(seq % 4);
  e.state = "running";
  e.node = "gpu-a";
  e.pid = 1234;
  e.attempt = 1;
  e.message = "event " + std::to_string(seq);
  e.usage = {int64_t{1} << 30, 2'000'000, static_cast<int64_t>(seq)};
  return e;
}

inline node_record sample_node(const std::string& name) {
  node_record n;
  n.inventory.name = name;
  n.inventory.hostname = name + ".cluster.local";
  n.inventory.cpu_milli = 64000;
  n.inventory.memory_bytes = 512LL << 30;
  for (int32_t i = 0; i < 2; ++i)
    n.inventory.gpus.push_back(
        {i, "H100", 80LL << 30, 0, i, "GPU-" + std::to_string(i) + "-uuid", i == 1});
  n.inventory.dpus.push_back({0, "BlueField-3", true});
  n.inventory.fabrics = {"tcp", "shm", "verbs"};
  n.inventory.labels = {{"zone", "a"}, {"rack", "r12"}};
  n.inventory.gpu_sharing = kGpuSharingMps;
  n.inventory.isolation = "v1";
  n.cordoned = true;
  n.registered_ms = 1'700'000'000'123;
  return n;
}

}  // namespace gantry::testing
