// gantry-example-features: the "prepare" stage of examples/pipeline.yaml. Each rank takes
// its share of the numbers 1..N and writes their sum and sum of squares to
// $GANTRY_OUTPUT_DIR/features-<rank>.txt.
#include <iostream>

#include "examples/example_env.hpp"

using namespace gantry::example;

int main(int argc, char** argv) {
  long n = 1'000'000;
  for (int i = 1; i + 1 < argc; ++i)
    if (std::string(argv[i]) == "--n") n = std::atol(argv[i + 1]);
  int rank = env_int("GANTRY_RANK", 0);
  int world = env_int("GANTRY_WORLD_SIZE", 1);
  long long sum = 0, squares = 0;
  for (long x = rank + 1; x <= n; x += world) {
    sum += x;
    squares += static_cast<long long>(x) * x % 1'000'000'007;
  }
  std::string text = "rank " + std::to_string(rank) + " sum " + std::to_string(sum) +
                     " squares_mod " + std::to_string(squares % 1'000'000'007) + "\n";
  std::cout << "features: " << text << std::flush;
  if (!write_file(output_path("features-" + std::to_string(rank) + ".txt"), text)) return 1;
  return 0;
}
