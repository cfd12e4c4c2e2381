#!/usr/bin/env bash
# Checks deploy/ against the gantry that was built. Usage: deploy_test.sh CHECK BIN_DIR
#   systemd-verify  systemd-analyze verify on both units, which must print nothing
#   systemd-start   a coordinator and a worker started with exactly the units' ExecStart lines
#                   (the env file substituted, its paths redirected to a temp dir): the node joins
#                   and runs examples/hello.yaml
#   kubernetes      kubectl kustomize deploy/kubernetes renders, and every flag in the rendered
#                   containers' args is one that gantry coordinator|worker --help lists, and
#                   the workers dial a name the coordinator advertises
#   container       the Containerfile's runtime packages hold every library gantry links; the
#                   image is built with buildah where a builder works without a registry
# Exit 0 passed, 1 failed, 77 skipped (the reason is printed).
set -uo pipefail
check=${1:?usage: deploy_test.sh CHECK BIN_DIR}
bin=$(cd "${2:?usage: deploy_test.sh CHECK BIN_DIR}" && pwd)
root=$(cd "$(dirname "$0")/../.." && pwd)
units="$root/deploy/systemd"
me="deploy_test $check"
problems=0
problem() {
  echo "$me: $*"
  problems=$((problems + 1))
}
skip() {
  echo "$me: SKIPPED: $*"
  exit 77
}
finish() {
  [ "$problems" = 0 ] && echo "$me: ok${1:+ ($1)}"
  exit $((problems > 0))
}
tmp=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
  rm -rf "$tmp"
}
trap cleanup EXIT

# The unit's ExecStart value, with the installed binary's path replaced by the built one;
# else what is wrong, and exit status 1.
exec_start() {
  local line
  line=$(sed -n 's/^ExecStart=//p' "$1")
  [ "$(printf '%s\n' "$line" | grep -c .)" = 1 ] || { echo "$1: expected one ExecStart line"; return 1; }
  case "$line" in
    /usr/local/bin/gantry\ *) ;;
    *) echo "$1: ExecStart does not run /usr/local/bin/gantry: $line"; return 1 ;;
  esac
  printf '%s\n' "$bin/gantry ${line#/usr/local/bin/gantry }"
}

# Reads NAME=VALUE lines (systemd's EnvironmentFile, unquoted values) into the array env_vars;
# a later line for a name wins, as in systemd.
declare -A env_vars
read_env_file() {
  local line name
  while IFS= read -r line || [ -n "$line" ]; do
    case "$line" in '' | '#'* | ';'*) continue ;; esac
    name=${line%%=*}
    [[ "$name" =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]] || { problem "$1: not NAME=VALUE: $line"; continue; }
    case "${line#*=}" in *\"* | *\'* | *\\*)
      problem "$1: $name: quotes and backslashes are not handled by this test" ;;
    esac
    env_vars[$name]=${line#*=}
  done <"$1"
}

# systemd's expansion of an ExecStart line: a word that is ${NAME} is one argument, a word
# that is $NAME is split at whitespace into as many as it holds (none when empty), ${NAME}
# inside a word is replaced there. Every name must be in the env file. Sets argv.
expand() {
  local word name rest out
  local - # set -f below ends with the function
  set -f  # systemd splits words but never expands globs such as NCCL_*
  argv=()
  case "$1" in *\"* | *\'* | *\\*) problem "ExecStart: quoting is not handled by this test: $1" ;; esac
  for word in $1; do
    if [[ "$word" =~ ^\$([A-Za-z_][A-Za-z0-9_]*)$ ]]; then
      name=${BASH_REMATCH[1]}
      [ -n "${env_vars[$name]+x}" ] || problem "ExecStart uses \$$name, which the env file lacks"
      # shellcheck disable=SC2206  # splitting is the point
      argv+=(${env_vars[$name]:-})
      continue
    fi
    out="" rest=$word
    while [[ "$rest" =~ ^([^$]*)\$\{([A-Za-z_][A-Za-z0-9_]*)\}(.*)$ ]]; do
      name=${BASH_REMATCH[2]}
      [ -n "${env_vars[$name]+x}" ] || problem "ExecStart uses \${$name}, which the env file lacks"
      out+=${BASH_REMATCH[1]}${env_vars[$name]:-}
      rest=${BASH_REMATCH[3]}
    done
    case "$rest" in *\$*) problem "ExecStart: an expansion this test does not handle: $word" ;; esac
    argv+=("$out$rest")
  done
}

# Runs argv in the background under unit $2's UMask= with only the env file's variables (and
# PATH), as systemd does, and the sanitizers' options of a --sanitize build.
start() {
  local log=$1 mask assignments=() name
  mask=$(sed -n 's/^UMask=//p' "$2")
  for name in "${!env_vars[@]}"; do assignments+=("$name=${env_vars[$name]}"); done
  for name in ASAN_OPTIONS UBSAN_OPTIONS LSAN_OPTIONS; do
    [ -z "${!name:-}" ] || assignments+=("$name=${!name}")
  done
  (
    [ -z "$mask" ] || umask "$mask"
    exec env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin "${assignments[@]}" "${argv[@]}"
  ) >"$log" 2>&1 &
  pids+=($!)
}

# Waits up to $2 seconds for a line matching the regex $3 in file $1; prints it.
wait_for_line() {
  local deadline=$((SECONDS + $2)) line
  while [ "$SECONDS" -lt "$deadline" ]; do
    line=$(grep -m1 -E "$3" "$1" 2>/dev/null) && { printf '%s\n' "$line"; return 0; }
    sleep 0.1
  done
  return 1
}

check_systemd_verify() {
  command -v systemd-analyze >/dev/null || skip "systemd-analyze is not installed (Debian's systemd)"
  local u out
  for u in gantry-coordinator gantry-worker; do
    out=$(exec_start "$units/$u.service") || { problem "$out"; continue; }
    # The binary must exist for verify: the unit as shipped, but running the built gantry.
    sed "s#^ExecStart=/usr/local/bin/gantry #ExecStart=$bin/gantry #" "$units/$u.service" >"$tmp/$u.service"
  done
  [ "$problems" = 0 ] || finish
  out=$(cd "$tmp" && systemd-analyze verify "$tmp/gantry-coordinator.service" "$tmp/gantry-worker.service" 2>&1)
  local rc=$?
  [ "$rc" = 0 ] || problem "systemd-analyze verify exited $rc: $out"
  # Unknown keys and bad values are warnings (exit 0): any output is a finding.
  [ -z "$out" ] || problem "systemd-analyze verify reported: $out"
  grep -q '^Delegate=yes$' "$units/gantry-worker.service" || problem "the worker unit lacks Delegate=yes"
  grep -q '^NoNewPrivileges=' "$units/gantry-worker.service" &&
    problem "the worker unit sets NoNewPrivileges: tasks could not run setuid programs"
  finish "2 units"
}

check_systemd_start() {
  local coord_line worker_line port admin listening
  coord_line=$(exec_start "$units/gantry-coordinator.service") || { problem "$coord_line"; finish; }
  worker_line=$(exec_start "$units/gantry-worker.service") || { problem "$worker_line"; finish; }
  # The data dirs are reached by the users tasks run as (as under /var/lib).
  chmod 0711 "$tmp"
  read_env_file "$units/gantry.env"
  # The paths and addresses go to the temp dir and loopback; the flags stay as shipped.
  cat >"$tmp/gantry.env" <<EOF
GANTRY_LISTEN=127.0.0.1:0
GANTRY_COORDINATOR_DATA_DIR=$tmp/coordinator
GANTRY_COORDINATOR_FLAGS=${env_vars[GANTRY_COORDINATOR_FLAGS]:-} --http-listen 127.0.0.1:0
EOF
  read_env_file "$tmp/gantry.env"
  expand "$coord_line"
  [ "$problems" = 0 ] || finish
  echo "$me: ${argv[*]}"
  start "$tmp/coordinator.log" "$units/gantry-coordinator.service"
  listening=$(wait_for_line "$tmp/coordinator.log" 60 '^gantry coordinator listening on ') ||
    { problem "no 'listening on' line within 60 s: $(cat "$tmp/coordinator.log")"; finish; }
  port=${listening##*:}
  admin=$tmp/coordinator/tokens/admin
  cat >>"$tmp/gantry.env" <<EOF
GANTRY_COORDINATOR=127.0.0.1:$port
GANTRY_CA=$tmp/coordinator/tls/ca.crt
GANTRY_JOIN_TOKEN_FILE=$tmp/coordinator/tokens/join
GANTRY_WORKER_DATA_DIR=$tmp/worker
GANTRY_WORKER_FLAGS=${env_vars[GANTRY_WORKER_FLAGS]:-} --name deploy-w1
EOF
  read_env_file "$tmp/gantry.env"
  expand "$worker_line"
  [ "$problems" = 0 ] || finish
  echo "$me: ${argv[*]}"
  start "$tmp/worker.log" "$units/gantry-worker.service"
  local out rc=1 worker=${pids[-1]} deadline=$((SECONDS + 60))
  # Until the node is ready, the worker exits (a flag it does not know), or 60 s pass.
  while [ "$rc" != 0 ] && [ "$SECONDS" -lt "$deadline" ] && kill -0 "$worker" 2>/dev/null; do
    out=$("$bin/gantry" wait deploy-w1 --state ready --timeout-ms 2000 --coordinator "127.0.0.1:$port" \
      --token-file "$admin" --ca "$tmp/coordinator/tls/ca.crt" 2>&1)
    rc=$?
  done
  if [ "$rc" != 0 ]; then
    kill -0 "$worker" 2>/dev/null || problem "the worker exited"
    problem "node deploy-w1 not ready (gantry wait exited $rc: $out)"
    echo "--- coordinator log"; cat "$tmp/coordinator.log"
    echo "--- worker log"; cat "$tmp/worker.log"
    finish
  fi
  [ -f "$tmp/worker/node-credential" ] || problem "the worker kept no node credential in its data dir"
  out=$("$bin/gantry" nodes --coordinator "127.0.0.1:$port" --token-file "$admin" \
    --ca "$tmp/coordinator/tls/ca.crt" 2>&1)
  case "$out" in *deploy-w1*ready*) ;; *) problem "gantry nodes does not list deploy-w1 ready: $out" ;; esac
  # The worker the unit starts runs tasks (as nobody, in its data dir).
  local client=(--coordinator "127.0.0.1:$port" --token-file "$admin" --ca "$tmp/coordinator/tls/ca.crt")
  local job
  job=$("$bin/gantry" submit "$root/examples/hello.yaml" "${client[@]}" 2>&1) ||
    { problem "gantry submit examples/hello.yaml failed: $job"; finish; }
  out=$("$bin/gantry" wait "$job" --timeout-ms 60000 "${client[@]}" 2>&1) ||
    problem "$job did not succeed: $out; $("$bin/gantry" describe "$job" "${client[@]}" 2>&1)"
  finish "deploy-w1 joined through the units' ExecStart lines and ran $job"
}

# The list items under every "args:" of a rendered container, one a line.
rendered_args() {
  awk '
    /^ *(- )?args:$/ { sub(/args:$/, ""); indent = length($0); inargs = 1; next }
    inargs && match($0, /^ *- /) && RLENGTH - 2 >= indent && RLENGTH - 2 <= indent + 2 {
      v = substr($0, RLENGTH + 1); gsub(/^["'\'']|["'\'']$/, "", v); print v; next }
    { inargs = 0 }' "$1"
}

check_kubernetes() {
  command -v kubectl >/dev/null || skip "kubectl is not installed (Debian's kubernetes-client, scripts/setup.sh)"
  local rendered=$tmp/rendered.yaml out rc sub="" arg flag n_coordinator=0 n_worker=0
  local advertised="" dialled=""
  out=$(kubectl kustomize "$root/deploy/kubernetes" 2>&1 >"$rendered")
  rc=$?
  [ "$rc" = 0 ] || { problem "kubectl kustomize exited $rc: $out"; finish; }
  for kind in Namespace Service StatefulSet DaemonSet; do
    grep -q "^kind: $kind\$" "$rendered" || problem "the rendering has no $kind"
  done
  "$bin/gantry" coordinator --help >"$tmp/coordinator.help" 2>&1
  "$bin/gantry" worker --help >"$tmp/worker.help" 2>&1
  while IFS= read -r arg; do
    case "$arg" in
      coordinator | worker) sub=$arg; continue ;;
      --*) ;;
      *) continue ;;
    esac
    [ -n "$sub" ] || { problem "flag $arg before a gantry subcommand in the args"; continue; }
    flag=${arg%%=*}
    case "$sub $flag" in
      "coordinator --advertise") advertised+=" ${arg#*=} " ;;
      "worker --coordinator") dialled=${arg#*=} ;;
    esac
    if grep -qE -- "^ +(-[a-zA-Z],)?$flag( |$)" "$tmp/$sub.help"; then
      [ "$sub" = coordinator ] && n_coordinator=$((n_coordinator + 1)) || n_worker=$((n_worker + 1))
    else
      problem "$flag (gantry $sub in deploy/kubernetes) is not in gantry $sub --help"
    fi
  done < <(rendered_args "$rendered")
  # The worker dials a name the coordinator's certificate carries (else: hostname mismatch).
  case "$advertised" in
    *" ${dialled%:*} "*) ;;
    *) problem "the workers dial ${dialled:-nothing}, which the coordinator does not --advertise:$advertised" ;;
  esac
  # A parser that found nothing would pass everything.
  [ "$n_coordinator" -ge 3 ] || problem "found $n_coordinator coordinator flags in the rendering, expected 3 or more"
  [ "$n_worker" -ge 4 ] || problem "found $n_worker worker flags in the rendering, expected 4 or more"
  finish "$n_coordinator coordinator and $n_worker worker flags checked"
}

check_container() {
  local file="$root/deploy/container/Containerfile" lib pkg checked=0
  [ -f "$file" ] || { problem "no $file"; finish; }
  # The runtime stage installs the packages of every shared library gantry and gantry-server
  # (the coordinator's and worker's binary, which gantry execs) need.
  command -v dpkg >/dev/null || skip "dpkg is not installed: the Containerfile's packages are Debian's"
  # ldd says /lib/..., dpkg knows /usr/lib/... (merged /usr): ask for both, in one dpkg call.
  local libs=() owners
  mapfile -t libs < <(ldd "$bin/gantry" "$bin/gantry-server" | awk '$3 ~ /^\// { print $3 }' | sort -u)
  owners=$(for lib in "${libs[@]}"; do echo "$lib"; echo "/usr${lib#/usr}"; done |
    xargs dpkg -S 2>/dev/null)
  for lib in "${libs[@]}"; do
    pkg=$(printf '%s\n' "$owners" | awk -v a="$lib" -v b="/usr${lib#/usr}" \
      '{ p = $0; sub(/^.*: /, "", p) } p == a || p == b { sub(/[:,].*/, ""); print; exit }')
    [ -n "$pkg" ] || { problem "no Debian package holds $lib"; continue; }
    checked=$((checked + 1))
    # The base image has the C and C++ runtimes; the sanitizers' are --sanitize builds' only.
    case "$pkg" in libc6 | libgcc-s1 | libstdc++6 | libasan* | libubsan*) continue ;; esac
    grep -qE "(^| )$pkg( |$)" "$file" || problem "the Containerfile does not install $pkg ($lib)"
  done
  [ "$checked" -ge 5 ] || problem "checked $checked of gantry's libraries, expected 5 or more"
  [ "$problems" = 0 ] || finish
  command -v buildah >/dev/null ||
    skip "the runtime packages cover gantry's libraries; no image built: buildah is not installed here"
  buildah inspect --type image docker.io/library/debian:12 >/dev/null 2>&1 ||
    buildah pull docker.io/library/debian:12 >/dev/null 2>&1 ||
    skip "no image built: debian:12 is neither in buildah's storage nor pullable (no registry)"
  local image=localhost/gantry-deploy-test:$$
  buildah bud --layers -f "$file" -t "$image" "$root" >"$tmp/build.log" 2>&1 ||
    { problem "buildah bud failed: $(tail -n 30 "$tmp/build.log")"; finish; }
  local ctr
  ctr=$(buildah from "$image") || { problem "buildah from $image failed"; finish; }
  buildah run "$ctr" -- gantry coordinator --help >/dev/null 2>&1 || problem "gantry does not run in the image"
  buildah run "$ctr" -- sh -c 'command -v gantry-example-hello' >/dev/null 2>&1 ||
    problem "the image lacks gantry-example-hello"
  buildah rm "$ctr" >/dev/null
  buildah rmi "$image" >/dev/null
  finish "image built"
}

case "$check" in
  systemd-verify) check_systemd_verify ;;
  systemd-start) check_systemd_start ;;
  kubernetes) check_kubernetes ;;
  container) check_container ;;
  *) echo "deploy_test: unknown check $check" >&2; exit 2 ;;
esac
