#!/usr/bin/env bash
# Similarity metrics on [n, p] activations (default 10k x 4096): seconds and peak memory (max RSS)
# of the C++ library vs the same formulas in Python torch, each metric in its own process,
# interleaved, medians of REPEAT (default 3), and the ratios cpp/python (below 1: C++ faster or
# leaner). Both sides use the same torch RNG stream, so their values must agree too (printed).
# Usage: bench/similarity.sh [build-dir] [n] [p] [threads]   (env REPEAT)
set -euo pipefail
cd "$(dirname "$0")/.."
B=${1:-build}; N=${2:-10000}; P=${3:-4096}; T=${4:-2}
for m in linear_cka unbiased_cka mutual_knn; do
  bench/median_ratio.sh "$m" seconds,peak_mb "$B/bench_similarity $m $N $P $T" \
    "/usr/bin/python3 bench/similarity.py $m $N $P $T"
done
