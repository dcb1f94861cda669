#!/usr/bin/env bash
# Study 2b: stitching between shortcut-trained and standard cnns in both directions, excess
# agreement with the shortcut markers per method and point, then the tables of
# experiments/README.md. Usage: bash experiments/shortcut.sh [build-dir]
set -euo pipefail
cd "$(dirname "$0")/.."
S=${1:-build}/stitch
"$S" sweep run experiments/shortcut_transfer.yaml
"$S" report runs/shortcut_transfer --metric excess_agreement
/usr/bin/python3 experiments/study_tables.py shortcut
