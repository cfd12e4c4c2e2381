#include "bench/bench_figures.hpp"

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>

#include "bench/bench_process.hpp"

namespace gantry::bench {

summary summarize(std::vector<double> v) {
  summary s;
  s.n = v.size();
  if (v.empty()) return s;
  std::sort(v.begin(), v.end());
  size_t n = v.size();
  s.median = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
  s.p99 = v[static_cast<size_t>(std::ceil(0.99 * static_cast<double>(n))) - 1];
  s.min = v.front();
  s.max = v.back();
  for (double x : v) s.mean += x / static_cast<double>(n);
  return s;
}

nlohmann::json to_json(const summary& s) {
  return {{"n", s.n},     {"median", s.median}, {"p99", s.p99},
          {"max", s.max}, {"min", s.min},       {"mean", s.mean}};
}

void print_header(const std::string& title) {
  std::printf("\n== %s\n%-56s %10s %10s %10s  %s\n", title.c_str(), "figure", "median", "p99/max",
              "min", "target");
}

void print_row(const std::string& name, const summary& s, double target, bool target_on_p99) {
  std::printf("%-56s %10.1f %10.1f %10.1f", name.c_str(), s.median, s.p99, s.min);
  if (target >= 0) {
    double v = target_on_p99 ? s.p99 : s.median;
    std::printf("  <= %g (%s) %s", target, target_on_p99 ? "p99" : "median",
                v <= target ? "ok" : "MISSED");
  }
  std::printf("\n");
}

nlohmann::json figure(const summary& s, const std::string& unit, double target,
                      bool target_on_p99) {
  nlohmann::json j = to_json(s);
  j["unit"] = unit;
  if (target >= 0) {
    j["target"] = target;
    j["target_on"] = target_on_p99 ? "p99" : "median";
    j["met"] = (target_on_p99 ? s.p99 : s.median) <= target;
  }
  return j;
}

floors measure_floors(const std::string& dir) {
  floors f;
  // Loopback TCP: 1-byte ping-pong with Nagle off, against an echo thread.
  int srv = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  bind(srv, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  listen(srv, 1);
  getsockname(srv, reinterpret_cast<sockaddr*>(&addr), &len);
  int cli = socket(AF_INET, SOCK_STREAM, 0);
  if (connect(cli, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
    fail_now("loopback connect failed");
  int peer = accept(srv, nullptr, nullptr);
  int one = 1;
  setsockopt(cli, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  setsockopt(peer, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  std::thread echo([peer] {
    char b;
    while (read(peer, &b, 1) == 1 && write(peer, &b, 1) == 1) {
    }
  });
  std::vector<double> rtt, sync, spawn;
  for (int i = 0; i < 2000; ++i) {
    char b = 'x';
    int64_t t = now_us();
    if (write(cli, &b, 1) != 1 || read(cli, &b, 1) != 1) break;
    rtt.push_back(static_cast<double>(now_us() - t));
  }
  close(cli);
  echo.join();
  close(peer);
  close(srv);
  // fdatasync of a 4 KiB append, as a synced RocksDB WAL write does.
  std::string path = dir + "/fdatasync-probe";
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  std::string block(4096, 'x');
  for (int i = 0; i < 200 && fd >= 0; ++i) {
    int64_t t = now_us();
    if (pwrite(fd, block.data(), block.size(), off_t{i} * 4096) < 0) break;
    fdatasync(fd);
    sync.push_back(ms_between(t, now_us()));
  }
  if (fd >= 0) close(fd);
  unlink(path.c_str());
  // fork + exec + wait of /bin/true.
  for (int i = 0; i < 50; ++i) {
    int64_t t = now_us();
    pid_t pid = fork();
    if (pid == 0) {
      execl("/bin/true", "true", static_cast<char*>(nullptr));
      _exit(127);
    }
    waitpid(pid, nullptr, 0);
    spawn.push_back(ms_between(t, now_us()));
  }
  f.tcp_rtt_us = summarize(rtt).median;
  f.fdatasync_ms = summarize(sync).median;
  f.spawn_ms = summarize(spawn).median;
  return f;
}

void print_floors(const floors& f) {
  std::printf(
      "floors measured now (median)      loopback TCP round trip %.1f us, fdatasync %.3f ms, "
      "spawn /bin/true %.2f ms\n",
      f.tcp_rtt_us, f.fdatasync_ms, f.spawn_ms);
  std::printf(
      "floors from BENCHMARKS.md         TCP round trip ~32 us, fdatasync ~0.26 ms, spawn "
      "~0.7 ms; submit->running >= ~1.2 ms\n");
}

nlohmann::json to_json(const floors& f) {
  return {{"tcp_rtt_us", f.tcp_rtt_us},
          {"fdatasync_ms", f.fdatasync_ms},
          {"spawn_ms", f.spawn_ms},
          {"reference",
           {{"tcp_rtt_us", 32},
            {"fdatasync_ms", 0.26},
            {"spawn_ms", 0.7},
            {"submit_to_running_ms", 1.2}}}};
}

std::map<std::string, std::string> parse_flags(int argc, char** argv,
                                               std::map<std::string, std::string> allowed,
                                               const std::string& usage) {
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--help" || a == "-h") {
      std::cout << usage;
      std::exit(0);
    }
    if (!allowed.contains(a) || i + 1 >= argc) {
      std::cerr << (allowed.contains(a) ? a + " needs a value\n" : "unknown flag " + a + "\n")
                << usage;
      std::exit(2);
    }
    allowed[a] = argv[++i];
  }
  return allowed;
}

std::vector<int64_t> parse_list(const std::string& csv) {
  std::vector<int64_t> out;
  std::stringstream in(csv);
  std::string item;
  while (std::getline(in, item, ','))
    if (!item.empty()) out.push_back(std::stoll(item));
  return out;
}

void write_json(const std::string& path, const nlohmann::json& j) {
  if (path.empty()) return;
  std::ofstream out(path);
  out << j.dump(2) << "\n";
  if (!out) fail_now("cannot write " + path);
  std::printf("wrote %s\n", path.c_str());
}

}  // namespace gantry::bench
