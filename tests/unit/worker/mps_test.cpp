// MPS daemon lifecycle (worker/mps.hpp) against a fake nvidia-cuda-mps-control on PATH that
// records every call (its arguments, stdin and MPS environment) and keeps a "daemon" as a
// marker file in its pipe directory.
#include <doctest/doctest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "harness/process.hpp"
#include "worker/mps.hpp"

using namespace gantry;
namespace fs = std::filesystem;

namespace {

// One line per call: "<args or stdin command> pipe=<dir> gpu=<CUDA_VISIBLE_DEVICES>".
// `-d` starts the daemon (fails with exit 3 when FAKE_MPS_FAIL_START exists in bin/);
// `get_server_list` succeeds only while it runs; `quit` stops it.
const char* kFakeControl = R"(#!/bin/sh
log="$(dirname "$0")/calls.log"
if [ "$1" = "-d" ]; then
  echo "-d pipe=$CUDA_MPS_PIPE_DIRECTORY log=$CUDA_MPS_LOG_DIRECTORY gpu=$CUDA_VISIBLE_DEVICES" >> "$log"
  [ -e "$(dirname "$0")/FAKE_MPS_FAIL_START" ] && { echo "cannot start" >&2; exit 3; }
  touch "$CUDA_MPS_PIPE_DIRECTORY/running"
  exit 0
fi
read -r cmd
echo "$cmd pipe=$CUDA_MPS_PIPE_DIRECTORY gpu=$CUDA_VISIBLE_DEVICES" >> "$log"
case "$cmd" in
  get_server_list) [ -e "$CUDA_MPS_PIPE_DIRECTORY/running" ] ;;
  quit) rm -f "$CUDA_MPS_PIPE_DIRECTORY/running" ;;
  *) exit 2 ;;
esac
)";

struct fake_setup {
  harness::temp_dir tmp{"gantry-mps-test"};
  fs::path bin = fs::path(tmp.path()) / "bin";
  fs::path root = fs::path(tmp.path()) / "mps";
  fake_setup() {
    fs::create_directories(bin);
    std::ofstream(bin / "nvidia-cuda-mps-control") << kFakeControl;
    ::chmod((bin / "nvidia-cuda-mps-control").c_str(), 0755);
  }
  mps_options options() const {
    return {"nvidia-cuda-mps-control",
            root.string(),
            {{"PATH", bin.string() + ":/usr/bin:/bin"}, {"CUDA_VISIBLE_DEVICES", "0,1,2,3"}},
            5000};
  }
  std::string calls() const { return harness::read_file(bin / "calls.log"); }
  std::string pipe(int gpu) const { return (root / std::to_string(gpu) / "pipe").string(); }
  std::string log(int gpu) const { return (root / std::to_string(gpu) / "log").string(); }
};

}  // namespace

TEST_CASE("mps: the control program is found on PATH, or MPS cannot run") {
  fake_setup f;
  mps_manager m(f.options());
  CHECK(m.control_path() == (f.bin / "nvidia-cuda-mps-control").string());
  mps_options none = f.options();
  none.env = {{"PATH", (fs::path(f.tmp.path()) / "empty").string()}};
  mps_manager missing(none);
  CHECK(missing.control_path().empty());
  auto r = missing.acquire(0, "GPU-a");
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().message.find("nvidia-cuda-mps-control") != std::string::npos);
  CHECK(missing.users(0) == 0);
}

TEST_CASE("mps: one daemon per shared GPU, started by its first task, stopped after its last") {
  fake_setup f;
  mps_manager m(f.options());
  auto a = m.acquire(2, "GPU-two");
  REQUIRE_MESSAGE(a.has_value(), a.error().message);
  CHECK(a->pipe_dir == f.pipe(2));
  CHECK(a->log_dir == f.log(2));
  CHECK(fs::exists(f.pipe(2) + "/running"));
  // The daemon serves that GPU alone (its UUID, not the worker's CUDA_VISIBLE_DEVICES), and
  // answers before the task is let go.
  const std::string start2 = "-d pipe=" + f.pipe(2) + " log=" + f.log(2) + " gpu=GPU-two\n" +
                             "get_server_list pipe=" + f.pipe(2) + " gpu=GPU-two\n";
  CHECK(f.calls() == start2);
  auto b = m.acquire(2, "GPU-two");  // a second share of the same GPU: same daemon
  REQUIRE(b.has_value());
  CHECK(b->pipe_dir == a->pipe_dir);
  CHECK(m.users(2) == 2);
  auto c = m.acquire(0, "GPU-zero");  // another GPU: its own daemon and directories
  REQUIRE(c.has_value());
  CHECK(c->pipe_dir == f.pipe(0));
  CHECK(f.calls() == start2 + "-d pipe=" + f.pipe(0) + " log=" + f.log(0) + " gpu=GPU-zero\n" +
                         "get_server_list pipe=" + f.pipe(0) + " gpu=GPU-zero\n");

  m.release(2);
  CHECK(m.users(2) == 1);
  CHECK(fs::exists(f.pipe(2) + "/running"));  // one task still shares it
  m.release(2);
  CHECK(m.users(2) == 0);
  CHECK_FALSE(fs::exists(f.pipe(2) + "/running"));
  CHECK(f.calls().ends_with("quit pipe=" + f.pipe(2) + " gpu=GPU-two\n"));
  m.release(2);  // no daemon: nothing to do
  CHECK(f.calls().ends_with("quit pipe=" + f.pipe(2) + " gpu=GPU-two\n"));
  m.release(0);
  CHECK_FALSE(fs::exists(f.pipe(0) + "/running"));

  // The next share of GPU 2 starts a fresh daemon.
  REQUIRE(m.acquire(2, "GPU-two").has_value());
  CHECK(f.calls().ends_with(start2));
  m.release(2);
}

TEST_CASE("mps: a daemon already serving the GPU's directories is adopted, not started twice") {
  fake_setup f;
  fs::create_directories(f.pipe(1));
  fs::create_directories(f.log(1));
  std::ofstream(f.pipe(1) + "/running").put('\n');
  // Its pid file names a live process (this one, standing in for the daemon).
  std::ofstream(f.pipe(1) + "/nvidia-cuda-mps-control.pid") << ::getpid() << "\n";
  mps_manager m(f.options());
  auto a = m.acquire(1, "GPU-one");
  REQUIRE_MESSAGE(a.has_value(), a.error().message);
  CHECK(f.calls() == "get_server_list pipe=" + f.pipe(1) + " gpu=GPU-one\n");
  m.release(1);
  CHECK(f.calls().ends_with("quit pipe=" + f.pipe(1) + " gpu=GPU-one\n"));

  // A stale pid file (its process is gone) is not a daemon: a new one starts.
  fake_setup g;
  fs::create_directories(g.pipe(1));
  std::ofstream(g.pipe(1) + "/nvidia-cuda-mps-control.pid") << 999999999 << "\n";
  mps_manager n(g.options());
  REQUIRE(n.acquire(1, "GPU-one").has_value());
  CHECK(g.calls() == "-d pipe=" + g.pipe(1) + " log=" + g.log(1) + " gpu=GPU-one\n" +
                         "get_server_list pipe=" + g.pipe(1) + " gpu=GPU-one\n");
}

TEST_CASE("mps: a daemon that does not start, or a GPU without a UUID, leaves no share counted") {
  fake_setup f;
  std::ofstream(f.bin / "FAKE_MPS_FAIL_START").put('\n');
  mps_manager m(f.options());
  auto r = m.acquire(0, "GPU-zero");
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().message.find("exited with code 3") != std::string::npos);
  CHECK(m.users(0) == 0);
  auto no_uuid = m.acquire(1, "");
  REQUIRE_FALSE(no_uuid.has_value());
  CHECK(no_uuid.error().message.find("no UUID") != std::string::npos);
  CHECK(f.calls().find("pipe=" + f.pipe(1)) == std::string::npos);  // never ran for GPU 1
}

TEST_CASE("mps: a daemon that starts but never answers is stopped, and no share is counted") {
  fake_setup f;
  // -d "succeeds" without creating the daemon: get_server_list keeps failing.
  std::ofstream(f.bin / "nvidia-cuda-mps-control")
      << "#!/bin/sh\nlog=\"$(dirname \"$0\")/calls.log\"\n"
      << "[ \"$1\" = -d ] && { echo -d >> \"$log\"; exit 0; }\n"
      << "read -r cmd; echo \"$cmd\" >> \"$log\"; [ \"$cmd\" = quit ]\n";
  mps_options o = f.options();
  o.timeout_ms = 500;
  mps_manager m(o);
  auto r = m.acquire(0, "GPU-zero");
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().message.find("started but does not answer") != std::string::npos);
  CHECK(m.users(0) == 0);
  std::string calls = f.calls();
  CHECK(calls.starts_with("-d\nget_server_list\n"));
  CHECK(calls.ends_with("get_server_list\nquit\n"));
}

TEST_CASE("mps: a control program that does not answer is bounded by the timeout") {
  fake_setup f;
  std::ofstream(f.bin / "nvidia-cuda-mps-control") << "#!/bin/sh\nexec sleep 30\n";
  mps_options o = f.options();
  o.timeout_ms = 300;
  mps_manager m(o);
  auto started = std::chrono::steady_clock::now();
  auto r = m.acquire(0, "GPU-zero");
  auto took = std::chrono::steady_clock::now() - started;
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().message.find("no answer within 300 ms") != std::string::npos);
  CHECK(took < std::chrono::seconds(10));
}

TEST_CASE("mps: a task sharing one GPU holds its daemon, whole-GPU tasks and no manager do not") {
  fake_setup f;
  mps_manager m(f.options());
  std::vector<gpu_info> gpus(2);
  gpus[0].index = 0;
  gpus[0].uuid = "GPU-zero";
  gpus[1].index = 1;
  gpus[1].uuid = "GPU-one";
  task_spec t;
  t.task_id = "j.s.0.0";
  t.gpus = {1};
  t.gpu_milli = 500;
  task_paths paths;
  CHECK(mps_for_task(&m, t, gpus, paths) == 1);
  CHECK(paths.mps_pipe_dir == f.pipe(1));
  CHECK(paths.mps_log_dir == f.log(1));
  CHECK(m.users(1) == 1);
  task_paths none;
  CHECK(mps_for_task(nullptr, t, gpus, none) == -1);
  CHECK(none.mps_pipe_dir.empty());
  t.gpu_milli = 1000;
  CHECK(mps_for_task(&m, t, gpus, none) == -1);
  CHECK(none.mps_pipe_dir.empty());
  CHECK(m.users(1) == 1);
  m.release(1);
}
