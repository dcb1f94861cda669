#!/usr/bin/env bash
# One entry point for a fresh Debian bookworm machine:
#   bash scripts/run.sh example   install deps, build, train two small cnns, stitch them, print results
#                                 and their CKA / kNN / Procrustes similarity per point
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
    rm -rf "$out/stitch" "$out/similarity"   # fresh tables (finished jobs/pairs are reused)
    "$S" run configs/example_stitch.yaml
    echo
    echo "Representation similarity of the same two cnns, point by point (1000 test images):"
    "$S" similarity "$out/cnn_s0.pt" "$out/cnn_s1.pt" --points-a block1,block2,block3,head \
      --points-b block1,block2,block3,head --pairs zip --samples 1000 --batch 250 \
      --out-dir "$out"
    ;;
esac
