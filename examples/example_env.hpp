#pragma once
// Small helpers for the example programs: what gantry gives a task, and output files.
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

namespace gantry::example {

inline std::string env(const char* name, const char* fallback = "") {
  const char* v = std::getenv(name);
  return v ? v : fallback;
}

inline int env_int(const char* name, int fallback) {
  const char* v = std::getenv(name);
  return v && *v ? std::atoi(v) : fallback;
}

// $GANTRY_OUTPUT_DIR/<name>, or ./<name> when run by hand.
inline std::string output_path(const std::string& name) {
  std::string dir = env("GANTRY_OUTPUT_DIR", ".");
  return dir + "/" + name;
}

// Writes via a temp file and rename, so readers never see half a file.
inline bool write_file(const std::string& path, const std::string& text) {
  std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp);
    if (!out) return false;
    out << text;
  }
  return std::rename(tmp.c_str(), path.c_str()) == 0;
}

inline std::string read_file(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

}  // namespace gantry::example
