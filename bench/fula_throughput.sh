#!/usr/bin/env bash
# FuLA stitch-training throughput, C++ vs Python eager, and the ratio (target >= 2x).
# Usage: bench/fula_throughput.sh [build-dir] [steps] [batch] [threads]
set -euo pipefail
cd "$(dirname "$0")/.."
B=${1:-build}; STEPS=${2:-200}; BATCH=${3:-128}; THREADS=${4:-2}
for pair in "cnn block1" "resnet stem"; do
  set -- $pair
  c=$("$B/bench_fula_throughput" "$1" "$2" "$STEPS" "$BATCH" "$THREADS" | tail -1)
  p=$(/usr/bin/python3 bench/fula_throughput.py "$1" "$2" "$STEPS" "$BATCH" "$THREADS" | tail -1)
  echo "$c"; echo "$p"
  ci=$(sed 's/.*samples_per_s=\([0-9.]*\).*/\1/' <<<"$c"); pi=$(sed 's/.*samples_per_s=\([0-9.]*\).*/\1/' <<<"$p")
  awk -v a="$1" -v c="$ci" -v p="$pi" 'BEGIN{printf "ratio arch=%s cpp/python=%.2f\n", a, c/p}'
done
