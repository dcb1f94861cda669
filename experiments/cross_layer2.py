#!/usr/bin/env python3
"""Study 3 (second edition): cross-layer grids, stitching vs similarity, and the random-init
front control.

Reads runs/cross_layer2_{cnn,resnet,cnn_resnet} (experiments/cross_layer2_*.yaml: three trained
model pairs and three untrained fronts into the same ends, every front point x every end point,
dm_closed and fula, 2000 test images) and runs/cross_layer2_*_sim (linear CKA and mutual k-NN of
the trained pairs' point pairs), and writes the section between the cross_layer2 markers of
experiments/README.md and experiments/figures/cross_layer2_<grid>.png:
  - Spearman's rho between stitched accuracy and similarity over the matched cells of the three
    trained pairs, with a 95 % bootstrap interval over cells and the partial rho given
    |relative depth offset|;
  - stitched accuracy of the trained front minus the untrained front into the same end, per
    cell: mean over the three pairs (paired by end model and test images) with the 95 %
    two-level bootstrap interval (scripts/report_stats.py).
Usage: /usr/bin/python3 experiments/cross_layer2.py [--runs runs] [--print]
"""
import math
import os
from collections import defaultdict

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

import study_common as sc  # noqa: E402
from study_common import ROOT  # noqa: E402

GRIDS = [("cross_layer2_cnn", "cnn → cnn"), ("cross_layer2_resnet", "resnet → resnet"),
         ("cross_layer2_cnn_resnet", "cnn → resnet")]
METHODS = ["dm_closed", "fula"]
SIMS = ["linear_cka", "mutual_knn"]


def ordered(values):
    return list(dict.fromkeys(values))


def trained_cells(rows_, method):
    """{(front sha, end sha, front point, end point): stitched accuracy} of the trained pairs."""
    return {(r["front_sha256"], r["end_sha256"], r["front_point"], r["end_point"]):
            float(r["stitched_acc"]) for r in rows_
            if r.get("condition") == "trained" and r["method"] == method and
            math.isfinite(float(r.get("stitched_acc", float("nan"))))}


def similarities(runs, name):
    out = {}
    for r in sc.rows(runs, f"{name}_sim") or []:
        if r.get("method") == "similarity":
            out[(r["front_sha256"], r["end_sha256"], r["front_point"], r["end_point"])] = r
    return out


def correlations(runs, name, rows_):
    """{(method, similarity): (cells, pairs, rho, partial rho, per-pair rhos)}; rho and partial
    rho are (value, lo, hi). None where fewer than 6 cells match."""
    sims = similarities(runs, name)
    depth = {(r["front_sha256"], r["end_sha256"], r["front_point"], r["end_point"]):
             abs(r["front_depth"] - r["end_depth"]) for r in rows_ if "front_depth" in r}
    acc = {m: trained_cells(rows_, m) for m in METHODS}
    out = {}
    for x in SIMS:
        simv = {k: float(r[x]) for k, r in sims.items() if x in r}
        cells = [c for c in sc.rs.matched_cells(acc, simv) if c in depth] if simv else []
        for m in METHODS:
            if len(cells) < 6:
                out[(m, x)] = None
                continue
            v, s, z = [acc[m][c] for c in cells], [simv[c] for c in cells], [depth[c] for c in cells]
            per_pair = []
            for pair in ordered(c[:2] for c in cells):
                idx = [i for i, c in enumerate(cells) if c[:2] == pair]
                per_pair.append(sc.rs.stats.spearmanr([v[i] for i in idx],
                                                      [s[i] for i in idx]).correlation)
            out[(m, x)] = (len(cells), len(per_pair), sc.rs.spearman_ci(v, s),
                           sc.rs.partial_spearman_ci(v, s, z), per_pair)
    return out


def rho_text(r):
    return f"{r[0]:+.2f} [{r[1]:+.2f}, {r[2]:+.2f}]"


def correlation_rows(label, corr):
    md = []
    for x in SIMS:
        for m in METHODS:
            c = corr.get((m, x))
            if c is None:
                md.append(f"| {label} | {m} | {x} | too few | — | — | — |")
                continue
            n, pairs, rho, prho, per_pair = c
            md.append(f"| {label} | {m} | {x} | {n} ({pairs} pairs) | {rho_text(rho)} | "
                      f"{rho_text(prho)} | {min(per_pair):+.2f} … {max(per_pair):+.2f} |")
    return md


def control_diffs(runs, name, rows_):
    """{(method, front point, end point): (d, lo, hi, pairs, images)} of trained - untrained
    stitched accuracy in points, the replicates paired by end model."""
    by = defaultdict(dict)
    for r in rows_:
        by[(r["method"], r["front_point"], r["end_point"], r.get("condition"))][
            os.path.basename(r["end"])] = r
    out = {}
    for (m, fp, ep, cond), t in by.items():
        c = by.get((m, fp, ep, "random_init"))
        if cond != "trained" or not c:
            continue
        ends = sorted(e for e in t if e in c)
        a = sc.per_image(runs, name, [t[e] for e in ends], "stitched_acc")
        b = sc.per_image(runs, name, [c[e] for e in ends], "stitched_acc")
        if a and b:
            out[(m, fp, ep)] = sc.diff_ci(a, b) + (len(ends), len(a[0]))
    return out


def diagonal(runs, name, rows_, diffs):
    """The diagonal cells (the same point on both sides; none across architectures):
    {(point, method): (trained, untrained, difference)}, each (value, lo, hi) or None."""
    out = {}
    fps = ordered(r["front_point"] for r in rows_)
    eps = set(r["end_point"] for r in rows_)
    for p in [p for p in fps if p in eps]:
        for m in METHODS:
            accs = []
            for cond in ("trained", "random_init"):
                rs_ = sorted((r for r in rows_ if r["method"] == m and r["front_point"] == p and
                              r["end_point"] == p and r.get("condition") == cond),
                             key=lambda r: os.path.basename(r["end"]))
                v = sc.per_image(runs, name, rs_, "stitched_acc") if rs_ else None
                accs.append(sc.mean_ci(v) if v else None)
            d = diffs.get((m, p, p))
            out[(p, m)] = (accs[0], accs[1], None if d is None else d[:3])
    return out


def diagonal_rows(label, diag):
    out = []
    for p in ordered(k[0] for k in diag):
        cells = []
        for m in METHODS:
            t, u, d = diag[(p, m)]
            cells += [sc.fmt_ci(t, False), sc.fmt_ci(u, False), sc.fmt_ci(d)]
        out.append(f"| {label} | {p} | " + " | ".join(cells) + " |")
    return out


def control_figure(diffs, rows_, label, png):
    fps = ordered(r["front_point"] for r in rows_)
    eps = ordered(r["end_point"] for r in rows_)
    fig, axes = plt.subplots(1, len(METHODS), figsize=(2.2 + 2.4 * len(METHODS) + 0.4 * len(eps),
                                                       1.6 + 0.5 * len(fps)), squeeze=False)
    lim = max([abs(v[0]) for v in diffs.values()] + [1.0])
    for k, m in enumerate(METHODS):
        ax = axes[0][k]
        g = np.array([[diffs.get((m, f, e), (np.nan,))[0] for e in eps] for f in fps])
        im = ax.imshow(g, cmap="RdBu", vmin=-lim, vmax=lim)
        for i, f in enumerate(fps):
            for j, e in enumerate(eps):
                v = diffs.get((m, f, e))
                if v is None:
                    continue
                mark = "" if v[1] > 0 or v[2] < 0 else "?"  # ?: the interval includes 0
                ax.text(j, i, f"{v[0]:+.0f}{mark}", ha="center", va="center", fontsize=8,
                        color="white" if abs(v[0]) > 0.6 * lim else "black")
        ax.set_xticks(range(len(eps)), eps, rotation=45, ha="right", fontsize=8)
        ax.set_yticks(range(len(fps)), fps if k == 0 else [""] * len(fps), fontsize=8)
        ax.set_xlabel("end point")
        if k == 0:
            ax.set_ylabel("front point")
        ax.set_title(m, fontsize=9)
    fig.colorbar(im, ax=list(axes[0]), shrink=0.8,
                 label="trained − untrained (points)")
    fig.suptitle(f"{label}: trained minus random-init front (mean of 3 pairs; ? = 95 % interval "
                 "includes 0)", fontsize=9)
    fig.savefig(png, dpi=110, bbox_inches="tight")
    plt.close(fig)


def control_rows(label, diffs):
    md = []
    for m in METHODS:
        d = {k[1:]: v for k, v in diffs.items() if k[0] == m}
        if not d:
            continue
        pos = sum(v[1] > 0 for v in d.values())
        neg = sum(v[2] < 0 for v in d.values())
        lo_cell = min(d, key=lambda c: d[c][0])
        hi_cell = max(d, key=lambda c: d[c][0])
        n = next(iter(d.values()))
        md.append(f"| {label} | {m} | {len(d)} | {pos} | {len(d) - pos - neg} | {neg} | "
                  f"{' → '.join(lo_cell)}: {sc.fmt_ci(d[lo_cell][:3])} | "
                  f"{' → '.join(hi_cell)}: {sc.fmt_ci(d[hi_cell][:3])} | {n[3]} × {n[4]} |")
    return md


def section(runs, figures=True):
    begin, end = sc.marker_lines("cross_layer2")
    corr = ["| grid | method | similarity | matched cells | ρ [95 %] | partial ρ given depth "
            "offset [95 %] | ρ per pair |", "|---|---|---|---|---|---|---|"]
    ctrl = ["| grid | method | cells | trained > untrained | not established | trained < "
            "untrained | smallest difference | largest difference | n |",
            "|---|---|---|---|---|---|---|---|---|"]
    diag = ["| grid | point | " + " | ".join(f"{m} trained | {m} untrained | {m} difference"
                                          for m in METHODS) + " |",
            "|---|---|" + "---|" * (3 * len(METHODS))]
    figs, names = [], []
    for name, label in GRIDS:
        rows_ = sc.rows(runs, name)
        if not rows_:
            continue
        names.append(name)
        corr += correlation_rows(label, correlations(runs, name, rows_))
        diffs = control_diffs(runs, name, rows_)
        ctrl += control_rows(label, diffs)
        diag += diagonal_rows(label, diagonal(runs, name, rows_, diffs))
        if diffs and figures:
            control_figure(diffs, rows_, label, ROOT / "experiments" / "figures" / f"{name}.png")
        figs.append(f"![{label}: trained − untrained front](figures/{name}.png)")
    if not names:
        return "\n".join([begin, "", "(runs/cross_layer2_* have not run yet)", "", end])
    md = [begin, "", "Stitched accuracy vs similarity over the matched cells of the three trained "
          "pairs (every cell where both methods and the metric have a value), Spearman's ρ with "
          "a 95 % bootstrap interval over cells, the partial ρ controlling for |Δ relative "
          "depth|, and ρ within each pair. Cells of one pair are not independent, so the "
          "interval over cells is narrower than one over model pairs would be.", ""]
    md += corr + ["", "Stitched accuracy of the trained front minus the untrained (random-init) "
                  "front into the same end, per cell (points; mean of three pairs, paired by end "
                  "model and the 2000 test images, 95 % two-level bootstrap interval): how many "
                  "cells the interval puts above, around and below 0.", ""]
    md += ctrl + ["", "The diagonal cells (the same point on both sides): stitched accuracy (%) "
                  "of the trained and of the untrained front, and their paired difference "
                  "(points).", ""]
    md += diag + [""] + [x for f in figs for x in (f, "")]
    md += [sc.provenance_line(runs, names, "study_times.tsv"), "", end]
    return "\n".join(md)


def main():
    sc.section_main(__doc__, "cross_layer2", lambda runs, only_print: section(runs, not only_print))


if __name__ == "__main__":
    main()
