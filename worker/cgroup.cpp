// Finding the hierarchies (open_cgroups) and the file helpers both drivers use.
#include "worker/cgroup.hpp"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "worker/cgroup_kill.hpp"

namespace gantry {

const char* to_string(isolation_mode m) {
  switch (m) {
    case isolation_mode::v1:
      return "v1";
    case isolation_mode::v2:
      return "v2";
    default:
      return "none";
  }
}

result<void> write_cgroup_file(const std::string& path, const std::string& value) {
  // O_CREAT only matters for test trees: cgroupfs refuses to create files.
  int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) return fail(errc::io_error, "cannot open " + path + ": " + std::strerror(errno));
  ssize_t n = ::write(fd, value.data(), value.size());
  int err = errno;
  ::close(fd);
  if (n != static_cast<ssize_t>(value.size()))
    return fail(errc::io_error, "cannot write \"" + value + "\" to " + path + ": " +
                                    std::strerror(n < 0 ? err : EIO));
  return {};
}

result<std::string> read_cgroup_file(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return fail(errc::not_found, "cannot open " + path + ": " + std::strerror(errno));
  std::string out;
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return out;
}

int64_t cgroup_keyed_value(const std::string& text, const std::string& key) {
  std::istringstream in(text);
  std::string k;
  long long v = 0;
  while (in >> k >> v)
    if (k == key) return v;
  return -1;
}

namespace {

struct hierarchies {
  std::map<std::string, std::string> v1_mounts;  // controller -> mount point
  std::string v2_mount;
  std::map<std::string, std::string> v1_paths;  // controller -> the worker's own cgroup
  std::string v2_path;
};

hierarchies find_hierarchies(const cgroup_options& o) {
  hierarchies h;
  std::ifstream mounts(o.proc_self_mounts);
  std::string line;
  while (std::getline(mounts, line)) {
    std::istringstream in(line);
    std::string dev, dir, type, options;
    if (!(in >> dev >> dir >> type >> options)) continue;
    if (type == "cgroup2") {
      if (h.v2_mount.empty()) h.v2_mount = dir;
    } else if (type == "cgroup") {
      std::istringstream opts(options);
      std::string opt;
      while (std::getline(opts, opt, ','))
        if (!h.v1_mounts.count(opt)) h.v1_mounts[opt] = dir;
    }
  }
  std::ifstream self(o.proc_self_cgroup);
  while (std::getline(self, line)) {  // "4:memory:/a/b", "2:cpu,cpuacct:/", "0::/x"
    auto c1 = line.find(':');
    auto c2 = line.find(':', c1 == std::string::npos ? 0 : c1 + 1);
    if (c1 == std::string::npos || c2 == std::string::npos) continue;
    std::string controllers = line.substr(c1 + 1, c2 - c1 - 1);
    std::string path = line.substr(c2 + 1);
    if (controllers.empty()) {
      h.v2_path = path;
      continue;
    }
    std::istringstream cs(controllers);
    std::string c;
    while (std::getline(cs, c, ',')) h.v1_paths[c] = path;
  }
  return h;
}

// The directories of workers that died (worker.<pid> with no such process): their leftover
// processes (daemons that outlived the worker) are killed and the groups removed. A group
// whose processes are still dying stays until the next worker starts.
void sweep_dead_workers(const std::string& parent) {
  std::error_code ec;
  for (const auto& w : std::filesystem::directory_iterator(parent, ec)) {
    std::string name = w.path().filename().string();
    if (name.rfind("worker.", 0) != 0 || !w.is_directory(ec)) continue;
    char* end = nullptr;
    long pid = std::strtol(name.c_str() + 7, &end, 10);
    if (pid <= 0 || *end != '\0' || ::kill(static_cast<pid_t>(pid), 0) == 0 || errno != ESRCH)
      continue;
    for (const auto& task : std::filesystem::directory_iterator(w.path(), ec)) {
      if (!task.is_directory(ec)) continue;
      kill_listed_pids((task.path() / "cgroup.procs").string());
      ::rmdir(task.path().c_str());
    }
    ::rmdir(w.path().c_str());
  }
}

bool has_word(const std::string& text, const std::string& word) {
  std::istringstream in(text);
  std::string w;
  while (in >> w)
    if (w == word) return true;
  return false;
}

// The worker's directory in a hierarchy mounted at `mount` where it runs in `own`.
std::string worker_dir(const std::string& mount, const std::string& own, const cgroup_options& o,
                       int pid) {
  std::string base = o.root.rfind('/', 0) == 0 ? o.root : own + "/" + o.root;
  return (std::filesystem::path(mount + "/" + base) / ("worker." + std::to_string(pid)))
      .lexically_normal()
      .string();
}

result<std::unique_ptr<cgroup_driver>> open_v1(const hierarchies& h, const cgroup_options& o,
                                               int pid) {
  cgroup_v1_dirs d;
  std::string missing;
  auto dir_of = [&](const std::string& c, bool required) -> std::string {
    auto m = h.v1_mounts.find(c);
    if (m == h.v1_mounts.end()) {
      if (required) missing += (missing.empty() ? "" : ", ") + c;
      return "";
    }
    auto own = h.v1_paths.find(c);
    return worker_dir(m->second, own == h.v1_paths.end() ? "/" : own->second, o, pid);
  };
  d.memory = dir_of("memory", true);
  d.cpu = dir_of("cpu", true);
  d.cpuacct = dir_of("cpuacct", true);
  d.pids = dir_of("pids", true);
  d.freezer = dir_of("freezer", true);
  d.devices = dir_of("devices", false);
  if (!missing.empty())
    return fail(errc::failed_precondition, "cgroup v1: no " + missing + " hierarchy mounted");
  for (const std::string* dir : {&d.memory, &d.cpu, &d.cpuacct, &d.pids, &d.freezer, &d.devices})
    if (!dir->empty()) sweep_dead_workers(std::filesystem::path(*dir).parent_path().string());
  return make_cgroup_v1(d);
}

// On v2 a cgroup with processes cannot give controllers to its children: the worker moves
// itself into a leaf of its own cgroup first (as under systemd's Delegate=yes).
result<std::unique_ptr<cgroup_driver>> open_v2(const hierarchies& h, const cgroup_options& o,
                                               int pid) {
  if (h.v2_mount.empty()) return fail(errc::failed_precondition, "cgroup v2 is not mounted");
  std::string own = (std::filesystem::path(h.v2_mount + "/" + h.v2_path)).lexically_normal();
  auto available = read_cgroup_file(own + "/cgroup.controllers");
  if (!available) return fail(available.error());
  for (const char* c : {"memory", "cpu", "pids"})
    if (!has_word(*available, c))
      return fail(errc::failed_precondition,
                  std::string("cgroup v2: the ") + c + " controller is not available in " + own);
  if (o.root.rfind('/', 0) != 0 && h.v2_path != "/") {
    std::string leaf = own + "/worker." + std::to_string(pid) + ".self";
    std::error_code ec;
    std::filesystem::create_directory(leaf, ec);
    if (ec) return fail(errc::failed_precondition, "cgroup v2: cannot create " + leaf);
    if (auto r = write_cgroup_file(leaf + "/cgroup.procs", std::to_string(pid)); !r)
      return fail(r.error());
  }
  std::string dir = worker_dir(h.v2_mount, h.v2_path, o, pid);
  // Every cgroup from the worker's own down to `dir` hands the controllers on.
  std::string at = own;
  std::string rel = std::filesystem::path(dir).lexically_relative(own).string();
  std::istringstream parts(rel);
  std::string part;
  for (;;) {
    write_cgroup_file(at + "/cgroup.subtree_control", "+memory +cpu +pids");
    if (!std::getline(parts, part, '/')) break;
    at += "/" + part;
    std::error_code ec;
    std::filesystem::create_directory(at, ec);
  }
  sweep_dead_workers(std::filesystem::path(dir).parent_path().string());
  return make_cgroup_v2(dir);
}

}  // namespace

result<std::unique_ptr<cgroup_driver>> open_cgroups(const cgroup_options& o, std::string* why) {
  int pid = o.pid ? o.pid : static_cast<int>(::getpid());
  if (o.mode == "none") {
    if (why) *why = "cgroups turned off (--cgroups none)";
    return std::unique_ptr<cgroup_driver>();
  }
  if (o.mode != "auto" && o.mode != "v1" && o.mode != "v2")
    return fail(errc::invalid_argument,
                "--cgroups: expected auto, v1, v2 or none, got \"" + o.mode + "\"");
  hierarchies h = find_hierarchies(o);
  std::string reasons;
  if (o.mode == "auto" || o.mode == "v2") {
    auto d = open_v2(h, o, pid);
    if (d) return d;
    reasons = d.error().message;
    if (o.mode == "v2") return fail(d.error());
  }
  auto d = open_v1(h, o, pid);
  if (d) return d;
  if (o.mode == "v1") return fail(d.error());
  if (why) *why = reasons + "; " + d.error().message;
  return std::unique_ptr<cgroup_driver>();
}

}  // namespace gantry
