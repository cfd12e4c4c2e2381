#!/usr/bin/env bash
# Sets up dependencies, builds, starts a local cluster (gantry dev: one coordinator and two
# workers with simulated GPUs, as real processes), runs examples/pipeline.yaml on it while
# streaming its events, and stops the cluster. Exit code: the job's (0 = succeeded).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/setup.sh"
dir=$("$root/scripts/build.sh")
exec "$dir/bin/gantry" dev --workers 2 --simulate-gpus 4xH100:80GiB --run "$root/examples/pipeline.yaml"
