#!/usr/bin/python3
"""Report of a sweep's results: report.md plus PNG figures, drawn with matplotlib.

Run by `stitch report runs/<sweep> [--similarity runs/<sim>] [--compare A,B] [--control RUN]`.
Reads <sweep>/results.jsonl (one row per job), results.schema.json (what each column means,
written from the C++ result-row declaration) and each job's outcomes.h5 (per-image predictions)
for paired comparisons. Cells pool replicates: every model pair of one `condition` (or one model
pair when the sweep names none) and every seed; a cell shows mean ± half-width of the 95 %
t-interval (n replicates), or the image-level interval of its one row when n = 1.
Needs numpy, scipy, h5py and matplotlib (Debian: python3-numpy python3-scipy python3-h5py
python3-matplotlib).
"""
import argparse
import json
import math
import os
import sys
import zlib
from collections import OrderedDict, defaultdict

import numpy as np

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import report_stats as rs  # noqa: E402

SIM_METRICS = ["linear_cka", "unbiased_cka", "mutual_knn", "cknna", "svcca", "pwcca"]
# One colour per method in every figure (fixed, keyed by name).
PALETTE = {"dm_closed": "#1f77b4", "procrustes": "#9467bd", "maiorca": "#8c564b",
           "dm_hint": "#17becf", "tlm": "#d62728", "slm": "#ff7f0e", "fula": "#2ca02c"}


MARKERS = ["o", "s", "^", "D", "v", "P", "X"]


def colour(name):
    if name in PALETTE:
        return PALETTE[name]
    return plt.get_cmap("tab20")(zlib.crc32(name.encode()) % 20)


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


def read_schema(folder):
    path = os.path.join(folder, "results.schema.json")
    if not os.path.exists(path):
        return {}
    with open(path) as f:
        return {c["name"]: c for c in json.load(f)}


class Labels:
    """Axis labels and scales from the result-row declaration (results.schema.json)."""

    def __init__(self, schema):
        self.schema = schema

    def __call__(self, metric):
        """(axis label with unit, scale of the shown numbers)."""
        unit = self.schema.get(metric, {}).get("unit", "")
        if unit == "share":
            return f"{metric} (%)", 100.0
        if unit == "points":
            return f"{metric} (points)", 100.0
        return metric, 1.0

    def describe(self, metric):
        return self.schema.get(metric, {}).get("help", metric)


def stem(path):
    return os.path.splitext(os.path.basename(path))[0]


def ordered(values):
    return list(OrderedDict.fromkeys(values))


def replicate(r):
    """A row's replicate: its model pair and seed; closed-form fits ignore the seed, so their
    rows of several seeds are one replicate (counted once)."""
    if r["method"] in rs.CLOSED_FORM:
        return (r["front"], r["end"])
    return (r["front"], r["end"], r["seed"])


def group_of(r):
    return r.get("condition") or f"{stem(r['front'])} → {stem(r['end'])}"


def finite(v):
    return isinstance(v, (int, float)) and math.isfinite(v)


def cell_stats(rows, metric):
    """(mean, lo, hi, n) over the replicates in rows; n = 1 uses the row's image interval."""
    unique = {}
    for r in rows:
        if finite(r.get(metric)):
            unique.setdefault(replicate(r), r)
    rows = list(unique.values())
    vals = [float(r[metric]) for r in rows]
    m, lo, hi, n = rs.t_interval(vals)
    if n == 1:
        r = next(r for r in rows if finite(r.get(metric)))
        lo, hi = r.get(metric + "_lo", float("nan")), r.get(metric + "_hi", float("nan"))
    return m, lo, hi, n


def grid(rows, metric, fps, eps):
    """Arrays mean, lo, hi, n per (front point, end point); NaN where missing."""
    cells = defaultdict(list)
    for r in rows:
        cells[(r["front_point"], r["end_point"])].append(r)
    out = [np.full((len(fps), len(eps)), np.nan) for _ in range(4)]
    for i, f in enumerate(fps):
        for j, e in enumerate(eps):
            if any(finite(r.get(metric)) for r in cells.get((f, e), [])):
                for k, v in enumerate(cell_stats(cells[(f, e)], metric)):
                    out[k][i, j] = v
    return out


def cell_text(m, lo, hi, n, scale):
    if not math.isfinite(m):
        return "–"
    fmt = (lambda x: f"{x * scale:.2f}") if scale == 100 else (lambda x: f"{x:.3f}")
    if math.isfinite(lo) and math.isfinite(hi):
        return f"{fmt(m)} ± {fmt((hi - lo) / 2)} ({n})"
    return f"{fmt(m)} ({n})"


def heatmap(ax, values, fps, eps, title, scale, front, end, vmin, vmax, first=True):
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
    mid = (vmin + vmax) / 2
    for i in range(len(fps)):
        for j in range(len(eps)):
            if np.isfinite(shown[i, j]):
                ax.text(j, i, f"{shown[i, j]:.1f}" if scale == 100 else f"{shown[i, j]:.2f}",
                        ha="center", va="center", fontsize=8,
                        color="white" if shown[i, j] < mid else "black")
    return im


def error_bars(ax, x, m, lo, hi, scale, **kw):
    ok = np.isfinite(m)
    err = np.vstack([m - lo, hi - m]) * scale
    err[:, ~(np.isfinite(lo) & np.isfinite(hi))] = 0
    ax.errorbar(np.asarray(x)[ok], m[ok] * scale, yerr=err[:, ok], marker="o", capsize=3, **kw)


def draw_group(a, md, label, out, gi, gname, pr, scale_range, sims):
    mlabel, mscale = label(a.metric)
    fps = ordered(r["front_point"] for r in pr)
    eps = ordered(r["end_point"] for r in pr)
    methods = ordered(r["method"] for r in pr)
    fronts = ordered(stem(r["front"]) for r in pr)
    ends = ordered(stem(r["end"]) for r in pr)
    front, end = "/".join(fronts[:3]), "/".join(ends[:3])
    reps = len(ordered((r["front"], r["end"], r["seed"]) for r in pr))  # of trained methods
    end_acc = np.mean([r["end_acc"] for r in pr]) * 100
    md += [f"## {gname}", "",
           f"{len(ordered((r['front'], r['end']) for r in pr))} model pair(s), {reps} replicate(s) "
           f"(model pair × seed); end model accuracy {end_acc:.2f} %, front model accuracy "
           f"{np.mean([r['front_acc'] for r in pr]) * 100:.2f} %.", ""]
    tag = f"{gi:02d}_" + "".join(ch if ch.isalnum() else "_" for ch in gname)[:60]
    ends_of = {fp: ordered(r["end_point"] for r in pr if r["front_point"] == fp) for fp in fps}
    diagonal = len(fps) > 1 and all(len(v) == 1 for v in ends_of.values())
    sim_grid = None
    if sims and len(fronts) == 1 and len(ends) == 1:
        f_sha, e_sha = pr[0].get("front_sha256"), pr[0].get("end_sha256")
        srows = [sims[k] for k in ((f_sha, e_sha, fp, ep) for fp in fps for ep in eps) if k in sims]
        if srows:
            sim_grid = grid(srows, "linear_cka", fps, eps)[0]
    if (len(fps) > 1 or len(eps) > 1) and not diagonal:
        panels = len(methods) + (sim_grid is not None)
        fig, axes = plt.subplots(1, panels, figsize=(1.2 + 0.75 * len(eps) * panels + 1.5 * panels,
                                                     1.5 + 0.55 * len(fps)), squeeze=False)
        for k, m in enumerate(methods):
            g = grid([r for r in pr if r["method"] == m], a.metric, fps, eps)[0]
            im = heatmap(axes[0][k], g, fps, eps, f"{m} (mean)", mscale, front, end, *scale_range,
                         first=k == 0)
        fig.colorbar(im, ax=[axes[0][k] for k in range(len(methods))], shrink=0.8, label=mlabel)
        if sim_grid is not None:
            im2 = heatmap(axes[0][-1], sim_grid, fps, eps, "linear CKA (same pairs)", 1.0, front,
                          end, 0, 1, first=False)
            fig.colorbar(im2, ax=axes[0][-1], shrink=0.8, label="linear CKA")
        fig.suptitle(f"{gname}: cross-layer grid, shared colour scale (blank: not run)",
                     fontsize=11, y=1.04)
        png = f"{tag}_heatmap.png"
        fig.savefig(os.path.join(out, png), dpi=110, bbox_inches="tight")
        plt.close(fig)
        md += [f"![heatmap]({png})", ""]
    shown_fps = [] if diagonal else fps[:6]
    if diagonal:
        fig, axes = plt.subplots(1, 1, figsize=(1.5 + 1.1 * len(fps), 3.4), squeeze=False)
        ax = axes[0][0]
        xl = [fp if ends_of[fp][0] == fp else f"{fp}→{ends_of[fp][0]}" for fp in fps]
        for k, m in enumerate(methods):
            vals = [grid([r for r in pr if r["method"] == m], a.metric, [fp], ends_of[fp])
                    for fp in fps]
            mm, lo, hi = (np.array([v[i][0][0] for v in vals]) for i in range(3))
            error_bars(ax, np.arange(len(fps)) + 0.06 * (k - len(methods) / 2), mm, lo, hi, mscale,
                       label=m, color=colour(m))
        ax.set_xticks(range(len(fps)))
        ax.set_xticklabels(xl, rotation=30, ha="right")
        ax.set_xlim(-0.5, len(fps) - 0.5)
        ax.set_xlabel("stitch point (front → end)")
        ax.grid(alpha=0.3)
    else:
        fig, axes = plt.subplots(1, len(shown_fps), figsize=(1 + 3.2 * len(shown_fps), 3.2),
                                 squeeze=False, sharey=True)
    for k, fp in enumerate(shown_fps):
        ax = axes[0][k]
        for q, m in enumerate(methods):
            g, lo, hi, _ = grid([r for r in pr if r["method"] == m], a.metric, [fp], eps)
            error_bars(ax, np.arange(len(eps)) + 0.06 * (q - len(methods) / 2), g[0], lo[0], hi[0],
                       mscale, label=m, color=colour(m))
        ax.set_xticks(range(len(eps)))
        ax.set_xticklabels(eps, rotation=45, ha="right")
        ax.set_xlim(-0.5, len(eps) - 0.5)
        ax.set_xlabel(f"end point ({end})")
        ax.set_title(f"front point {fp}", fontsize=10)
        ax.grid(alpha=0.3)
    for ax in axes[0]:
        if a.metric == "stitched_acc":
            ax.axhline(end_acc, color="grey", ls="--", lw=1, label="end model")
    axes[0][0].set_ylabel(mlabel)
    axes[0][-1].legend(fontsize=8)
    fig.suptitle(f"{gname}: mean and 95 % interval by layer", fontsize=11, y=1.04)
    png = f"{tag}_lines.png"
    fig.savefig(os.path.join(out, png), dpi=110, bbox_inches="tight")
    plt.close(fig)
    md += [f"![lines]({png})", ""]
    for m in methods:
        g, lo, hi, n = grid([r for r in pr if r["method"] == m], a.metric, fps, eps)
        md += [f"**{m}** — {mlabel}: mean ± half-width of the 95 % interval (n replicates)", "",
               "| front \\ end | " + " | ".join(eps) + " |", "|---" * (len(eps) + 1) + "|"]
        for i, fp in enumerate(fps):
            md.append(f"| {fp} | " + " | ".join(
                cell_text(g[i, j], lo[i, j], hi[i, j], int(n[i, j]) if np.isfinite(n[i, j]) else 0,
                          mscale) for j in range(len(eps))) + " |")
        md.append("")


def compare_sides(a, rows, sweep_dir, side_a, side_b):
    """Per cell, A - B with a paired bootstrap interval. A and B are methods or conditions."""
    methods = set(r["method"] for r in rows)
    by_method = side_a in methods and side_b in methods
    key_a = (lambda r: r["method"] == side_a) if by_method else (lambda r: group_of(r) == side_a)
    key_b = (lambda r: r["method"] == side_b) if by_method else (lambda r: group_of(r) == side_b)
    if not any(key_a(r) for r in rows) or not any(key_b(r) for r in rows):
        raise SystemExit(f"report: --compare {side_a},{side_b}: each must be a method "
                         f"({', '.join(sorted(methods))}) or a condition "
                         f"({', '.join(sorted(set(map(group_of, rows))))})")
    # cell: (group, fp, ep) for methods; (fp, ep, method) for conditions
    cell = ((lambda r: (group_of(r), r["front_point"], r["end_point"])) if by_method
            else (lambda r: (r["front_point"], r["end_point"], r["method"])))
    return compare_cells(a.metric, [r for r in rows if key_a(r)], sweep_dir,
                         [r for r in rows if key_b(r)], sweep_dir, cell, by_method)


def pair_replicates(ra, rb):
    """Rows of A and B that share a replicate: the same model pair and seed, or the same model
    pair where one side is a closed form (one replicate for every seed of the other side)."""
    sa, sb = [], []
    for ka in sorted(ra, key=str):
        for kb in sorted(rb, key=str):
            if ka[:2] == kb[:2] and (len(ka) == 2 or len(kb) == 2 or ka[2] == kb[2]):
                sa.append(ra[ka])
                sb.append(rb[kb])
    return sa, sb


def compare_cells(metric, rows_a, dir_a, rows_b, dir_b, cell, paired):
    out = []
    cells_a, cells_b = defaultdict(dict), defaultdict(dict)
    for r in rows_a:
        cells_a[cell(r)][replicate(r)] = r
    for r in rows_b:
        cells_b[cell(r)][replicate(r)] = r
    for c in [c for c in cells_a if c in cells_b]:
        ra, rb = cells_a[c], cells_b[c]
        sa, sb = pair_replicates(ra, rb) if paired else (list(ra.values()), list(rb.values()))
        if not sa or not sb:
            continue
        va = [rs.per_image(dir_a, r, metric) for r in sa]
        vb = [rs.per_image(dir_b, r, metric) for r in sb]
        lengths = {len(v) for v in va + vb if v is not None}
        if all(v is not None for v in va + vb) and len(lengths) == 1:
            d, lo, hi = rs.paired_bootstrap_diff(va, vb, paired)
            how = "images × replicates"
        else:
            xa = [r.get(metric) for r in sa if finite(r.get(metric))]
            xb = [r.get(metric) for r in sb if finite(r.get(metric))]
            if not xa or not xb:
                continue
            d, lo, hi = rs.replicate_bootstrap_diff(xa, xb, paired and len(xa) == len(xb))
            how = "replicates"
        out.append((c, d, lo, hi, len({replicate(r) for r in sa}),
                    len({replicate(r) for r in sb}), how))
    return out


def comparison_md(title, res, metric, label, name_a, name_b):
    mlabel, mscale = label(metric)
    md = [f"## {title}", "",
          f"{mlabel}: difference {name_a} − {name_b} per cell with its 95 % paired bootstrap "
          "interval (images resampled once per draw and shared by both sides; replicates "
          "resampled jointly when paired). n = replicates of each side; with one replicate a "
          "side's interval covers its test images only (how precisely that stitch was "
          "measured), not another seed or model pair.", "",
          f"{len(res)} cell(s) compared, each a separate 95 % interval (no correction for "
          "multiple comparisons: an ordering read across many cells needs a pre-named "
          "comparison).", "",
          "| cell | difference | 95 % interval | n | resampled | reading |", "|---|---|---|---|---|---|"]
    for c, d, lo, hi, na, nb, how in res:
        md.append(f"| {' / '.join(map(str, c))} | {d * mscale:+.2f} | [{lo * mscale:+.2f}, "
                  f"{hi * mscale:+.2f}] | {na} vs {nb} | {how} | {rs.verdict(lo, hi, name_a, name_b)} |")
    md.append("")
    return md


def control_heatmap(res, metric, label, out):
    """Heatmaps of run − control per method (cells (front point, end point, method))."""
    mlabel, mscale = label(metric)
    methods = ordered(c[2] for c, *_ in res)
    fps, eps = ordered(c[0] for c, *_ in res), ordered(c[1] for c, *_ in res)
    if not res or (len(fps) < 2 and len(eps) < 2):
        return []
    diff = {c: d for c, d, *_ in res}
    lim = max(abs(d) for d in diff.values()) * mscale or 1.0
    fig, axes = plt.subplots(1, len(methods), figsize=(1.5 + 2.2 * len(methods) + 0.5 * len(eps),
                                                       1.5 + 0.55 * len(fps)), squeeze=False)
    for k, m in enumerate(methods):
        g = np.array([[diff.get((f, e, m), np.nan) for e in eps] for f in fps])
        im = heatmap(axes[0][k], g, fps, eps, f"{m}: run − control", mscale, "front", "end", -lim,
                     lim, first=k == 0)
        im.set_cmap("RdBu")
        for t in axes[0][k].texts:  # dark ends of the diverging map: white text
            t.set_color("white" if abs(float(t.get_text())) > 0.6 * lim else "black")
    fig.colorbar(im, ax=list(axes[0]), shrink=0.8, label=f"{mlabel}, run − control")
    fig.savefig(os.path.join(out, "minus_control.png"), dpi=110, bbox_inches="tight")
    plt.close(fig)
    return ["![minus control](minus_control.png)", ""]


def correlation_md(a, rows, sims, out, label):
    """Stitching vs similarity over the cells where every method and the metric have a value."""
    mlabel, mscale = label(a.metric)
    methods = ordered(r["method"] for r in rows)
    key = lambda r: (r["front_sha256"], r["end_sha256"], r["front_point"], r["end_point"])  # noqa
    by_method = {m: defaultdict(list) for m in methods}
    depth = {}
    for r in rows:
        if finite(r.get(a.metric)):
            by_method[r["method"]][key(r)].append(float(r[a.metric]))
        if finite(r.get("front_depth")) and finite(r.get("end_depth")):
            depth[key(r)] = abs(r["front_depth"] - r["end_depth"])
    means = {m: {c: float(np.mean(v)) for c, v in d.items()} for m, d in by_method.items()}
    md = ["## Stitching vs representation similarity", "",
          "Over the cells where every method and the similarity metric have a value (n cells); "
          "Spearman's ρ with a 95 % bootstrap interval over cells, and the partial Spearman "
          "controlling for |Δ relative depth| (how far the cell is from the diagonal).", "",
          "| method | similarity | n cells | ρ [95 %] | partial ρ given depth [95 %] |",
          "|---|---|---|---|---|"]
    present = [x for x in SIM_METRICS if any(x in r for r in sims.values())]
    fig, axes = plt.subplots(1, max(len(present), 1), figsize=(3.6 * max(len(present), 1), 3.2),
                             squeeze=False)
    for q, x in enumerate(present):
        simv = {k: float(r[x]) for k, r in sims.items() if finite(r.get(x))}
        cells = rs.matched_cells(means, simv)
        cells = [c for c in cells if c in depth]
        ax = axes[0][q]
        for m in methods:
            if len(cells) < 4:
                md.append(f"| {m} | {x} | {len(cells)} | too few cells | |")
                continue
            s = [simv[c] for c in cells]
            v = [means[m][c] for c in cells]
            dz = [depth[c] for c in cells]
            rho, lo, hi = rs.spearman_ci(v, s)
            prho, plo, phi = rs.partial_spearman_ci(v, s, dz)
            md.append(f"| {m} | {x} | {len(cells)} | {rho:+.2f} [{lo:+.2f}, {hi:+.2f}] | "
                      f"{prho:+.2f} [{plo:+.2f}, {phi:+.2f}] |")
            sc = ax.scatter(s, np.asarray(v) * mscale, c=dz, cmap="plasma", vmin=0, vmax=1, s=30,
                            marker=MARKERS[methods.index(m) % len(MARKERS)],
                            edgecolors=colour(m), linewidths=1.4)
        ax.set_xlabel(x)
        ax.set_ylabel(mlabel if q == 0 else "")
        ax.grid(alpha=0.3)
        if len(cells) >= 4:
            handles = [Line2D([], [], ls="", marker=MARKERS[k % len(MARKERS)], mfc="white",
                              mec=colour(m), mew=1.4, label=m) for k, m in enumerate(methods)]
            ax.legend(handles=handles, fontsize=7)
            fig.colorbar(sc, ax=ax, label="|Δ relative depth|")
    md.append("")
    if present:
        fig.suptitle("stitching metric vs similarity, matched cells (marker and edge colour: method)",
                     fontsize=10, y=1.03)
        fig.savefig(os.path.join(out, "similarity_scatter.png"), dpi=110, bbox_inches="tight")
        md += ["![scatter](similarity_scatter.png)", ""]
    plt.close(fig)
    return md


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("dir")
    ap.add_argument("--out", required=True)
    ap.add_argument("--metric", default="stitched_acc")
    ap.add_argument("--similarity", action="append", default=[])
    ap.add_argument("--compare", default="", help="A,B: two methods or two conditions")
    ap.add_argument("--control", default="", help="a control sweep's folder, subtracted per cell")
    a = ap.parse_args()
    rows = [r for r in read_rows(a.dir) if r.get("method") != "similarity"]
    if not rows:
        print(f"report: {a.dir}/results.jsonl has no stitching rows", file=sys.stderr)
        return 2
    label = Labels(read_schema(a.dir))
    sims = {}
    for d in a.similarity:
        for r in read_rows(d):
            if r.get("method") == "similarity":
                sims[(r["front_sha256"], r["end_sha256"], r["front_point"], r["end_point"])] = r
    os.makedirs(a.out, exist_ok=True)
    mlabel, mscale = label(a.metric)
    name = rows[0].get("name", os.path.basename(os.path.normpath(a.dir)))
    md = [f"# Sweep `{name}`", "",
          f"{len(rows)} jobs from `{a.dir}/results.jsonl`; main metric: {mlabel}, "
          f"{label.describe(a.metric)}. Cells pool "
          "replicates (model pairs of one condition × seeds for trained methods; model pairs "
          "only for closed forms, which seeds do not change): mean ± half-width of the 95 % "
          "t-interval (n); with n = 1 the interval is over test images (Wilson, or paired "
          "bootstrap for differences).", ""]
    allv = [r[a.metric] * mscale for r in rows if finite(r.get(a.metric))]
    scale_range = (min(allv), max(allv)) if allv else (0, 1)
    groups = ordered(group_of(r) for r in rows)
    for gi, g in enumerate(groups):
        draw_group(a, md, label, a.out, gi, g, [r for r in rows if group_of(r) == g], scale_range,
                   sims)
    if a.compare:
        sides = a.compare.split(",")
        if len(sides) != 2:
            raise SystemExit("report: --compare takes two names, A,B")
        res = compare_sides(a, rows, a.dir, *sides)
        md += comparison_md(f"Paired comparison: {sides[0]} vs {sides[1]}", res, a.metric, label,
                            *sides)
    if a.control:
        ctrl = [r for r in read_rows(a.control) if r.get("method") != "similarity"]
        cell = lambda r: (r["front_point"], r["end_point"], r["method"])  # noqa: E731
        res = compare_cells(a.metric, rows, a.dir, ctrl, a.control, cell, False)
        md += comparison_md(f"Minus the control `{a.control}`", res, a.metric, label, "run",
                            "control")
        md += control_heatmap(res, a.metric, label, a.out)
    if sims:
        md += correlation_md(a, rows, sims, a.out, label)
    with open(os.path.join(a.out, "report.md.tmp"), "w") as f:
        f.write("\n".join(md) + "\n")
    os.replace(os.path.join(a.out, "report.md.tmp"), os.path.join(a.out, "report.md"))
    pngs = len([p for p in os.listdir(a.out) if p.endswith('.png')])
    print(f"report: {os.path.join(a.out, 'report.md')} and {pngs} figures")
    return 0


if __name__ == "__main__":
    sys.exit(main())
