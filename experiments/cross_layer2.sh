#!/usr/bin/env bash
# Study 3, second edition: cross-layer grids (cnn -> cnn, resnet -> resnet, cnn -> resnet), three
# independent model pairs each and, as the control, three untrained (random-init) fronts into the
# same ends, with DM and FuLA (experiments/cross_layer2_*.yaml); linear CKA and mutual k-NN of
# every trained cell's point pair; `stitch report` with the control subtracted per cell and the
# matched-cell correlations; then the tables of experiments/README.md
# (experiments/cross_layer2.py). Finished jobs and similarity pairs are skipped on a re-run; each
# sweep's wall time goes to runs/study_times.tsv.
# Usage: bash experiments/cross_layer2.sh [build-dir]
set -euo pipefail
cd "$(dirname "$0")/.."
S=${1:-build}/stitch
# The untrained fronts (random initialisations, seeds 0-2) of the control.
/usr/bin/python3 experiments/random_fronts.py
declare -A points=([cnn]=block1,block2,block3,head [resnet]=layer1.0,layer2.0,layer3.0,layer3.1)
for grid in cnn:cnn resnet:resnet cnn:resnet; do
  fa=${grid%%:*} ea=${grid##*:}
  name=cross_layer2_$fa$([ "$fa" = "$ea" ] || echo "_$ea")
  t0=$(date +%s)
  "$S" sweep run "experiments/$name.yaml"
  for pair in 0:1 1:2 2:0; do
    "$S" similarity "models/zoo/${fa}_standard_s${pair%%:*}.pt" \
      "models/zoo/${ea}_standard_s${pair##*:}.pt" --points-a "${points[$fa]}" \
      --points-b "${points[$ea]}" --metrics linear_cka,mutual_knn --samples 2000 --batch 500 \
      --name "${name}_sim" --out-dir runs >/dev/null
  done
  printf '%s\t%s\t%s\n' "$name" "$(($(date +%s) - t0))" "$(date -u +%FT%TZ)" >>runs/study_times.tsv
done
/usr/bin/python3 experiments/cross_layer2.py >/dev/null
