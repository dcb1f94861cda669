#!/usr/bin/env bash
# Study 1: adversarial vs standard stitching (cnn and resnet), with linear CKA and mutual k-NN of
# the same point pairs, then the tables of experiments/README.md and `stitch report` figures.
# Finished jobs and similarity pairs are skipped on a re-run. Usage:
#   bash experiments/adversarial.sh [build-dir]
set -euo pipefail
cd "$(dirname "$0")/.."
S=${1:-build}/stitch
declare -A points=([cnn]="block1,block2,block3" [resnet]="layer1.1,layer2.1,layer3.0")
for arch in cnn resnet; do
  "$S" sweep run "experiments/adversarial_$arch.yaml"
  for pair in "standard standard" "adversarial standard" "standard adversarial" \
              "adversarial adversarial"; do
    set -- $pair
    "$S" similarity "models/zoo/${arch}_$1_s0.pt" "models/zoo/${arch}_$2_s1.pt" \
      --points-a "${points[$arch]}" --points-b "${points[$arch]}" --pairs zip \
      --metrics linear_cka,mutual_knn --samples 2000 --batch 500 \
      --name adversarial_sim --out-dir runs >/dev/null
  done
  "$S" report "runs/adversarial_$arch" --similarity runs/adversarial_sim --metric robust_acc
done
/usr/bin/python3 experiments/study_tables.py adversarial
