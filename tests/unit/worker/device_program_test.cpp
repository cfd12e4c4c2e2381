// The cgroup v2 device program (worker/device_program.hpp): its verdicts for a GPU assignment,
// run here by a small interpreter of the instructions it uses, and the real thing on this
// machine's unified hierarchy where the kernel lets this process attach one.
#include <doctest/doctest.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>

#include "test_util.hpp"
#include "worker/device_program.hpp"
#include "worker/launcher.hpp"

using namespace gantry;
using namespace gantry::test;
namespace fs = std::filesystem;

namespace {

// Runs `prog` on a device access as the kernel would: its r0 at exit (1 allow, 0 deny). Knows
// the instructions device_program emits and fails the test on any other.
int64_t run_device_insns(const std::vector<bpf_insn>& prog, char type, uint32_t major,
                         uint32_t minor, uint32_t access) {
  bpf_cgroup_dev_ctx ctx{};
  ctx.access_type = (access << 16) | (type == 'b' ? BPF_DEVCG_DEV_BLOCK : BPF_DEVCG_DEV_CHAR);
  ctx.major = major;
  ctx.minor = minor;
  int64_t reg[11] = {};
  for (size_t pc = 0; pc < prog.size(); ++pc) {
    const bpf_insn& i = prog[pc];
    switch (i.code) {
      case BPF_LDX | BPF_W | BPF_MEM:
        REQUIRE(i.src_reg == BPF_REG_1);
        REQUIRE(i.off >= 0);
        REQUIRE(static_cast<size_t>(i.off) + 4 <= sizeof ctx);
        uint32_t v;
        std::memcpy(&v, reinterpret_cast<const char*>(&ctx) + i.off, 4);
        reg[i.dst_reg] = v;
        break;
      case BPF_ALU | BPF_AND | BPF_K:
        reg[i.dst_reg] = static_cast<uint32_t>(reg[i.dst_reg] & i.imm);
        break;
      case BPF_ALU64 | BPF_MOV | BPF_K:
        reg[i.dst_reg] = i.imm;
        break;
      case BPF_JMP | BPF_JNE | BPF_K:
        if (reg[i.dst_reg] != static_cast<int64_t>(i.imm)) pc += static_cast<size_t>(i.off);
        break;
      case BPF_JMP | BPF_EXIT:
        return reg[0];
      default:
        FAIL("an instruction the interpreter does not know: code " << int(i.code));
    }
  }
  FAIL("the program ran off its end");
  return -1;
}

const std::vector<dev_entry> kGpuNode{
    {"nvidia-uvm", true, 508, 0},      {"nvidia0", true, 195, 0}, {"nvidia1", true, 195, 1},
    {"nvidia2", true, 195, 2},         {"nvidia3", true, 195, 3}, {"nvidiactl", true, 195, 255},
    {"nvidia-modeset", true, 195, 254}};

bool device_allowed(const std::vector<bpf_insn>& prog, char type, uint32_t major, uint32_t minor) {
  // Every access the kernel asks about: mknod, read, write, and all three.
  int64_t verdict = -1;
  const uint32_t all = BPF_DEVCG_ACC_MKNOD | BPF_DEVCG_ACC_READ | BPF_DEVCG_ACC_WRITE;
  for (uint32_t access : {uint32_t{BPF_DEVCG_ACC_MKNOD}, uint32_t{BPF_DEVCG_ACC_READ},
                          uint32_t{BPF_DEVCG_ACC_WRITE}, all}) {
    int64_t v = run_device_insns(prog, type, major, minor, access);
    if (verdict >= 0) REQUIRE(v == verdict);  // the same whatever the access
    verdict = v;
  }
  REQUIRE((verdict == 0 || verdict == 1));
  return verdict == 1;
}

}  // namespace

TEST_CASE("v2 device program: a task given GPUs 1 and 3 opens those, no other GPU's file") {
  auto prog = device_program(gpu_deny(kGpuNode, {1, 3}));
  CHECK(device_allowed(prog, 'c', 195, 1));
  CHECK(device_allowed(prog, 'c', 195, 3));
  CHECK_FALSE(device_allowed(prog, 'c', 195, 0));
  CHECK_FALSE(device_allowed(prog, 'c', 195, 2));
  // The control files, the UVM device and every other device stay open.
  CHECK(device_allowed(prog, 'c', 195, 255));
  CHECK(device_allowed(prog, 'c', 195, 254));
  CHECK(device_allowed(prog, 'c', 508, 0));
  CHECK(device_allowed(prog, 'c', 1, 3));
  CHECK(device_allowed(prog, 'c', 195, 4));  // no such GPU here: not listed, not denied
  CHECK(device_allowed(prog, 'b', 195, 0));  // a block device with a GPU file's numbers
}

TEST_CASE("v2 device program: a CPU task is denied every GPU, a task with all of them none") {
  auto cpu = device_program(gpu_deny(kGpuNode, {}));
  for (uint32_t minor : {0u, 1u, 2u, 3u}) CHECK_FALSE(device_allowed(cpu, 'c', 195, minor));
  CHECK(device_allowed(cpu, 'c', 195, 255));
  auto all = device_program(gpu_deny(kGpuNode, {0, 1, 2, 3}));
  for (uint32_t minor : {0u, 1u, 2u, 3u}) CHECK(device_allowed(all, 'c', 195, minor));
  // No rule: the program allows everything (and is the prologue and one return).
  auto none = device_program({});
  CHECK(none.size() == 6);
  CHECK(device_allowed(none, 'c', 195, 0));
}

TEST_CASE("v2 device program: a block rule denies the block device, not the char one") {
  auto prog = device_program({{'b', 8, 0}});
  CHECK_FALSE(device_allowed(prog, 'b', 8, 0));
  CHECK(device_allowed(prog, 'c', 8, 0));
  CHECK(device_allowed(prog, 'b', 8, 1));
}

TEST_CASE("v2 device program: attached to a group, /dev/zero is denied there, /dev/null not") {
  std::string mount = cgroup2_mount();
  if (geteuid() != 0 || mount.empty()) {
    MESSAGE("not root or no cgroup2 mounted: not run");
    return;
  }
  fs::path group = fs::path(mount) / ("gantry-device-test-" + std::to_string(getpid()));
  std::error_code ec;
  fs::create_directory(group, ec);
  if (ec) {
    MESSAGE("cannot create a cgroup v2 group here: " << ec.message() << ": not run");
    return;
  }
  auto attached = attach_device_program(group.string(), {{'c', 1, 5}});  // /dev/zero
  if (!attached) {
    fs::remove(group, ec);
    REQUIRE(attached.error().code == errc::unavailable);
    MESSAGE("no BPF device programs here: " << attached.error().message << ": not run");
    return;
  }
  temp_dir dir;
  fs::path log = dir.path / "output.log";
  process_spec ps{{"sh", "-c",
                   "head -c1 /dev/zero >/dev/null; echo zero=$?; "
                   "head -c1 /dev/null; echo null=$?"},
                  {{"PATH", "/usr/bin:/bin"}},
                  dir.path.string(),
                  log.string(),
                  {(group / "cgroup.procs").string()}};
  ps.cgroup_dir = group.string();
  auto pid = spawn_process(ps);
  REQUIRE_MESSAGE(pid.has_value(), pid.error().message);
  CHECK(wait_exit(*pid) == 0);
  const std::string out = read_file(log);
  CHECK_MESSAGE(out.find("zero=1\n") != std::string::npos, out);
  CHECK_MESSAGE(out.find("/dev/zero") != std::string::npos, out);
  CHECK_MESSAGE(out.find("Operation not permitted") != std::string::npos, out);
  CHECK_MESSAGE(out.find("null=0\n") != std::string::npos, out);
  // Outside the group the same device opens.
  CHECK(std::ifstream("/dev/zero").get() == 0);
  CHECK(fs::remove(group, ec));
}
