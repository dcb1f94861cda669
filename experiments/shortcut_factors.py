#!/usr/bin/env python3
"""Study 2c (second edition): the width and marker-saliency factors of the shortcut dose study.

Reads the sweeps of experiments/shortcut_factors.sh (runs/shortcut_{width,colour}[_e300]_<markers>)
beside the grey x1 cell they are compared with (runs/shortcut_dose_e{10,300}_<markers>, from
experiments/shortcut_dose.sh), subtracts each one's rand control per image and model pair, and
writes experiments/figures/shortcut_dose_factors.png and the section between the
shortcut_factors markers of experiments/README.md.
Every number: mean over the model pairs with its 95 % two-level bootstrap interval (n = model
pairs x images; scripts/report_stats.py). A factor's difference from the grey x1 cell compares
different model pairs on the same 2000 test images: images are resampled jointly, the model
pairs of each side independently.
Usage: /usr/bin/python3 experiments/shortcut_factors.py [--runs runs] [--print]
"""
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

import shortcut_dose as dose  # noqa: E402
import study_common as sc  # noqa: E402
from study_common import ROOT  # noqa: E402

# (key, label, sweep stem, condition): the grey x1 cell of shortcut_dose.yaml first.
LEVELS = [("grey", "grey markers, cnn ×1", "shortcut_dose", "coarse"),
          ("width", "grey markers, cnn ×4 wide", "shortcut_width", "width"),
          ("colour", "colour markers, RGB cnn ×1", "shortcut_colour", "colour")]
BUDGETS = [(10, "390"), (300, "11,700")]


def sweep(stem, epochs, markers):
    """The sweep name of one level at one budget: shortcut_dose keeps its e<epochs> names, the
    factor sweeps name only the long budget."""
    if stem == "shortcut_dose":
        return f"shortcut_dose_e{epochs}_{markers}"
    return f"{stem}{'' if epochs == 10 else f'_e{epochs}'}_{markers}"


def excess(runs, stem, cond, epochs, method, metric):
    """Per-replicate vectors of pixel_loc minus rand (keys, vectors), or None if not run."""
    return dose.subtracted_vectors(runs, sweep(stem, epochs, "pixel_loc"),
                                   sweep(stem, epochs, "rand"), cond, method, metric)


def results(runs):
    """{(level, epochs, method, metric): (mean, lo, hi, pairs, images)} and the differences
    from the grey x1 cell {(level, epochs, method): (diff, lo, hi)} of excess agreement."""
    out, diff = {}, {}
    for e, _ in BUDGETS:
        for m in dose.METHODS:
            for metric, _ in dose.METRICS:
                for key, _, stem, cond in LEVELS:
                    # as shortcut_dose.subtracted computes it, so the grey x1 rows repeat the
                    # budget table's numbers to the digit
                    out[(key, e, m, metric)] = dose.subtracted(
                        runs, sweep(stem, e, "pixel_loc"), sweep(stem, e, "rand"), cond, m, metric)
            base = excess(runs, "shortcut_dose", "coarse", e, m, "excess_agreement")
            for key, _, stem, cond in LEVELS[1:]:
                v = excess(runs, stem, cond, e, m, "excess_agreement")
                if base and v:
                    d, lo, hi = sc.rs.paired_bootstrap_diff(v[1], base[1], False)
                    diff[(key, e, m)] = (100 * d, 100 * lo, 100 * hi)
    return out, diff


def tables(res, diff):
    md = ["| cell | steps | metric | " + " | ".join(dose.METHODS) + " | n |",
          "|---|---|---|" + "---|" * (len(dose.METHODS) + 1)]
    for e, steps in BUDGETS:
        for key, label, _, _ in LEVELS:
            for metric, mlabel in dose.METRICS:
                vals = [res.get((key, e, m, metric)) for m in dose.METHODS]
                if not any(vals):
                    continue
                n = next((f"{v[3]} × {v[4]}" for v in vals if v), "—")
                md.append(f"| {label} | {steps} | {mlabel} | " +
                          " | ".join(dose.cell(v) for v in vals) + f" | {n} |")
    md += ["", "Difference from the grey ×1 cell at the same budget (rand-subtracted excess "
           "agreement, points; different model pairs, the same test images):", "",
           "| cell − grey ×1 | steps | " + " | ".join(dose.METHODS) + " |",
           "|---|---|" + "---|" * len(dose.METHODS)]
    for e, steps in BUDGETS:
        for key, label, _, _ in LEVELS[1:]:
            vals = [diff.get((key, e, m)) for m in dose.METHODS]
            if any(vals):
                md.append(f"| {label} | {steps} | " + " | ".join(sc.fmt_ci(v) for v in vals) + " |")
    return md


def figure(res, png):
    fig, axes = plt.subplots(1, 2, figsize=(10, 4), constrained_layout=True)
    for ax, (metric, mlabel) in zip(axes, dose.METRICS):
        for i, m in enumerate(dose.METHODS):
            for e, steps in BUDGETS:
                pts = [(x, res.get((key, e, m, metric))) for x, (key, _, _, _) in enumerate(LEVELS)]
                pts = [(x, v) for x, v in pts if v is not None]
                if not pts:
                    continue
                px = [x + 0.06 * (i - 1.5) + (0.3 if e != 10 else 0) for x, _ in pts]
                err = [[v[0] - v[1] for _, v in pts], [v[2] - v[0] for _, v in pts]]
                ax.errorbar(px, [v[0] for _, v in pts], yerr=err, capsize=3, color=dose.COLOURS[m],
                            marker="o" if e == 10 else "s", ls="-" if e == 10 else "--",
                            mfc=dose.COLOURS[m] if e == 10 else "white",
                            label=f"{m}, {steps} steps")
        if metric == "excess_agreement":
            ax.axhspan(*dose.PAPER_BAND, color="grey", alpha=0.2, label="FuLA paper, TLM/SLM")
        ax.axhline(0, color="black", lw=0.8)
        ax.set_xticks(range(len(LEVELS)))
        ax.set_xticklabels([label.replace(", ", "\n") for _, label, _, _ in LEVELS])
        ax.set_xlabel("models and markers (block3 cell, coarse-group front)")
        ax.set_ylabel(f"{mlabel} minus rand control (points)")
        ax.set_ylim(-10, 100)
        ax.set_title(f"{mlabel}: width and marker saliency")
    axes[0].legend(loc="upper left", fontsize=7, ncol=2)
    fig.savefig(png, dpi=120)
    plt.close(fig)


def piece_names():
    stems = [stem for _, _, stem, _ in LEVELS[1:]]
    return [f"{stem}_zoo" for stem in stems] + [
        sweep(stem, e, mk) for stem in stems for e, _ in BUDGETS for mk in ("pixel_loc", "rand")]


def make(runs, print_only):
    res, diff = results(runs)
    begin, end = sc.marker_lines("shortcut_factors")
    md = [begin, ""]
    if not any(v for (k, *_), v in res.items() if k != "grey"):
        md += ["(not run yet)", "", end]
        return "\n".join(md)
    md += ["Rand-subtracted excess agreement and `marker_follow` (points), block3 cell, "
           "coarse-group fronts into ten-class ends of another seed (3 model pairs per cell), "
           "2000 test images; mean [95 % two-level bootstrap interval].", ""]
    md += tables(res, diff)
    md += ["", "![width and marker saliency](figures/shortcut_dose_factors.png)", "",
           sc.provenance_line(runs, piece_names(), "shortcut_dose_times.tsv"), ""]
    times = sc.piece_times(runs, "shortcut_dose_times.tsv", piece_names())
    if times:
        md += ["Wall time per piece (2 cores): " +
               ", ".join(f"{n} {s // 60} min {s % 60} s" for n, s in times), ""]
    md.append(end)
    if not print_only:
        figure(res, ROOT / "experiments" / "figures" / "shortcut_dose_factors.png")
    return "\n".join(md)


if __name__ == "__main__":
    sc.section_main(__doc__, "shortcut_factors", make)
