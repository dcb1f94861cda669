#!/usr/bin/env python3
"""Writes the summary table at the top of experiments/README.md (issue 18, item 5).

Rows of the second edition are computed from the runs (replicated, 95 % intervals, n); rows
whose study has not been re-run with replicates say so and are worded as not established.
Usage: /usr/bin/python3 experiments/summary.py [--runs runs] [--print]
"""
import adversarial_transfer as adv
import cross_layer2 as grids
import shortcut_dose as dose
import shortcut_factors as factors
import shortcut_transfer as transfer
import study_common as sc
from study_common import ROOT


def zoo_robust(arch, recipe):
    """(mean, lo, hi, seeds) of PGD-20 robust accuracy (%) over the zoo's seeds of a recipe."""
    import torch  # only here: the other rows need no torch

    vals = [100 * torch.jit.load(str(p), map_location="cpu").robust_accuracy
            for p in sorted((ROOT / "models" / "zoo").glob(f"{arch}_{recipe}_s*.pt"))]
    m, lo, hi, n = sc.rs.t_interval(vals)
    return m, max(lo, 0.0), min(hi, 100.0), n, min(vals), max(vals)


def t_text(v):
    m, lo, hi, n, vmin, vmax = v
    return (f"{m:.1f} % [{lo:.1f}, {hi:.1f}] (t-interval over n = {n} seeds, each on 1000 images; "
            f"range {vmin:.1f}–{vmax:.1f})")


def dose_diff(runs, run, control, condition, a, b, metric="excess_agreement"):
    """(A - B) of the rand-subtracted metric, paired over model pairs and images, in points."""
    pa = dose.subtracted_vectors(runs, run, control, condition, a, metric)
    pb = dose.subtracted_vectors(runs, run, control, condition, b, metric)
    if pa is None or pb is None or pa[0] != pb[0]:  # the same replicates on both sides
        return None
    da, db = pa[1], pb[1]
    return sc.diff_ci(da, db) + (len(da), len(da[0]))


def ci_n(v):
    if v is None:
        return "(not run yet)"
    return f"{sc.fmt_ci(v[:3])} (n = {v[3]} model pairs × {v[4]} images)"


def effect_answer(v):
    """Words for a rand-subtracted effect against the paper's 80-90 points."""
    if v is None:
        return "(not run yet)"
    d, lo, hi = v[:3]
    if lo <= 0:
        return "not established (the interval includes 0)"
    size = "far below the paper's 80–90" if hi < 40 else (
        "below the paper's 80–90" if hi < 80 else "at the paper's size")
    return f"yes, {d:+.1f} points: {size}"


def gap_answer(gap):
    known = {c: v for c, v in gap.items() if v is not None}
    if len(known) < 2:
        return "(not run yet)"
    best = max(known, key=lambda c: known[c][0])
    others = [v for c, v in known.items() if c != best]
    if all(known[best][1] > v[2] for v in others):
        return f"yes: largest with the {dict(dose.FRONTS)[best]} front"
    return "not established (intervals overlap)"


def paper_fula(fula_tlm, fula_slm):
    """Whether FuLA's place relative to TLM and SLM matches the paper (FuLA ~25 < TLM, SLM)."""
    if fula_tlm is None or fula_slm is None:
        return "—"
    tlm = "FuLA < TLM: agrees" if fula_tlm[2] < 0 else "FuLA < TLM: not shown"
    slm = ("FuLA < SLM: agrees" if fula_slm[2] < 0 else
           "FuLA < SLM: not here (SLM barely exploits the markers; paper: SLM 80–90)")
    return f"{tlm}; {slm}"


def shortcut_rows(runs):
    e10 = dose.subtracted(runs, "shortcut_dose_e10_pixel_loc", "shortcut_dose_e10_rand", "coarse",
                          "tlm", "excess_agreement")
    e300 = dose.subtracted(runs, "shortcut_dose_e300_pixel_loc", "shortcut_dose_e300_rand",
                           "coarse", "tlm", "excess_agreement")
    gap = {c: dose.subtracted(runs, "shortcut_gap_pixel_loc", "shortcut_gap_rand", c, "tlm",
                              "excess_agreement") for c, _ in dose.FRONTS}
    fula_tlm = dose_diff(runs, "shortcut_dose_e300_pixel_loc", "shortcut_dose_e300_rand",
                         "coarse", "fula", "tlm")
    fula_slm = dose_diff(runs, "shortcut_dose_e300_pixel_loc", "shortcut_dose_e300_rand",
                         "coarse", "fula", "slm")
    fula_tlm2 = dose_diff(runs, "shortcut_dose_block2_e300_pixel_loc",
                          "shortcut_dose_block2_e300_rand", "coarse", "fula", "tlm")
    rand = None
    r = sc.rows(runs, "shortcut_dose_e10_rand")
    if r:
        rows_ = sorted((x for x in r if x["method"] == "tlm"), key=sc.replicate_key)
        v = sc.per_image(runs, "shortcut_dose_e10_rand", rows_, "excess_agreement")
        rand = sc.mean_ci(v) + (len(v), len(v[0])) if v else None
    return [
        ("Do stitches exploit markers planted in their training data (cross-task front, block3, "
         "pixel_loc patterns, 390 steps)?",
         effect_answer(e10), f"TLM excess agreement minus the rand control "
         f"{ci_n(e10)}", "no (paper: TLM/SLM 80–90 points)"),
        ("Does the paper's budget (11,700 steps) bring TLM towards the paper?",
         effect_answer(e300) + "; TLM grows with the budget (2c), SLM and FuLA do not",
         f"TLM, rand-subtracted: {ci_n(e300)}", "partly (paper: 80–90)"),
        ("Does the front's task gap matter (390 steps)?", gap_answer(gap),
         "TLM, rand-subtracted: " + "; ".join(f"{label} {ci_n(gap[c])}" for c, label in
                                             dose.FRONTS), "—"),
        ("Does FuLA stay below TLM and SLM (11,700 steps)?",
         "(not run yet)" if fula_tlm is None or fula_slm is None else
         f"{sc.rs.verdict(fula_tlm[1], fula_tlm[2], 'FuLA', 'TLM')}; FuLA vs SLM: "
         f"{sc.rs.verdict(fula_slm[1], fula_slm[2], 'FuLA', 'SLM')}",
         f"rand-subtracted excess agreement, block3: FuLA − TLM {ci_n(fula_tlm)}; FuLA − SLM "
         f"{ci_n(fula_slm)}; block2: FuLA − TLM {ci_n(fula_tlm2)}",
         paper_fula(fula_tlm, fula_slm)),
        ("Does the rand control stay near zero?",
         "(not run yet)" if rand is None else
         ("yes, within ±3 points" if -3 < rand[1] and rand[2] < 3 else "no"),
         f"TLM excess agreement with rand markers in training {ci_n(rand)}", "yes (paper: ≈ 0)"),
    ]


def depth_row(runs):
    """TLM's rand-subtracted excess agreement at block2 and block3 (390 and 11,700 steps), and
    block2 - block3 paired over model pairs and images."""
    vals, diffs = {}, {}
    for e in (10, 300):
        sub = {}
        for point in dose.POINTS:
            t = dose.tag(point)
            p = dose.subtracted_vectors(runs, f"shortcut_dose{t}_e{e}_pixel_loc",
                                        f"shortcut_dose{t}_e{e}_rand", "coarse", "tlm",
                                        "excess_agreement")
            if p:
                sub[point] = p
        if len(sub) < 2 or sub["block2"][0] != sub["block3"][0]:
            continue
        vals[e] = {pt: sc.mean_ci(v) for pt, (_, v) in sub.items()}
        diffs[e] = sc.diff_ci(sub["block2"][1], sub["block3"][1])
    q = "Does the cut's depth change the shortcut effect (block2 vs block3)?"
    if not diffs:
        return [(q, "(not run yet)", "", "—")]
    steps = {10: "390", 300: "11,700"}
    answer = "; ".join(f"{steps[e]} steps: {sc.rs.verdict(d[1], d[2], 'block2', 'block3')}"
                       for e, d in diffs.items())
    number = "; ".join(f"{steps[e]} steps: block2 {sc.fmt_ci(vals[e]['block2'])} vs block3 "
                       f"{sc.fmt_ci(vals[e]['block3'])}, difference {sc.fmt_ci(d)}"
                       for e, d in diffs.items())
    return [(q, answer, f"TLM excess agreement minus the rand control: {number} (n = 3 model "
             "pairs × 2000 images)", "— (the paper's effect peaks at its layers 5–7)")]


def versus_grey(d):
    """Words for a factor cell minus the grey x1 cell (diff, lo, hi)."""
    if d[1] > 0:
        return "above grey ×1"
    if d[2] < 0:
        return "below grey ×1"
    return "no difference established"


def factor_rows(runs):
    """Width (x4) and colour markers against the grey x1 cell, TLM and SLM, at both budgets; and
    FuLA - TLM in the factor cells (paired over model pairs and images)."""
    res, diff = factors.results(runs)
    short = {"width": "×4 wide", "colour": "colour"}
    q = ("Do a 4× wider cnn or colour markers on RGB data bring TLM/SLM towards the paper's "
         "80–90 points (block3)?")
    answers, numbers, highs = [], [], []
    for key, _, stem, cond in factors.LEVELS[1:]:
        for e, steps in factors.BUDGETS:
            for m in ("tlm", "slm"):
                v, d = res.get((key, e, m, "excess_agreement")), diff.get((key, e, m))
                if v is None or d is None:
                    continue
                what = f"{short[key]} {m.upper()} {steps} steps"
                answers.append(f"{what}: {versus_grey(d)}")
                numbers.append(f"{what} {sc.fmt_ci(v[:3])}, minus grey ×1 {sc.fmt_ci(d)}")
                highs.append(v[2])
    paper = ("no: every cell far below 80–90" if highs and max(highs) < 80 else "—")
    rows = [(q, "; ".join(answers) or "(not run yet)",
             "rand-subtracted excess agreement: " + "; ".join(numbers) +
             " (n = 3 model pairs × 2000 images per cell)" if numbers else "", paper)]
    fula = []
    for key, _, stem, cond in factors.LEVELS[1:]:
        for e, steps in factors.BUDGETS:
            run = factors.sweep(stem, e, "pixel_loc")
            v = dose_diff(runs, run, factors.sweep(stem, e, "rand"), cond, "fula", "tlm")
            if v is not None:
                fula.append((f"{short[key]} {steps} steps", v))
    if fula:
        rows.append(("Does FuLA stay below TLM with a wider cnn or colour markers?",
                     "; ".join(f"{w}: {sc.rs.verdict(v[1], v[2], 'FuLA', 'TLM')}" for w, v in fula),
                     "FuLA − TLM, rand-subtracted excess agreement: " +
                     "; ".join(f"{w} {ci_n(v)}" for w, v in fula),
                     "yes where TLM exploits the markers (paper: FuLA ≈ 25 points below TLM/SLM)"))
    return rows


def transfer_rows(runs):
    c = transfer.cells(runs)
    if not c:
        return [("Shortcut-trained ↔ standard cnns", "(not run yet)", "", "")]
    out, hs, gs = [], [], []
    for p in transfer.POINTS:
        h = c.get(("std_to_sc", p, "tlm"))
        if not h:
            continue
        hs.append(sc.mean_ci(sc.per_image(runs, transfer.NAME, h, "marker_follow")))
        gs.append(sc.mean_ci(sc.per_image(runs, transfer.NAME, h, "end_marker_follow")))
        out.append(f"{p}: h {sc.fmt_ci(hs[-1], False)} vs g {sc.fmt_ci(gs[-1], False)}")
    less = all(x[2] < y[1] for x, y in zip(hs, gs))
    deeper = len(hs) > 1 and all(a[1] > b[2] for a, b in zip(hs, hs[1:]))
    answer = ("much less than g alone" if less else "not established") + (
        ", and less the deeper the cut: g's marker reliance lives in its early layers"
        if less and deeper else "")
    n = f"n = {len(h)} model pairs × 2000 images" if h else ""
    return [("Standard front → shortcut-trained end: does the stitched model h follow the end g's "
             "markers?", answer,
             "`marker_follow` (%), TLM: " + "; ".join(out) + f" ({n})",
             "not compared (the paper's cross-bias panel reports agreement only)")]


def adv_direction(runs, cond):
    """Per architecture: (text of h vs g per point, h - g per point, deepest - shallowest)."""
    out = {}
    for arch, points in adv.ARCHS.items():
        c = adv.cells(runs, arch)
        parts, diffs, hs, g_first = [], [], [], None
        for p in points:
            h = adv.vectors(runs, arch, c, cond, p, "tlm", "robust_acc")
            g = adv.vectors(runs, arch, c, cond, p, "tlm", "end_robust_acc")
            if not h or not g:
                break
            g_first = g_first or g  # the end model alone: the same at every point
            diffs.append(sc.diff_ci(h, g))
            hs.append(sc.mean_ci(h))
            parts.append(f"{p} {sc.fmt_ci(hs[-1], False)}")
        if len(diffs) == len(points):
            g_all = sc.mean_ci(g_first)
            out[arch] = (f"{arch}: h " + ", ".join(parts) +
                         f" vs g {sc.fmt_ci(g_all, False)}", diffs,
                         adv.depth_trend(runs, arch, c, cond), max(h[2] for h in hs))
    return out


def trend_words(trend):
    """How h's robust accuracy moves from the shallowest to the deepest cut, in words."""
    if trend is None or (trend[1] <= 0 <= trend[2]):
        return "no change with depth established"
    word = "rises" if trend[1] > 0 else "falls"
    return f"h {word} with the cut's depth ({sc.fmt_ci(trend)} points, deepest − shallowest)"


def adversarial_rows(runs):
    rows = []
    for cond, q, sign in [
            ("adv_to_std", "Does an adversarially trained front make a standard end robust? "
             "(study 1)", 1),
            ("std_to_adv", "Does a standard front keep an adversarially trained end's robustness? "
             "(study 1)", -1)]:
        per = adv_direction(runs, cond)
        if not per:
            rows.append((q, "(not run yet)", "", "—"))
            continue
        answers = []
        for arch, (_, diffs, trend, h_hi) in per.items():
            if sign > 0:
                k = sum(d[1] > 0 for d in diffs)
                a = f"{arch}: h above g at {k} of {len(diffs)} depths"
            else:
                k = sum(d[2] < 0 for d in diffs)
                a = f"{arch}: h below g at {k} of {len(diffs)} depths"
            if h_hi < 1.0:  # nothing left to move with depth
                answers.append(f"{a}; h below 1 % at every depth (the standard early layers "
                               "alone remove it)")
            else:
                answers.append(f"{a}; {trend_words(trend)}")
        n = "n = 3 model pairs × 1000 images each"
        rows.append((q, "; ".join(answers),
                     "PGD-20 robust accuracy (%), TLM: " + "; ".join(v[0] for v in per.values())
                     + f" ({n})", "not compared (METHODS §1.8 has no adversarial numbers)"))
    return rows


def knn_row(runs):
    q = "Does mutual k-NN separate the recipes better than linear CKA? (study 1)"
    _, res = adv.separation_table(runs)
    if not res:
        return (q, "not tested yet (runs/adversarial_transfer_*_sim missing)", "—", "—")
    parts, verdicts, both = [], [], True
    for (arch, stat), r in res.items():
        if stat == "AUC":
            both = both and min(r["linear_cka"][1], r["mutual_knn"][1]) > 0.5
        fmt = "{:.2f}" if stat == "AUC" else "{:+.1f}"
        ci = lambda v: f"{fmt.format(v[0])} [{fmt.format(v[1])}, {fmt.format(v[2])}]"  # noqa
        parts.append(f"{arch} {stat}: CKA {ci(r['linear_cka'])}, mutual k-NN "
                     f"{ci(r['mutual_knn'])}, difference {ci(r['diff'])}")
        verdicts.append(r["diff"][1] > 0)
    answer = ("yes" if all(verdicts) else
              "not established: " + ("both separate same-recipe from mixed pairs (AUC "
                                     "above 0.5), " if both else "") + "neither measurably better")
    return (q, answer, "; ".join(parts) + " (12 model pairs × 3 points, bootstrap over pairs)",
            "—")




def grid_data(runs):
    """{grid name: (label, correlations, diagonal or None)} for the grids that ran."""
    out = {}
    for name, label in grids.GRIDS:
        rows_ = sc.rows(runs, name)
        if not rows_:
            continue
        diffs = grids.control_diffs(runs, name, rows_)
        out[name] = (label, grids.correlations(runs, name, rows_),
                     grids.diagonal(runs, name, rows_, diffs))
    return out


def correlation_row(data):
    parts, pos, partial = [], [], {"> 0": 0, "< 0": 0, "not established": 0}
    for label, corr, _ in data.values():
        for m in grids.METHODS:
            c = corr.get((m, "linear_cka"))
            if c is None:
                continue
            n, _, rho, prho, _ = c
            pos.append(rho[1] > 0)
            partial["> 0" if prho[1] > 0 else "< 0" if prho[2] < 0 else "not established"] += 1
            parts.append(f"{label} {m}: ρ {grids.rho_text(rho)}, partial {grids.rho_text(prho)} "
                         f"({n} cells)")
    if not parts:
        return ("Do stitching and similarity rank cross-layer cells alike? (study 3)",
                "(not run yet)", "", "—")
    answer = (f"yes over whole grids (ρ > 0 in {sum(pos)} of {len(pos)}), but mostly through the "
              f"distance from the diagonal: given the depth offset the partial ρ is > 0 in "
              f"{partial['> 0']}, < 0 in {partial['< 0']}, not established in "
              f"{partial['not established']}")
    return ("Do stitching and similarity rank cross-layer cells alike? (study 3)", answer,
            "Spearman, stitched accuracy vs linear CKA over matched cells of 3 trained pairs "
            "(bootstrap over cells): " + "; ".join(parts),
            "not directly comparable (the paper follows one pair's layers, not grid cells; there "
            "CKA falls in the mid layers where FuLA stays high, §1.8)")


def control_row(data):
    parts, ratios, grows = [], [], []
    for label, _, diag in data.values():
        if not diag:
            continue
        pts = grids.ordered(k[0] for k in diag)
        t, u, d = diag[(pts[0], "fula")]
        deep = next((p for p in reversed(pts) if diag[(p, "fula")][2] is not None), None)
        if None in (t, u, d) or deep is None:
            continue
        ratios.append(100 * u[0] / t[0])
        grows.append(diag[(deep, "fula")][2][1] > d[2])  # deepest interval above the first's
        parts.append(f"{label}, {pts[0]}: trained {sc.fmt_ci(t, False)} vs untrained "
                     f"{sc.fmt_ci(u, False)}, difference {sc.fmt_ci(d)}; at {deep}: "
                     f"{sc.fmt_ci(diag[(deep, 'fula')][2])}")
    if not parts:
        return ("Is stitched accuracy alone evidence of similar representations? (study 3)",
                "(not run yet)", "", "—")
    return ("Is stitched accuracy alone evidence of similar representations? (study 3)",
            f"no: an untrained front stitched at the first point reaches {min(ratios):.0f}–"
            f"{max(ratios):.0f} % of a trained front's accuracy" +
            ("; the trained front's advantage grows with depth" if all(grows) else
             "; a growth with depth is not established everywhere"),
            "FuLA stitched accuracy (%), diagonal cells, 3 pairs × 2000 images: " +
            "; ".join(parts), "agrees with the known caveat")




def section(runs):
    adv, std = zoo_robust("cnn", "adversarial"), zoo_robust("cnn", "standard")
    rows = [("Does the adversarial testbed separate?", "yes",
             f"PGD-20 robust accuracy of the zoo cnns: adversarial {t_text(adv)} vs standard "
             f"{t_text(std)}", "—")]
    gd = grid_data(runs)
    rows += adversarial_rows(runs) + [knn_row(runs)] + transfer_rows(runs) + shortcut_rows(runs) + depth_row(runs)
    rows += factor_rows(runs)
    rows += [correlation_row(gd), control_row(gd)]
    md = ["<!-- summary:begin (written by experiments/summary.py from the runs and the zoo; do "
          "not edit) -->", "",
          "| question | answer | number (95 % interval, n) | agrees with the FuLA paper? |",
          "|---|---|---|---|"]
    md += [f"| {q} | {a} | {n} | {p} |" for q, a, n, p in rows]
    md += ["", "<!-- summary:end -->"]
    return "\n".join(md)


def main():
    sc.section_main(__doc__, "summary", lambda runs, _: section(runs))


if __name__ == "__main__":
    main()
