#!/usr/bin/env bash
# Integration test: a 4-shard Slurm job array of a small sweep (real slurmctld + slurmd + munged
# on this machine, tests/slurm/slurm-ci.sh) gives the same results as the unsharded run, each
# task uses the cores Slurm gave it, and the array's shards build one shared store under its lock.
# Usage: sweep_array.sh STITCH_BINARY SOURCE_DIR. Exit 77 (ctest: skipped) without Slurm.
set -euo pipefail
STITCH=$1
SRC=$2
for tool in slurmctld slurmd sbatch squeue munged mungekey; do
  if ! command -v "$tool" >/dev/null; then
    echo "SKIP: '$tool' not found; install slurmctld slurmd slurm-client munge (scripts/install-deps.sh)"
    exit 77
  fi
done
if [ "$(id -u)" -ne 0 ]; then
  echo "SKIP: the throw-away Slurm cluster needs root"
  exit 77
fi
T=$(mktemp -d /tmp/stitch-slurm.XXXX)
export SLURM_CI_DIR=$T/slurm
cleanup() {
  "$SRC/tests/slurm/slurm-ci.sh" stop >/dev/null 2>&1 || true
  rm -rf "$T"
}
trap cleanup EXIT
cd "$T"
cat >sweep.yaml <<YAML
name: array
out_dir: $T/unsharded
models:
  - {front: $SRC/models/zoo/cnn_standard_s0.pt, end: $SRC/models/zoo/cnn_standard_s1.pt}
  - {front: $SRC/models/zoo/cnn_standard_s1.pt, end: $SRC/models/zoo/cnn_standard_s0.pt}
front_points: [block1, block2]
end_points: [block2, block3]
methods: [dm_closed, dm_hint]
data: {train_samples: 1024, test_samples: 1000, init_samples: 500}
train: {epochs: 1}
threads: 0
YAML
"$STITCH" sweep run sweep.yaml --set threads=1 >unsharded.log 2>&1 || { cat unsharded.log; exit 1; }
export SLURM_CI_CPUS=4  # slurmd advertises 4 cpus on a 2-core machine: all tasks at once
eval "$("$SRC/tests/slurm/slurm-ci.sh" start)"
"$STITCH" sweep plan sweep.yaml --shards 4 --set out_dir="$T/sharded"
# Four tasks of one cpu each; every task builds what it needs in the one shared store.
sbatch --wait --array=0-3 --cpus-per-task=1 --output="$T/task_%a.out" \
  --export=ALL,STITCH="$STITCH" "$SRC/scripts/slurm/sweep.sbatch" sweep.yaml \
  --set out_dir="$T/sharded" >sbatch.out 2>&1 || { cat sbatch.out "$T"/task_*.out; exit 1; }
for i in 0 1 2 3; do
  grep -q "threads 1," "$T/task_$i.out" || { echo "task $i did not use 1 thread:"; cat "$T/task_$i.out"; exit 1; }
  grep -q "shard $i/4" "$T/task_$i.out" || { echo "task $i did not run shard $i/4"; cat "$T/task_$i.out"; exit 1; }
done
/usr/bin/python3 - "$T/unsharded/array/results.jsonl" "$T/sharded/array/results.jsonl" <<'PY'
import json, math, sys
def rows(p):
    return {r["key"]: r for r in map(json.loads, filter(str.strip, open(p)))}
a, b = rows(sys.argv[1]), rows(sys.argv[2])
lines_b = sum(1 for l in open(sys.argv[2]) if l.strip())
assert len(a) == 16, f"unsharded: {len(a)} jobs, expected 16 (2 pairs x 2 x 2 points x 2 methods)"
assert set(a) == set(b), f"job keys differ: {set(a) ^ set(b)}"
assert lines_b == len(b), f"sharded results.jsonl has {lines_b} lines for {len(b)} jobs"
for k in a:
    for m in ("stitched_acc", "agreement", "end_acc", "front_acc"):
        assert abs(a[k][m] - b[k][m]) <= 1e-3, (k, m, a[k][m], b[k][m])
    for m in ("stitch_residual", "fula_test"):
        assert math.isclose(a[k][m], b[k][m], rel_tol=1e-4, abs_tol=1e-6), (k, m, a[k][m], b[k][m])
print(f"slurm array: {len(b)} jobs, same keys and metrics as the unsharded run")
PY
