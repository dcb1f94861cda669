"""Shared by the second-edition study scripts (experiments/shortcut_dose.py,
experiments/shortcut_transfer.py): reading a sweep's rows, replicate-aware means and
differences with 95 % two-level bootstrap intervals (scripts/report_stats.py), and writing a
generated section into experiments/README.md between its markers.
"""
import json
import os
import pathlib
import sys

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
import report_stats as rs  # noqa: E402
from readme_section import section_write  # noqa: E402


def rows(runs, name):
    """The rows of runs/<name>/results.jsonl, or None when the sweep has not run."""
    path = pathlib.Path(runs) / name / "results.jsonl"
    if not path.exists():
        return None
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def replicate_key(r):
    """A replicate: one model pair and seed."""
    return (os.path.basename(r["front"]), os.path.basename(r["end"]), r["seed"])


def per_image(runs, name, rows_, metric):
    """float [N] vectors of `metric`, one per row, or None when one is missing."""
    v = [rs.per_image(str(pathlib.Path(runs) / name), r, metric) for r in rows_]
    return None if any(x is None for x in v) else v


def mean_ci(vectors):
    """Mean over replicates of per-image vectors with the 95 % two-level bootstrap interval
    (images resampled once per draw for every replicate, replicates resampled): the paired
    bootstrap difference against all-zero vectors. Returns (mean, lo, hi) in points."""
    d, lo, hi = rs.paired_bootstrap_diff(vectors, [np.zeros_like(v) for v in vectors], True)
    return 100 * d, 100 * lo, 100 * hi


def diff_ci(a, b):
    """A - B over the same replicates and images, paired on both: (diff, lo, hi) in points."""
    d, lo, hi = rs.paired_bootstrap_diff(a, b, True)
    return 100 * d, 100 * lo, 100 * hi


def fmt_ci(v, sign=True):
    if v is None:
        return "—"
    f = "{:+.1f}" if sign else "{:.1f}"
    return f"{f.format(v[0])} [{f.format(v[1])}, {f.format(v[2])}]"


def readme_write(section, text, readme=ROOT / "experiments" / "README.md"):
    """Replaces the lines between <!-- SECTION:begin ... --> and <!-- SECTION:end --> (atomic)."""
    section_write(readme, section, text)


def provenance_line(runs, names, times_file):
    """'Runs: commit ..., LibTorch ..., device ...; wall time ... (dates)' for the sweeps `names`,
    from their rows and a times file of lines 'name<TAB>seconds<TAB>UTC date' (runs/)."""
    commits, torch, devices = set(), set(), set()
    for n in names:
        for r in rows(runs, n) or []:
            commits.add(r.get("git_commit", "?"))
            torch.add(r.get("torch_version", "?"))
            devices.add(r.get("device", "?"))
    secs, dates = 0, []
    for name, s, date in times_lines(runs, times_file):
        if name in names:
            secs += s
            dates.append(date)
    when = f"; wall time {secs // 60} min {secs % 60} s, finished {max(dates)}" if dates else ""
    return (f"Runs: commit {', '.join(sorted(commits))}, LibTorch {', '.join(sorted(torch))}, "
            f"device {', '.join(sorted(devices))}{when} (Debian bookworm VM, 2 cores, shared with "
            "builds and other runs).")


def times_lines(runs, times_file):
    """(name, seconds, UTC date) per line of a times file in runs/ (none if it is missing)."""
    path = pathlib.Path(runs) / times_file
    for line in path.read_text().splitlines() if path.exists() else []:
        name, secs, date = line.split("\t")[:3]
        yield name, int(secs), date


def piece_times(runs, times_file, names=None):
    """[(name, seconds)] from a times file, in first-seen order; a piece that was stopped and
    resumed has a line per run, and its wall time is their sum. names: only these."""
    out = {}
    for name, secs, _ in times_lines(runs, times_file):
        if names is None or name in names:
            out[name] = out.get(name, 0) + secs
    return list(out.items())


def cli_args(doc):
    """--runs, --readme and --print, the options of every study script."""
    import argparse

    ap = argparse.ArgumentParser(description=doc)
    ap.add_argument("--runs", default=str(ROOT / "runs"))
    ap.add_argument("--readme", default=str(ROOT / "experiments" / "README.md"))
    ap.add_argument("--print", action="store_true", help="print the section, write nothing")
    return ap.parse_args()


def section_main(doc, section, make):
    """The main() of a study script: --runs/--readme/--print, then make(runs, print_only) gives
    the section's text, written between its README markers (unless --print) and printed."""
    a = cli_args(doc)
    text = make(a.runs, a.print)
    if not a.print:
        readme_write(section, text, a.readme)
    print(text)


def marker_lines(section):
    return (f"<!-- {section}:begin (written by experiments/{section}.py from the runs; do not "
            "edit) -->", f"<!-- {section}:end -->")
