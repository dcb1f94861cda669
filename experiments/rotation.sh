#!/usr/bin/env bash
# Issue-5 rotation experiment: do independently trained seeds differ by a rotation?
# For every pair of seeds of mlp and vit (models/zoo, seeds 0-2) at every stitch point:
#   1. `stitch similarity --metrics procrustes,linear_cka`: Procrustes fitted on the
#      activations of one batch of 2000 test images, evaluated on the next 2000 (vit: one row
#      per token, d = 64, the rows its per-token stitch layer maps);
#   2. `stitch run experiments/rotation_stitch.yaml`: stitched accuracy with the Procrustes
#      stitch and, for reference, the affine least-squares stitch.
# Then experiments/rotation_report.py prints the tables of experiments/README.md.
# Finished pairs/jobs are skipped on a re-run (both commands resume). Usage:
#   bash experiments/rotation.sh [build-dir]
set -euo pipefail
cd "$(dirname "$0")/.."
S=${1:-build}/stitch
declare -A points=(
  [mlp]="layer1.0,layer1,layer2,layer3"
  [vit]="patch_embed,blocks.0,blocks.1,blocks.2,blocks.3,norm")
for arch in mlp vit; do
  for pair in "0 1" "0 2" "1 2"; do
    set -- $pair
    a=models/zoo/${arch}_standard_s$1.pt b=models/zoo/${arch}_standard_s$2.pt
    "$S" similarity "$a" "$b" --points-a "${points[$arch]}" --points-b "${points[$arch]}" \
      --pairs zip --layout positions --metrics procrustes,linear_cka --samples 4000 \
      --batch 500 --name "rotation_$arch" --out-dir runs >/dev/null
    for p in ${points[$arch]//,/ }; do
      "$S" run experiments/rotation_stitch.yaml --set front="$a" --set end="$b" \
        --set front_point="$p" --set end_point="$p" \
        --set name="rotation_stitch_${arch}_s$1s$2_$p" >/dev/null
    done
  done
done
/usr/bin/python3 experiments/rotation_report.py runs
