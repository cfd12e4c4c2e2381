// Starting task processes (worker/launcher.hpp): what the child gets, and a start that
// fails answered as such instead of as a running process.
#include <doctest/doctest.h>
#include <pwd.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "test_util.hpp"
#include "worker/launcher.hpp"

using namespace gantry;
using namespace gantry::test;
namespace fs = std::filesystem;

namespace {

const std::vector<std::pair<std::string, std::string>> kEnv{{"ONLY", "this"},
                                                            {"PATH", "/usr/bin:/bin"}};

}  // namespace

TEST_CASE("a task runs with exactly the given environment, in its working directory") {
  temp_dir dir;
  fs::path log = dir.path / "output.log";
  setenv("GANTRY_LAUNCHER_TEST_WORKER_ONLY", "1", 1);
  auto pid = spawn_process({{"env"}, kEnv, dir.path.string(), log.string()});
  unsetenv("GANTRY_LAUNCHER_TEST_WORKER_ONLY");
  REQUIRE_MESSAGE(pid.has_value(), pid.error().message);
  CHECK(getpgid(*pid) == *pid);  // its own process group
  CHECK(wait_exit(*pid) == 0);
  CHECK(read_file(log) == "ONLY=this\nPATH=/usr/bin:/bin\n");

  fs::path cwd_log = dir.path / "cwd.log";
  pid = spawn_process({{"pwd"}, kEnv, dir.path.string(), cwd_log.string()});
  REQUIRE(pid.has_value());
  CHECK(wait_exit(*pid) == 0);
  CHECK(read_file(cwd_log) == fs::canonical(dir.path).string() + "\n");
}

TEST_CASE("a program that cannot be executed is a failed start, not a running process") {
  temp_dir dir;
  fs::path log = dir.path / "output.log";
  auto pid =
      spawn_process({{"gantry-no-such-program", "--flag"}, kEnv, dir.path.string(), log.string()});
  REQUIRE_FALSE(pid.has_value());
  CHECK(pid.error().code == errc::failed_precondition);
  CHECK(pid.error().message == "cannot execute gantry-no-such-program: No such file or directory");
  // The task's log says so too, for `gantry logs`.
  CHECK(read_file(log) ==
        "gantry: cannot execute gantry-no-such-program: No such file or directory\n");
  CHECK(waitpid(-1, nullptr, WNOHANG) == -1);  // reaped: no child left behind
  CHECK(errno == ECHILD);

  fs::path script = dir.path / "not-executable";
  std::ofstream(script) << "#!/bin/sh\nexit 0\n";
  pid = spawn_process({{script.string()}, kEnv, dir.path.string(), log.string()});
  REQUIRE_FALSE(pid.has_value());
  CHECK(pid.error().message == "cannot execute " + script.string() + ": Permission denied");
}

TEST_CASE("a working directory that cannot be entered is a failed start") {
  temp_dir dir;
  fs::path log = dir.path / "output.log";
  fs::path missing = dir.path / "missing";
  auto pid = spawn_process({{"true"}, kEnv, missing.string(), log.string()});
  REQUIRE_FALSE(pid.has_value());
  CHECK(pid.error().code == errc::failed_precondition);
  CHECK(pid.error().message ==
        "cannot enter working directory " + missing.string() + ": No such file or directory");
  CHECK(read_file(log).find("cannot enter working directory") != std::string::npos);

  pid = spawn_process({{"true"}, kEnv, dir.path.string(), (missing / "output.log").string()});
  REQUIRE_FALSE(pid.has_value());
  CHECK(pid.error().message == "cannot open the task's log " + (missing / "output.log").string() +
                                   ": No such file or directory");
}

TEST_CASE("a program is looked up in the task's PATH, not the worker's") {
  temp_dir dir;
  fs::path bin = dir.path / "bin";
  fs::create_directories(bin);
  fs::path prog = bin / "gantry-test-only-here";
  std::ofstream(prog) << "#!/bin/sh\necho found\n";
  fs::permissions(prog, fs::perms::owner_all);
  fs::path log = dir.path / "output.log";
  auto pid = spawn_process({{"gantry-test-only-here"},
                            {{"PATH", bin.string() + ":/usr/bin:/bin"}},
                            dir.path.string(),
                            log.string()});
  REQUIRE_MESSAGE(pid.has_value(), pid.error().message);
  CHECK(wait_exit(*pid) == 0);
  CHECK(read_file(log) == "found\n");
}

TEST_CASE("a task starts with no signal blocked and the usual ones at their defaults") {
  temp_dir dir;
  fs::path log = dir.path / "status";
  struct sigaction handler {};
  handler.sa_handler = [](int) {};
  struct sigaction old_usr1 {
  }, old_pipe{};
  sigaction(SIGUSR1, &handler, &old_usr1);
  struct sigaction ignore {};
  ignore.sa_handler = SIG_IGN;
  sigaction(SIGPIPE, &ignore, &old_pipe);
  sigset_t term, old_mask;
  sigemptyset(&term);
  sigaddset(&term, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &term, &old_mask);
  auto pid = spawn_process({{"cat", "/proc/self/status"}, kEnv, dir.path.string(), log.string()});
  pthread_sigmask(SIG_SETMASK, &old_mask, nullptr);
  sigaction(SIGUSR1, &old_usr1, nullptr);
  sigaction(SIGPIPE, &old_pipe, nullptr);
  REQUIRE(pid.has_value());
  CHECK(wait_exit(*pid) == 0);
  std::string status = read_file(log);
  CHECK(status.find("SigBlk:\t0000000000000000") != std::string::npos);
  CHECK(status.find("SigIgn:\t0000000000000000") != std::string::npos);
  CHECK(status.find("SigCgt:\t0000000000000000") != std::string::npos);
}

TEST_CASE("a script without #! runs through /bin/sh, as execvp does") {
  temp_dir dir;
  fs::path script = dir.path / "plain-script";
  std::ofstream(script) << "echo from sh\n";
  fs::permissions(script, fs::perms::owner_all);
  fs::path log = dir.path / "output.log";
  auto pid = spawn_process({{script.string()}, kEnv, dir.path.string(), log.string()});
  REQUIRE_MESSAGE(pid.has_value(), pid.error().message);
  CHECK(wait_exit(*pid) == 0);
  CHECK(read_file(log) == "from sh\n");
}

TEST_CASE("a task switches to its user before it opens its log or runs") {
  if (geteuid() != 0) return;  // only root can switch; the check below would not apply
  temp_dir dir;
  struct passwd* nobody = getpwnam("nobody");
  REQUIRE(nobody != nullptr);
  fs::path task = dir.path / "task";
  fs::create_directories(task);
  REQUIRE(chown(task.c_str(), nobody->pw_uid, nobody->pw_gid) == 0);
  REQUIRE(chmod(dir.path.c_str(), 0711) == 0);
  fs::path log = task / "output.log";
  process_spec spec{{"sh", "-c", "id -u; id -g; id -G"}, kEnv, task.string(), log.string()};
  spec.switch_user = true;
  spec.uid = nobody->pw_uid;
  spec.gid = nobody->pw_gid;
  auto pid = spawn_process(spec);
  REQUIRE_MESSAGE(pid.has_value(), pid.error().message);
  CHECK(wait_exit(*pid) == 0);
  std::string id = std::to_string(nobody->pw_uid) + "\n" + std::to_string(nobody->pw_gid) + "\n" +
                   std::to_string(nobody->pw_gid) + "\n";  // no supplementary group left
  CHECK(read_file(log) == id);
  struct stat sb {};
  REQUIRE(stat(log.c_str(), &sb) == 0);
  CHECK(sb.st_uid == nobody->pw_uid);  // created as the task's user

  // A log the user may not create is a failed start naming it, as the user would meet it.
  fs::path closed = dir.path / "closed";
  fs::create_directories(closed);
  REQUIRE(chmod(closed.c_str(), 0700) == 0);
  spec.log_path = (closed / "output.log").string();
  pid = spawn_process(spec);
  REQUIRE_FALSE(pid.has_value());
  CHECK(pid.error().message ==
        "cannot open the task's log " + spec.log_path + ": Permission denied");
}

TEST_CASE("a task for a v2 group is created inside it and reads that group at once") {
  std::string mount = cgroup2_mount();
  if (geteuid() != 0 || mount.empty()) {
    MESSAGE("not root or no cgroup2 mounted: not run");
    return;
  }
  std::string name = "gantry-launcher-test-" + std::to_string(getpid());
  fs::path group = fs::path(mount) / name;
  std::error_code ec;
  fs::create_directory(group, ec);
  if (ec) {
    MESSAGE("cannot create a cgroup v2 group here: " << ec.message());
    return;
  }
  temp_dir dir;
  fs::path log = dir.path / "output.log";
  process_spec ps{{"cat", "/proc/self/cgroup"}, kEnv, dir.path.string(), log.string()};
  ps.cgroup_dir = group.string();  // no cgroup_procs: created inside, or not in it at all
  auto pid = spawn_process(ps);
  REQUIRE_MESSAGE(pid.has_value(), pid.error().message);
  CHECK(wait_exit(*pid) == 0);
  // The unified hierarchy's line ("0::/path"): the group itself from the first instruction.
  CHECK(read_file(log).find("0::/" + name + "\n") != std::string::npos);
  CHECK(fs::remove(group, ec));
}

TEST_CASE("where a group directory cannot be cloned into, the task joins its cgroup.procs") {
  temp_dir dir;
  fs::path procs = dir.path / "cgroup.procs";
  std::ofstream(procs).close();
  fs::path log = dir.path / "output.log";
  process_spec ps{{"true"}, kEnv, dir.path.string(), log.string(), {procs.string()}};
  ps.cgroup_dir = dir.path.string();  // a plain directory: clone3 refuses it
  auto pid = spawn_process(ps);
  REQUIRE_MESSAGE(pid.has_value(), pid.error().message);
  CHECK(wait_exit(*pid) == 0);
  CHECK(read_file(procs) == "0");
}
