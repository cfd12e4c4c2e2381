#!/usr/bin/env bash
# Builds the libFuzzer harnesses with clang into build-fuzz/ and runs each for a while.
# Usage: scripts/fuzz.sh [SECONDS_PER_HARNESS (default 10)] [HARNESS...]
#   The seed corpus in tests/fuzz/corpus/<harness>/ is read, never written: new inputs go to
#   build-fuzz/corpus/<harness>/, crashes to build-fuzz/crashes/ (then the script fails).
#   Without clang++ it prints why and exits 0, so CI on a machine without clang still passes.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
seconds=${1:-10}
shift || true
harnesses=("$@")
[ ${#harnesses[@]} -eq 0 ] && harnesses=(manifest_fuzz rpc_fuzz)
if ! command -v clang++ >/dev/null; then
  echo "fuzz: skipped: clang++ is not installed (apt-get install clang)" >&2
  exit 0
fi
dir="$root/build-fuzz"
CC=clang CXX=clang++ cmake -S "$root" -B "$dir" -G Ninja -DGANTRY_FUZZ=ON \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo >&2
ninja -C "$dir" "${harnesses[@]}" >&2
mkdir -p "$dir/crashes"
for h in "${harnesses[@]}"; do
  mkdir -p "$dir/corpus/$h"
  echo "fuzz: $h for ${seconds} s" >&2
  "$dir/tests/fuzz/$h" -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=60 \
    -artifact_prefix="$dir/crashes/$h-" -print_final_stats=1 \
    "$dir/corpus/$h" "$root/tests/fuzz/corpus/$h" 2>"$dir/$h.log" || {
    tail -40 "$dir/$h.log" >&2
    echo "fuzz: $h failed; the input is in $dir/crashes/" >&2
    exit 1
  }
  grep -E '^stat::number_of_executed_units|^stat::peak_rss_mb' "$dir/$h.log" >&2 || true
done
