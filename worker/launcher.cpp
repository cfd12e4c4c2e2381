#include "worker/launcher.hpp"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>

#include "worker/user_map.hpp"

namespace gantry {
namespace {

// What a child that could not start leaves for its parent (in their shared memory).
enum class start_step : int { none, cgroup, user, log, working_dir, exec };

// Everything the child needs, prepared by the parent: between clone and exec the child may
// not allocate, take locks or write anything of the parent's but `step` and `err`.
struct child_args {
  pid_t parent;
  const char* log_path;
  const char* dir;
  char* const* argv;
  char* const* envp;
  const int* cgroup_fds = nullptr;  // open cgroup.procs files, written "0" to join
  size_t cgroup_count = 0;
  size_t failed_cgroup = 0;  // which one could not be joined
  bool switch_user = false;
  uid_t uid = 0;
  gid_t gid = 0;
  const gid_t* groups = nullptr;
  size_t group_count = 0;
  std::vector<std::string> candidates;  // argv[0] resolved against PATH, in order
  std::vector<char*> sh_argv;           // {"/bin/sh", <candidate>, argv[1..], nullptr}
  start_step step = start_step::none;
  int err = 0;
};

// The child runs on its own stack in the parent's memory: no sanitizer bookkeeping.
#define GANTRY_CHILD __attribute__((no_sanitize_address))

GANTRY_CHILD void write_str(int fd, const char* s) {
  size_t n = strlen(s);
  while (n > 0) {
    ssize_t w = write(fd, s, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return;
    s += w;
    n -= static_cast<size_t>(w);
  }
}

[[noreturn]] GANTRY_CHILD void child_failed(child_args* a, start_step step, int err, bool log_open,
                                            const char* what, const char* subject) {
  if (log_open) {
    write_str(2, "gantry: ");
    write_str(2, what);
    write_str(2, subject);
    write_str(2, ": ");
    write_str(2, strerrordesc_np(err));  // a constant string: no locale, no allocation
    write_str(2, "\n");
  }
  a->step = step;
  a->err = err;
  _exit(127);
}

// execvpe's search, without touching `environ` (which the child shares with the parent).
GANTRY_CHILD int exec_candidates(child_args* a) {
  bool denied = false;
  int err = ENOENT;
  for (const std::string& path : a->candidates) {
    execve(path.c_str(), a->argv, a->envp);
    err = errno;
    if (err == ENOEXEC) {  // no #! line: a shell script, as execvp runs it
      a->sh_argv[1] = const_cast<char*>(path.c_str());
      execve("/bin/sh", a->sh_argv.data(), a->envp);
      err = errno;
    }
    if (err == EACCES) {
      denied = true;
    } else if (err != ENOENT && err != ENOTDIR && err != ESTALE && err != ENODEV &&
               err != ETIMEDOUT) {
      return err;
    }
  }
  return denied ? EACCES : err;
}

// Takes the task's identity. Raw syscalls: glibc's setuid() and friends would signal every
// thread of the process they believe they run in (the worker's, whose memory this child
// shares) to change them all. The kernel clears the parent-death signal on a change of
// credentials: it is set again afterwards.
GANTRY_CHILD int switch_user(child_args* a) {
  if (syscall(SYS_setgroups, a->group_count, a->groups) != 0) return errno;
  if (syscall(SYS_setresgid, a->gid, a->gid, a->gid) != 0) return errno;
  if (syscall(SYS_setresuid, a->uid, a->uid, a->uid) != 0) return errno;
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() != a->parent) _exit(126);
  return 0;
}

GANTRY_CHILD int child_main(void* arg) {
  auto* a = static_cast<child_args*>(arg);
  setpgid(0, 0);
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() != a->parent) _exit(126);  // the worker died before prctl took effect
  // The parent's handlers must not run here (in its memory), nor its blocked signals stay
  // blocked in the task: handled signals and the usual stop signals go back to their
  // defaults, then every signal is unblocked (the parent blocked them all for the clone).
  for (int sig = 1; sig < NSIG; ++sig) {
    if (sig == SIGKILL || sig == SIGSTOP) continue;
    struct sigaction old {};
    if (sigaction(sig, nullptr, &old) != 0) continue;
    bool stop_signal = sig == SIGTERM || sig == SIGINT || sig == SIGHUP || sig == SIGQUIT ||
                       sig == SIGPIPE || sig == SIGCHLD || sig == SIGUSR1 || sig == SIGUSR2;
    bool handled =
        (old.sa_flags & SA_SIGINFO) || (old.sa_handler != SIG_DFL && old.sa_handler != SIG_IGN);
    if (handled || (stop_signal && old.sa_handler != SIG_DFL)) {
      struct sigaction dfl {};
      dfl.sa_handler = SIG_DFL;
      sigaction(sig, &dfl, nullptr);
    }
  }
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  for (size_t i = 0; i < a->cgroup_count; ++i) {
    if (write(a->cgroup_fds[i], "0", 1) != 1) {
      a->failed_cgroup = i;
      child_failed(a, start_step::cgroup, errno, false, "", "");
    }
  }
  if (a->switch_user)
    if (int err = switch_user(a); err != 0) child_failed(a, start_step::user, err, false, "", "");
  int log = open(a->log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (log < 0) child_failed(a, start_step::log, errno, false, "", "");
  int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (null < 0) _exit(126);
  dup2(null, 0);
  dup2(log, 1);
  dup2(log, 2);
  if (chdir(a->dir) != 0)
    child_failed(a, start_step::working_dir, errno, true, "cannot enter working directory ",
                 a->dir);
  int err = exec_candidates(a);
  child_failed(a, start_step::exec, err, true, "cannot execute ", a->argv[0]);
}

// Where execvp would look for `program`: itself when it names a path, else each PATH entry
// (an empty entry is the working directory).
std::vector<std::string> candidates(const std::string& program, const std::string* path) {
  if (program.find('/') != std::string::npos) return {program};
  std::string dirs = path ? *path : "/bin:/usr/bin";  // glibc's default
  std::vector<std::string> out;
  size_t start = 0;
  for (;;) {
    size_t end = dirs.find(':', start);
    std::string dir = dirs.substr(start, end == std::string::npos ? end : end - start);
    out.push_back((dir.empty() ? "." : dir) + "/" + program);
    if (end == std::string::npos) break;
    start = end + 1;
  }
  return out;
}

std::string describe(start_step step, int err, size_t failed_cgroup, const process_spec& spec) {
  std::string why = std::string(": ") + strerrordesc_np(err);
  switch (step) {
    case start_step::cgroup:
      return "cannot join cgroup " + spec.cgroup_procs[failed_cgroup] + why;
    case start_step::user:
      return "cannot run as uid " + std::to_string(spec.uid) + " gid " + std::to_string(spec.gid) +
             why;
    case start_step::log:
      return "cannot open the task's log " + spec.log_path + why;
    case start_step::working_dir:
      return "cannot enter working directory " + spec.working_dir + why;
    default:
      return "cannot execute " + spec.argv[0] + why;
  }
}

constexpr size_t kChildStack = 64 * 1024;

// clone3's argument (linux/sched.h's struct clone_args, up to `cgroup`: CLONE_ARGS_SIZE_VER2).
struct clone3_args {
  uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls, set_tid,
      set_tid_size, cgroup;
};
constexpr uint64_t kCloneIntoCgroup = 0x200000000ULL;

// clone3 with CLONE_VM: the child starts on its new stack with nothing to return to, so it
// calls fn(arg) straight from the system call and exits with its result. Returns the pid or
// -errno; -ENOSYS where this architecture has no such path here.
__attribute__((noinline)) GANTRY_CHILD long clone3_vm(clone3_args* args, int (*fn)(void*),
                                                      void* arg) {
#if defined(__x86_64__)
  long ret;
  register int (*r12)(void*) asm("r12") = fn;
  register void* r13 asm("r13") = arg;
  asm volatile(
      "syscall\n\t"
      "test %%rax, %%rax\n\t"
      "jnz 1f\n\t"
      "xor %%ebp, %%ebp\n\t"
      "mov %%r13, %%rdi\n\t"
      "call *%%r12\n\t"
      "mov %%eax, %%edi\n\t"
      "mov $60, %%eax\n\t"  // exit
      "syscall\n\t"
      "hlt\n\t"
      "1:\n\t"
      : "=a"(ret)
      : "0"(435L), "D"(args), "S"(sizeof *args), "r"(r12), "r"(r13)
      : "rcx", "r11", "memory");
  return ret;
#elif defined(__aarch64__)
  register long x0 asm("x0") = reinterpret_cast<long>(args);
  register long x1 asm("x1") = sizeof *args;
  register long x8 asm("x8") = 435;
  register int (*x19)(void*) asm("x19") = fn;
  register void* x20 asm("x20") = arg;
  asm volatile(
      "svc #0\n\t"
      "cbnz x0, 1f\n\t"
      "mov x0, x20\n\t"
      "blr x19\n\t"
      "mov x8, #93\n\t"  // exit
      "svc #0\n\t"
      "1:\n\t"
      : "+r"(x0)
      : "r"(x1), "r"(x8), "r"(x19), "r"(x20)
      : "memory");
  return x0;
#else
  (void)args;
  (void)fn;
  (void)arg;
  return -ENOSYS;
#endif
}

// The child created inside the group `dir` (vfork semantics, as clone below); -1 when the
// kernel cannot (the caller then has the child join the group).
pid_t clone_into_cgroup(const std::string& dir, void* stack_top, child_args* a) {
  int fd = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return -1;
  size_t cgroup_count = a->cgroup_count;
  a->cgroup_count = 0;  // born inside: nothing to join
  clone3_args args{};
  args.flags = CLONE_VM | CLONE_VFORK | kCloneIntoCgroup;
  args.exit_signal = SIGCHLD;
  args.stack = reinterpret_cast<uint64_t>(static_cast<char*>(stack_top) - kChildStack);
  args.stack_size = kChildStack;
  args.cgroup = static_cast<uint64_t>(fd);
  long pid = clone3_vm(&args, child_main, a);
  close(fd);
  if (pid < 0) a->cgroup_count = cgroup_count;
  return pid < 0 ? -1 : static_cast<pid_t>(pid);
}

}  // namespace

result<pid_t> spawn_process(const process_spec& spec) {
  if (spec.argv.empty()) return fail(errc::invalid_argument, "empty command");
  std::vector<std::string> env_strings;
  env_strings.reserve(spec.env.size());
  const std::string* path = nullptr;
  for (const auto& [k, v] : spec.env) {
    env_strings.push_back(k + "=" + v);
    if (k == "PATH") path = &v;
  }
  std::vector<char*> envp;
  envp.reserve(env_strings.size() + 1);
  for (auto& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);
  std::vector<std::string> args = spec.argv;
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);

  child_args a;
  a.parent = getpid();
  a.log_path = spec.log_path.c_str();
  a.dir = spec.working_dir.c_str();
  a.argv = argv.data();
  a.envp = envp.data();
  a.candidates = candidates(spec.argv[0], path);
  if (spec.switch_user && spec.argv[0].find('/') == std::string::npos) {
    // PATH entries the task's user cannot search are skipped, as if absent: a program found
    // nowhere it can reach is "No such file or directory", not the EACCES of a root-only dir.
    unix_user user{"", spec.uid, spec.gid, spec.groups};
    std::erase_if(a.candidates, [&](const std::string& c) {
      return !unreachable_for(c.substr(0, c.rfind('/')), user).empty();
    });
  }
  a.sh_argv = {const_cast<char*>("/bin/sh"), nullptr};
  a.sh_argv.insert(a.sh_argv.end(), argv.begin() + 1, argv.end());

  std::vector<int> cgroup_fds;
  for (const std::string& procs : spec.cgroup_procs) {
    int fd = open(procs.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd < 0) {
      int err = errno;
      for (int f : cgroup_fds) close(f);
      return fail(errc::failed_precondition,
                  "cannot join cgroup " + procs + ": " + strerrordesc_np(err));
    }
    cgroup_fds.push_back(fd);
  }
  a.cgroup_fds = cgroup_fds.data();
  a.cgroup_count = cgroup_fds.size();
  a.switch_user = spec.switch_user;
  a.uid = spec.uid;
  a.gid = spec.gid;
  a.groups = spec.groups.data();
  a.group_count = spec.groups.size();

  std::unique_ptr<char[]> stack(new char[kChildStack]);
  void* top = stack.get() + kChildStack;
  // Blocked here, so that no signal reaches the child before it has reset its handlers.
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  pid_t pid = spec.cgroup_dir.empty() ? -1 : clone_into_cgroup(spec.cgroup_dir, top, &a);
  if (pid < 0) pid = clone(child_main, top, CLONE_VM | CLONE_VFORK | SIGCHLD, &a);
  int clone_errno = errno;
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  for (int f : cgroup_fds) close(f);
  // Here the child runs its program, or has exited.
  if (pid < 0) return fail(errc::io_error, std::string("clone failed: ") + strerror(clone_errno));
  if (a.step == start_step::none) {
    setpgid(pid, pid);  // also from the parent, so a kill right away finds the group
    return pid;
  }
  while (waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
  }
  return fail(errc::failed_precondition, describe(a.step, a.err, a.failed_cgroup, spec));
}

}  // namespace gantry
