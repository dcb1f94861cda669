#!/usr/bin/env bash
# Study 1, second edition: does robustness travel through a stitch? Standard and adversarially
# trained zoo cnns and resnets, four directions x three independent model pairs x three depths x
# dm_closed/tlm/fula, PGD-20 robust accuracy of the stitched model and of the end model alone on
# 1000 test images (experiments/adversarial_transfer_{cnn,resnet}.yaml). Finished jobs are skipped
# on a re-run; each sweep's wall time goes to runs/study_times.tsv, the tables into
# experiments/README.md (experiments/adversarial_transfer.py).
# Usage: bash experiments/adversarial_transfer.sh [build-dir]
set -euo pipefail
cd "$(dirname "$0")/.."
S=${1:-build}/stitch
for arch in cnn resnet; do
  t0=$(date +%s)
  "$S" sweep run "experiments/adversarial_transfer_$arch.yaml"
  printf 'adversarial_transfer_%s\t%s\t%s\n' "$arch" "$(($(date +%s) - t0))" \
    "$(date -u +%FT%TZ)" >>runs/study_times.tsv
done
/usr/bin/python3 experiments/adversarial_transfer.py >/dev/null
