#!/usr/bin/env bash
# Installs every Debian package stitch needs (build, run, tests, plots). Idempotent: packages
# already present are skipped, so a second run costs ~1 s and needs no network.
set -euo pipefail
PKGS=(
  build-essential cmake ninja-build ccache pkg-config clang-format git
  libtorch-dev python3-torch libopenblas0-openmp
  libyaml-cpp-dev libfmt-dev libspdlog-dev libcli11-dev nlohmann-json3-dev
  libhdf5-dev libgtest-dev zlib1g-dev libssl-dev
  dataset-fashion-mnist
  python3-numpy python3-scipy python3-matplotlib python3-h5py python3-torchvision python3-yaml
)
# A throw-away single-node Slurm for the job-array integration test (tests/slurm/). Optional:
# when these cannot be installed the test skips itself with a message.
OPTIONAL=(slurmctld slurmd slurm-client munge)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
optional_missing=()
for p in "${OPTIONAL[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || optional_missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ] && [ ${#optional_missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#PKGS[@]} packages present (+ ${#OPTIONAL[@]} optional)"
  exit 0
fi
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
echo "install-deps: installing ${missing[*]} ${optional_missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
if [ ${#missing[@]} -gt 0 ]; then
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
if [ ${#optional_missing[@]} -gt 0 ]; then
  $SUDO apt-get install -y -qq --no-install-recommends "${optional_missing[@]}" >/dev/null ||
    echo "install-deps: optional ${optional_missing[*]} not installed; the Slurm test will skip"
fi
echo "install-deps: done"
