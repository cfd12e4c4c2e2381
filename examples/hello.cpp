// gantry-example-hello: greets from its rank and writes the greeting to
// $GANTRY_OUTPUT_DIR/hello-<rank>.txt.
#include <unistd.h>

#include <iostream>

#include "examples/example_env.hpp"

using namespace gantry::example;

int main() {
  std::string greeting = env("GREETING", "hello");
  int rank = env_int("GANTRY_RANK", 0);
  int world = env_int("GANTRY_WORLD_SIZE", 1);
  char host[256] = "?";
  gethostname(host, sizeof host);
  std::string line = greeting + " from rank " + std::to_string(rank) + " of " +
                     std::to_string(world) + " on node " + env("GANTRY_NODE", host) + " (job " +
                     env("GANTRY_JOB_ID", "-") + ", attempt " + env("GANTRY_ATTEMPT", "0") + ")";
  std::cout << line << std::endl;
  std::string path = output_path("hello-" + std::to_string(rank) + ".txt");
  if (!write_file(path, line + "\n")) {
    std::cerr << "cannot write " << path << std::endl;
    return 1;
  }
  std::cout << "wrote " << path << std::endl;
  return 0;
}
