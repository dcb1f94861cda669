#!/usr/bin/env bash
# Study 2c (second edition), the width and marker-saliency factors. For each factor (colour, then
# width; or the ones named): trains its models (experiments/zoo_shortcut_<factor>.yaml: the RGB
# cnns on the tinted Fashion-MNIST written first by experiments/tinted_fashion_mnist.py, or the
# 4x wide cnns), then runs the block3 cell with markers and the rand control
# (experiments/shortcut_<factor>.yaml) at 390 steps and at 11,700 steps (train.epochs 300), then
# the tables and figure (experiments/shortcut_factors.py). The grey x1 cells they are compared
# with come from experiments/shortcut_dose.sh. Trained models and finished jobs are skipped on a
# re-run, so the study resumes; the two factors may run side by side; wall times go to
# runs/shortcut_dose_times.tsv.
# Usage: bash experiments/shortcut_factors.sh [build-dir] [colour|width ...]
set -euo pipefail
cd "$(dirname "$0")/.."
S=${1:-build}/stitch
shift || true
factors=${*:-colour width}
times=runs/shortcut_dose_times.tsv
mkdir -p runs
stamp() { printf '%s\t%s\t%s\n' "$1" "$(($(date +%s) - $2))" "$(date -u +%FT%TZ)" >>"$times"; }
[ -f models/arch/cnn_w4.pt ] || /usr/bin/python3 scripts/export_architectures.py --only cnn --width 4
[ -f models/arch/cnn_rgb.pt ] || /usr/bin/python3 scripts/export_architectures.py --only cnn --channels 3
[ -f runs/data/fmnist_tinted.h5 ] || /usr/bin/python3 experiments/tinted_fashion_mnist.py
for factor in $factors; do
  t0=$(date +%s)
  "$S" train-model --zoo "experiments/zoo_shortcut_$factor.yaml"
  stamp "shortcut_${factor}_zoo" "$t0"
  # Each budget with its control, so a stopped run leaves complete pairs.
  for epochs in 10 300; do
    for markers in pixel_loc rand; do
      name="shortcut_${factor}$([ $epochs = 10 ] || echo "_e$epochs")_$markers"
      t0=$(date +%s)
      "$S" sweep run "experiments/shortcut_$factor.yaml" --set train.markers=$markers \
        --set train.epochs=$epochs --set name="$name"
      stamp "$name" "$t0"
    done
  done
done
/usr/bin/python3 experiments/shortcut_factors.py
