#!/usr/bin/env bash
# `stitch sweep plan`'s memory estimate (what a Slurm user puts in --mem) against the measured
# peak RSS of running the same sweep, for: one live zoo cnn FuLA job, a zoo cnn 4x4 grid read from
# the store, and (BIG=1) a torchvision ResNet-50 at 224 px self-stitched at layer2.0 with
# dm_closed + fula at batch 128 (scripted here with Debian's python3-torchvision, random weights,
# on a random-image HDF5 file; ~25 min on 2 cores). Prints estimate, peak and their ratio.
# Usage: bench/plan_memory.sh [build]     env: BIG=1 for the ResNet-50 case
set -euo pipefail
cd "$(dirname "$0")/.."
B=${1:-build}
W=$(mktemp -d /tmp/bench_planmem.XXXX)
trap 'rm -rf "$W"' EXIT
case_run() {  # name, then the YAML on stdin
  local name=$1
  cat >"$W/$name.yaml"
  local est
  est=$("$B/stitch" sweep plan "$W/$name.yaml" 2>/dev/null | sed -n 's/.*memory: ~\([0-9.]* [MG]B\).*/\1/p')
  /usr/bin/time -f "%M" -o "$W/$name.rss" "$B/stitch" run "$W/$name.yaml" >"$W/$name.log" 2>&1 ||
    { tail -n 5 "$W/$name.log"; exit 1; }
  awk -v n="$name" -v e="$est" -v kb="$(cat "$W/$name.rss")" 'BEGIN {
    split(e, p, " "); est = p[1] * (p[2] == "GB" ? 1e9 : 1e6); peak = kb * 1024;
    printf "%-34s estimate %8.2f GB   peak RSS %8.2f GB   estimate/peak %.2f\n", n, est / 1e9,
           peak / 1e9, est / peak }'
}
case_run "cnn FuLA block1, live rows" <<YAML
name: a
out_dir: $W/runs
front: models/zoo/cnn_standard_s0.pt
end: models/zoo/cnn_standard_s1.pt
front_point: block1
end_point: block1
methods: [fula]
data: {train_samples: 25600, test_samples: 10000}
train: {epochs: 1}
threads: 2
YAML
case_run "cnn 4x4 grid, dm_closed+procrustes" <<YAML
name: b
out_dir: $W/runs
front: models/zoo/cnn_standard_s0.pt
end: models/zoo/cnn_standard_s1.pt
methods: [dm_closed, procrustes]
data: {train_samples: 2000, test_samples: 2000, init_samples: 1000}
threads: 2
YAML
if [ "${BIG:-0}" = 1 ]; then
  /usr/bin/python3 - "$W" <<'PY'
import sys, numpy as np, h5py, torch, torchvision
w = sys.argv[1]
torch.jit.script(torchvision.models.resnet50(num_classes=10).eval()).save(f"{w}/resnet50.pt")
rng = np.random.default_rng(0)
with h5py.File(f"{w}/data.h5", "w") as f:
    for split, n in (("train", 512), ("test", 256)):
        f[f"{split}/images"] = rng.integers(0, 256, size=(n, 3, 224, 224), dtype=np.uint8)
        f[f"{split}/labels"] = rng.integers(0, 10, size=n)
PY
  case_run "resnet50 224px layer2.0, batch 128" <<YAML
name: c
out_dir: $W/runs
front: $W/resnet50.pt
end: $W/resnet50.pt
front_point: layer2.0
end_point: layer2.0
methods: [dm_closed, fula]
data: {source: hdf5, file: $W/data.h5, train_samples: 512, test_samples: 256, init_samples: 256,
       mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225]}
train: {epochs: 1, batch_size: 128}
threads: 2
YAML
fi
