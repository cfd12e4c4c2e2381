#pragma once
// Device rules on cgroup v2: a BPF_PROG_TYPE_CGROUP_DEVICE program, assembled here from
// <linux/bpf.h>'s instruction set (no libbpf or compiler at run time), that denies the listed
// devices and allows every other, attached to a task's group with BPF_F_ALLOW_MULTI so that
// it composes with programs on the groups above (systemd's): a device opens only when every
// program on the way up allows it. The kernel also applies the v1 devices controller's rules
// where that controller is mounted.
#include <linux/bpf.h>

#include <string>
#include <vector>

#include "core/result.hpp"
#include "worker/device_rules.hpp"

namespace gantry {

// The program: returns 0 (deny) for any access to a device in `deny`, 1 (allow) otherwise.
std::vector<bpf_insn> device_program(const std::vector<device_rule>& deny);

// Loads device_program(deny) and attaches it to the cgroup v2 directory `cgroup_dir`; the
// group holds it from then on (it goes with the group). unavailable: this kernel or process
// cannot load or attach it (no BPF, no CAP_SYS_ADMIN, not a cgroup v2 directory, a
// program above that allows no others); the message says which step failed and why.
result<void> attach_device_program(const std::string& cgroup_dir,
                                   const std::vector<device_rule>& deny);

}  // namespace gantry
