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
  python3-numpy python3-matplotlib python3-h5py python3-torchvision
)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#PKGS[@]} packages present"
  exit 0
fi
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "install-deps: done"
