#!/usr/bin/env bash
# Peak RSS of one FuLA stitching job as the training set grows, with the activation store
# (activations streamed to HDF5, read back batch by batch; up to store.ram_mb of them held in
# RAM). Prints seconds, peak RSS and the store's size on disk for each case.
# Usage: bench/store_memory.sh [build] [threads] [ram_mb...]   (default ram_mb: 2048 256)
set -euo pipefail
cd "$(dirname "$0")/.."
B=${1:-build}; T=${2:-2}; shift 2 || true
RAMS=("$@"); [ ${#RAMS[@]} -gt 0 ] || RAMS=(2048 256)
W=$(mktemp -d /tmp/bench_store.XXXX)
trap 'rm -rf "$W"' EXIT
run() {  # arch point samples ram_mb
  local arch=$1 point=$2 n=$3 ram=$4
  rm -rf "$W/runs"
  /usr/bin/time -f "%e %M" -o "$W/time" "$B/stitch" run /dev/stdin >"$W/out" 2>&1 <<YAML || { cat "$W/out"; exit 1; }
name: mem
out_dir: $W/runs
front: models/zoo/${arch}_standard_s0.pt
end: models/zoo/${arch}_standard_s1.pt
front_point: $point
end_point: $point
methods: [fula]
data: {train_samples: $n, test_samples: 10000}
train: {epochs: 1}
store: {ram_mb: $ram}
threads: $T
YAML
  local acc
  acc=$(grep -E "^fula" "$W/out" | awk '{print $5}')
  awk -v a="$arch" -v p="$point" -v n="$n" -v r="$ram" -v acc="$acc" -v disk="$(du -sm "$W/runs/store" | cut -f1)" \
    '{printf "%-6s %-7s train=%-6d ram_mb=%-5d seconds=%-7.1f peak_mb=%-6.0f store_mb=%-6d stitched=%s%%\n", a, p, n, r, $1, $2 / 1024, disk, acc}' "$W/time"
}
run cnn block1 25600 2048
for ram in "${RAMS[@]}"; do
  for n in 10000 60000; do run resnet stem "$n" "$ram"; done
done
