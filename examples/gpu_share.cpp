// gantry-example-gpu-share: what a task that shares a GPU may use, seen from inside it.
// Prints and writes to $GANTRY_OUTPUT_DIR/gpu-share-<rank>.txt one line:
//   rank R sharing S limit_mib L total_mib T over_limit_alloc failed|succeeded|skipped
// S is $GANTRY_GPU_SHARING; L is the task's CUDA_MPS_PINNED_DEVICE_MEM_LIMIT for ordinal 0
// (0 when unset); T is cudaMemGetInfo's total; over_limit_alloc tries to allocate L + 1 GiB,
// which an MPS daemon must refuse (skipped without a limit).
// With --meet N it first waits (at most 120 s) until N ranks of the job have started, so
// their running at once is proven, not assumed. scripts/gpu-check.sh runs it; it needs
// CUDA (built only when CMake found the toolkit) and exits 1 on any CUDA error.
#include <cuda_runtime_api.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <string>
#include <thread>

#include "examples/example_env.hpp"

using namespace gantry::example;

namespace {

// The MiB after "0=" in CUDA_MPS_PINNED_DEVICE_MEM_LIMIT ("0=8192M,1=..."); 0 when absent.
long long limit_mib() {
  std::string v = env("CUDA_MPS_PINNED_DEVICE_MEM_LIMIT");
  if (v.rfind("0=", 0) != 0) return 0;
  long long n = std::atoll(v.c_str() + 2);
  size_t end = v.find_first_not_of("0123456789", 2);
  char unit = end == std::string::npos ? 'M' : v[end];
  return unit == 'G' ? n * 1024 : n;
}

// Creates present-<rank> in the job's output directory and waits until `n` exist.
bool meet(int rank, int n) {
  namespace fs = std::filesystem;
  std::string dir = env("GANTRY_OUTPUT_DIR", ".");
  if (!write_file(dir + "/present-" + std::to_string(rank), "1\n")) return false;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  while (std::chrono::steady_clock::now() < deadline) {
    int seen = 0;
    for (int r = 0; r < n; ++r) seen += fs::exists(dir + "/present-" + std::to_string(r)) ? 1 : 0;
    if (seen == n) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

}  // namespace

int main(int argc, char** argv) {
  int rank = env_int("GANTRY_RANK", 0);
  int meet_n = 0;
  for (int i = 1; i + 1 < argc; ++i)
    if (std::string(argv[i]) == "--meet") meet_n = std::atoi(argv[i + 1]);
  if (meet_n > 0 && !meet(rank, meet_n)) {
    std::cerr << "rank " << rank << ": the other ranks did not start within 120 s" << std::endl;
    return 1;
  }
  size_t free_b = 0, total_b = 0;
  if (auto e = cudaMemGetInfo(&free_b, &total_b); e != cudaSuccess) {
    std::cerr << "cudaMemGetInfo: " << cudaGetErrorString(e) << std::endl;
    return 1;
  }
  long long limit = limit_mib();
  std::string over = "skipped";
  if (limit > 0) {
    void* p = nullptr;
    size_t bytes = static_cast<size_t>(limit + 1024) << 20;
    cudaError_t e = cudaMalloc(&p, bytes);
    over = e == cudaSuccess ? "succeeded" : "failed";
    if (p) cudaFree(p);
    cudaGetLastError();  // clears the failed allocation's error
  }
  std::string line = "rank " + std::to_string(rank) + " sharing " +
                     env("GANTRY_GPU_SHARING", "none") + " limit_mib " + std::to_string(limit) +
                     " total_mib " + std::to_string(total_b >> 20) + " over_limit_alloc " + over;
  std::cout << line << std::endl;
  std::string path = output_path("gpu-share-" + std::to_string(rank) + ".txt");
  if (!write_file(path, line + "\n")) {
    std::cerr << "cannot write " << path << std::endl;
    return 1;
  }
  return 0;
}
