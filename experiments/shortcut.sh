#!/usr/bin/env bash
# Study 2: (a) the shortcut testbed (first edition; the second edition of its main cell is
# experiments/shortcut_dose.sh) with markers planted in the stitch-training images
# (pixel_loc, pixel, and the rand control) for a cross-task and a same-task front; (b) stitching
# between shortcut-trained and standard cnns in both directions. Excess agreement per method and
# point, then the tables of experiments/README.md. Finished jobs are skipped on a re-run.
# Usage: bash experiments/shortcut.sh [build-dir]
set -euo pipefail
cd "$(dirname "$0")/.."
S=${1:-build}/stitch
# train markers -> evaluation markers: rand plants random markers and is evaluated with the
# class markers of pixel_loc, so a stitch that reads markers cannot have learned them there.
# marker_style pattern: the class's 4x4 binary pattern; level: a solid square at the class's
# grey level (the grey analogue of the FuLA testbed's class colours).
for cfg in shortcut_testbed_level shortcut_testbed; do
  for v in "pixel_loc pixel_loc" "pixel pixel" "rand pixel_loc"; do
    set -- $v
    name=${cfg}_$1
    "$S" sweep run "experiments/$cfg.yaml" --set name="$name" --set train.markers="$1" \
      --set eval.markers="$2"
  done
done
/usr/bin/python3 experiments/study_tables.py shortcut
# (b), second edition: three model pairs per direction; its wall time goes to
# runs/study_times.tsv and its table into experiments/README.md.
t0=$(date +%s)
"$S" sweep run experiments/shortcut_transfer.yaml
printf 'shortcut_transfer\t%s\t%s\n' "$(($(date +%s) - t0))" "$(date -u +%FT%TZ)" \
  >>runs/study_times.tsv
"$S" report runs/shortcut_transfer --metric marker_follow
/usr/bin/python3 experiments/shortcut_transfer.py >/dev/null
