#!/usr/bin/env bash
# Sets up dependencies, builds, and runs every test. Usage: scripts/test.sh [--sanitize]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
t0=$(date +%s)
"$root/scripts/setup.sh"
t1=$(date +%s)
dir=$("$root/scripts/build.sh" "$@")
t2=$(date +%s)
echo "test: setup $((t1 - t0)) s, build $((t2 - t1)) s" >&2
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1:suppressions=$root/tests/ubsan.supp}
cd "$dir"
ctest --output-on-failure --timeout 300 -j 2
