#!/usr/bin/env bash
# A k-job cross-layer dm_closed grid (zoo cnn s0 -> s1, every recommended front point x every
# recommended end point) run as one sweep, whose jobs share one activation store, versus the
# same k jobs as k separate `stitch run`s that each build their own store (what every `stitch
# run` did before the store: compute all activations per invocation). Prints wall time and peak
# RSS of both and their ratio. Usage: bench/sweep_grid.sh [build] [train_samples] [threads]
# Env SEPARATE_BUILD: the build whose `stitch run` makes the separate runs (default: build), e.g.
# a build of the commit before the store, whose `stitch run` held every activation in RAM.
set -euo pipefail
cd "$(dirname "$0")/.."
B=${1:-build}; N=${2:-10000}; T=${3:-2}
S=$B/stitch
SEP=${SEPARATE_BUILD:-$B}/stitch
W=$(mktemp -d /tmp/bench_sweep.XXXX)
trap 'rm -rf "$W"' EXIT
cat >"$W/grid.yaml" <<YAML
name: grid
out_dir: $W/sweep
front: models/zoo/cnn_standard_s0.pt
end: models/zoo/cnn_standard_s1.pt
methods: [dm_closed]
data: {train_samples: $N, test_samples: 10000, init_samples: 500}
threads: $T
YAML
# Peak RSS (MB) and wall seconds of one command, as "seconds=… peak_mb=…".
measure() {
  /usr/bin/time -f "%e %M" -o "$W/time" "$@" >"$W/out" 2>&1 || { cat "$W/out"; exit 1; }
  awk '{printf "seconds=%.2f peak_mb=%.0f\n", $1, $2 / 1024}' "$W/time"
}
echo "sweep: one process, one store"
one=$(measure "$S" sweep run "$W/grid.yaml")
k=$(grep -c . "$W/sweep/grid/results.jsonl")
echo "  $k jobs: $one"
echo "separate: $k x $SEP run, each computing its own activations"
total=0; peak=0
while IFS=, read -r fp ep; do
  r=$(measure "$SEP" run "$W/grid.yaml" --set front_point="$fp" --set end_point="$ep" \
    --set out_dir="$W/sep_${fp}_$ep")
  s=$(echo "$r" | sed 's/seconds=\([0-9.]*\).*/\1/'); m=$(echo "$r" | sed 's/.*peak_mb=//')
  total=$(awk -v a="$total" -v b="$s" 'BEGIN{print a + b}')
  peak=$(awk -v a="$peak" -v b="$m" 'BEGIN{print (b > a) ? b : a}')
  echo "  $fp -> $ep: $r"
done < <(/usr/bin/python3 -c "
import json
for l in open('$W/sweep/grid/results.jsonl'):
    r = json.loads(l); print(r['front_point'] + ',' + r['end_point'])")
s1=$(echo "$one" | sed 's/seconds=\([0-9.]*\).*/\1/')
echo "grid of $k dm_closed jobs, $N train images: sweep ${s1}s, separate runs ${total}s (peak ${peak} MB): separate/sweep = $(awk -v a="$total" -v b="$s1" 'BEGIN{printf "%.1f", a / b}')x"
