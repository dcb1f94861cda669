#!/usr/bin/env bash
# Peak memory (max RSS) and seconds of `stitch similarity` computing minibatch CKA between two
# zoo cnns at block1 and block2 (3136 and 1568 features) for growing sample counts: streamed
# (--metrics minibatch_cka: one batch of activations held at a time) vs the whole-data path
# (--metrics minibatch_cka,linear_cka: every activation held in float64 with its Grams).
# Streamed memory should stay flat as the samples grow; the values must agree (printed).
# Usage: bench/similarity_stream.sh [build-dir] [samples ...]   (default 2000 5000 10000)
set -euo pipefail
cd "$(dirname "$0")/.."
B=${1:-build}; shift || true
SAMPLES=${*:-2000 5000 10000}
out=$(mktemp -d); trap 'rm -rf "$out"' EXIT
# Runs a command; prints "seconds peak_mb" of it (the child's max RSS).
measure() {
  /usr/bin/python3 -c '
import resource, subprocess, sys, time
t = time.perf_counter()
subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL)
print(f"{time.perf_counter() - t:.1f} {resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024:.0f}")
' "$@"
}
value() {
  /usr/bin/python3 -c 'import json, sys; print(" ".join("%.6f" % json.loads(l)["minibatch_cka"] for l in open(sys.argv[1])))' "$1"
}
printf "%8s  %-9s %8s %8s  %s\n" samples path seconds peak_MB "minibatch CKA (block1-block1, block2-block2)"
for n in $SAMPLES; do
  for path in streamed whole; do
    metrics=minibatch_cka; [ "$path" = whole ] && metrics=minibatch_cka,linear_cka
    read -r s mb < <(measure "$B/stitch" similarity models/zoo/cnn_standard_s0.pt \
      models/zoo/cnn_standard_s1.pt --points-a block1,block2 --points-b block1,block2 \
      --pairs zip --metrics "$metrics" --samples "$n" --batch 500 --threads 2 \
      --name "$path$n" --out-dir "$out")
    printf "%8s  %-9s %8s %8s  %s\n" "$n" "$path" "$s" "$mb" "$(value "$out/$path$n/results.jsonl")"
  done
done
