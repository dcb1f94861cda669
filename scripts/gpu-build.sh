#!/usr/bin/env bash
# Builds stitch against a CUDA LibTorch on a machine that has PyTorch but no apt (the lent GPU
# machine: Ubuntu 24.04, torch 2.x + CUDA in its python3; docs/architecture.md §7 of the project notes).
#   on this Debian machine:  bash scripts/gpu-build.sh fetch
#       downloads the Debian dev packages the build needs into .gpu-debs/ (git-ignored; carry it)
#   on the GPU machine:      bash scripts/gpu-build.sh build [BUILD_DIR]   (default /tmp/b)
#                            (scripts/gpu-check.sh runs this, the CUDA tests and a benchmark)
#       unpacks them into /tmp/deps (never into /), configures with the python torch's CMake
#       prefix, builds, and writes /tmp/deps/env.sh (LD_LIBRARY_PATH); then e.g.
#       . /tmp/deps/env.sh && /tmp/b/stitch_tests --gtest_filter='Cuda*'
set -euo pipefail
cd "$(dirname "$0")/.."
# The C++ dependencies (and their runtime libraries), OpenSSL and zlib headers (the GPU machine
# has only the runtimes), and the Fashion-MNIST files the tests and benchmarks read.
PKGS=(libyaml-cpp0.7 libyaml-cpp-dev libfmt9 libfmt-dev libspdlog1.10 libspdlog-dev libcli11-dev
      nlohmann-json3-dev libhdf5-103-1 libhdf5-cpp-103-1 libhdf5-dev libhdf5-hl-100
      libhdf5-hl-cpp-100 libaec0 libsz2 libgtest-dev libssl3 libssl-dev zlib1g zlib1g-dev
      dataset-fashion-mnist)
DEPS=${GPU_DEPS:-/tmp/deps}  # where `build` unpacks them (never into /)
case "${1:-}" in
  fetch)
    grep -qx '/.gpu-debs/' .git/info/exclude 2>/dev/null || echo '/.gpu-debs/' >>.git/info/exclude
    mkdir -p .gpu-debs
    (cd .gpu-debs && apt-get download "${PKGS[@]}" >/dev/null)
    echo "gpu-build: $(ls .gpu-debs | wc -l) packages in .gpu-debs/ ($(du -sh .gpu-debs | cut -f1))"
    ;;
  build|configure)
    # configure: unpack and configure only (with whatever LibTorch CMake finds: the dry run here
    # uses Debian's); build: also compile, against the python torch's LibTorch when there is one.
    B=${2:-/tmp/b}
    [ -d .gpu-debs ] || { echo "gpu-build: no .gpu-debs/; run 'scripts/gpu-build.sh fetch' here first and carry it" >&2; exit 2; }
    mkdir -p "$DEPS"
    for f in .gpu-debs/*.deb; do dpkg -x "$f" "$DEPS"; done
    prefix=$(python3 -c 'import torch; print(torch.utils.cmake_prefix_path)' 2>/dev/null || true)
    [ -d "$prefix" ] || prefix=""  # Debian's torch: its cmake_prefix_path does not exist
    cat >"$DEPS/env.sh" <<ENV
export LD_LIBRARY_PATH=$DEPS/usr/lib/x86_64-linux-gnu:\${LD_LIBRARY_PATH:-}
export STITCH_FASHION_MNIST_DIR=$DEPS/usr/share/datasets/fashion-mnist
ENV
    # shellcheck disable=SC1091
    . "$DEPS/env.sh"
    cmake -S . -B "$B" -G Ninja -DCMAKE_BUILD_TYPE=Release -DSTITCH_PYTHON="$(command -v python3)" \
      -DCMAKE_PREFIX_PATH="${prefix:+$prefix;}$DEPS/usr" -DOPENSSL_ROOT_DIR="$DEPS/usr" \
      -DZLIB_ROOT="$DEPS/usr" -DHDF5_ROOT="$DEPS/usr/lib/x86_64-linux-gnu/hdf5/serial" >/dev/null
    # Every dependency must resolve into the unpacked prefix, not to a system copy.
    for v in fmt_DIR spdlog_DIR yaml-cpp_DIR CLI11_DIR nlohmann_json_DIR GTest_DIR \
             OPENSSL_INCLUDE_DIR ZLIB_INCLUDE_DIR HDF5_CXX_INCLUDE_DIR; do
      val=$(grep -E "^$v:" "$B/CMakeCache.txt" | cut -d= -f2- || true)
      case "$val" in "$DEPS"/*) ;; *) echo "gpu-build: $v is '$val', not under $DEPS" >&2; exit 1 ;; esac
    done
    echo "gpu-build: configured $B against $DEPS (torch: ${prefix:-system})"
    [ "$1" = configure ] && exit 0
    cmake --build "$B" -j "$(nproc)"
    echo "gpu-build: built in $B; . $DEPS/env.sh before running"
    ;;
  *) echo "usage: $0 fetch | configure [BUILD_DIR] | build [BUILD_DIR]" >&2; exit 2 ;;
esac
