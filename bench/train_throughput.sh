#!/usr/bin/env bash
# C++ vs Python-eager training throughput of the standard recipe (images/s), medians and ratio.
# Usage: bench/train_throughput.sh [build-dir] [steps] [batch] [threads]   (env ARCHS, REPEAT)
set -euo pipefail
cd "$(dirname "$0")/.."
B=${1:-build}; STEPS=${2:-200}; BATCH=${3:-128}; THREADS=${4:-2}
for arch in ${ARCHS:-cnn resnet}; do
  bench/median_ratio.sh "train $arch" images_per_s "$B/bench_train_throughput $arch $STEPS $BATCH $THREADS" \
    "/usr/bin/python3 bench/train_throughput.py $arch $STEPS $BATCH $THREADS"
done
