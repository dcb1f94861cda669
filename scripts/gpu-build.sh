#!/usr/bin/env bash
# Builds stitch against a CUDA LibTorch on a machine that has PyTorch but no apt (the lent GPU
# machine: Ubuntu 24.04, torch 2.x + CUDA in its python3; docs/architecture.md §7 of the project notes).
#   on this Debian machine:  bash scripts/gpu-build.sh fetch
#       downloads the Debian dev packages the build needs into .gpu-debs/ (git-ignored; carry it)
#   on the GPU machine:      bash scripts/gpu-build.sh build [BUILD_DIR]   (default /tmp/b)
#       unpacks them into /tmp/deps (never into /), configures with the python torch's CMake
#       prefix, builds, and writes /tmp/deps/env.sh (LD_LIBRARY_PATH); then e.g.
#       . /tmp/deps/env.sh && /tmp/b/stitch_tests --gtest_filter='Cuda*'
set -euo pipefail
cd "$(dirname "$0")/.."
PKGS=(libyaml-cpp0.7 libyaml-cpp-dev libfmt9 libfmt-dev libspdlog1.10 libspdlog-dev libcli11-dev
      nlohmann-json3-dev libhdf5-103-1 libhdf5-cpp-103-1 libhdf5-dev libhdf5-hl-100
      libhdf5-hl-cpp-100 libaec0 libsz2 libgtest-dev)
case "${1:-}" in
  fetch)
    grep -qx '/.gpu-debs/' .git/info/exclude 2>/dev/null || echo '/.gpu-debs/' >>.git/info/exclude
    mkdir -p .gpu-debs
    (cd .gpu-debs && apt-get download "${PKGS[@]}")
    echo "gpu-build: $(ls .gpu-debs | wc -l) packages in .gpu-debs/ ($(du -sh .gpu-debs | cut -f1))"
    ;;
  build)
    B=${2:-/tmp/b}
    [ -d .gpu-debs ] || { echo "gpu-build: no .gpu-debs/; run 'scripts/gpu-build.sh fetch' here first and carry it" >&2; exit 2; }
    mkdir -p /tmp/deps
    for f in .gpu-debs/*.deb; do dpkg -x "$f" /tmp/deps; done
    prefix=$(python3 -c 'import torch; print(torch.utils.cmake_prefix_path)')
    echo "export LD_LIBRARY_PATH=/tmp/deps/usr/lib/x86_64-linux-gnu:\${LD_LIBRARY_PATH:-}" >/tmp/deps/env.sh
    # shellcheck disable=SC1091
    . /tmp/deps/env.sh
    cmake -S . -B "$B" -G Ninja -DCMAKE_BUILD_TYPE=Release -DSTITCH_PYTHON="$(command -v python3)" \
      -DCMAKE_PREFIX_PATH="$prefix;/tmp/deps/usr" \
      -DHDF5_ROOT=/tmp/deps/usr/lib/x86_64-linux-gnu/hdf5/serial >/dev/null
    cmake --build "$B" -j "$(nproc)"
    echo "gpu-build: built in $B; . /tmp/deps/env.sh before running"
    ;;
  *) echo "usage: $0 fetch | build [BUILD_DIR]" >&2; exit 2 ;;
esac
