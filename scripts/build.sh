#!/usr/bin/env bash
# Configures and builds gantry. Usage: scripts/build.sh [--sanitize]
#   default     -> build/        (RelWithDebInfo)
#   --sanitize  -> build-asan/   (Debug, AddressSanitizer + UBSan)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
dir="$root/build"; args=(-DCMAKE_BUILD_TYPE=RelWithDebInfo)
if [ "${1:-}" = "--sanitize" ]; then
  dir="$root/build-asan"; args=(-DCMAKE_BUILD_TYPE=Debug -DGANTRY_SANITIZE=ON)
fi
cmake -S "$root" -B "$dir" -G Ninja "${args[@]}" >&2
jobs=$(nproc)
# Each compiler needs ~1 GB at the peak; stay inside memory on small machines.
mem_gb=$(awk '/MemTotal/ {print int($2/1048576)}' /proc/meminfo)
[ "$jobs" -gt "$mem_gb" ] && jobs=$mem_gb
[ "$jobs" -lt 1 ] && jobs=1
# Progress goes to stderr; stdout is the build directory alone (callers capture it).
ninja -C "$dir" -j "$jobs" >&2
echo "$dir"
