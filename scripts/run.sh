#!/usr/bin/env bash
# One entry point for a fresh Debian bookworm machine:
#   bash scripts/run.sh example   install deps, build, train two small cnns, stitch them, print results
#   bash scripts/run.sh test      install deps, build, run the test suite (ctest)
#   bash scripts/run.sh build     install deps and build only
# Env: BUILD_DIR (default build), JOBS (default: nproc).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
JOBS=${JOBS:-$(nproc)}
what=${1:-}
case "$what" in example|test|build) ;; *) echo "usage: $0 example|test|build" >&2; exit 2 ;; esac

bash scripts/install-deps.sh
cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$BUILD_DIR" -j "$JOBS"

case "$what" in
  test)
    cd "$BUILD_DIR" && ctest --output-on-failure -j "$JOBS"
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
    rm -rf "$out/stitch"   # a fresh table each time (jobs with a result.json would be skipped)
    "$S" run configs/example_stitch.yaml
    ;;
esac
