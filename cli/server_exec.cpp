// The `gantry` binary holds the client verbs only and loads only the libraries they use (no
// CAF, RocksDB or the scheduler: the dynamic loader's work is most of a short command's cost).
// The long-running verbs are gantry-server's: these definitions stand in for theirs and,
// once main.cpp has parsed the command line (so usage errors read the same), replace this
// process with gantry-server beside it, given the same words. The pid stays the same.
#include <limits.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iostream>
#include <iterator>
#include <string>
#include <vector>

#include "cli/commands.hpp"

namespace gantry::cli {
namespace {

// This process's own words, from /proc/self/cmdline (NUL-separated).
std::vector<std::string> own_words() {
  std::ifstream in("/proc/self/cmdline", std::ios::binary);
  std::string all{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  std::vector<std::string> words;
  for (size_t start = 0; start < all.size();) {
    size_t end = all.find('\0', start);
    if (end == std::string::npos) end = all.size();
    words.push_back(all.substr(start, end - start));
    start = end + 1;
  }
  return words;
}

int exec_server() {
  char self[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  if (n <= 0) {
    std::cerr << "gantry: cannot find where this binary is (/proc/self/exe: "
              << std::strerror(errno) << ")\n";
    return kExitUsage;
  }
  std::string server(self, static_cast<size_t>(n));
  server = server.substr(0, server.rfind('/') + 1) + "gantry-server";
  std::vector<std::string> words = own_words();
  std::vector<char*> argv;
  for (auto& w : words) argv.push_back(w.data());
  argv.push_back(nullptr);
  std::cout.flush();
  execv(server.c_str(), argv.data());
  std::cerr << "gantry: " << (words.size() > 1 ? words[1] : std::string("this command")) << " runs "
            << server << ", which cannot be started: " << std::strerror(errno)
            << " (install gantry-server beside gantry)\n";
  return kExitUsage;
}

}  // namespace

int run_coordinator(const coordinator_options&) {
  return exec_server();
}
int run_worker(const worker_options&) {
  return exec_server();
}
int run_dev(const dev_options&, const std::string&) {
  return exec_server();
}
int run_sim(const sim_cli_options&) {
  return exec_server();
}

}  // namespace gantry::cli
