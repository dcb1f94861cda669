#!/usr/bin/python3
"""Report of a sweep's results: report.md plus PNG figures, drawn with matplotlib.

Run by `stitch report runs/<sweep> [--similarity runs/<sim>] [--out DIR] [--metric M]`.
Reads <sweep>/results.jsonl (one row per stitching job) and, optionally, the results.jsonl of
`stitch similarity` runs. Stitching rows and similarity rows are matched on the SHA-256 of both
model files and the two point names, so a CKA heatmap sits beside the stitching heatmap of the
same pairs. Needs numpy and matplotlib only (Debian: python3-numpy, python3-matplotlib).
"""
import argparse
import json
import math
import os
import sys
from collections import OrderedDict, defaultdict

import numpy as np

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

LABELS = {
    "stitched_acc": ("stitched accuracy", "%", 100.0),
    "agreement": ("prediction agreement with the end model", "%", 100.0),
    "soft_agreement": ("soft agreement with the end model", "%", 100.0),
    "stitching_penalty": ("stitching penalty (end - stitched accuracy)", "points", 100.0),
    "fula_test": ("mean relative distance at and after the end point", "", 1.0),
    "stitch_residual": ("relative distance at the end point", "", 1.0),
    "robust_acc": ("PGD robust accuracy of the stitched model", "%", 100.0),
    "excess_agreement": ("excess marker agreement", "points", 100.0),
    "linear_cka": ("linear CKA", "", 1.0),
    "mutual_knn": ("mutual k-NN", "", 1.0),
    "cknna": ("CKNNA", "", 1.0),
    "unbiased_cka": ("unbiased CKA", "", 1.0),
}
SIM_METRICS = ["linear_cka", "unbiased_cka", "mutual_knn", "cknna", "svcca", "pwcca"]


def read_rows(folder):
    path = os.path.join(folder, "results.jsonl")
    rows = []
    with open(path) as f:
        for n, line in enumerate(f, 1):
            line = line.strip()
            if not line:
                continue
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError:
                print(f"report: {path}:{n} is not JSON; skipped", file=sys.stderr)
    return rows


def label(metric):
    name, unit, scale = LABELS.get(metric, (metric, "", 1.0))
    return (f"{name} ({unit})" if unit else name), scale


def stem(path):
    return os.path.splitext(os.path.basename(path))[0]


def ordered(values):
    return list(OrderedDict.fromkeys(values))


def spearman(a, b):
    a, b = np.asarray(a, float), np.asarray(b, float)
    if len(a) < 3 or np.all(a == a[0]) or np.all(b == b[0]):
        return float("nan")
    ra = np.argsort(np.argsort(a)).astype(float)
    rb = np.argsort(np.argsort(b)).astype(float)
    return float(np.corrcoef(ra, rb)[0, 1])


def grid(rows, metric, fps, eps):
    """Mean and std over seeds of `metric` per (front point, end point); NaN where missing."""
    cells = defaultdict(list)
    for r in rows:
        v = r.get(metric)
        if isinstance(v, (int, float)) and math.isfinite(v):
            cells[(r["front_point"], r["end_point"])].append(float(v))
    mean = np.full((len(fps), len(eps)), np.nan)
    std = np.full((len(fps), len(eps)), np.nan)
    for i, f in enumerate(fps):
        for j, e in enumerate(eps):
            if cells.get((f, e)):
                mean[i, j] = np.mean(cells[(f, e)])
                std[i, j] = np.std(cells[(f, e)])
    return mean, std


def heatmap(ax, values, fps, eps, title, scale, front, end, vmin=None, vmax=None, first=True):
    shown = values * scale
    im = ax.imshow(shown, cmap="viridis", vmin=vmin, vmax=vmax, aspect="auto")
    ax.set_xticks(range(len(eps)))
    ax.set_xticklabels(eps, rotation=45, ha="right")
    ax.set_yticks(range(len(fps)))
    ax.set_yticklabels(fps if first else [])
    ax.set_xlabel(f"end point ({end})")
    if first:
        ax.set_ylabel(f"front point ({front})")
    ax.set_title(title, fontsize=10)
    finite = shown[np.isfinite(shown)]
    mid = (np.nanmax(finite) + np.nanmin(finite)) / 2 if finite.size else 0
    for i in range(len(fps)):
        for j in range(len(eps)):
            if np.isfinite(shown[i, j]):
                ax.text(j, i, f"{shown[i, j]:.1f}" if scale == 100 else f"{shown[i, j]:.2f}",
                        ha="center", va="center", fontsize=8,
                        color="white" if shown[i, j] < mid else "black")
    return im


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("dir")
    ap.add_argument("--out", required=True)
    ap.add_argument("--metric", default="stitched_acc")
    ap.add_argument("--similarity", action="append", default=[])
    a = ap.parse_args()
    rows = [r for r in read_rows(a.dir) if r.get("method") != "similarity"]
    if not rows:
        print(f"report: {a.dir}/results.jsonl has no stitching rows", file=sys.stderr)
        return 2
    sims = {}
    for d in a.similarity:
        for r in read_rows(d):
            if r.get("method") == "similarity":
                sims[(r["front_sha256"], r["end_sha256"], r["front_point"], r["end_point"])] = r
    os.makedirs(a.out, exist_ok=True)
    mlabel, mscale = label(a.metric)
    name = rows[0].get("name", os.path.basename(os.path.normpath(a.dir)))
    md = [f"# Sweep `{name}`", "",
          f"{len(rows)} jobs from `{a.dir}/results.jsonl`; main metric: {mlabel}. "
          "Cells are means over seeds (± std where there are several).", ""]
    pairs = ordered((r["front"], r["end"]) for r in rows)
    for pi, (front, end) in enumerate(pairs):
        pr = [r for r in rows if (r["front"], r["end"]) == (front, end)]
        fps = ordered(r["front_point"] for r in pr)
        eps = ordered(r["end_point"] for r in pr)
        methods = ordered(r["method"] for r in pr)
        f_sha, e_sha = pr[0].get("front_sha256"), pr[0].get("end_sha256")
        sim_rows = [sims[(f_sha, e_sha, fp, ep)] for fp in fps for ep in eps
                    if (f_sha, e_sha, fp, ep) in sims]
        sim_grid = None
        if sim_rows:
            sim_grid, _ = grid(sim_rows, "linear_cka", fps, eps)
        tag = f"{pi:02d}_{stem(front)}__{stem(end)}"
        end_acc = np.mean([r["end_acc"] for r in pr]) * 100
        md += [f"## {stem(front)} → {stem(end)}", "",
               f"`{front}` → `{end}`; end model accuracy {end_acc:.2f} %, "
               f"front model accuracy {np.mean([r['front_acc'] for r in pr]) * 100:.2f} %.", ""]
        # Heatmaps: one panel per method (+ linear CKA of the same pairs).
        panels = len(methods) + (sim_grid is not None)
        # zip sweeps pair each front point with one end point: a diagonal, drawn as one line
        # panel over the point pairs instead of a heatmap of mostly blank cells.
        ends_of = {fp: ordered(r["end_point"] for r in pr if r["front_point"] == fp) for fp in fps}
        diagonal = len(fps) > 1 and all(len(v) == 1 for v in ends_of.values())
        if (len(fps) > 1 or len(eps) > 1) and not diagonal:
            fig, axes = plt.subplots(1, panels, figsize=(1.2 + 0.75 * len(eps) * panels + 1.5 * panels,
                                                         1.5 + 0.55 * len(fps)), squeeze=False)
            allv = np.concatenate([grid([r for r in pr if r["method"] == m], a.metric, fps, eps)[0].ravel()
                                   for m in methods]) * mscale
            lo, hi = (np.nanmin(allv), np.nanmax(allv)) if np.isfinite(allv).any() else (0, 1)
            for k, m in enumerate(methods):
                g, _ = grid([r for r in pr if r["method"] == m], a.metric, fps, eps)
                im = heatmap(axes[0][k], g, fps, eps, f"{m}: {mlabel}", mscale, stem(front),
                             stem(end), lo, hi, first=k == 0)
            fig.colorbar(im, ax=[axes[0][k] for k in range(len(methods))], shrink=0.8)
            if sim_grid is not None:
                im2 = heatmap(axes[0][-1], sim_grid, fps, eps, "linear CKA (same pairs)", 1.0,
                              stem(front), stem(end), 0, 1, first=False)
                fig.colorbar(im2, ax=axes[0][-1], shrink=0.8)
            fig.suptitle(f"{stem(front)} → {stem(end)}: cross-layer grid (blank: not run)",
                         fontsize=11, y=1.04)
            png = f"{tag}_heatmap.png"
            fig.savefig(os.path.join(a.out, png), dpi=110, bbox_inches="tight")
            plt.close(fig)
            md += [f"![heatmap]({png})", ""]
        # Lines: the metric against the end point, one line per method (one panel per front
        # point when there are several, at most 6).
        shown_fps = [] if diagonal else fps[:6]
        if diagonal:
            fig, axes = plt.subplots(1, 1, figsize=(1.5 + 1.1 * len(fps), 3.4), squeeze=False)
            ax = axes[0][0]
            xl = [fp if ends_of[fp][0] == fp else f"{fp}→{ends_of[fp][0]}" for fp in fps]
            for m in methods:
                vals = [grid([r for r in pr if r["method"] == m], a.metric, [fp], ends_of[fp])
                        for fp in fps]
                g = np.array([v[0][0][0] for v in vals])
                sd = np.array([v[1][0][0] for v in vals])
                ok = np.isfinite(g)
                ax.errorbar(np.arange(len(fps))[ok], g[ok] * mscale, yerr=sd[ok] * mscale,
                            marker="o", capsize=3, label=m)
            if a.metric == "stitched_acc":
                ax.axhline(end_acc, color="grey", ls="--", lw=1, label="end model")
            if a.metric == "robust_acc" and all("end_robust_acc" in r for r in pr):
                ax.axhline(np.mean([r["end_robust_acc"] for r in pr]) * 100, color="grey", ls="--",
                           lw=1, label="end model")
            ax.set_xticks(range(len(fps)))
            ax.set_xticklabels(xl, rotation=30, ha="right")
            ax.set_xlabel("stitch point (front → end)")
            ax.grid(alpha=0.3)
        else:
            fig, axes = plt.subplots(1, len(shown_fps), figsize=(1 + 3.2 * len(shown_fps), 3.2),
                                     squeeze=False, sharey=True)
        for k, fp in enumerate(shown_fps):
            ax = axes[0][k]
            for m in methods:
                g, s = grid([r for r in pr if r["method"] == m], a.metric, [fp], eps)
                ok = np.isfinite(g[0])
                ax.errorbar(np.arange(len(eps))[ok], g[0][ok] * mscale, yerr=s[0][ok] * mscale,
                            marker="o", capsize=3, label=m)
            if a.metric in ("stitched_acc",):
                ax.axhline(end_acc, color="grey", ls="--", lw=1, label="end model")
            ax.set_xticks(range(len(eps)))
            ax.set_xticklabels(eps, rotation=45, ha="right")
            ax.set_xlabel(f"end point ({stem(end)})")
            ax.set_title(f"front point {fp}", fontsize=10)
            ax.grid(alpha=0.3)
        axes[0][0].set_ylabel(mlabel)
        axes[0][-1].legend(fontsize=8)
        fig.suptitle(f"{stem(front)} → {stem(end)}: {mlabel} by layer", fontsize=11, y=1.04)
        png = f"{tag}_lines.png"
        fig.savefig(os.path.join(a.out, png), dpi=110, bbox_inches="tight")
        plt.close(fig)
        md += [f"![lines]({png})", ""]
        # Tables.
        for m in methods:
            g, s = grid([r for r in pr if r["method"] == m], a.metric, fps, eps)
            md += [f"**{m}** — {mlabel}", "", "| front \\ end | " + " | ".join(eps) + " |",
                   "|---" * (len(eps) + 1) + "|"]
            for i, fp in enumerate(fps):
                cells = []
                for j in range(len(eps)):
                    if not np.isfinite(g[i, j]):
                        cells.append("–")
                    elif s[i, j] > 0:
                        cells.append(f"{g[i, j] * mscale:.2f} ± {s[i, j] * mscale:.2f}")
                    else:
                        cells.append(f"{g[i, j] * mscale:.2f}")
                md.append(f"| {fp} | " + " | ".join(cells) + " |")
            md.append("")
        if sim_rows:
            md += ["Rank correlation (Spearman, over grid cells) between the stitching metric "
                   "and each similarity metric:", "", "| method | " +
                   " | ".join(x for x in SIM_METRICS if any(x in r for r in sim_rows)) + " |"]
            present = [x for x in SIM_METRICS if any(x in r for r in sim_rows)]
            md.append("|---" * (len(present) + 1) + "|")
            for m in methods:
                g, _ = grid([r for r in pr if r["method"] == m], a.metric, fps, eps)
                cells = []
                for x in present:
                    sg, _ = grid(sim_rows, x, fps, eps)
                    ok = np.isfinite(g) & np.isfinite(sg)
                    cells.append(f"{spearman(g[ok], sg[ok]):.2f} (n={int(ok.sum())})")
                md.append(f"| {m} | " + " | ".join(cells) + " |")
            md.append("")
    with open(os.path.join(a.out, "report.md.tmp"), "w") as f:
        f.write("\n".join(md) + "\n")
    os.replace(os.path.join(a.out, "report.md.tmp"), os.path.join(a.out, "report.md"))
    print(f"report: {os.path.join(a.out, 'report.md')} and {len([p for p in os.listdir(a.out) if p.endswith('.png')])} figures")
    return 0


if __name__ == "__main__":
    sys.exit(main())
