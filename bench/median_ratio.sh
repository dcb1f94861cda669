#!/usr/bin/env bash
# Runs a C++ and a Python benchmark command REPEAT times, interleaved (this VM's speed drifts
# by 2x between runs), and prints every run, the medians and their ratio.
# Usage: bench/median_ratio.sh LABEL FIELD "CPP_COMMAND" "PY_COMMAND"   (env REPEAT, default 3)
set -euo pipefail
label=$1; field=$2; cpp=$3; py=$4; n=${REPEAT:-3}
c=(); p=()
for _ in $(seq "$n"); do
  lc=$(eval "$cpp" | tail -1); lp=$(eval "$py" | tail -1)
  echo "  $lc"; echo "  $lp"
  c+=("$(sed "s/.*$field=\([0-9.]*\).*/\1/" <<<"$lc")"); p+=("$(sed "s/.*$field=\([0-9.]*\).*/\1/" <<<"$lp")")
done
mc=$(printf '%s\n' "${c[@]}" | sort -g | awk '{a[NR]=$1} END{print a[int((NR+1)/2)]}')
mp=$(printf '%s\n' "${p[@]}" | sort -g | awk '{a[NR]=$1} END{print a[int((NR+1)/2)]}')
awk -v l="$label" -v f="$field" -v c="$mc" -v p="$mp" -v n="$n" \
  'BEGIN{printf "%s: median of %d %s cpp=%.1f python=%.1f ratio cpp/python=%.2f\n", l, n, f, c, p, c/p}'
