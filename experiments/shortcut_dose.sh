#!/usr/bin/env bash
# Study 2c (second edition): the shortcut effect against stitch-training budget and the front's
# task gap at two depths (block3, block2), each with markers and the rand control, then the figures and tables of
# experiments/README.md (experiments/shortcut_dose.py). Finished jobs are skipped on a re-run,
# so the study resumes; each piece's wall time is written to runs/shortcut_dose_times.tsv.
# Usage: bash experiments/shortcut_dose.sh [build-dir]
set -euo pipefail
cd "$(dirname "$0")/.."
S=${1:-build}/stitch
times=runs/shortcut_dose_times.tsv
mkdir -p runs
piece() {  # name, then sweep arguments
  local name=$1 t0
  shift
  t0=$(date +%s)
  "$S" sweep run "$@" --set name="$name"
  printf '%s\t%s\t%s\n' "$name" "$(($(date +%s) - t0))" "$(date -u +%FT%TZ)" >>"$times"
}
# Cheapest first, each level with its control, so a stopped run leaves complete pairs. block3
# keeps its first names; the second depth (block2) carries it in its names.
for point in block3 block2; do
  tag=$([ $point = block3 ] || echo "_$point")
  at=(--set "front_points=[$point]" --set "end_points=[$point]")
  for markers in pixel_loc rand; do
    piece "shortcut_gap${tag}_$markers" experiments/shortcut_gap.yaml "${at[@]}" \
      --set train.markers=$markers
  done
  for epochs in 10 40 300; do
    for markers in pixel_loc rand; do
      piece "shortcut_dose${tag}_e${epochs}_$markers" experiments/shortcut_dose.yaml "${at[@]}" \
        --set train.markers=$markers --set train.epochs=$epochs
    done
  done
done
/usr/bin/python3 experiments/shortcut_dose.py
