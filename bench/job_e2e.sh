#!/usr/bin/env bash
# Whole stitching jobs, as a user waits for them: `stitch run` / `stitch sweep run` (activation
# store built from scratch, training, test evaluation) against the naive Python loop
# (bench/job_loop.py: front + clean end pass every step) on the same models, data, steps and
# threads. Prints wall time, training images/s, peak RSS and the Python/C++ ratio per case; the
# indented lines are the same C++ job with streaming (store.stream: never) or lockstep
# (lockstep: false) off, against the same Python run.
# Usage: bench/job_e2e.sh [build] [train_samples] [epochs] [threads]
set -euo pipefail
cd "$(dirname "$0")/.."
B=${1:-build}; N=${2:-25600}; E=${3:-1}; T=${4:-2}
F=models/zoo/cnn_standard_s0.pt; G=models/zoo/cnn_standard_s1.pt
W=$(mktemp -d /tmp/bench_e2e.XXXX)
trap 'rm -rf "$W"' EXIT
cpp() {  # name, yaml body (models, points, methods); prints "seconds=… peak_mb=…"
  rm -rf "$W/runs"
  printf 'name: %s\nout_dir: %s/runs\nfront: %s\nend: %s\n%b\ndata: {train_samples: %s, test_samples: 10000}\ntrain: {epochs: %s}\nthreads: %s\n' \
    "$1" "$W" "$F" "$G" "$2" "$N" "$E" "$T" >"$W/c.yaml"
  /usr/bin/time -f "%e %M" -o "$W/time" "$B/stitch" sweep run "$W/c.yaml" >"$W/out" 2>&1 ||
    { cat "$W/out"; exit 1; }
  awk '{printf "seconds=%.2f peak_mb=%.0f", $1, $2 / 1024}' "$W/time"
}
field() { echo "$1" | sed "s/.*$2=\([0-9.]*\).*/\1/"; }
report() {  # label, images trained, cpp line, python line
  local cs ps
  cs=$(field "$3" seconds); ps=$(field "$4" seconds)
  printf "%-26s C++ %7.1f s %7.0f img/s %5.0f MB | Python %7.1f s %7.0f img/s %5.0f MB | Python/C++ %.2fx\n" \
    "$1" "$cs" "$(awk -v n="$2" -v s="$cs" 'BEGIN{print n / s}')" "$(field "$3" peak_mb)" \
    "$ps" "$(awk -v n="$2" -v s="$ps" 'BEGIN{print n / s}')" "$(field "$4" peak_mb)" \
    "$(awk -v a="$ps" -v b="$cs" 'BEGIN{print a / b}')"
}
steps=$((N / 128 * E))
c=$(cpp fula "front_point: block1\nend_point: block1\nmethods: [fula]")
p=$(/usr/bin/python3 bench/job_loop.py fula "$F" "$G" block1 "$E" "$N" "$T")
echo "  $p"
report "fula cnn@block1" $((steps * 128)) "$c" "$p"
c=$(cpp fula_stored "front_point: block1\nend_point: block1\nmethods: [fula]\nstore: {stream: never}")
report "  same, rows from store" $((steps * 128)) "$c" "$p"
c=$(cpp m4 "front_point: block1\nend_point: block1\nmethods: [dm_hint, tlm, slm, fula]")
p=$(/usr/bin/python3 bench/job_loop.py methods "$F" "$G" block1 "$E" "$N" "$T")
echo "  $p"
report "4 methods cnn@block1" $((4 * steps * 128)) "$c" "$p"
c=$(cpp m4_alone "front_point: block1\nend_point: block1\nmethods: [dm_hint, tlm, slm, fula]\nlockstep: false")
report "  same, one by one" $((4 * steps * 128)) "$c" "$p"
c=$(cpp grid "front_points: [block1, block2, block3]\nend_points: [block1, block2, block3]\nmethods: [dm_closed]")
p=$(/usr/bin/python3 bench/job_loop.py grid "$F" "$G" block1,block2,block3 "$N" "$T")
echo "  $p"
report "3x3 dm_closed grid" 0 "$c" "$p"
