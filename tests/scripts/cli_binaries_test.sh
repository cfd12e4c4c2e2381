#!/usr/bin/env bash
# The two binaries (cli/CMakeLists.txt): `gantry` loads no server library, lists every verb,
# and execs gantry-server beside it for the long-running ones, or says why it cannot.
# Usage: cli_binaries_test.sh BIN_DIR
set -euo pipefail
bin=$1
fail() { echo "FAIL: $*"; exit 1; }

libs=$(ldd "$bin/gantry")
for lib in libcaf_core librocksdb libkj-http; do
  ! grep -q "$lib" <<<"$libs" || fail "gantry links $lib, a library only gantry-server needs"
done
grep -q libcaf_core < <(ldd "$bin/gantry-server") || fail "gantry-server does not link CAF"

help=$("$bin/gantry" --help)
for verb in coordinator worker dev sim submit jobs; do
  grep -qE "^ +$verb( |$)" <<<"$help" || fail "gantry --help does not list $verb"
done
# The server verbs' flags are parsed (and refused) by gantry itself, then by gantry-server.
"$bin/gantry" coordinator --help | grep -q -- "--retain-max-jobs" ||
  fail "gantry coordinator --help lacks --retain-max-jobs"
# Through the exec: gantry sim runs in gantry-server, with gantry's pid and argv[0].
out=$("$bin/gantry" sim --nodes /nonexistent.csv --pods /nonexistent.csv 2>&1) && fail "sim on missing files succeeded"
grep -q "nonexistent" <<<"$out" || fail "gantry sim did not reach gantry-server: $out"

# gantry alone, without gantry-server beside it: a clear error, exit 2.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cp "$bin/gantry" "$tmp/gantry"
set +e
out=$("$tmp/gantry" coordinator --data-dir "$tmp/data" 2>&1)
rc=$?
set -e
[ "$rc" = 2 ] || fail "gantry coordinator without gantry-server exited $rc: $out"
grep -q "runs $tmp/gantry-server, which cannot be started: No such file or directory (install gantry-server beside gantry)" <<<"$out" ||
  fail "unexpected message: $out"
[ ! -e "$tmp/data" ] || fail "the coordinator's data dir was created by gantry"
"$tmp/gantry" --version >/dev/null || fail "gantry alone cannot print its version"
echo "ok: gantry loads $(grep -c '=>' <<<"$libs") libraries, none of the server's"
