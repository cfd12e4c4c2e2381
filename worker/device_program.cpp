#include "worker/device_program.hpp"

#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace gantry {
namespace {

// The registers the program uses (r1 holds the context on entry, r0 the verdict at exit).
constexpr uint8_t kType = 2, kMajor = 3, kMinor = 4;

bpf_insn insn(uint8_t code, uint8_t dst, uint8_t src, int16_t off, int32_t imm) {
  bpf_insn i{};
  i.code = code;
  i.dst_reg = dst & 0xf;
  i.src_reg = src & 0xf;
  i.off = off;
  i.imm = imm;
  return i;
}

// dst = *(u32 *)(ctx + off)
bpf_insn load_ctx(uint8_t dst, int16_t off) {
  return insn(BPF_LDX | BPF_W | BPF_MEM, dst, BPF_REG_1, off, 0);
}
// if dst != imm: skip `skip` instructions
bpf_insn jump_unless(uint8_t dst, int32_t imm, int16_t skip) {
  return insn(BPF_JMP | BPF_JNE | BPF_K, dst, 0, skip, imm);
}
// r0 = verdict; exit
void push_return(std::vector<bpf_insn>& p, int32_t verdict) {
  p.push_back(insn(BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, verdict));
  p.push_back(insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0));
}

long bpf(int cmd, bpf_attr& attr) {
  return syscall(SYS_bpf, cmd, &attr, sizeof attr);
}

std::string errno_text(int err) {
  return std::string(strerrordesc_np(err)) +
         (err == EPERM ? " (needs CAP_SYS_ADMIN, or CAP_BPF and CAP_NET_ADMIN)" : "");
}

}  // namespace

std::vector<bpf_insn> device_program(const std::vector<device_rule>& deny) {
  std::vector<bpf_insn> p;
  // struct bpf_cgroup_dev_ctx: access_type (device type in the low 16 bits, the access in the
  // high 16), major, minor.
  p.push_back(load_ctx(kType, offsetof(bpf_cgroup_dev_ctx, access_type)));
  p.push_back(insn(BPF_ALU | BPF_AND | BPF_K, kType, 0, 0, 0xffff));
  p.push_back(load_ctx(kMajor, offsetof(bpf_cgroup_dev_ctx, major)));
  p.push_back(load_ctx(kMinor, offsetof(bpf_cgroup_dev_ctx, minor)));
  for (const device_rule& r : deny) {
    int32_t type = r.type == 'b' ? BPF_DEVCG_DEV_BLOCK : BPF_DEVCG_DEV_CHAR;
    // Each test skips the rest of the rule (the tests after it, the mov and the exit).
    p.push_back(jump_unless(kType, type, 4));
    p.push_back(jump_unless(kMajor, static_cast<int32_t>(r.major), 3));
    p.push_back(jump_unless(kMinor, static_cast<int32_t>(r.minor), 2));
    push_return(p, 0);
  }
  push_return(p, 1);
  return p;
}

result<void> attach_device_program(const std::string& cgroup_dir,
                                   const std::vector<device_rule>& deny) {
  std::vector<bpf_insn> prog = device_program(deny);
  static const char kLicense[] = "GPL";  // no helper is called: any license would do
  std::string log(4096, '\0');
  bpf_attr load{};
  load.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
  load.insns = reinterpret_cast<uint64_t>(prog.data());
  load.insn_cnt = static_cast<uint32_t>(prog.size());
  load.license = reinterpret_cast<uint64_t>(kLicense);
  load.log_buf = reinterpret_cast<uint64_t>(log.data());
  load.log_size = static_cast<uint32_t>(log.size());
  load.log_level = 1;
  int prog_fd = static_cast<int>(bpf(BPF_PROG_LOAD, load));
  if (prog_fd < 0) {
    int err = errno;
    log.resize(std::strlen(log.c_str()));
    return fail(errc::unavailable, "cannot load the device program: " + errno_text(err) +
                                       (log.empty() ? "" : " (verifier: " + log + ")"));
  }
  int dir_fd = ::open(cgroup_dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd < 0) {
    int err = errno;
    ::close(prog_fd);
    return fail(errc::unavailable, "cannot open " + cgroup_dir + ": " + strerrordesc_np(err));
  }
  bpf_attr attach{};
  attach.target_fd = static_cast<uint32_t>(dir_fd);
  attach.attach_bpf_fd = static_cast<uint32_t>(prog_fd);
  attach.attach_type = BPF_CGROUP_DEVICE;
  attach.attach_flags = BPF_F_ALLOW_MULTI;
  long attached = bpf(BPF_PROG_ATTACH, attach);
  int err = errno;
  ::close(dir_fd);
  ::close(prog_fd);  // the attachment keeps the program
  if (attached != 0)
    return fail(errc::unavailable,
                "cannot attach the device program to " + cgroup_dir + ": " + errno_text(err));
  return {};
}

}  // namespace gantry
