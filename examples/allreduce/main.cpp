// gantry-example-allreduce: every rank of a collective stage all-reduces a buffer per step,
// checks the sums, and checkpoints by gantry's protocol. With a GPU (and a CUDA build) it
// uses NCCL, rank 0 publishing the ncclUniqueId through GANTRY_RENDEZVOUS; otherwise it
// runs the same steps as a CPU ring all-reduce over TCP. Rank 0 writes
// $GANTRY_OUTPUT_DIR/allreduce-result.txt. Exit: 0 ok, 1 failure, 2 usage, 3 wrong sum.
#include <charconv>
#include <chrono>
#include <cstdlib>
#include <iomanip>
#include <iostream>
#include <sstream>

#include "examples/allreduce/gantry_rendezvous.hpp"
#include "examples/allreduce/memory_rendezvous.hpp"
#include "examples/allreduce/steps.hpp"
#include "examples/allreduce/tcp_ring.hpp"
#include "examples/example_env.hpp"
#ifdef GANTRY_EXAMPLE_WITH_CUDA
#include "examples/allreduce/nccl_backend.hpp"
#endif

namespace {

using namespace gantry::example;

constexpr const char* kUsage =
    "usage: gantry-example-allreduce --steps N [--size FLOATS_PER_RANK (4096)] "
    "[--checkpoint-every K (10, 0 = never)] [--step-ms D (0)] [--backend auto|cpu|nccl] "
    "[--timeout-ms T (120000)]";

struct options {
  int64_t steps = -1;
  int64_t size = 4096;
  int64_t checkpoint_every = 10;
  int64_t step_ms = 0;
  std::string backend = "auto";
  int64_t timeout_ms = 120000;
};

bool parse_number(std::string_view text, int64_t& out) {
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && p == text.data() + text.size();
}

outcome<options> parse_flags(int argc, char** argv) {
  options o;
  for (int i = 1; i < argc; ++i) {
    std::string flag = argv[i];
    if (flag == "--help" || flag == "-h") return failure(kUsage, kExitOk);
    if (i + 1 >= argc) return failure(flag + ": expected a value", kExitUsage);
    std::string value = argv[++i];
    if (flag == "--backend") {
      if (value != "auto" && value != "cpu" && value != "nccl")
        return failure("--backend: expected auto, cpu or nccl, got \"" + value + "\"", kExitUsage);
      o.backend = value;
      continue;
    }
    struct numeric {
      const char* name;
      int64_t* field;
      int64_t min, max;
    };
    const numeric flags[] = {{"--steps", &o.steps, 1, 1'000'000'000},
                             {"--size", &o.size, 1, int64_t{1} << 34},
                             {"--checkpoint-every", &o.checkpoint_every, 0, 1'000'000'000},
                             {"--step-ms", &o.step_ms, 0, 3'600'000},
                             {"--timeout-ms", &o.timeout_ms, 1, 3'600'000}};
    const numeric* f = nullptr;
    for (const auto& n : flags)
      if (flag == n.name) f = &n;
    if (!f) return failure("unknown flag " + flag, kExitUsage);
    if (!parse_number(value, *f->field) || *f->field < f->min || *f->field > f->max)
      return failure(flag + ": expected an integer from " + std::to_string(f->min) + " to " +
                         std::to_string(f->max) + ", got \"" + value + "\"",
                     kExitUsage);
  }
  if (o.steps < 0) return failure("--steps is required", kExitUsage);
  return o;
}

// An integer from the environment: the first of `names` that is set, else `fallback`.
outcome<int64_t> env_number(std::initializer_list<const char*> names, int64_t fallback) {
  for (const char* name : names) {
    std::string text = env(name);
    if (text.empty()) continue;
    int64_t v = 0;
    if (!parse_number(text, v) || v < 0)
      return failure(std::string("$") + name + " is \"" + text + "\", not a number", kExitUsage);
    return v;
  }
  return fallback;
}

outcome<run_config> config_from_env(const options& o) {
  run_config c;
  auto rank = env_number({"RANK", "GANTRY_RANK"}, 0);
  auto world = env_number({"WORLD_SIZE", "GANTRY_WORLD_SIZE"}, 1);
  auto restore = env_number({"GANTRY_RESTORE_STEP"}, -1);
  if (!rank || !world || !restore)
    return std::unexpected(!rank ? rank.error() : !world ? world.error() : restore.error());
  if (*world < 1 || *rank >= *world)
    return failure(
        "rank " + std::to_string(*rank) + " is not in a world of " + std::to_string(*world),
        kExitUsage);
  c.rank = static_cast<int>(*rank);
  c.world = static_cast<int>(*world);
  c.steps = o.steps;
  c.size = static_cast<uint64_t>(o.size);
  c.checkpoint_every = o.checkpoint_every;
  c.step_ms = static_cast<int>(o.step_ms);
  c.checkpoint_dir = env("GANTRY_CHECKPOINT_DIR");
  c.restore_step = *restore;
  c.job = env("GANTRY_JOB_ID");
  return c;
}

// Whether this rank can run NCCL by itself; `why_not` says why it cannot.
struct gpu_probe {
  bool usable = false;
  std::string why_not;
  int devices = 0;
};

gpu_probe probe_gpu(const std::string& backend_flag) {
#ifndef GANTRY_EXAMPLE_WITH_CUDA
  return {false, "built without CUDA", 0};
#else
  if (backend_flag == "cpu") return {false, "--backend cpu", 0};
  // Under gantry a stage without GPUs gets an empty CUDA_VISIBLE_DEVICES; it must not take a GPU
  // that the node may have given to another task.
  if (backend_flag == "auto" && !env("GANTRY_JOB_ID").empty() &&
      env("CUDA_VISIBLE_DEVICES").empty())
    return {false, "the stage was given none", 0};
  auto count = cuda_device_count();
  if (!count) return {false, count.error().message, 0};
  return {true, "", *count};
#endif
}

// Picks the backend all ranks use (rank 0 decides and publishes it as "backend") and joins.
outcome<std::unique_ptr<allreduce_backend>> open_backend(const run_config& c, const options& o,
                                                         rendezvous& rdv) {
  gpu_probe gpu = probe_gpu(o.backend);
  std::string choice = gpu.usable ? "nccl" : "cpu", reason = gpu.why_not;
  auto timeout = static_cast<uint32_t>(o.timeout_ms);
  if (c.world > 1 && c.rank == 0) {
    if (auto r = rdv.put("backend", choice); !r) return std::unexpected(r.error());
  } else if (c.world > 1) {
    auto chosen = rdv.get("backend", timeout);
    if (!chosen) return std::unexpected(chosen.error());
    if (*chosen == "nccl" && !gpu.usable)
      return failure("rank 0 runs NCCL but this rank has no usable GPU (" + reason + ")");
    if (*chosen == "cpu" && gpu.usable) reason = "rank 0 has none";
    choice = *chosen;
  }
  if (o.backend == "nccl" && choice != "nccl")
    return failure("--backend nccl, but there is no usable GPU (" + reason + ")");
  if (choice == "cpu") {
    std::cout << "no GPU (" << reason << "): running the CPU ring all-reduce over TCP" << std::endl;
    ring_options ro{advertise_address(env("MASTER_ADDR")), timeout};
    auto ring = tcp_ring::join(c.rank, c.world, rdv, ro);
    if (!ring) return std::unexpected(ring.error());
    return std::unique_ptr<allreduce_backend>(std::move(*ring));
  }
#ifdef GANTRY_EXAMPLE_WITH_CUDA
  outcome<std::string> id = c.rank == 0 ? nccl_new_id_hex() : rdv.get("nccl-id", timeout);
  if (!id) return std::unexpected(id.error());
  if (c.rank == 0 && c.world > 1)
    if (auto r = rdv.put("nccl-id", *id); !r) return std::unexpected(r.error());
  auto local_rank = env_number({"LOCAL_RANK"}, 0);
  int device = static_cast<int>((local_rank ? *local_rank : 0) % gpu.devices);
  std::cout << "NCCL all-reduce on CUDA device " << device << " of " << gpu.devices
            << " (CUDA_VISIBLE_DEVICES=" << env("CUDA_VISIBLE_DEVICES", "unset") << ")"
            << std::endl;
  return nccl_join(c.rank, c.world, device, *id, timeout);
#else
  return failure("internal: NCCL chosen in a build without CUDA");
#endif
}

int fail_run(const run_config* c, const run_error& e) {
  std::cerr << "gantry-example-allreduce"
            << (c ? ": rank " + std::to_string(c->rank) + " of " + std::to_string(c->world) : "")
            << ": " << e.message << std::endl;
  return e.exit_code;
}

}  // namespace

int main(int argc, char** argv) {
  auto o = parse_flags(argc, argv);
  if (!o && o.error().exit_code == kExitOk) {
    std::cout << o.error().message << std::endl;
    return kExitOk;
  }
  if (!o) return fail_run(nullptr, {kExitUsage, o.error().message + "\n" + kUsage});
  auto c = config_from_env(*o);
  if (!c) return fail_run(nullptr, c.error());

  std::unique_ptr<rendezvous> rdv = std::make_unique<memory_rendezvous>();
  if (c->world > 1) {
    std::string where = env("GANTRY_RENDEZVOUS");
    if (where.empty())
      return fail_run(&*c, {kExitUsage,
                            "$GANTRY_RENDEZVOUS is not set: run more than one rank "
                            "as a collective stage of gantry"});
    auto connected = connect_gantry_rendezvous(where);
    if (!connected) return fail_run(&*c, connected.error());
    rdv = std::move(*connected);
  }
  auto start = prepare_run(*c, std::cout);
  if (!start) return fail_run(&*c, start.error());
  auto backend = open_backend(*c, *o, *rdv);
  if (!backend) return fail_run(&*c, backend.error());

  auto began = std::chrono::steady_clock::now();
  auto report = run_steps(*c, *start, **backend, std::cout);
  if (!report) {
    (*backend)->abort();  // peers fail at once, not at their timeout
    return fail_run(&*c, report.error());
  }
  double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - began).count();

  std::ostringstream summary;
  summary << std::fixed << std::setprecision(3) << "allreduce summary: rank " << c->rank << " of "
          << c->world << ", backend " << (*backend)->name() << ", " << report->steps_run
          << " steps of " << c->size << " floats";
  if (c->world == 1 && std::string((*backend)->name()) == "cpu") {
    summary << ", no data moved (world size 1)";
  } else if (report->steps_run > 0) {
    double avg = report->allreduce_seconds / static_cast<double>(report->steps_run);
    double gbps = avg > 0 ? static_cast<double>(c->size * sizeof(float)) / avg / 1e9 : 0;
    summary << ", all-reduce avg " << avg * 1e6 << " us, algbw " << gbps << " GB/s, busbw "
            << gbps * 2 * (c->world - 1) / c->world << " GB/s";
  }
  summary << ", wall " << wall << " s, checksum " << report->state.checksum;
  std::cout << summary.str() << std::endl;

  if (c->rank == 0) {
    std::string line = "steps " + std::to_string(c->steps) + " world " + std::to_string(c->world) +
                       " checksum " + std::to_string(report->state.checksum) + " restored_from " +
                       std::to_string(report->restored_from) + " attempt " +
                       env("GANTRY_ATTEMPT", "0") + " backend " + (*backend)->name();
    std::string path = output_path("allreduce-result.txt");
    if (!write_file(path, line + "\n"))
      return fail_run(&*c, {kExitFailure, "cannot write " + path});
    std::cout << "wrote " << path << ": " << line << std::endl;
  }
  return kExitOk;
}
