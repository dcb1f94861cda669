#!/usr/bin/env bash
# Prints C++ vs Python-eager training throughput for the standard recipe and their ratio.
# Usage: bench/train_throughput.sh [build-dir] [steps] [batch] [threads]   (archs: cnn resnet)
set -euo pipefail
cd "$(dirname "$0")/.."
B=${1:-build}; STEPS=${2:-200}; BATCH=${3:-128}; THREADS=${4:-2}
for arch in ${ARCHS:-cnn resnet}; do
  c=$("$B/bench_train_throughput" "$arch" "$STEPS" "$BATCH" "$THREADS" | tail -1)
  p=$(/usr/bin/python3 bench/train_throughput.py "$arch" "$STEPS" "$BATCH" "$THREADS" | tail -1)
  echo "$c"; echo "$p"
  ci=$(sed 's/.*images_per_s=\([0-9.]*\).*/\1/' <<<"$c"); pi=$(sed 's/.*images_per_s=\([0-9.]*\).*/\1/' <<<"$p")
  awk -v a="$arch" -v c="$ci" -v p="$pi" 'BEGIN{printf "ratio arch=%s cpp/python=%.2f\n", a, c/p}'
done
