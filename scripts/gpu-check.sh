#!/usr/bin/env bash
# GPU check: on a machine with an NVIDIA GPU, installs the dependencies, builds, starts
# `gantry dev` with the real GPU inventory (NVML) and checks, each as one named step:
#   nccl-1rank   examples/gpu-allreduce.yaml (NCCL, world size 1);
#   nccl-2rank   a 2-rank variant (2+ GPUs only);
#   gpu-share    examples/gpu-share.yaml: two `gpu: 0.5` tasks running at once, and what
#                each may use seen from inside it: under MPS (`gantry nodes` says
#                gpu_sharing: mps) its memory limit must refuse an over-limit allocation.
# It prints the result files, the wall time of each step and PASS, or FAIL: <why> as soon
# as any step fails. Exit 0 on PASS or SKIP, 1 on FAIL. Without a GPU it prints
# "SKIP: no NVIDIA GPU" and exits 0. Finishes within 8 minutes (GPU_CHECK_BUDGET_S,
# default 470 s, bounds every step).
#
# --dry-run: no GPU needed; every step only prints its name and succeeds, except the one
# named by GPU_CHECK_FAIL_STEP, which fails (tests/scripts/gpu_check_test.sh proves a
# failing step fails the script).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
budget=${GPU_CHECK_BUDGET_S:-470}
dry_run=0
[ "${1:-}" = "--dry-run" ] && dry_run=1
started=$SECONDS
times=""

# Seconds left in the budget (at least 1, so `timeout` always gets a valid value).
left() {
  local n=$((budget - (SECONDS - started)))
  [ "$n" -lt 1 ] && n=1
  echo "$n"
}

fail() {
  echo "FAIL: $*"
  [ -z "${work:-}" ] || [ "$dry_run" = 1 ] || echo "gpu-check: logs kept in $work"
  exit 1
}

# step LABEL CMD...: runs CMD, appends "LABEL Ns" to the wall times and returns CMD's own
# status. Callers write `step ... || fail ...`; inside that `||` bash ignores `set -e`, so
# the status is kept explicitly rather than left to the last command.
step() {
  local label=$1 t0=$SECONDS rc=0
  shift
  if [ "$dry_run" = 1 ]; then
    echo "dry-run: step $label"
    [ "$label" != "${GPU_CHECK_FAIL_STEP:-}" ] || rc=1
  else
    "$@" || rc=$?
  fi
  times="$times $label $((SECONDS - t0))s,"
  return "$rc"
}

# NVIDIA GPUs only: nvidia-smi's GPU list, else PCI display controllers (class 0x03) of
# vendor 0x10de. DPUs (BlueField, vendor 0x15b3), NVSwitches (class 0x0680) and MIG slices
# do not count.
count_gpus() {
  if command -v nvidia-smi >/dev/null 2>&1; then
    nvidia-smi --query-gpu=uuid --format=csv,noheader 2>/dev/null | grep -c '^GPU-' || true
    return
  fi
  local n=0 d
  for d in /sys/bus/pci/devices/*; do
    [ "$(cat "$d/vendor" 2>/dev/null)" = 0x10de ] || continue
    case "$(cat "$d/class" 2>/dev/null)" in 0x03*) n=$((n + 1)) ;; esac
  done
  echo "$n"
}

# A one-worker cluster on the real GPUs (an empty --simulate-gpus makes the worker probe
# NVML); exports GANTRY_COORDINATOR and writes nodes.json.
start_cluster() {
  "$bin/gantry" dev --workers 1 --simulate-gpus "" --data-dir "$work/dev" >"$work/dev.out" 2>&1 &
  dev_pid=$!
  local address="" i
  for i in $(seq 1 150); do
    address=$(sed -n 's/.*export GANTRY_COORDINATOR=//p' "$work/dev.out" | head -n 1)
    [ -n "$address" ] && break
    kill -0 "$dev_pid" 2>/dev/null || break
    sleep 0.2
  done
  [ -n "$address" ] || { cat "$work/dev.out"; echo "gantry dev did not start"; return 1; }
  export GANTRY_COORDINATOR=$address
  timeout "$(left)" "$bin/gantry" wait dev-1 --state ready --timeout-ms 30000 >/dev/null ||
    { echo "worker dev-1 did not become ready (see $work/dev/dev-1.log)"; return 1; }
  "$bin/gantry" nodes --json >"$work/nodes.json" || { echo "gantry nodes --json failed"; return 1; }
  real=$(grep -c '"simulated": false' "$work/nodes.json" || true)
  sharing=$(sed -n 's/.*"gpu_sharing": "\([a-z-]*\)".*/\1/p' "$work/nodes.json" | head -n 1)
  echo "gpu-check: gantry sees $real real GPU(s) on dev-1, gpu_sharing ${sharing:-?}"
  [ "$real" -ge 1 ] || { cat "$work/nodes.json"; echo "gantry nodes shows no real GPU"; return 1; }
}

# run_job MANIFEST LABEL: submits and watches to the end; sets `job`.
run_job() {
  local manifest=$1 label=$2
  job=$("$bin/gantry" submit "$manifest") || { echo "$label: gantry submit failed"; return 1; }
  if ! timeout "$(left)" "$bin/gantry" watch "$job" >"$work/$label.events" 2>&1; then
    cat "$work/$label.events"
    "$bin/gantry" logs "$job" 2>&1 | tail -n 30 || true
    echo "$label: job $job did not succeed"
    return 1
  fi
}

# check_allreduce MANIFEST LABEL WORLD: the NCCL all-reduce, its result file naming WORLD.
check_allreduce() {
  local manifest=$1 label=$2 world=$3 result line
  run_job "$manifest" "$label" || return 1
  "$bin/gantry" logs "$job" 2>&1 | grep -E 'NCCL all-reduce on|no GPU|allreduce summary' || true
  result="$work/dev/shared/$job/allreduce-result.txt"
  [ -f "$result" ] || { echo "$label: no $result"; return 1; }
  line=$(cat "$result")
  echo "$label result: $line"
  case "$line" in
    *"world $world "*"backend nccl"*) ;;
    *) echo "$label: expected world $world on backend nccl, got: $line"; return 1 ;;
  esac
}

# Two `gpu: 0.5` tasks that met while running; under MPS each must be refused an allocation
# over its memory limit, time-sliced each must say so.
check_gpu_share() {
  local r line want
  [ -x "$bin/gantry-example-gpu-share" ] || { echo "gantry-example-gpu-share was not built"; return 1; }
  run_job "$root/examples/gpu-share.yaml" gpu-share || return 1
  "$bin/gantry" describe "$job" | grep -E '^ +[01] ' || true
  want="over_limit_alloc failed"
  [ "$sharing" = mps ] || want="sharing time-sliced"
  for r in 0 1; do
    line=$(cat "$work/dev/shared/$job/gpu-share-$r.txt" 2>/dev/null) ||
      { echo "gpu-share: rank $r wrote no result"; return 1; }
    echo "gpu-share result: $line"
    case "$line" in
      *"sharing $sharing "*"$want"*) ;;
      *) echo "gpu-share: rank $r expected \"sharing $sharing\" and \"$want\", got: $line"; return 1 ;;
    esac
  done
  [ "$sharing" = mps ] || echo "gpu-check: no MPS here: the halves ran unfenced (time-sliced)"
}

if [ "$dry_run" = 1 ]; then
  gpus=1
  echo "gpu-check: dry run"
else
  gpus=$(count_gpus)
  if [ "${gpus:-0}" -lt 1 ]; then
    echo "SKIP: no NVIDIA GPU"
    exit 0
  fi
  echo "gpu-check: $gpus NVIDIA GPU(s)"
  command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L
fi

work=$(mktemp -d /tmp/gantry-gpu-check-XXXXXX)
bin="$root/build/bin"
dev_pid=""
real=0
sharing=""
job=""

cleanup() {
  if [ -n "$dev_pid" ] && kill -0 "$dev_pid" 2>/dev/null; then
    kill -TERM "$dev_pid" 2>/dev/null || true
    wait "$dev_pid" 2>/dev/null || true
  fi
  [ "$dry_run" = 0 ] || rm -rf "$work"  # a dry run has no logs worth keeping
}
trap cleanup EXIT

step setup timeout "$(left)" "$root/scripts/setup.sh" >"$work/setup.log" 2>&1 ||
  { tail -n 20 "$work/setup.log"; fail "scripts/setup.sh failed (see $work/setup.log)"; }
step build timeout "$(left)" "$root/scripts/build.sh" >"$work/build.log" 2>&1 ||
  { tail -n 30 "$work/build.log"; fail "scripts/build.sh failed or ran out of time (see $work/build.log)"; }
step nccl-linked grep -q libnccl <(ldd "$bin/gantry-example-allreduce" 2>&1) ||
  fail "gantry-example-allreduce was built without CUDA + NCCL (CMake found no toolkit with nccl.h under /usr/local/cuda)"
step cluster start_cluster || fail "the one-worker cluster did not come up"
step nccl-1rank check_allreduce "$root/examples/gpu-allreduce.yaml" nccl-1rank 1 ||
  fail "nccl-1rank: the NCCL all-reduce on one GPU failed"
if [ "$dry_run" = 1 ] || [ "$real" -ge 2 ]; then
  if [ "$dry_run" = 0 ]; then
    sed -e 's/^name: gpu-allreduce$/name: gpu-allreduce-2/' -e 's/replicas: 1$/replicas: 2/' \
      -e "s#/tmp/gantry-gpu-allreduce-ckpt#$work/ckpt-2#" \
      "$root/examples/gpu-allreduce.yaml" >"$work/gpu-allreduce-2.yaml"
  fi
  step nccl-2rank check_allreduce "$work/gpu-allreduce-2.yaml" nccl-2rank 2 ||
    fail "nccl-2rank: the NCCL all-reduce on two GPUs failed"
else
  echo "gpu-check: one GPU: the 2-rank run is skipped"
fi
step gpu-share check_gpu_share || fail "gpu-share: two half-GPU tasks did not run as expected"

# Device isolation (docs/isolation.md): with cgroups (v1: devices.deny; v2: the worker's BPF
# device program), a task given one GPU can open its own /dev/nvidiaN and no other (with two
# or more GPUs: /dev/nvidia1 is denied to the task given GPU 0). Not enforced without cgroups:
# reported, not failed.
check_device_isolation() {
  local isolation job opened
  isolation=$(sed -n 's/.*"isolation": *"\([a-z0-9]*\)".*/\1/p' "$work/nodes.json" | head -n 1)
  if [ "$isolation" != "v1" ] && [ "$isolation" != "v2" ]; then
    echo "gpu-check: device isolation not enforced here (isolation: ${isolation:-unknown})"
    return 0
  fi
  cat >"$work/devices.yaml" <<'YAML'
name: device-isolation
stages:
  - name: probe
    device: gpu
    resources: { cpu: 0.5, memory: 64MiB, gpu: 1 }
    command: [ "sh", "-c", "for d in /dev/nvidia[0-9]*; do if (exec 3<$d) 2>/dev/null; then echo open $d; else echo denied $d; fi; done" ]
YAML
  job=$("$bin/gantry" submit "$work/devices.yaml") || { echo "devices: submit failed"; return 1; }
  timeout "$(left)" "$bin/gantry" watch "$job" >"$work/devices.events" 2>&1 ||
    { cat "$work/devices.events"; echo "devices: job $job did not succeed"; return 1; }
  "$bin/gantry" logs "$job" >"$work/devices.out" 2>&1 || true
  cat "$work/devices.out"
  opened=$(grep -c '^open ' "$work/devices.out" || true)
  [ "$opened" -eq 1 ] || { echo "devices: a one-GPU task opened $opened GPU device files, expected 1"; return 1; }
}
step devices check_device_isolation || fail "devices: a one-GPU task could open other GPUs' device files"

echo "gpu-check: wall times:${times%,}, total $((SECONDS - started))s"
cleanup
dev_pid=""
rm -rf "$work"
echo "PASS"
