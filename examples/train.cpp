// gantry-example-train: the GPU stage of examples/pipeline.yaml. It reads every feature
// file, "trains" for --steps steps (a deterministic update, a few ms each), prints the GPU
// it was given (CUDA_VISIBLE_DEVICES and the MPS share for a fraction), and writes
// $GANTRY_OUTPUT_DIR/train-<rank>.txt. No GPU code: on simulated GPUs it runs on the CPU.
#include <dirent.h>
#include <unistd.h>

#include <iostream>
#include <sstream>

#include "examples/example_env.hpp"

using namespace gantry::example;

int main(int argc, char** argv) {
  int steps = 20;
  int step_ms = 10;
  for (int i = 1; i + 1 < argc; ++i) {
    if (std::string(argv[i]) == "--steps") steps = std::atoi(argv[i + 1]);
    if (std::string(argv[i]) == "--step-ms") step_ms = std::atoi(argv[i + 1]);
  }
  int rank = env_int("GANTRY_RANK", 0);
  std::cout << "train rank " << rank
            << ": CUDA_VISIBLE_DEVICES=" << env("CUDA_VISIBLE_DEVICES", "(unset)")
            << " MPS share=" << env("CUDA_MPS_ACTIVE_THREAD_PERCENTAGE", "100") << "%"
            << " memory limit=" << env("CUDA_MPS_PINNED_DEVICE_MEM_LIMIT", "(none)") << std::endl;
  // Input: the sums the prepare stage wrote.
  long long total = 0;
  int files = 0;
  std::string dir = env("GANTRY_OUTPUT_DIR", ".");
  if (DIR* d = opendir(dir.c_str())) {
    while (dirent* e = readdir(d)) {
      std::string name = e->d_name;
      if (name.rfind("features-", 0) != 0 || name.size() < 4 ||
          name.substr(name.size() - 4) != ".txt")
        continue;
      std::istringstream in(read_file(dir + "/" + name));
      std::string word, rank_word;
      long long sum = 0;
      in >> word >> rank_word >> word >> sum;
      total += sum;
      ++files;
    }
    closedir(d);
  }
  double weight = 0.0;
  for (int s = 1; s <= steps; ++s) {
    weight += (static_cast<double>(total % 997) / 997.0 - weight) * 0.5;
    if (s % 5 == 0 || s == steps)
      std::cout << "step " << s << "/" << steps << " weight " << weight << std::endl;
    usleep(step_ms * 1000);
  }
  std::ostringstream out;
  out << "rank " << rank << " inputs " << files << " total " << total << " weight " << weight
      << " gpus " << env("CUDA_VISIBLE_DEVICES", "-") << "\n";
  if (!write_file(output_path("train-" + std::to_string(rank) + ".txt"), out.str())) return 1;
  return files > 0 ? 0 : 2;  // no input means the pipeline order was broken
}
