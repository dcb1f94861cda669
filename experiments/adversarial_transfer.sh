#!/usr/bin/env bash
# Study 1, second edition: does robustness travel through a stitch? Standard and adversarially
# trained zoo cnns and resnets, four directions x three independent model pairs x three depths x
# dm_closed/tlm/fula, PGD-20 robust accuracy of the stitched model and of the end model alone on
# 1000 test images (experiments/adversarial_transfer_{cnn,resnet}.yaml), and linear CKA / mutual
# k-NN of the same pairs. Finished jobs are skipped
# on a re-run; each sweep's wall time goes to runs/study_times.tsv, the tables into
# experiments/README.md (experiments/adversarial_transfer.py).
# Usage: bash experiments/adversarial_transfer.sh [build-dir]
set -euo pipefail
cd "$(dirname "$0")/.."
S=${1:-build}/stitch
declare -A points=([cnn]="block1,block2,block3" [resnet]="layer1.1,layer2.1,layer3.0")
for arch in cnn resnet; do
  t0=$(date +%s)
  "$S" sweep run "experiments/adversarial_transfer_$arch.yaml"
  printf 'adversarial_transfer_%s\t%s\t%s\n' "$arch" "$(($(date +%s) - t0))" \
    "$(date -u +%FT%TZ)" >>runs/study_times.tsv
  # Linear CKA and mutual k-NN of the same 12 model pairs and points: which separates the
  # recipes better.
  t0=$(date +%s)
  for rf in standard adversarial; do
    for re in standard adversarial; do
      for pair in 0:1 1:2 2:0; do
        "$S" similarity "models/zoo/${arch}_${rf}_s${pair%%:*}.pt" \
          "models/zoo/${arch}_${re}_s${pair##*:}.pt" --points-a "${points[$arch]}" \
          --points-b "${points[$arch]}" --pairs zip --metrics linear_cka,mutual_knn \
          --samples 2000 --batch 500 --name "adversarial_transfer_${arch}_sim" \
          --out-dir runs >/dev/null
      done
    done
  done
  printf 'adversarial_transfer_%s_sim\t%s\t%s\n' "$arch" "$(($(date +%s) - t0))" \
    "$(date -u +%FT%TZ)" >>runs/study_times.tsv
done
/usr/bin/python3 experiments/adversarial_transfer.py >/dev/null
