#!/usr/bin/env bash
# A real coordinator and `gantry worker --fleet N` (N simulated workers over N real
# connections, docs/scale.md). Prints: seconds until all N are registered and ready, the idle
# coordinator's CPU (share of one core over 10 s), and submit -> running of 1-rank jobs
# (sequential, 50) with the fleet idle. A benchmark, not a test: it prints figures.
# Usage: bench/scale.sh N [BUILD_DIR (default build)]
set -euo pipefail
n=${1:?usage: bench/scale.sh N [BUILD_DIR]}
root=$(cd "$(dirname "$0")/.." && pwd)
bin=$root/${2:-build}/bin
ulimit -n "$(ulimit -Hn)"
work=$(mktemp -d)
echo "work dir: $work (kept with GANTRY_BENCH_KEEP=1)"
trap 'kill $(jobs -p) 2>/dev/null || true; wait 2>/dev/null || true; [ -n "${GANTRY_BENCH_KEEP:-}" ] || rm -rf "$work"' EXIT

"$bin/gantry" coordinator --listen 127.0.0.1:0 --http-listen off --data-dir "$work/c" \
  --max-connections-per-peer $((n + 64)) >"$work/c.log" 2>&1 &
coord=$!
for _ in $(seq 1 100); do grep -q "listening on" "$work/c.log" && break; sleep 0.1; done
addr=$(grep -o 'listening on [^ ,]*' "$work/c.log" | head -1 | awk '{print $3}')
export GANTRY_COORDINATOR=$addr GANTRY_CA=$work/c/tls/ca.crt
GANTRY_TOKEN=$(cat "$work/c/tokens/admin")
export GANTRY_TOKEN
t0=$(date +%s.%N)
"$bin/gantry" worker --fleet "$n" --name-prefix b- --data-dir "$work/f" \
  --join-token-file "$work/c/tokens/join" --ca "$GANTRY_CA" --cpus 64 --memory 512GiB \
  --simulate-gpus 8xH100:80GiB >"$work/f.log" 2>&1 &
ready=0
for _ in $(seq 1 1200); do  # up to 10 minutes
  # A coordinator busy with the registrations may not answer in time: count again later.
  ready=$("$bin/gantry" nodes --json 2>/dev/null | python3 -c 'import json,sys; print(sum(1 for n in json.load(sys.stdin) if n["state"] == "ready"))' 2>/dev/null) || ready=0
  [ "$ready" -ge "$n" ] && break
  sleep 0.5
done
t1=$(date +%s.%N)
echo "nodes: $n; $ready ready after $(python3 -c "print(round($t1 - $t0, 1))") s (polled every 0.5 s)"

ticks() { awk '{print $14 + $15}' "/proc/$coord/stat"; }
hz=$(getconf CLK_TCK)
sleep 2  # registration's tail settles; then 10 s of an idle cluster
a=$(ticks); sleep 10; b=$(ticks)
echo "idle coordinator CPU: $(python3 -c "print(round(100 * ($b - $a) / $hz / 10, 1))")% of a core"

cat >"$work/j.yaml" <<'YAML'
name: one
stages:
  - name: s
    resources: { cpu: 1, memory: 1GiB }
    command: [ "true" ]
YAML
lat=()
for _ in $(seq 1 50); do
  s=$(date +%s%N)
  j=$("$bin/gantry" submit "$work/j.yaml")
  "$bin/gantry" wait "$j" --timeout-ms 60000 >/dev/null
  lat+=($(( ($(date +%s%N) - s) / 1000000 )))
done
printf '%s\n' "${lat[@]}" | sort -n | awk '{a[NR]=$1} END {print "submit -> finished through the CLI (2 processes), ms: p50 " a[int(NR/2)+1] ", p90 " a[int(NR*0.9)] ", max " a[NR]}'
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
