#!/usr/bin/env bash
# Whole stitching jobs, as a user waits for them: `stitch sweep run` (process start, data,
# store of the test split, training rows live or stored, training, test evaluation) against the
# naive Python loop (bench/job_loop.py: front + clean end pass every step) on the same models,
# data, steps and threads. Both sides are timed as whole processes (/usr/bin/time: start-up and
# `import torch` included); the Python loop's own timer (from after its imports) is shown too.
# Each case runs REPEAT times (default 3), C++ and Python interleaved (this VM drifts by up to
# 2x between runs); medians are printed, with training images/s, peak RSS and the ratio.
# The 4-method job is compared with four Python runs (one process per method, as four runs of a
# script are), and again with one Python process running the four loops.
# Indented rows are the same C++ job with streaming (store.stream: never: training and test rows
# stored first), lockstep (lockstep: false) or optimised segments (STITCH_OPTIMIZE=0) off,
# against the same Python runs.
# Usage: bench/job_e2e.sh [build] [train_samples] [epochs] [threads]
# Env: REPEAT, FRONT / END (zoo model files, default cnn s0 / s1), POINT (default block1),
#      GRID_POINTS (comma list, default block1,block2,block3), CASES (default "fula m4 m4one grid")
set -euo pipefail
cd "$(dirname "$0")/.."
B=${1:-build}; N=${2:-25600}; E=${3:-1}; T=${4:-2}; R=${REPEAT:-3}
F=${FRONT:-models/zoo/cnn_standard_s0.pt}; G=${END:-models/zoo/cnn_standard_s1.pt}
P=${POINT:-block1}; GRID=${GRID_POINTS:-block1,block2,block3}; CASES=${CASES:-fula m4 m4one grid}
W=$(mktemp -d /tmp/bench_e2e.XXXX)
trap 'rm -rf "$W"' EXIT
cpp() {  # name, [ENV=VALUE;]yaml body (models, points, methods); prints "wall=… peak_mb=…"
  rm -rf "$W/runs"
  local body=$2 envs=X=1
  [[ $body == *";"* ]] && { envs=${body%%;*}; body=${body#*;}; }
  printf 'name: %s\nout_dir: %s/runs\nfront: %s\nend: %s\n%b\ndata: {train_samples: %s, test_samples: 10000}\ntrain: {epochs: %s}\nthreads: %s\n' \
    "$1" "$W" "$F" "$G" "$body" "$N" "$E" "$T" >"$W/c.yaml"
  env "$envs" /usr/bin/time -f "%e %M" -o "$W/time" "$B/stitch" sweep run "$W/c.yaml" >"$W/out" 2>&1 ||
    { cat "$W/out" >&2; exit 1; }
  awk '{printf "wall=%.2f peak_mb=%.0f", $1, $2 / 1024}' "$W/time"
}
py() {  # job_loop.py arguments, or "each M1,M2,… REST": one process per method, times summed;
  # prints "wall=… peak_mb=… self=…"
  local modes=$1; shift
  [ "$modes" = each ] && { modes=$1; shift; }
  local wall=0 self=0 peak=0
  for m in ${modes//,/ }; do
    /usr/bin/time -f "%e %M" -o "$W/ptime" /usr/bin/python3 bench/job_loop.py "$m" "$@" >"$W/pout"
    wall=$(awk -v a="$wall" '{print a + $1}' "$W/ptime")
    peak=$(awk -v a="$peak" '{print ($2 / 1024 > a) ? $2 / 1024 : a}' "$W/ptime")
    self=$(sed 's/.* seconds=\([0-9.]*\).*/\1/' "$W/pout" | awk -v a="$self" '{print a + $1}')
  done
  printf "wall=%.2f peak_mb=%.0f self=%.2f" "$wall" "$peak" "$self"
}
field() { echo "$1" | sed "s/.*\b$2=\([0-9.]*\).*/\1/"; }
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END{print a[int((NR+1)/2)]}'; }
row() {  # label, images trained, C++ seconds list, C++ MB, Python seconds, Python self s, MB
  printf "%-24s C++ %6.1f s %6.0f img/s %5.0f MB | Python %6.1f s (own timer %5.1f) %6.0f img/s %4.0f MB | Python/C++ %.2fx (own timer %.2fx)\n" \
    "$1" "$3" "$(awk -v n="$2" -v s="$3" 'BEGIN{print n / s}')" "$4" "$5" "$6" \
    "$(awk -v n="$2" -v s="$5" 'BEGIN{print n / s}')" "$7" \
    "$(awk -v a="$5" -v b="$3" 'BEGIN{print a / b}')" "$(awk -v a="$6" -v b="$3" 'BEGIN{print a / b}')"
}
# case: label, images trained, python args, then pairs of (sub-label, yaml body); the first pair
# is the main C++ row.
case_run() {
  local label=$1 imgs=$2 pyargs=$3; shift 3
  local -a ps=() pss=() pm=() names=() bodies=()
  while [ $# -gt 0 ]; do names+=("$1"); bodies+=("$2"); shift 2; done
  local -A cs=() cm=()
  for _ in $(seq "$R"); do
    for k in "${!names[@]}"; do
      l=$(cpp "c$k" "${bodies[$k]}"); cs[$k]+="$(field "$l" wall) "; cm[$k]=$(field "$l" peak_mb)
    done
    # shellcheck disable=SC2086
    l=$(py $pyargs); ps+=("$(field "$l" wall)"); pss+=("$(field "$l" self)")
    pm=("$(field "$l" peak_mb)")
    echo "    run: C++ ${cs[0]}| Python ${ps[*]} (own timer ${pss[*]})" >&2
  done
  local p s; p=$(median "${ps[@]}"); s=$(median "${pss[@]}")
  for k in "${!names[@]}"; do
    # shellcheck disable=SC2086
    row "${names[$k]}" "$imgs" "$(median ${cs[$k]})" "${cm[$k]}" "$p" "$s" "${pm[0]}"
  done
}
steps=$((N / 128 * E))
echo "job_e2e: $N training images, $E epoch(s), $T threads, medians of $R; $(date -u +%F) $(nproc) cores"
want() { [[ " $CASES " == *" $1 "* ]]; }
want fula && case_run "fula" $((steps * 128)) "fula $F $G $P $E $N $T" \
  "fula $P" "front_point: $P\nend_point: $P\nmethods: [fula]" \
  "  rows from the store" "front_point: $P\nend_point: $P\nmethods: [fula]\nstore: {stream: never}" \
  "  segments plain" "STITCH_OPTIMIZE=0;front_point: $P\nend_point: $P\nmethods: [fula]"
want m4 && case_run "m4" $((4 * steps * 128)) "each dm_hint,tlm,slm,fula $F $G $P $E $N $T" \
  "4 methods $P" "front_point: $P\nend_point: $P\nmethods: [dm_hint, tlm, slm, fula]" \
  "  one by one, stored" "front_point: $P\nend_point: $P\nmethods: [dm_hint, tlm, slm, fula]\nlockstep: false\nstore: {stream: never}"
want m4one && case_run "m4 in one Python process" $((4 * steps * 128)) "methods $F $G $P $E $N $T" \
  "4 methods, 1 Python proc" "front_point: $P\nend_point: $P\nmethods: [dm_hint, tlm, slm, fula]"
want grid && case_run "grid" 0 "grid $F $G $GRID $N $T" \
  "3x3 dm_closed grid" "front_points: [$GRID]\nend_points: [$GRID]\nmethods: [dm_closed]"
true  # the last case may be skipped (CASES): the script still succeeds
