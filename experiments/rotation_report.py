#!/usr/bin/python3
"""Tables of the rotation experiment (experiments/rotation.sh) from the results files it wrote.

    /usr/bin/python3 experiments/rotation_report.py [runs-dir]

One table per architecture, one row per stitch point; each cell is the mean over seed pairs
with the range [min, max] when they differ in the shown digits (det R: one sign per pair).
EV (explained variance) and the relative error are on the held-out images.
"""
import glob
import json
import os
import sys

runs = sys.argv[1] if len(sys.argv) > 1 else "runs"


def rows(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def seeds(path):  # models/zoo/mlp_standard_s0.pt -> "0"
    return os.path.basename(path).rsplit("_s", 1)[1].split(".")[0]


def cell(vals, fmt):
    lo, hi, mean = min(vals), max(vals), sum(vals) / len(vals)
    s = fmt.format(mean)
    return s if fmt.format(lo) == fmt.format(hi) else f"{s} [{fmt.format(lo)}, {fmt.format(hi)}]"


for arch in ("mlp", "vit"):
    sim_file = os.path.join(runs, f"rotation_{arch}", "results.jsonl")
    if not os.path.exists(sim_file):
        continue
    stitched = {}  # (pair, point, method) -> row
    for f in glob.glob(os.path.join(runs, f"rotation_stitch_{arch}_*", "results.jsonl")):
        for r in rows(f):
            stitched[(seeds(r["front"]) + seeds(r["end"]), r["front_point"], r["method"])] = r
    table = {}
    for r in rows(sim_file):
        table.setdefault(r["front_point"], []).append(r)
    pairs = sorted({seeds(r["front"]) + seeds(r["end"]) for rs in table.values() for r in rs})
    print(f"\n### {arch}: seed pairs {', '.join(p[0] + '-' + p[1] for p in pairs)}\n")
    print("| point | rows fit | d | ‖R−I‖/√(2d) | det R | EV before | EV rotation | EV affine | "
          "rel. error | linear CKA | Procrustes stitch % | affine stitch % | end % |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for point, rs in table.items():
        pr = [stitched.get((seeds(r["front"]) + seeds(r["end"]), point, "procrustes")) for r in rs]
        af = [stitched.get((seeds(r["front"]) + seeds(r["end"]), point, "dm_closed")) for r in rs]
        acc = lambda xs, k: cell([100 * x[k] for x in xs], "{:.2f}") if all(xs) else "–"
        print(f"| {point} | {rs[0]['procrustes_fit_rows']} | {rs[0]['front_features']} | "
              f"{cell([r['procrustes_r_minus_i_over_sqrt_2d'] for r in rs], '{:.3f}')} | "
              f"{' '.join('{:+.0f}'.format(r['procrustes_det']) for r in rs)} | "
              f"{cell([r['procrustes_ev_before'] for r in rs], '{:.3f}')} | "
              f"{cell([r['procrustes_ev_after'] for r in rs], '{:.3f}')} | "
              f"{cell([r['procrustes_ev_affine'] for r in rs], '{:.3f}')} | "
              f"{cell([r['procrustes_rel_error_test'] for r in rs], '{:.3f}')} | "
              f"{cell([r['linear_cka'] for r in rs], '{:.3f}')} | "
              f"{acc(pr, 'stitched_acc')} | {acc(af, 'stitched_acc')} | {acc(pr, 'end_acc')} |")
