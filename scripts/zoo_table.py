#!/usr/bin/env python3
"""Writes the zoo table of models/README.md from the trained files' own metadata.

Every model in models/zoo/*.pt carries its accuracies and train_info (stitch train-model): this
script reads them with torch.jit.load and replaces the lines between the zoo-table markers of
models/README.md, so that the table is never copied by hand. Robust accuracy: PGD-20, eps 0.1,
on the first 1000 test images; marker / rolled: shortcut models with the correct / the next
class's marker on every test image.
Usage: /usr/bin/python3 scripts/zoo_table.py [--print]
"""
import argparse
import json
import pathlib
import re

import torch

from readme_section import section_write

ROOT = pathlib.Path(__file__).resolve().parent.parent
BEGIN = "<!-- zoo-table:begin (written by scripts/zoo_table.py from the model files; do not edit) -->"
END = "<!-- zoo-table:end -->"
ARCH_ORDER = ["cnn", "cnn_w4", "cnn_rgb", "resnet", "mlp", "vit"]
RECIPE_ORDER = ["standard", "coarse", "adversarial", "shortcut"]


def pct(x):
    return "" if x is None or x < 0 else f"{100 * x:.2f}"


def describe(path):
    m = torch.jit.load(str(path), map_location="cpu")
    info = json.loads(m.train_info)
    stem = path.stem  # <arch>[_w<width>][_rgb]_<recipe>_s<seed>
    arch, recipe, seed = re.match(r"([a-z]+(?:_w\d+|_rgb)*)_(\w+)_s(\d+)$", stem).groups()
    secs = info.get("train_seconds", 0)
    return {
        "arch": arch, "recipe": recipe, "seed": int(seed),
        "clean": pct(m.clean_accuracy), "robust": pct(m.robust_accuracy),
        "marker": pct(m.marker_accuracy), "rolled": pct(m.rolled_marker_accuracy),
        "time": f"{int(secs) // 60}m{int(secs) % 60:02d}s",
        "commit": info.get("git_commit", "")[:12],
    }


def table():
    rows = [describe(p) for p in sorted((ROOT / "models" / "zoo").glob("*.pt"))]
    rows.sort(key=lambda r: (ARCH_ORDER.index(r["arch"]) if r["arch"] in ARCH_ORDER else 9,
                             RECIPE_ORDER.index(r["recipe"]) if r["recipe"] in RECIPE_ORDER else 9,
                             r["seed"]))
    md = [BEGIN, "",
          "| model | recipe | clean % | PGD-20 robust % | marker % | rolled % | train time | "
          "commit |", "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        md.append(f"| {r['arch']} s{r['seed']} | {r['recipe']} | {r['clean']} | {r['robust']} | "
                  f"{r['marker']} | {r['rolled']} | {r['time']} | {r['commit']} |")
    md += ["", "Ranges over seeds (%): " + "; ".join(ranges(rows)) + ".", "", END]
    return "\n".join(md)


def ranges(rows):
    """'cnn standard (3 seeds): clean 92.02-92.27, robust 0.10-0.50' per arch and recipe."""
    out = []
    groups = {}
    for r in rows:
        groups.setdefault((r["arch"], r["recipe"]), []).append(r)
    for (arch, recipe), rs in groups.items():
        parts = []
        for key in ("clean", "robust", "marker", "rolled"):
            v = [float(r[key]) for r in rs if r[key]]
            if v:
                parts.append(f"{key} {min(v):.2f}–{max(v):.2f}")
        out.append(f"{arch} {recipe} ({len(rs)} seeds): " + ", ".join(parts))
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--print", action="store_true", help="print the table, write nothing")
    a = ap.parse_args()
    text = table()
    if a.print:
        print(text)
        return
    section_write(ROOT / "models" / "README.md", "zoo-table", text)
    print(text)


if __name__ == "__main__":
    main()
