#!/usr/bin/env bash
# One entry point for a fresh Debian bookworm machine:
#   bash scripts/run.sh example   install deps, build, train two small cnns, stitch them, print results
#                                 and their CKA / kNN / Procrustes similarity per point
#   bash scripts/run.sh test      install deps, build, run the test suite (ctest)
#   bash scripts/run.sh build     install deps and build only
#   bash scripts/run.sh sanitize  AddressSanitizer + UndefinedBehaviorSanitizer build (build-asan/)
#                                 and the whole suite under it; any report fails the run
# Env: BUILD_DIR (default build, build-asan for sanitize), JOBS (default: nproc).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
JOBS=${JOBS:-$(nproc)}
what=${1:-}
case "$what" in example|test|build|sanitize) ;; *) echo "usage: $0 example|test|build|sanitize" >&2; exit 2 ;; esac

bash scripts/install-deps.sh
# ccache rewrites paths under the repository to relative ones, so another checkout of the same
# sources (CI's fresh clone) hits the cache this one filled (no command line holds an absolute
# path of the tree: see cmake/git_version.cmake).
export CCACHE_BASEDIR="$PWD"
if [ "$what" = sanitize ]; then
  # vptr is off: Debian's libtorch has no typeinfo for c10::DynamicType (link error). Leak
  # checks are off (libtorch's static initialisers) and so is the ODR check (docs/architecture.md
  # §10). halt_on_error makes any ASan or UBSan report fail the test that triggered it.
  BUILD_DIR=${BUILD_DIR_SANITIZE:-build-asan}
  export ASAN_OPTIONS=detect_leaks=0:detect_odr_violation=0:halt_on_error=1
  export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
  flags="-fsanitize=address,undefined -fno-sanitize=vptr -fno-omit-frame-pointer"
  cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release -DSTITCH_BUILD_BENCH=OFF \
    -DCMAKE_CXX_FLAGS="$flags" -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=address,undefined" >/dev/null
else
  cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
fi
cmake --build "$BUILD_DIR" -j "$JOBS"

case "$what" in
  test)
    cd "$BUILD_DIR" && ctest --output-on-failure -j "$JOBS"
    ;;
  sanitize)  # the study re-runs (label "study") are Python around the same binary: left out
    cd "$BUILD_DIR" && ctest --output-on-failure -j "$JOBS" -LE study
    ;;
  example)
    # Two small cnns (different seeds) on 6000 training images, 1 epoch each (~10 s apiece).
    out=runs/example
    mkdir -p "$out"
    S="$BUILD_DIR/stitch"
    for seed in 0 1; do
      "$S" train-model --arch cnn --seed "$seed" --epochs 1 --train-samples 6000 \
        --set test_samples=2000 --set adversarial.eval_samples=200 --out "$out/cnn_s$seed.pt" |
        tail -n $((seed == 0 ? 2 : 1))   # the table header once
    done
    echo
    echo "Stitch points of $out/cnn_s0.pt:"
    "$S" layers "$out/cnn_s0.pt"
    echo
    echo "Stitching cnn_s0 -> cnn_s1 at block2 (configs/example_stitch.yaml):"
    rm -rf "$out/stitch" "$out/similarity"   # fresh tables (finished jobs/pairs are reused)
    "$S" run configs/example_stitch.yaml
    echo
    echo "Representation similarity of the same two cnns, point by point (1000 test images):"
    "$S" similarity "$out/cnn_s0.pt" "$out/cnn_s1.pt" --points-a block1,block2,block3,head \
      --points-b block1,block2,block3,head --pairs zip --samples 1000 --batch 250 \
      --out-dir "$out"
    ;;
esac
