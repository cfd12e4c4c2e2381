// Who tasks run as, end to end (docs/isolation.md, "Users"): a root worker runs tasks as
// nobody or as the user its --user-map names, never as root by default, with their own
// directory as HOME, and they cannot read the worker's or the coordinator's data dir.
#include <doctest/doctest.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "tests/cluster/harness.hpp"

using namespace gantry::test;

namespace {

// The task's output (`gantry logs`), once the job has ended as expected.
std::string output_of(cluster& c, const std::string& job) {
  auto watch = c.cli({"watch", job});
  CHECK_MESSAGE(watch.exit_code == 0, watch.out);
  auto logs = c.cli({"logs", job});
  REQUIRE_MESSAGE(logs.exit_code == 0, logs.err);
  return logs.out;
}

}  // namespace

TEST_CASE("a root worker runs tasks as nobody, and they cannot read the data dirs") {
  if (geteuid() != 0) {
    MESSAGE("not root: tasks run as the worker itself, nothing to switch");
    return;
  }
  cluster c;
  INFO(c.logs());
  c.start({"w"});
  struct passwd* nobody = getpwnam("nobody");
  REQUIRE(nobody != nullptr);
  std::string worker_dir = c.dir() + "/w";
  std::string coordinator_dir = c.dir() + "/coordinator";
  std::string job = c.submit(
      "who.yaml",
      R"(
name: who
stages:
  - name: s
    command: [ "sh", "-c", "id -u; ls )" +
          worker_dir + R"( >/dev/null 2>&1 && echo worker-dir-listed; ls )" + coordinator_dir +
          R"( >/dev/null 2>&1 && echo coordinator-dir-listed; cat )" + coordinator_dir +
          R"(/state/CURRENT >/dev/null 2>&1 && echo state-read; touch $GANTRY_OUTPUT_DIR/written && echo output-written; echo done" ]
)");
  std::string out = output_of(c, job);
  CHECK(out == std::to_string(nobody->pw_uid) + "\noutput-written\ndone\n");
  // The worker's files for the task are the task user's; its data dir is closed to listing.
  struct stat sb {};
  REQUIRE(stat((c.shared_dir() + "/" + job + "/written").c_str(), &sb) == 0);
  CHECK(sb.st_uid == nobody->pw_uid);
  REQUIRE(stat((worker_dir + "/tasks/" + job + ".s.0.0/output.log").c_str(), &sb) == 0);
  CHECK(sb.st_uid == nobody->pw_uid);
  REQUIRE(stat(worker_dir.c_str(), &sb) == 0);
  CHECK((sb.st_mode & 07777) == 0711);
  REQUIRE(stat(coordinator_dir.c_str(), &sb) == 0);
  CHECK((sb.st_mode & 07777) == 0700);
  // Its HOME is its own directory, which it can write (root's HOME is closed to nobody).
  job = c.submit("home.yaml", R"(
name: home
stages:
  - name: s
    command: [ "sh", "-c", "echo home=$HOME; touch $HOME/x && echo home-written" ]
)");
  std::string task_dir = worker_dir + "/tasks/" + job + ".s.0.0";
  CHECK(output_of(c, job) == "home=" + task_dir + "\nhome-written\n");
  REQUIRE(stat((task_dir + "/x").c_str(), &sb) == 0);
  CHECK(sb.st_uid == nobody->pw_uid);
}

TEST_CASE("--user-map: a mapped owner's user, root only when asked, errors refuse the start") {
  if (geteuid() != 0) {
    MESSAGE("not root: --user-map is ignored");
    return;
  }
  cluster c;
  INFO(c.logs());
  // The harness submits with the admin token: the job's owner is "admin", mapped to daemon
  // while every other owner falls to the default line (nobody).
  std::string map = c.dir() + "/users.map";
  std::ofstream(map) << "admin daemon\n* nobody\n";
  c.start({"w"}, {"--user-map", map});
  std::string bad = c.dir() + "/bad.map";
  std::ofstream(bad) << "alice nobody\nbob gantry-no-such-user\n";
  // The map is read before any credential: the worker stops at its first bad line.
  auto refused = c.cli_without_credentials(
      {"worker", "--name", "bad", "--data-dir", c.dir() + "/bad", "--user-map", bad}, 20000);
  CHECK(refused.exit_code == 2);
  CHECK(refused.err.find(bad + ":2: no such user \"gantry-no-such-user\" (create it") !=
        std::string::npos);

  std::string job = c.submit("who.yaml", R"(
name: who
stages:
  - name: s
    command: [ "id", "-u" ]
)");
  CHECK(output_of(c, job) == std::to_string(getpwnam("daemon")->pw_uid) + "\n");

  std::string roots = c.dir() + "/root.map";
  std::ofstream(roots) << "* root\n";
  c.start_worker("r", {"--user-map", roots});
  REQUIRE(c.wait_node("r", "ready"));
  CHECK(c.log_of("r").find("WARNING: tasks run as root for every unmapped owner -> root (" + roots +
                           ":1)") != std::string::npos);
}
