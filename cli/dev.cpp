// `gantry dev`: a whole cluster on this machine as real child processes: one coordinator and
// N workers with simulated GPUs, in a temporary data dir, stopped on Ctrl-C, SIGTERM or when
// gantry dev's own parent dies.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <thread>

#include "cli/commands.hpp"
#include "core/log.hpp"
#include "protocol/client.hpp"

namespace gantry::cli {
namespace {

struct child {
  std::string name;
  pid_t pid = -1;
  bool exited = false;
};

// Starts `argv` with stdout to `out_fd` (or the log) and stderr to `log_path`; the child
// gets SIGTERM when gantry dev dies.
pid_t start(const std::vector<std::string>& argv, const std::string& log_path, int out_fd) {
  std::vector<std::string> args = argv;
  std::vector<char*> cargs;
  for (auto& a : args) cargs.push_back(a.data());
  cargs.push_back(nullptr);
  pid_t parent = getpid();
  pid_t pid = fork();
  if (pid != 0) return pid;
  prctl(PR_SET_PDEATHSIG, SIGTERM);
  if (getppid() != parent) _exit(1);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  setpgid(0, 0);  // Ctrl-C reaches gantry dev only; it stops the children in order
  int log = open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (log >= 0) {
    dup2(log, 2);
    dup2(out_fd >= 0 ? out_fd : log, 1);
  }
  execv(cargs[0], cargs.data());
  _exit(127);
}

// Reads the coordinator's first stdout line ("... listening on HOST:PORT").
std::string read_address(int fd, int timeout_ms) {
  std::string line;
  int64_t deadline = now_ms() + timeout_ms;
  while (now_ms() < deadline) {
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, 100) <= 0) continue;
    char c;
    ssize_t n = read(fd, &c, 1);
    if (n <= 0) return "";
    if (c == '\n') {
      auto at = line.rfind(' ');
      return at == std::string::npos ? "" : line.substr(at + 1);
    }
    line += c;
  }
  return "";
}

void stop(std::vector<child>& children, int first, int last, int grace_ms) {
  for (int i = first; i < last; ++i)
    if (!children[i].exited) kill(children[i].pid, SIGTERM);
  int64_t deadline = now_ms() + grace_ms;
  for (int i = first; i < last; ++i) {
    while (!children[i].exited) {
      int status;
      pid_t r = waitpid(children[i].pid, &status, WNOHANG);
      if (r == children[i].pid || r < 0) {
        children[i].exited = true;
      } else if (now_ms() > deadline) {
        kill(children[i].pid, SIGKILL);
        waitpid(children[i].pid, &status, 0);
        children[i].exited = true;
      } else {
        usleep(20'000);
      }
    }
  }
}

// After `--run`: what the job's last stage printed (the pipeline's result, say).
void show_last_stage_output(const std::string& addr) {
  auto cl = client::connect(addr);
  if (!cl) return;
  auto jobs = (*cl)->list_jobs();
  if (!jobs || jobs->empty()) return;
  auto job = (*cl)->describe(jobs->back().id);
  if (!job || job->stages.empty()) return;
  std::string stage = job->stages.back().name;
  cl->reset();  // run_logs opens its own connection (one event loop per thread)
  std::cout << "gantry dev: output of stage " << stage << " of " << jobs->back().id << ":" << std::endl;
  client_options c;
  c.coordinator = addr;
  run_logs(c, jobs->back().id, stage, std::nullopt, false);
}

}  // namespace

int run_dev(const dev_options& o, const std::string& self_exe) {
  set_log_identity("dev");
  if (o.workers < 1 || o.workers > 64) {
    std::cerr << "gantry dev: --workers must be 1..64, got " << o.workers << "\n";
    return kExitUsage;
  }
  prctl(PR_SET_PDEATHSIG, SIGTERM);
  sigset_t sigs;
  sigemptyset(&sigs);
  for (int s : {SIGINT, SIGTERM, SIGCHLD}) sigaddset(&sigs, s);
  sigprocmask(SIG_BLOCK, &sigs, nullptr);  // handled below with sigtimedwait

  namespace fs = std::filesystem;
  bool temp = o.data_dir.empty();
  std::string dir = o.data_dir;
  if (temp) {
    char tmpl[] = "/tmp/gantry-dev-XXXXXX";
    if (!mkdtemp(tmpl)) {
      std::cerr << "gantry dev: cannot create a temp dir: " << std::strerror(errno) << "\n";
      return 1;
    }
    dir = tmpl;
  }
  fs::create_directories(dir + "/shared");

  std::vector<child> children;
  int pipefd[2];
  if (pipe2(pipefd, O_CLOEXEC) != 0) return 1;
  children.push_back({"coordinator", start({self_exe, "coordinator", "--listen",
                                            "127.0.0.1:" + std::to_string(o.port), "--data-dir",
                                            dir + "/coordinator"},
                                           dir + "/coordinator.log", pipefd[1])});
  close(pipefd[1]);
  std::string addr = read_address(pipefd[0], 15000);
  if (addr.empty()) {
    std::cerr << "gantry dev: the coordinator did not start; see " << dir << "/coordinator.log\n";
    stop(children, 0, 1, 2000);
    return 1;
  }
  for (int i = 1; i <= o.workers; ++i) {
    std::string name = "dev-" + std::to_string(i);
    std::vector<std::string> argv{self_exe,       "worker",       "--coordinator", addr,
                                  "--name",       name,           "--data-dir",    dir + "/" + name,
                                  "--shared-dir", dir + "/shared"};
    if (!o.simulate_gpus.empty()) {
      argv.push_back("--simulate-gpus");
      argv.push_back(o.simulate_gpus);
    }
    children.push_back({name, start(argv, dir + "/" + name + ".log", -1)});
  }
  std::cout << "gantry dev: coordinator listening on " << addr << ", " << o.workers << " workers"
            << (o.simulate_gpus.empty() ? "" : " with simulated GPUs " + o.simulate_gpus) << "\n"
            << "gantry dev: data and logs in " << dir << (temp ? " (removed at exit)" : "") << "\n"
            << "gantry dev: in another shell: export GANTRY_COORDINATOR=" << addr << std::endl;

  // Wait until every worker registered.
  if (auto cl = client::connect(addr)) {
    for (int i = 1; i <= o.workers; ++i) {
      auto r = (*cl)->wait_node("dev-" + std::to_string(i), "ready", 20000);
      if (!r) std::cerr << "gantry dev: worker dev-" << i << ": " << r.error().message << "\n";
    }
  }

  std::atomic<int> run_result{-1};
  std::thread runner;
  if (!o.run_file.empty()) {
    runner = std::thread([&] {
      client_options c;
      c.coordinator = addr;
      int code = run_submit(c, o.run_file, true);
      show_last_stage_output(addr);
      run_result = code;
    });
  } else {
    std::cout << "gantry dev: running; Ctrl-C stops the cluster" << std::endl;
  }

  int code = kExitOk;
  for (;;) {
    if (run_result >= 0) {
      code = run_result;
      break;
    }
    struct timespec ts {
      0, 100'000'000
    };
    siginfo_t info;
    int sig = sigtimedwait(&sigs, &info, &ts);
    if (sig == SIGINT || sig == SIGTERM) {
      std::cout << "\ngantry dev: stopping" << std::endl;
      code = o.run_file.empty() ? kExitOk : kExitJobFailed;
      break;
    }
    if (sig == SIGCHLD) {
      bool died = false;
      for (auto& c : children) {
        int status;
        if (!c.exited && waitpid(c.pid, &status, WNOHANG) == c.pid) {
          c.exited = true;
          died = true;
          std::cerr << "gantry dev: " << c.name << " exited unexpectedly; see " << dir << "/"
                    << c.name << ".log\n";
        }
      }
      if (died) {
        code = 1;
        break;
      }
    }
  }
  stop(children, 1, static_cast<int>(children.size()), 8000);  // workers first: tasks end cleanly
  stop(children, 0, 1, 5000);
  if (runner.joinable()) {
    if (run_result < 0)
      runner.detach();  // still blocked on a coordinator that is gone
    else
      runner.join();
  }
  if (temp) {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
  std::cout << "gantry dev: stopped" << std::endl;
  std::cout.flush();
  _exit(code);
}

}  // namespace gantry::cli
