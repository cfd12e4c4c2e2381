#!/usr/bin/env bash
# scripts/gpu-check.sh without a GPU: it parses (bash -n), a dry run passes, and a dry run
# in which any one step fails ends in FAIL with exit 1, running no later step.
set -uo pipefail
script="$(cd "$(dirname "$0")/../.." && pwd)/scripts/gpu-check.sh"
steps=(setup build nccl-linked cluster nccl-1rank nccl-2rank gpu-share devices)
problems=0
problem() {
  echo "gpu_check_test: $*"
  problems=$((problems + 1))
}

bash -n "$script" || problem "bash -n reports a syntax error"

out=$("$script" --dry-run 2>&1)
rc=$?
[ "$rc" = 0 ] || problem "a dry run exited $rc, expected 0: $out"
[ "$(printf '%s\n' "$out" | tail -n 1)" = PASS ] || problem "a dry run did not end in PASS: $out"
for s in "${steps[@]}"; do
  case "$out" in *" $s "[0-9]*s*) ;; *) problem "the dry run's wall times miss step $s: $out" ;; esac
done

for i in "${!steps[@]}"; do
  failing=${steps[$i]}
  out=$(GPU_CHECK_FAIL_STEP=$failing "$script" --dry-run 2>&1)
  rc=$?
  [ "$rc" = 1 ] || problem "with step $failing failing the script exited $rc, expected 1: $out"
  case "$out" in *"FAIL: "*) ;; *) problem "with step $failing failing there is no FAIL line: $out" ;; esac
  case "$out" in *PASS*) problem "with step $failing failing the script still says PASS" ;; esac
  for later in "${steps[@]:$((i + 1))}"; do
    case "$out" in
      *"dry-run: step $later"*) problem "step $later ran after step $failing failed" ;;
    esac
  done
done

[ "$problems" = 0 ] && echo "gpu_check_test: ok (${#steps[@]} steps)"
exit $((problems > 0))
