#!/usr/bin/env bash
# The whole GPU check in one command, for the lent GPU machine (Ubuntu, a CUDA PyTorch in its
# python3, no apt, no internet; ~15 minutes of device time per task, so it must pass first try):
#   here:        bash scripts/gpu-build.sh fetch     (.gpu-debs/: dev packages + Fashion-MNIST)
#   on the GPU:  bash scripts/gpu-check.sh            (carry .gpu-debs; writes to $OUT)
# Builds against the wheel's LibTorch, runs every CUDA test, times a FuLA job on CPU and GPU
# (zoo cnn at block1 and resnet at layer1.0, batch 128 and 1024) and writes $OUT/gpu-check.md
# and the logs. Budget: build ~2-4 min on 16 cores, tests ~1 min, benchmark ~2 min.
#   bash scripts/gpu-check.sh --dry-run   (here, without a GPU) unpacks the packages into a
#       temporary prefix, configures against them with Debian's LibTorch, and runs the
#       benchmark and report steps on the CPU with the existing build (BUILD, default build):
#       only the CUDA parts stay untried.
# Env: OUT (default /tmp/gpu-check-out), SAMPLES (training images per benchmark job, 25600).
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-/tmp/gpu-check-out}
SAMPLES=${SAMPLES:-25600}
mkdir -p "$OUT"
dry=0
[ "${1:-}" = --dry-run ] && dry=1
t0=$(date +%s)
if [ $dry = 1 ]; then
  export GPU_DEPS=$(mktemp -d /tmp/gpu-deps.XXXX)
  B=${BUILD:-build}
  bash scripts/gpu-build.sh configure "$GPU_DEPS/build" 2>&1 | tee "$OUT/build.log"
  devices=(cpu)
else
  export GPU_DEPS=/tmp/deps
  B=/tmp/b
  nvidia-smi >"$OUT/nvidia-smi.txt" 2>&1 || true
  bash scripts/gpu-build.sh build "$B" >"$OUT/build.log" 2>&1 ||
    { tail -n 40 "$OUT/build.log"; echo "gpu-check: build failed (see $OUT/build.log)"; exit 1; }
  devices=(cpu cuda)
fi
# shellcheck disable=SC1091
. "$GPU_DEPS/env.sh"
t_build=$(($(date +%s) - t0))

tests="skipped (dry run)"
if [ $dry = 0 ]; then
  (cd "$B" && ./stitch_tests --gtest_filter='Cuda*' >"$OUT/cuda-tests.log" 2>&1) && rc=0 || rc=$?
  tests="$(grep -E '^\[  (PASSED|FAILED) ' "$OUT/cuda-tests.log" | tr '\n' ' ') (exit $rc)"
fi

# FuLA job, live rows, 1 epoch of $SAMPLES images: whole-process seconds and training seconds.
bench="$OUT/bench.tsv"
printf 'model\tpoint\tbatch\tdevice\twall_s\ttrain_s\tstitched_acc\n' >"$bench"
for spec in cnn:block1 resnet:layer1.0; do
  arch=${spec%%:*} point=${spec#*:}
  for batch in 128 1024; do
    for dev in "${devices[@]}"; do
      name="bench_${arch}_${batch}_${dev}"
      s=$(date +%s.%N)
      "$B/stitch" run --front "models/zoo/${arch}_standard_s0.pt" \
        --end "models/zoo/${arch}_standard_s1.pt" --front-point "$point" --end-point "$point" \
        --methods fula --epochs 1 --device "$dev" --name "$name" --out-dir "$OUT/runs" \
        --set data.train_samples="$SAMPLES" --set data.test_samples=10000 \
        --set train.batch_size="$batch" >"$OUT/$name.log" 2>&1 ||
        { tail -n 5 "$OUT/$name.log"; echo "gpu-check: $name failed"; exit 1; }
      e=$(date +%s.%N)
      python3 - "$OUT/runs/$name/results.jsonl" "$arch" "$point" "$batch" "$dev" "$s" "$e" \
        >>"$bench" <<'PY'
import json, sys
r = json.loads(open(sys.argv[1]).readline())
wall = float(sys.argv[7]) - float(sys.argv[6])
print("\t".join(sys.argv[2:6] + [f"{wall:.1f}", f"{r['train_seconds']:.2f}",
                                 f"{100 * r['stitched_acc']:.2f}"]))
PY
    done
  done
done

python3 - "$bench" "$OUT/gpu-check.md" "$t_build" "$tests" "$dry" <<'PY'
import csv, sys, platform, subprocess
rows = list(csv.DictReader(open(sys.argv[1]), delimiter="\t"))
md = [f"# gpu-check ({'dry run, CPU only' if sys.argv[5] == '1' else 'GPU'})", "",
      f"- machine: {platform.node()}, {platform.platform()}",
      f"- commit: {subprocess.run(['git', 'rev-parse', '--short', 'HEAD'], capture_output=True, text=True).stdout.strip()}",
      f"- build/configure: {sys.argv[3]} s", f"- CUDA tests: {sys.argv[4]}", "",
      "FuLA job, 1 epoch, live rows (train_s: training only; wall_s: the whole process):", "",
      "| model | point | batch | device | wall s | train s | stitched % | train s CPU / device |",
      "|---|---|---|---|---|---|---|---|"]
cpu = {(r["model"], r["batch"]): float(r["train_s"]) for r in rows if r["device"] == "cpu"}
for r in rows:
    ratio = cpu.get((r["model"], r["batch"]), float("nan")) / max(float(r["train_s"]), 1e-9)
    md.append(f"| {r['model']} | {r['point']} | {r['batch']} | {r['device']} | {r['wall_s']} | "
              f"{r['train_s']} | {r['stitched_acc']} | {ratio:.1f}x |")
open(sys.argv[2], "w").write("\n".join(md) + "\n")
print("\n".join(md))
PY
echo "gpu-check: done in $(($(date +%s) - t0)) s; report: $OUT/gpu-check.md"
