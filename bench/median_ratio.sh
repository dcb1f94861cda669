#!/usr/bin/env bash
# Runs a C++ and a Python benchmark command REPEAT times, interleaved (this VM's speed drifts
# by 2x between runs), and prints every run, then for each FIELD (comma separated, e.g.
# seconds,peak_mb) the medians and their ratio.
# Usage: bench/median_ratio.sh LABEL FIELD[,FIELD...] "CPP_COMMAND" "PY_COMMAND"   (env REPEAT, default 3)
set -euo pipefail
label=$1; fields=$2; cpp=$3; py=$4; n=${REPEAT:-3}
c=(); p=()
for _ in $(seq "$n"); do
  lc=$(eval "$cpp" | tail -1); lp=$(eval "$py" | tail -1)
  echo "  $lc"; echo "  $lp"
  c+=("$lc"); p+=("$lp")
done
# The median of FIELD over the given output lines.
median() {
  local f=$1; shift
  printf '%s\n' "$@" | sed "s/.*$f=\([0-9.]*\).*/\1/" | sort -g | awk '{a[NR]=$1} END{print a[int((NR+1)/2)]}'
}
IFS=, read -ra fs <<<"$fields"
for field in "${fs[@]}"; do
  mc=$(median "$field" "${c[@]}"); mp=$(median "$field" "${p[@]}")
  awk -v l="$label" -v f="$field" -v c="$mc" -v p="$mp" -v n="$n" \
    'BEGIN{printf "%s: median of %d %s cpp=%.2f python=%.2f ratio cpp/python=%.2f\n", l, n, f, c, p, c/p}'
done
