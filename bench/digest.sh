#!/usr/bin/env bash
# Behaviour digest (issue 19, "behaviour unchanged"): runs bench/digest.yaml (20 jobs: closed
# forms, trained methods, FuLA, SLM, PGD, markers), a similarity table and three small model
# trainings (one per recipe) with the given binary,
# then prints one SHA-256 over every result number, with the fields that change from run to run
# (git commit, dates, timings, paths, host) left out. Two binaries that behave the same print the
# same digest; a refactor is checked by running this before and after it.
# Usage: bash bench/digest.sh [stitch-binary] [out-dir]   (defaults: build/stitch, runs/digest-<pid>)
set -euo pipefail
cd "$(dirname "$0")/.."
S=${1:-build/stitch}
out=${2:-runs/digest-$$}
rm -rf "$out" && mkdir -p "$out/models"
trap 'echo "digest: a step failed; its log: $(ls -t "$out"/*.log | head -1)" >&2' ERR
start=$(date +%s)
"$S" sweep run bench/digest.yaml --set out_dir="$out" >"$out/sweep.log" 2>&1
"$S" similarity models/zoo/cnn_standard_s0.pt models/zoo/cnn_shortcut_s1.pt \
  --points-a block1,block2 --points-b block1,block2 --samples 500 --batch 250 \
  --out-dir "$out" >"$out/similarity.log" 2>&1
for recipe in standard adversarial shortcut; do   # model training, every recipe
  "$S" train-model --arch cnn --recipe $recipe --seed 5 --epochs 1 --train-samples 768 \
    --set test_samples=500 --set adversarial.eval_samples=50 --set adversarial.eval_steps=3 \
    --out "$out/models/cnn_$recipe.pt" >"$out/train_$recipe.log" 2>&1
done
/usr/bin/python3 bench/digest.py "$out"
echo "wall time $(($(date +%s) - start)) s, outputs in $out"
