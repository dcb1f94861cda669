#!/usr/bin/env python3
"""Study 2b (second edition): tables of shortcut-trained <-> standard cnn stitching.

Reads runs/shortcut_transfer (experiments/shortcut_transfer.yaml: four directions x three
independent model pairs x three points x four methods, 2000 test images with markers) and writes
the section between the shortcut_transfer markers of experiments/README.md:
  - marker_follow of the stitched model per method and of the end model alone, and the paired
    difference stitched - end (TLM), per direction and point;
  - excess agreement per method.
Every number: mean over the three model pairs with its 95 % two-level bootstrap interval
(scripts/report_stats.py; n = model pairs x images).
Usage: /usr/bin/python3 experiments/shortcut_transfer.py [--runs runs] [--print]
"""
from collections import defaultdict

import study_common as sc
from study_common import ROOT

NAME = "shortcut_transfer"
METHODS = ["dm_closed", "tlm", "slm", "fula"]
POINTS = ["block1", "block2", "block3"]
DIRECTIONS = [("std_to_std", "standard → standard"), ("sc_to_std", "shortcut → standard"),
              ("std_to_sc", "standard → shortcut"), ("sc_to_sc", "shortcut → shortcut")]


def cells(runs):
    """{(condition, point, method): [rows, one per replicate, in replicate order]}."""
    out = defaultdict(dict)
    for r in sc.rows(runs, NAME) or []:
        out[(r.get("condition", ""), r["front_point"], r["method"])][sc.replicate_key(r)] = r
    return {k: [v[key] for key in sorted(v)] for k, v in out.items()}


def follow_table(runs, c):
    md = ["| direction | point | end alone | " + " | ".join(METHODS) +
          " | tlm − end (paired) | n |", "|---|---|" + "---|" * (len(METHODS) + 3)]
    for cond, label in DIRECTIONS:
        for p in POINTS:
            rs_ = {m: c.get((cond, p, m)) for m in METHODS}
            if not any(rs_.values()):
                continue
            base = rs_["dm_closed"] or next(v for v in rs_.values() if v)
            end = sc.per_image(runs, NAME, base, "end_marker_follow")
            vals = {m: sc.per_image(runs, NAME, v, "marker_follow") if v else None
                    for m, v in rs_.items()}
            diff = None
            if vals["tlm"] is not None and rs_["tlm"] and end is not None:
                end_t = sc.per_image(runs, NAME, rs_["tlm"], "end_marker_follow")
                diff = sc.diff_ci(vals["tlm"], end_t)
            n = f"{len(base)} × {len(end[0])}" if end else "—"
            md.append(f"| {label} | {p} | {sc.fmt_ci(sc.mean_ci(end) if end else None, False)} | " +
                      " | ".join(sc.fmt_ci(sc.mean_ci(v) if v else None, False)
                                 for v in vals.values()) + f" | {sc.fmt_ci(diff)} | {n} |")
    return md


def excess_table(runs, c):
    md = ["| direction | point | " + " | ".join(METHODS) + " | n |",
          "|---|---|" + "---|" * (len(METHODS) + 1)]
    for cond, label in DIRECTIONS:
        for p in POINTS:
            vals = [c.get((cond, p, m)) for m in METHODS]
            if not any(vals):
                continue
            vecs = [sc.per_image(runs, NAME, v, "excess_agreement") if v else None for v in vals]
            n = next((f"{len(v)} × {len(v[0])}" for v in vecs if v), "—")
            md.append(f"| {label} | {p} | " +
                      " | ".join(sc.fmt_ci(sc.mean_ci(v) if v else None) for v in vecs) +
                      f" | {n} |")
    return md


def section(runs):
    c = cells(runs)
    begin, end = sc.marker_lines(NAME)
    if not c:
        return "\n".join([begin, "", f"(runs/{NAME} has not run yet)", "", end])
    md = [begin, "",
          "`marker_follow` (%): share of test images, carrying the *next* class's marker, on "
          "which the model predicts that marker's class (docs/methods.md §1.6b). Stitch trained "
          "on clean images (8000, 2 epochs), evaluated on 2000 test images; mean over three "
          "independent model pairs with the 95 % two-level bootstrap interval (n = model pairs "
          "× images). \"tlm − end\" is the paired difference between the stitched model and "
          "the end model alone on the same images.", ""]
    md += follow_table(runs, c)
    md += ["", "Excess agreement (points; agreement with the end model under correct minus "
           "under rolled markers):", ""]
    md += excess_table(runs, c)
    md += ["", sc.provenance_line(runs, [NAME], "study_times.tsv"), "", end]
    return "\n".join(md)


def main():
    sc.section_main(__doc__, NAME, lambda runs, _: section(runs))


if __name__ == "__main__":
    main()
