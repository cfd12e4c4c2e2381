#pragma once
// Helpers shared by the worker tests.
#include <stdlib.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>

namespace gantry::test {

// A directory under /tmp, removed with its contents at the end of the test.
struct temp_dir {
  explicit temp_dir(std::string_view prefix = "gantry-worker-test") {
    std::string pattern =
        (std::filesystem::temp_directory_path() / (std::string(prefix) + "-XXXXXX")).string();
    path = mkdtemp(pattern.data());
  }
  ~temp_dir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
  // Writes `text` to path/rel, creating the folders on the way.
  void write(const std::filesystem::path& rel, std::string_view text) const {
    std::filesystem::create_directories((path / rel).parent_path());
    std::ofstream(path / rel) << text;
  }
  std::filesystem::path path;
};

inline std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The exit code of child `pid` (128 + the signal if a signal ended it).
inline int wait_exit(pid_t pid) {
  int status = 0;
  REQUIRE(waitpid(pid, &status, 0) == pid);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

// Where cgroup2 is mounted on this machine (empty if nowhere).
inline std::string cgroup2_mount() {
  std::ifstream mounts("/proc/self/mounts");
  std::string dev, dir, type, rest;
  while (mounts >> dev >> dir >> type && std::getline(mounts, rest))
    if (type == "cgroup2") return dir;
  return "";
}

}  // namespace gantry::test
