#!/usr/bin/env bash
# Study 3: cross-layer grids (cnn -> cnn, resnet -> resnet, cnn -> resnet, random cnn -> cnn) with
# DM and FuLA, similarity metrics of every grid cell, heatmaps side by side and rank
# correlations (stitch report), then the tables of experiments/README.md.
# Usage: bash experiments/cross_layer.sh [build-dir]
set -euo pipefail
cd "$(dirname "$0")/.."
S=${1:-build}/stitch
"$S" sweep run experiments/cross_layer.yaml
cnn=block1,block2,block3,head
resnet=stem,layer1.0,layer1.1,layer2.0,layer2.1,layer3.0,layer3.1
sim() {  # front end front-points end-points
  "$S" similarity "$1" "$2" --points-a "$3" --points-b "$4" \
    --metrics linear_cka,unbiased_cka,mutual_knn,cknna --samples 2000 --batch 500 \
    --name cross_layer_sim --out-dir runs >/dev/null
}
sim models/zoo/cnn_standard_s0.pt models/zoo/cnn_standard_s1.pt $cnn $cnn
sim models/zoo/resnet_standard_s0.pt models/zoo/resnet_standard_s1.pt $resnet $resnet
sim models/zoo/cnn_standard_s0.pt models/zoo/resnet_standard_s1.pt $cnn $resnet
sim models/arch/cnn.pt models/zoo/cnn_standard_s1.pt $cnn $cnn
"$S" report runs/cross_layer --similarity runs/cross_layer_sim
/usr/bin/python3 experiments/study_tables.py cross_layer
