// --retain-task-files: which finished tasks' directories a worker removes.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include "harness/process.hpp"
#include "worker/task_files.hpp"

using namespace gantry;
namespace fs = std::filesystem;

namespace {

// A task directory with a log, last changed `age` before now.
void make_task_dir(const fs::path& dir, std::chrono::system_clock::time_point now,
                   std::chrono::milliseconds age) {
  fs::create_directories(dir);
  std::ofstream(dir / "output.log") << "hello\n";
  auto t = std::chrono::duration_cast<std::chrono::nanoseconds>((now - age).time_since_epoch());
  timespec times[2];
  times[0].tv_sec = times[1].tv_sec = t.count() / 1'000'000'000;
  times[0].tv_nsec = times[1].tv_nsec = t.count() % 1'000'000'000;
  REQUIRE(::utimensat(AT_FDCWD, dir.c_str(), times, 0) == 0);
}

}  // namespace

TEST_CASE("task directories older than the retention go, running and recent ones stay") {
  harness::temp_dir tmp{"gantry-task-files-test"};
  fs::path tasks = fs::path(tmp.path()) / "tasks";
  auto now = std::chrono::system_clock::now();
  using std::chrono::hours;
  make_task_dir(tasks / "j-000001.s.0.0", now, hours(30));  // ended 30h ago
  make_task_dir(tasks / "j-000002.s.0.0", now, hours(30));  // old, but still running
  make_task_dir(tasks / "j-000003.s.0.0", now, hours(1));   // ended 1h ago
  auto running = [](const std::string& id) { return id == "j-000002.s.0.0"; };
  CHECK(remove_expired_task_dirs(tasks.string(), 0, now, running) == 0);  // 0 = keep forever
  CHECK(remove_expired_task_dirs(tasks.string(), 24 * 3'600'000LL, now, running) == 1);
  CHECK_FALSE(fs::exists(tasks / "j-000001.s.0.0"));
  CHECK(fs::exists(tasks / "j-000002.s.0.0/output.log"));
  CHECK(fs::exists(tasks / "j-000003.s.0.0/output.log"));
  CHECK(remove_expired_task_dirs((fs::path(tmp.path()) / "none").string(), 1, now, running) == 0);
}

TEST_CASE("marking a task ended restarts its directory's retention") {
  harness::temp_dir tmp{"gantry-task-files-test"};
  fs::path dir = fs::path(tmp.path()) / "tasks" / "j-000001.s.0.0";
  auto now = std::chrono::system_clock::now();
  make_task_dir(dir, now, std::chrono::hours(30));
  mark_task_ended(dir.string());
  auto none = [](const std::string&) { return false; };
  CHECK(remove_expired_task_dirs((fs::path(tmp.path()) / "tasks").string(), 3'600'000, now, none) ==
        0);
  CHECK(fs::exists(dir));
}
