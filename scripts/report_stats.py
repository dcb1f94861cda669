"""Statistics of `stitch report` (scripts/report.py): replicate means with t-intervals, paired
bootstrap differences over images and replicates, correlations over matched cells with a partial
Spearman for depth offset. SciPy does the distributions and rank correlations; what is here is
the pairing. Tested by tests/scripts/test_report_stats.py (ctest runs it).
"""
import math
import os

import numpy as np
from scipy import stats

# Methods fitted in closed form: their result does not depend on the seed (job/methods.cpp).
CLOSED_FORM = {"dm_closed", "procrustes", "maiorca"}

# Per-image vectors of a metric, from a job's outcomes.h5 (job/outcomes.h): a function of
# the file's datasets giving float [N], or None when the metric has no per-image form.
PER_IMAGE = {
    "stitched_acc": lambda o: o["stitched_pred"] == o["label"],
    "end_acc": lambda o: o["end_pred"] == o["label"],
    "front_acc": lambda o: o["front_pred"] == o["label"],
    "agreement": lambda o: o["stitched_pred"] == o["end_pred"],
    "hard_agreement": lambda o: (o["stitched_pred"] == o["label"]) == (o["end_pred"] == o["label"]),
    "stitching_penalty": lambda o: (o["end_pred"] == o["label"]).astype(float)
    - (o["stitched_pred"] == o["label"]),
    "robust_acc": lambda o: o["pgd_stitched_pred"] == o["pgd_label"],
    "end_robust_acc": lambda o: o["pgd_end_pred"] == o["pgd_label"],
    "marker_agreement": lambda o: o["marker_stitched_pred"] == o["marker_end_pred"],
    "rolled_marker_agreement": lambda o: o["rolled_stitched_pred"] == o["rolled_end_pred"],
    "excess_agreement": lambda o: (o["marker_stitched_pred"] == o["marker_end_pred"]).astype(float)
    - (o["rolled_stitched_pred"] == o["rolled_end_pred"]),
    "marker_follow": lambda o: o["rolled_stitched_pred"] == o["rolled_class"],
    "end_marker_follow": lambda o: o["rolled_end_pred"] == o["rolled_class"],
    "marker_gap": lambda o: (o["marker_stitched_pred"] == o["label"][: len(o["rolled_class"])])
    .astype(float) - (o["rolled_stitched_pred"] == o["label"][: len(o["rolled_class"])]),
}


def read_outcomes(sweep_dir, row):
    """The outcomes.h5 datasets of a row's job as numpy arrays (None when absent)."""
    if "job_dir" not in row:
        return None
    path = os.path.join(sweep_dir, row["job_dir"], "outcomes.h5")
    if not os.path.exists(path):
        return None
    import h5py

    with h5py.File(path, "r") as f:
        return {k: f[k][:] for k in f.keys()}


def per_image(sweep_dir, row, metric):
    """float [N] per-image values of `metric` for a row's job, or None."""
    f = PER_IMAGE.get(metric)
    o = read_outcomes(sweep_dir, row) if f else None
    if o is None:
        return None
    try:
        return np.asarray(f(o), dtype=float)
    except KeyError:  # the job did not run that evaluation
        return None


def t_interval(values):
    """(mean, lo, hi, n) with the 95 % t-interval over replicates; lo = hi = nan for n < 2."""
    v = np.asarray([x for x in values if x is not None and math.isfinite(x)], float)
    n = len(v)
    if n == 0:
        return float("nan"), float("nan"), float("nan"), 0
    m = float(v.mean())
    if n < 2:
        return m, float("nan"), float("nan"), 1
    half = float(stats.t.ppf(0.975, n - 1) * v.std(ddof=1) / math.sqrt(n))
    return m, m - half, m + half, n


def _image_weights(rng, n_images, draws):
    """[draws, n_images] counts of a bootstrap resample of the images (each row sums to N)."""
    return rng.multinomial(n_images, np.full(n_images, 1.0 / n_images), size=draws)


def paired_bootstrap_diff(a, b, paired_replicates, draws=2000, seed=0):
    """Difference of means A - B with a 95 % percentile interval.

    a, b: lists of per-image vectors (one per replicate; all of one length N, the same test
    images). Images are resampled once per draw and shared by both sides (paired over images);
    replicates are resampled jointly when `paired_replicates` (A[i] and B[i] come from the same
    model pair and seed) and independently otherwise. Returns (diff, lo, hi).
    """
    A, B = np.asarray(a, float), np.asarray(b, float)
    if A.ndim != 2 or B.ndim != 2 or A.shape[1] != B.shape[1]:
        raise ValueError("per-image vectors of both sides must have the same length")
    if paired_replicates and A.shape[0] != B.shape[0]:
        raise ValueError("paired replicates need as many on each side")
    n = A.shape[1]
    rng = np.random.default_rng(seed)
    diffs = []
    for start in range(0, draws, 200):
        k = min(200, draws - start)
        w = _image_weights(rng, n, k) / n  # [k, N]
        ma, mb = w @ A.T, w @ B.T  # [k, replicates] per-replicate means on the drawn images
        ra = rng.integers(0, A.shape[0], size=(k, A.shape[0]))
        rb = ra if paired_replicates else rng.integers(0, B.shape[0], size=(k, B.shape[0]))
        diffs.append(np.take_along_axis(ma, ra, 1).mean(1) - np.take_along_axis(mb, rb, 1).mean(1))
    d = np.concatenate(diffs)
    return float(A.mean() - B.mean()), float(np.percentile(d, 2.5)), float(np.percentile(d, 97.5))


def replicate_bootstrap_diff(a, b, paired_replicates, draws=2000, seed=0):
    """As paired_bootstrap_diff for metrics with one value per replicate (no per-image form)."""
    A, B = np.asarray(a, float), np.asarray(b, float)
    rng = np.random.default_rng(seed)
    ra = rng.integers(0, len(A), size=(draws, len(A)))
    rb = ra if paired_replicates else rng.integers(0, len(B), size=(draws, len(B)))
    d = A[ra].mean(1) - B[rb].mean(1)
    return float(A.mean() - B.mean()), float(np.percentile(d, 2.5)), float(np.percentile(d, 97.5))


def verdict(lo, hi, a, b):
    if lo > 0:
        return f"{a} > {b}"
    if hi < 0:
        return f"{a} < {b}"
    return "not established"


def spearman_ci(x, y, draws=2000, seed=0):
    """Spearman's rho (SciPy) with a 95 % percentile bootstrap interval over the cells."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    rho = float(stats.spearmanr(x, y).correlation)
    rng = np.random.default_rng(seed)
    boots = []
    for _ in range(draws):
        i = rng.integers(0, len(x), len(x))
        if np.ptp(x[i]) == 0 or np.ptp(y[i]) == 0:
            continue
        boots.append(stats.spearmanr(x[i], y[i]).correlation)
    if not boots:
        return rho, float("nan"), float("nan")
    return rho, float(np.percentile(boots, 2.5)), float(np.percentile(boots, 97.5))


def partial_spearman(x, y, z):
    """Spearman correlation of x and y controlling for z: the partial correlation of the ranks."""
    rx, ry, rz = (stats.rankdata(v) for v in (x, y, z))
    r = np.corrcoef([rx, ry, rz])
    rxy, rxz, ryz = r[0, 1], r[0, 2], r[1, 2]
    den = math.sqrt(max((1 - rxz**2) * (1 - ryz**2), 0.0))
    return float((rxy - rxz * ryz) / den) if den > 0 else float("nan")


def partial_spearman_ci(x, y, z, draws=2000, seed=0):
    x, y, z = (np.asarray(v, float) for v in (x, y, z))
    est = partial_spearman(x, y, z)
    rng = np.random.default_rng(seed)
    boots = []
    for _ in range(draws):
        i = rng.integers(0, len(x), len(x))
        v = partial_spearman(x[i], y[i], z[i])
        if math.isfinite(v):
            boots.append(v)
    if not boots:
        return est, float("nan"), float("nan")
    return est, float(np.percentile(boots, 2.5)), float(np.percentile(boots, 97.5))


def matched_cells(values_by_method, similarity):
    """Cells where every method and the similarity metric have a finite value.

    values_by_method: {method: {cell: value}}; similarity: {cell: value}. Returns the sorted list
    of matched cells."""
    cells = set(similarity)
    for v in values_by_method.values():
        cells &= {c for c, x in v.items() if x is not None and math.isfinite(x)}
    return sorted(c for c in cells if math.isfinite(similarity[c]))
