#!/usr/bin/env bash
# Installs gantry's build and test dependencies from Debian 12's own repositories.
# Idempotent: does nothing when everything is already installed.
set -euo pipefail

packages=(
  build-essential cmake ninja-build ccache pkg-config git lld
  libcaf-dev capnproto libcapnp-dev libssl-dev librocksdb-dev
  libfabric-dev libfabric-bin doctest-dev libyaml-cpp-dev libcli11-dev
  nlohmann-json3-dev libfmt-dev libbenchmark-dev procps
  clang libclang-rt-14-dev  # tests/fuzz (scripts/fuzz.sh)
  prometheus curl           # tests/cluster/http_*_test.cpp (Prometheus scrapes, promtool)
  systemd                   # deploy_test.sh: systemd-analyze verify on deploy/systemd
  chromium zlib1g-dev       # tests/cluster/dashboard_test.cpp: the dashboard, headless
)
# deploy_test.sh: kubectl kustomize deploy/kubernetes. Debian's kubectl, unless one is already
# installed (another package's /usr/bin/kubectl would conflict with it).
command -v kubectl >/dev/null || packages+=(kubernetes-client)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all dependencies present"
  exit 0
fi

sudo=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "setup: need root or sudo to install: ${missing[*]}" >&2; exit 1; }
  sudo="sudo"
fi
echo "setup: installing ${missing[*]}"
$sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq
$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
