// `gantry dev` supervises its cluster: a worker that dies is restarted and serves again; a
// coordinator that dies, or a worker that cannot start, ends dev with an error.
#include <doctest/doctest.h>
#include <signal.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>

#include "tests/cluster/harness.hpp"

using namespace gantry::test;
namespace harness = gantry::harness;
using json = nlohmann::json;

namespace {

// `gantry dev ARGS --data-dir DIR/dev` with its stdout and stderr on one pipe.
class dev_process {
 public:
  explicit dev_process(std::vector<std::string> args)
      : p_(command(dir_.path(), std::move(args)),
           harness::spawn_options{.log_path = dir_.path() + "/dev.log", .stderr_to_pipe = true}) {}
  ~dev_process() { p_.stop(20000); }  // workers get SIGTERM from dev, then dev exits

  harness::process& proc() { return p_; }
  const std::string& output() const { return output_; }
  std::string data_dir() const { return dir_.path() + "/dev"; }
  // The first line from now on that contains `text`; "" at EOF or after timeout_ms.
  std::string until(const std::string& text, int timeout_ms) {
    int64_t deadline = now_ms() + timeout_ms;
    while (now_ms() < deadline) {
      std::string line = p_.read_line(static_cast<int>(deadline - now_ms()));
      if (line.empty() && !p_.running()) return "";
      output_ += line + "\n";
      if (line.find(text) != std::string::npos) return line;
    }
    return "";
  }
  // The address from dev's "export GANTRY_COORDINATOR=" line, once every worker is ready;
  // the token and CA of its export lines in exports().
  std::string start(int timeout_ms = 60000) {
    std::string line = until("export GANTRY_COORDINATOR=", timeout_ms);
    std::string token = until("export GANTRY_TOKEN=", timeout_ms);
    std::string ca = until("export GANTRY_CA=", timeout_ms);
    if (line.empty() || token.empty() || ca.empty() || until("running; Ctrl-C", timeout_ms).empty())
      return "";
    exports_ = {token.substr(token.find(' ') + 1), ca.substr(ca.find(' ') + 1)};
    return line.substr(line.find('=') + 1);
  }
  // "GANTRY_TOKEN=..." and "GANTRY_CA=...", as dev printed them.
  const std::vector<std::string>& exports() const { return exports_; }
  // The pid of dev's child started with `role` (coordinator, worker) and `name`, or -1.
  pid_t child(const std::string& role, const std::string& name = "") const {
    for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
      std::ifstream stat(entry.path() / "stat");
      std::string pid, comm, state;
      pid_t ppid = -1;
      if (!(stat >> pid >> comm >> state >> ppid) || ppid != p_.pid()) continue;
      std::string cmdline = read_file(entry.path() / "cmdline");
      std::replace(cmdline.begin(), cmdline.end(), '\0', ' ');
      bool named = name.empty() || cmdline.find(" --name " + name + " ") != std::string::npos;
      if (cmdline.find(" " + role + " ") != std::string::npos && named) return std::stoi(pid);
    }
    return -1;
  }
  std::string logs() const {
    std::string out = "--- gantry dev's output\n" + output_;
    for (const char* n : {"coordinator", "dev-1", "dev-2"})
      out += std::string("--- ") + n + ".log (last lines)\n" +
             harness::tail(read_file(data_dir() + "/" + n + ".log"), 30) + "\n";
    return out;
  }

 private:
  static std::vector<std::string> command(const std::string& dir, std::vector<std::string> args) {
    args.insert(args.begin(), {bin("gantry"), "dev"});
    args.insert(args.end(), {"--data-dir", dir + "/dev"});
    // Tasks of a root worker run as nobody: they must be able to reach DIR/dev.
    std::filesystem::permissions(dir, std::filesystem::perms(0711));
    return args;
  }
  harness::temp_dir dir_{"gantry-test"};
  harness::process p_;
  std::string output_;
  std::vector<std::string> exports_;
};

// `gantry ARGS --coordinator ADDR` in the environment dev's export lines set: exit code and
// stdout.
std::pair<int, std::string> run_cli(std::vector<std::string> args, const std::string& address,
                                    const dev_process& dev) {
  args.insert(args.begin(), bin("gantry"));
  args.insert(args.begin(), dev.exports().begin(), dev.exports().end());
  args.insert(args.begin(), "/usr/bin/env");
  args.insert(args.end(), {"--coordinator", address});
  process p(args, "/dev/null");
  std::string out = p.read_all(60000);
  return {p.wait(5000), out};
}

}  // namespace

TEST_CASE("gantry dev restarts a worker killed with -9, and the cluster keeps serving") {
  dev_process dev({"--workers", "2", "--simulate-gpus", "1xH100:80GiB"});
  std::string address = dev.start();
  INFO(dev.logs());
  REQUIRE_FALSE(address.empty());
  pid_t before = dev.child("worker", "dev-1");
  REQUIRE(before > 0);

  ::kill(before, SIGKILL);
  std::string said = dev.until("dev-1 exited unexpectedly", 20000);
  CHECK(said.find("killed by signal 9") != std::string::npos);
  auto at = said.find("restarted it as pid ");
  REQUIRE(at != std::string::npos);
  pid_t after = std::stoi(said.substr(at + 20));
  CHECK(after != before);
  CHECK(pid_alive(after));
  CHECK(dev.proc().running());
  CHECK(
      run_cli({"wait", "dev-1", "--state", "ready", "--timeout-ms", "20000"}, address, dev).first ==
      0);

  // A gang of two ranks with a GPU each, and each worker has one GPU: one rank must run on
  // the restarted dev-1.
  std::string manifest = dev.data_dir() + "/both.yaml";
  std::ofstream(manifest) << R"(name: both-workers
stages:
  - name: main
    device: gpu
    collective: nccl
    replicas: 2
    resources: { cpu: 0.1, memory: 16MiB, gpu: 1 }
    command: [ "true" ]
)";
  auto [submitted, out] = run_cli({"submit", manifest, "--watch"}, address, dev);
  CHECK_MESSAGE(submitted == 0, out);
  std::string job = out.substr(0, out.find('\n'));
  auto [described, text] = run_cli({"describe", job, "--json"}, address, dev);
  REQUIRE(described == 0);
  INFO(text);
  std::set<std::string> nodes;
  const json described_job = json::parse(text);
  for (const auto& r : described_job["stages"][0]["ranks"]) nodes.insert(r["node"]);
  CHECK(nodes == std::set<std::string>{"dev-1", "dev-2"});
  CHECK(dev.child("worker", "dev-1") == after);  // the one dev started, nothing else
}

TEST_CASE("gantry dev ends with an error when its coordinator dies") {
  dev_process dev({"--workers", "1", "--simulate-gpus", ""});
  INFO(dev.logs());
  REQUIRE_FALSE(dev.start().empty());
  pid_t coordinator = dev.child("coordinator");
  pid_t worker = dev.child("worker", "dev-1");
  REQUIRE(coordinator > 0);
  REQUIRE(worker > 0);
  ::kill(coordinator, SIGKILL);
  std::string said = dev.until("the coordinator exited unexpectedly", 20000);
  CHECK(said.find("killed by signal 9") != std::string::npos);
  CHECK(dev.proc().wait(20000) == 1);
  CHECK(wait_pid_gone(worker, 1000));  // dev stopped its worker before it exited
}

TEST_CASE("gantry dev gives up on a worker that exits right after every start") {
  dev_process dev({"--workers", "1", "--simulate-gpus", "not-a-gpu-spec"});
  INFO(dev.logs());
  std::string said = dev.until("not restarting it", 30000);
  CHECK(said.find("dev-1 exited 5 times") != std::string::npos);
  CHECK(dev.proc().wait(20000) == 1);
  // Four restarts came before it gave up, each said on stderr.
  size_t restarts = 0;
  for (size_t at = 0; (at = dev.output().find("restarted it", at)) != std::string::npos; ++at)
    ++restarts;
  CHECK(restarts == 4);
}
