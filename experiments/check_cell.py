#!/usr/bin/env python3
"""Re-runs one cell of a second-edition study and compares it with experiments/README.md.

The cell's jobs (all model pairs of one condition, one point, one method; for shortcut_dose with
its rand control, for cross_layer2 with the untrained fronts) are run again from the study's YAML into a fresh folder with a fresh store,
with any extra `--set` settings given; the mean is then compared with the README's generated
table (value and 95 % interval). Exit status 0 when the re-run mean lies inside the README's
interval, 1 when not.
  /usr/bin/python3 experiments/check_cell.py shortcut_transfer [--stitch build/stitch] [--set k=v]
  /usr/bin/python3 experiments/check_cell.py shortcut_dose
  /usr/bin/python3 experiments/check_cell.py adversarial_transfer
  /usr/bin/python3 experiments/check_cell.py cross_layer2
"""
import argparse
import re
import subprocess
import sys
import tempfile
import pathlib

import yaml

import study_common as sc
from random_fronts import random_fronts
from study_common import ROOT

# study -> (YAML, condition, point, method, README row prefix, metric, column, runs)
CELLS = {
    "shortcut_transfer": dict(
        yaml="experiments/shortcut_transfer.yaml", condition="std_to_sc", point="block2",
        method="tlm", row="| standard → shortcut | block2 |", metric="marker_follow",
        column=4, runs=[("shortcut_transfer", {})]),
    "adversarial_transfer": dict(
        yaml="experiments/adversarial_transfer_cnn.yaml", condition="adv_to_std", point="block2",
        method="tlm", row="| adversarial → standard | block2 |", metric="robust_acc", column=4,
        runs=[("adversarial_transfer", {})]),
    # trained minus untrained front, each run with its own models (the condition after the name)
    "cross_layer2": dict(
        yaml="experiments/cross_layer2_cnn.yaml", condition="trained", point="block2",
        method="fula", row="| cnn → cnn | block2 |", metric="stitched_acc", column=7,
        runs=[("check_trained", {}, "trained"), ("check_random", {}, "random_init")]),
    "shortcut_dose": dict(
        yaml="experiments/shortcut_dose.yaml", condition="coarse", point="block3",
        method="tlm", row="| 10 epochs = 390 steps | excess agreement |",
        metric="excess_agreement", column=3,
        runs=[("check_markers", {"train": {"markers": "pixel_loc", "epochs": 10}}),
              ("check_rand", {"train": {"markers": "rand", "epochs": 10}})]),
}


def readme_cell(study, spec):
    """(value, lo, hi) of the cell in the study's generated README section."""
    text = (ROOT / "experiments" / "README.md").read_text()
    a = text.index(f"<!-- {study}:begin")
    b = text.index(f"<!-- {study}:end -->")
    for line in text[a:b].splitlines():
        if line.startswith(spec["row"]):
            cells = [c.strip() for c in line.strip("|").split("|")]
            m = re.match(r"([+-]?[\d.]+) \[([+-]?[\d.]+), ([+-]?[\d.]+)\]", cells[spec["column"]])
            if m:
                return tuple(float(x) for x in m.groups())
    sys.exit(f"README has no generated cell '{spec['row']}' column {spec['column']} for {study}: "
             "run the study and its script first")


def merge(base, extra):
    for k, v in extra.items():
        if isinstance(v, dict):
            merge(base.setdefault(k, {}), v)
        else:
            base[k] = v


def run_cell(spec, stitch, sets, out):
    """Runs the cell's sweeps into `out`; returns per-image vectors of each run."""
    cfg = yaml.safe_load((ROOT / spec["yaml"]).read_text())
    if any("random_fronts" in m["front"] for m in cfg["models"]):
        random_fronts()
    models = cfg["models"]
    cfg.update(front_points=[spec["point"]], end_points=[spec["point"]], methods=[spec["method"]],
               out_dir=str(out))
    cfg["store"] = {"dir": str(out / "store")}
    vectors = []
    for name, extra, *cond in spec["runs"]:
        cfg["models"] = [m for m in models
                         if m.get("condition") == (cond[0] if cond else spec["condition"])]
        c = yaml.safe_load(yaml.safe_dump(cfg))
        merge(c, extra)
        c["name"] = name
        path = out / f"{name}.yaml"
        path.write_text(yaml.safe_dump(c))
        cmd = [stitch, "sweep", "run", str(path)] + [a for s in sets for a in ("--set", s)]
        subprocess.run(cmd, check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
        rows = sorted(sc.rows(out, name), key=sc.replicate_key)
        vectors.append(sc.per_image(out, name, rows, spec["metric"]))
    return vectors


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("study", choices=sorted(CELLS))
    ap.add_argument("--stitch", default=str(ROOT / "build" / "stitch"))
    ap.add_argument("--set", action="append", default=[], help="extra sweep setting key=value")
    a = ap.parse_args()
    spec = CELLS[a.study]
    value, lo, hi = readme_cell(a.study, spec)
    with tempfile.TemporaryDirectory(prefix="check_cell_") as tmp:
        v = run_cell(spec, a.stitch, a.set, pathlib.Path(tmp))
    got = sc.diff_ci(v[0], v[1]) if len(v) == 2 else sc.mean_ci(v[0])
    inside = lo <= got[0] <= hi
    print(f"{a.study}: {spec['condition']} {spec['point']} {spec['method']} {spec['metric']}: "
          f"re-run {sc.fmt_ci(got)} (n = {len(v[0])} × {len(v[0][0])}); README {value:+.1f} "
          f"[{lo:+.1f}, {hi:+.1f}]: {'inside' if inside else 'OUTSIDE'} the README's interval")
    sys.exit(0 if inside else 1)


if __name__ == "__main__":
    main()
