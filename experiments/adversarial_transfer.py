#!/usr/bin/env python3
"""Study 1 (second edition): does robustness travel through a stitch?

Reads runs/adversarial_transfer_{cnn,resnet} (experiments/adversarial_transfer_*.yaml: four
directions x three independent model pairs x three points x dm_closed/tlm/fula, PGD-20 on the
first 1000 test images) and writes the section between the adversarial_transfer markers of
experiments/README.md:
  - PGD-20 robust accuracy of the stitched model per method and of the end model alone, and the
    paired difference stitched - end (TLM), per direction and point; clean accuracy (TLM);
  - the depth trend: TLM robust accuracy at the deepest minus at the shallowest point, paired on
    the same model pairs and images.
  - whether linear CKA or mutual k-NN separates same-recipe pairs (standard-standard,
    adversarial-adversarial) from mixed ones better (runs/adversarial_transfer_<arch>_sim: the
    same 12 model pairs and points): AUC and d' per point, and the paired difference of d'.
Every number: mean over the three model pairs with its 95 % two-level bootstrap interval
(scripts/report_stats.py; n = model pairs x images); the separation statistics with a bootstrap
over model pairs.
Usage: /usr/bin/python3 experiments/adversarial_transfer.py [--runs runs] [--print]
"""
import math
import os
from collections import defaultdict

import numpy as np

import study_common as sc

METHODS = ["dm_closed", "tlm", "fula"]
ARCHS = {"cnn": ["block1", "block2", "block3"], "resnet": ["layer1.1", "layer2.1", "layer3.0"]}
DIRECTIONS = [("std_to_std", "standard → standard"), ("adv_to_std", "adversarial → standard"),
              ("std_to_adv", "standard → adversarial"),
              ("adv_to_adv", "adversarial → adversarial")]


def name(arch):
    return f"adversarial_transfer_{arch}"


def cells(runs, arch):
    """{(condition, point, method): [rows, one per replicate, in replicate order]}."""
    out = defaultdict(dict)
    for r in sc.rows(runs, name(arch)) or []:
        out[(r.get("condition", ""), r["front_point"], r["method"])][sc.replicate_key(r)] = r
    return {k: [v[key] for key in sorted(v)] for k, v in out.items()}


def vectors(runs, arch, c, cond, point, method, metric):
    rows_ = c.get((cond, point, method))
    return sc.per_image(runs, name(arch), rows_, metric) if rows_ else None


def robust(runs, arch, c, cond, point, method="tlm"):
    """(mean, lo, hi) of the stitched model's robust accuracy (%), or None."""
    v = vectors(runs, arch, c, cond, point, method, "robust_acc")
    return sc.mean_ci(v) if v else None


def end_robust(runs, arch, c, cond, point):
    v = vectors(runs, arch, c, cond, point, "tlm", "end_robust_acc")
    return sc.mean_ci(v) if v else None


def depth_trend(runs, arch, c, cond, method="tlm"):
    """TLM robust accuracy at the deepest minus at the shallowest point: (d, lo, hi), paired."""
    pts = ARCHS[arch]
    a = vectors(runs, arch, c, cond, pts[-1], method, "robust_acc")
    b = vectors(runs, arch, c, cond, pts[0], method, "robust_acc")
    if a is None or b is None or len(a) != len(b):
        return None
    return sc.diff_ci(a, b)


def robust_table(runs, arch, c):
    md = ["| direction | point | end alone | " + " | ".join(METHODS) +
          " | tlm − end (paired) | tlm clean | n |", "|---|---|" + "---|" * (len(METHODS) + 4)]
    for cond, label in DIRECTIONS:
        for p in ARCHS[arch]:
            if not any(c.get((cond, p, m)) for m in METHODS):
                continue
            tlm = vectors(runs, arch, c, cond, p, "tlm", "robust_acc")
            end = vectors(runs, arch, c, cond, p, "tlm", "end_robust_acc")
            clean = vectors(runs, arch, c, cond, p, "tlm", "stitched_acc")
            diff = sc.diff_ci(tlm, end) if tlm and end else None
            n = f"{len(tlm)} × {len(tlm[0])}" if tlm else "—"
            md.append(f"| {label} | {p} | "
                      f"{sc.fmt_ci(sc.mean_ci(end) if end else None, False)} | " +
                      " | ".join(sc.fmt_ci(robust(runs, arch, c, cond, p, m), False)
                                 for m in METHODS) +
                      f" | {sc.fmt_ci(diff)} | "
                      f"{sc.fmt_ci(sc.mean_ci(clean) if clean else None, False)} | {n} |")
    return md


def trend_table(runs, arch, c):
    pts = ARCHS[arch]
    md = [f"| direction | tlm robust at {pts[-1]} − at {pts[0]} (paired) |", "|---|---|"]
    for cond, label in DIRECTIONS:
        md.append(f"| {label} | {sc.fmt_ci(depth_trend(runs, arch, c, cond))} |")
    return md


SIMS = ["linear_cka", "mutual_knn"]


def recipe(path):
    return "adversarial" if "_adversarial_" in os.path.basename(path) else "standard"


def sim_values(runs, arch):
    """{point: {metric: (same-recipe values, mixed values)}} over the similarity rows, or {}."""
    out = {}
    for r in sc.rows(runs, f"{name(arch)}_sim") or []:
        if r.get("method") != "similarity" or r["front_point"] != r["end_point"]:
            continue
        same = recipe(r["front"]) == recipe(r["end"])
        for m in SIMS:
            if m in r:
                out.setdefault(r["front_point"], {}).setdefault(m, ([], []))[0 if same else 1] \
                    .append(float(r[m]))
    return out


def auc(a, b):
    """P(a > b) + P(a = b) / 2 over all pairs: the Mann-Whitney AUC of a above b."""
    a, b = np.asarray(a)[:, None], np.asarray(b)[None, :]
    return float(((a > b) + 0.5 * (a == b)).mean())


def dprime(a, b):
    sd = math.sqrt((np.var(a, ddof=1) + np.var(b, ddof=1)) / 2)
    return (np.mean(a) - np.mean(b)) / sd if sd > 0 else float("inf")


def separation(vals, stat, draws=2000, seed=0):
    """Per metric the mean over points of stat(same, mixed) with a 95 % bootstrap interval
    (model pairs resampled within each class and point, the same draws for both metrics), and
    the paired difference mutual_knn - linear_cka. {key: (value, lo, hi)}."""
    rng = np.random.default_rng(seed)
    pts = sorted(vals)
    est = {m: np.mean([stat(*vals[p][m]) for p in pts]) for m in SIMS}
    boots = {m: [] for m in SIMS}
    for _ in range(draws):
        picks = {p: [rng.integers(0, len(x), len(x)) for x in vals[p][SIMS[0]]] for p in pts}
        for m in SIMS:
            boots[m].append(np.mean([stat(*(np.asarray(x)[i] for x, i in zip(vals[p][m],
                                                                             picks[p])))
                                     for p in pts]))
    out = {}
    for m in SIMS:
        b = np.asarray(boots[m])
        b = b[np.isfinite(b)]
        out[m] = (est[m], *(np.percentile(b, [2.5, 97.5]) if len(b) else (float("nan"),) * 2))
    d = np.asarray(boots["mutual_knn"]) - np.asarray(boots["linear_cka"])
    d = d[np.isfinite(d)]
    out["diff"] = (est["mutual_knn"] - est["linear_cka"],
                   *(np.percentile(d, [2.5, 97.5]) if len(d) else (float("nan"),) * 2))
    return out


def separation_table(runs):
    md = ["| network | statistic | linear_cka | mutual_knn | mutual_knn − linear_cka | "
          "pairs per point |", "|---|---|---|---|---|---|"]
    results = {}
    for arch in ARCHS:
        vals = sim_values(runs, arch)
        if not vals or any(len(v) < len(SIMS) or min(len(x) for m in v.values() for x in m) < 2
                           for v in vals.values()):
            continue  # both metrics, and two pairs of each class at every point
        n = next(iter(vals.values()))["linear_cka"]
        for label, stat in (("AUC", auc), ("d′", dprime)):
            r = separation(vals, stat)
            results[(arch, label)] = r
            f = (lambda v: f"{v[0]:.2f} [{v[1]:.2f}, {v[2]:.2f}]") if label == "AUC" else (
                lambda v: f"{v[0]:+.1f} [{v[1]:+.1f}, {v[2]:+.1f}]")
            md.append(f"| {arch} | {label} | {f(r['linear_cka'])} | {f(r['mutual_knn'])} | "
                      f"{f(r['diff'])} | {len(n[0])} same + {len(n[1])} mixed |")
    return (md if results else []), results


def section(runs):
    begin, end = sc.marker_lines("adversarial_transfer")
    md = [begin, ""]
    names = []
    for arch in ARCHS:
        c = cells(runs, arch)
        if not c:
            md += [f"(runs/{name(arch)} has not run yet)", ""]
            continue
        names.append(name(arch))
        md += [f"#### {arch}: PGD-20 robust accuracy (%) of the stitched model and of the end "
               "model alone", ""]
        md += robust_table(runs, arch, c)
        md += ["", f"{arch}: does robustness depend on where the cut is? (points)", ""]
        md += trend_table(runs, arch, c) + [""]
    sep, _ = separation_table(runs)
    if sep:
        md += ["#### Does mutual k-NN separate the recipes better than linear CKA?", "",
               "Same-recipe pairs (standard–standard, adversarial–adversarial) against mixed "
               "ones, the same 12 model pairs at each point (2000 test images): AUC (share of "
               "same/mixed pairs ordered correctly) and d′ (difference of means over the pooled "
               "SD), averaged over the three points, with 95 % bootstrap intervals over model "
               "pairs (the same draws for both metrics, so their difference is paired).", ""]
        md += sep + [""]
        names += [f"{name(a)}_sim" for a in ARCHS if sc.rows(runs, f"{name(a)}_sim")]
    md += ["PGD-20, ε = 0.1, α = 0.01, random start (the zoo's recipe), on the first 1000 test "
           "images; clean accuracy on the first 2000 (cnn) / 1000 (resnet). Mean over three "
           "independent model pairs with the 95 % two-level bootstrap interval (n = model pairs "
           "× images). \"tlm − end\" is the paired difference between the stitched model and "
           "the end model alone on the same images.", ""]
    if names:
        md += [sc.provenance_line(runs, names, "study_times.tsv"), ""]
    md += [end]
    return "\n".join(md)


def main():
    sc.section_main(__doc__, "adversarial_transfer", lambda runs, _: section(runs))


if __name__ == "__main__":
    main()
