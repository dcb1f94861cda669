#!/usr/bin/env bash
# Similarity metrics on [n, p] activations (default 10k x 4096): seconds and peak memory (max RSS)
# of the C++ library vs the same formulas in Python torch, each metric in its own process,
# interleaved, medians of REPEAT (default 3), and the ratios. Both sides use the same torch RNG
# stream, so their values must agree too (printed).
# Usage: bench/similarity.sh [build-dir] [n] [p] [threads]   (env REPEAT)
set -euo pipefail
cd "$(dirname "$0")/.."
B=${1:-build}; N=${2:-10000}; P=${3:-4096}; T=${4:-2}; R=${REPEAT:-3}
med() { sort -g | awk '{a[NR]=$1} END{print a[int((NR+1)/2)]}'; }
field() { sed "s/.* $1=\([-0-9.]*\).*/\1/"; }
for m in linear_cka unbiased_cka mutual_knn; do
  cs=(); ps=(); cm=(); pm=()
  for _ in $(seq "$R"); do
    lc=$("$B/bench_similarity" "$m" "$N" "$P" "$T"); lp=$(/usr/bin/python3 bench/similarity.py "$m" "$N" "$P" "$T")
    echo "  $lc"; echo "  $lp"
    cs+=("$(field seconds <<<"$lc")"); ps+=("$(field seconds <<<"$lp")")
    cm+=("$(field peak_mb <<<"$lc")"); pm+=("$(field peak_mb <<<"$lp")")
  done
  a=$(printf '%s\n' "${cs[@]}" | med); b=$(printf '%s\n' "${ps[@]}" | med)
  c=$(printf '%s\n' "${cm[@]}" | med); d=$(printf '%s\n' "${pm[@]}" | med)
  awk -v m="$m" -v a="$a" -v b="$b" -v c="$c" -v d="$d" -v r="$R" 'BEGIN{printf \
    "%s: median of %d  seconds cpp=%.2f python=%.2f (python/cpp speed-up %.2fx)  peak MB cpp=%.0f python=%.0f (cpp/python %.2f)\n", \
    m, r, a, b, b/a, c, d, c/d}'
done
