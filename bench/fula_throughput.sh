#!/usr/bin/env bash
# FuLA stitch-training throughput (samples/s), C++ vs Python eager, medians and ratio (target >= 2x).
# Usage: bench/fula_throughput.sh [build-dir] [steps] [batch] [threads]   (env REPEAT)
set -euo pipefail
cd "$(dirname "$0")/.."
B=${1:-build}; STEPS=${2:-200}; BATCH=${3:-128}; THREADS=${4:-2}
for pair in "cnn block1" "resnet stem"; do
  set -- $pair
  bench/median_ratio.sh "fula $1@$2" samples_per_s "$B/bench_fula_throughput $1 $2 $STEPS $BATCH $THREADS" \
    "/usr/bin/python3 bench/fula_throughput.py $1 $2 $STEPS $BATCH $THREADS"
done
