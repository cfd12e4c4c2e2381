#include "worker/launcher.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <map>

extern char** environ;

namespace gantry {

std::vector<std::pair<std::string, std::string>> merged_environment(
    const std::vector<std::pair<std::string, std::string>>& overrides) {
  std::map<std::string, std::string> env;
  for (char** e = environ; e && *e; ++e) {
    std::string kv(*e);
    auto eq = kv.find('=');
    if (eq != std::string::npos) env[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  for (const auto& [k, v] : overrides) env[k] = v;
  return {env.begin(), env.end()};
}

namespace {

// Only async-signal-safe calls between fork and exec: everything is prepared before.
[[noreturn]] void exec_child(pid_t parent, const char* log_path, const char* dir, char** argv,
                             char** envp, const char* path_env) {
  setpgid(0, 0);
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() != parent) _exit(126);  // the worker died before prctl took effect
  // The worker's threads block some signals; a task starts with none blocked or ignored.
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  for (int sig : {SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGPIPE, SIGCHLD, SIGUSR1, SIGUSR2})
    signal(sig, SIG_DFL);
  int log = open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (log < 0 || null < 0) _exit(126);
  dup2(null, 0);
  dup2(log, 1);
  dup2(log, 2);
  if (chdir(dir) != 0) {
    const char msg[] = "gantry: cannot enter the task's working directory\n";
    ssize_t w = write(2, msg, sizeof msg - 1);
    (void)w;
    _exit(126);
  }
  // execvpe looks argv[0] up in the PATH of `environ`: use the task's PATH instead.
  if (path_env) environ = envp;
  execvpe(argv[0], argv, envp);
  int err = errno;
  const char prefix[] = "gantry: cannot execute ";
  ssize_t w = write(2, prefix, sizeof prefix - 1);
  w = write(2, argv[0], strlen(argv[0]));
  w = write(2, ": ", 2);
  const char* why = strerror(err);  // not async-signal-safe in theory; glibc's is in practice
  w = write(2, why, strlen(why));
  w = write(2, "\n", 1);
  (void)w;
  _exit(127);
}

}  // namespace

result<pid_t> spawn_process(const process_spec& spec) {
  if (spec.argv.empty()) return fail(errc::invalid_argument, "empty command");
  std::vector<std::string> env_strings;
  env_strings.reserve(spec.env.size());
  const char* path_env = nullptr;
  for (const auto& [k, v] : spec.env) env_strings.push_back(k + "=" + v);
  std::vector<char*> envp;
  for (auto& s : env_strings) {
    envp.push_back(s.data());
    if (s.rfind("PATH=", 0) == 0) path_env = s.c_str();
  }
  envp.push_back(nullptr);
  std::vector<std::string> args = spec.argv;
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);

  pid_t parent = getpid();
  pid_t pid = fork();
  if (pid < 0) return fail(errc::io_error, std::string("fork failed: ") + std::strerror(errno));
  if (pid == 0)
    exec_child(parent, spec.log_path.c_str(), spec.working_dir.c_str(), argv.data(), envp.data(),
               path_env);
  setpgid(pid, pid);  // also from the parent, so a kill right away finds the group
  return pid;
}

}  // namespace gantry
