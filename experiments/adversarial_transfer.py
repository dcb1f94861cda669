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
Every number: mean over the three model pairs with its 95 % two-level bootstrap interval
(scripts/report_stats.py; n = model pairs x images).
Usage: /usr/bin/python3 experiments/adversarial_transfer.py [--runs runs] [--print]
"""
from collections import defaultdict

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
    a = sc.cli_args(__doc__)
    text = section(a.runs)
    if not a.print:
        sc.readme_write("adversarial_transfer", text, a.readme)
    print(text)


if __name__ == "__main__":
    main()
