// gantry-example-report: the last stage of examples/pipeline.yaml. It gathers every
// train-<rank>.txt into $GANTRY_OUTPUT_DIR/report.txt and prints it.
#include <dirent.h>

#include <algorithm>
#include <iostream>
#include <vector>

#include "examples/example_env.hpp"

using namespace gantry::example;

int main() {
  std::string dir = env("GANTRY_OUTPUT_DIR", ".");
  std::vector<std::string> names;
  if (DIR* d = opendir(dir.c_str())) {
    while (dirent* e = readdir(d)) {
      std::string name = e->d_name;
      if (name.rfind("train-", 0) == 0 && name.size() > 4 && name.substr(name.size() - 4) == ".txt")
        names.push_back(name);
    }
    closedir(d);
  }
  std::sort(names.begin(), names.end());
  std::string report = "pipeline report: " + std::to_string(names.size()) + " trained ranks\n";
  for (const auto& n : names) report += "  " + read_file(dir + "/" + n);
  std::cout << report << std::flush;
  if (!write_file(output_path("report.txt"), report)) return 1;
  return names.empty() ? 2 : 0;
}
