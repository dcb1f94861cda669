#!/usr/bin/python3
"""Tests of scripts/report_stats.py (run by ctest: /usr/bin/python3 -m unittest)."""
import math
import os
import sys
import unittest

import numpy as np
from scipy import stats

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "scripts"))
import report_stats as rs  # noqa: E402


class TInterval(unittest.TestCase):
    def test_covers_the_mean_at_the_nominal_rate(self):
        rng = np.random.default_rng(1)
        miss = 0
        for _ in range(2000):
            m, lo, hi, n = rs.t_interval(rng.normal(0.7, 0.05, size=3))
            miss += not (lo <= 0.7 <= hi)
        self.assertEqual(n, 3)
        self.assertTrue(60 <= miss <= 145, miss)  # 5 % of 2000 = 100, sd ~10

    def test_single_replicate_has_no_t_interval(self):
        m, lo, hi, n = rs.t_interval([0.5])
        self.assertEqual((m, n), (0.5, 1))
        self.assertTrue(math.isnan(lo) and math.isnan(hi))


class PairedBootstrap(unittest.TestCase):
    def sample(self, rng, n_images, reps, shift):
        """Replicates of per-image 0/1 vectors of A and B on shared images: B differs from A
        on 10 % of images, with a replicate effect of sd 0.01."""
        base = rng.random(n_images) < 0.8
        a, b = [], []
        for _ in range(reps):
            flip = rng.random(n_images) < 0.1
            ra = np.where(rng.random(n_images) < 0.05, ~base, base)
            rb = np.where(flip, rng.random(n_images) < 0.8 - shift / 0.1, ra)
            a.append(ra.astype(float))
            b.append(rb.astype(float))
        return a, b

    def test_covers_the_truth_and_separates_a_real_difference(self):
        rng = np.random.default_rng(2)
        truth_miss = 0
        for s in range(100):
            a, b = self.sample(rng, 1000, 3, 0.0)
            # E[a - b] over the population: 0.1 * (P(a) - 0.8), P(a) = 0.8*0.95 + 0.2*0.05
            truth = 0.1 * ((0.8 * 0.95 + 0.2 * 0.05) - 0.8)
            d, lo, hi = rs.paired_bootstrap_diff(a, b, True, draws=500, seed=s)
            truth_miss += not (lo <= truth <= hi)
            self.assertTrue(lo <= d <= hi)
        self.assertLessEqual(truth_miss, 14)  # nominal 5 of 100
        a, b = self.sample(np.random.default_rng(9), 2000, 3, 0.03)
        d, lo, hi = rs.paired_bootstrap_diff(a, b, True, draws=1000)
        self.assertGreater(lo, 0, (d, lo, hi))
        self.assertEqual(rs.verdict(lo, hi, "A", "B"), "A > B")
        self.assertEqual(rs.verdict(-0.1, 0.1, "A", "B"), "not established")

    def test_pairing_narrows_the_interval(self):
        a, b = self.sample(np.random.default_rng(3), 2000, 3, 0.0)
        _, lo_p, hi_p = rs.paired_bootstrap_diff(a, b, True, draws=1000)
        # the same per-replicate means, but images not shared: an unpaired comparison
        ma, mb = [x.mean() for x in a], [x.mean() for x in b]
        w = 1.96 * math.sqrt(np.var(a[0]) / 2000 + np.var(b[0]) / 2000)
        self.assertLess(hi_p - lo_p, 2 * w)
        self.assertAlmostEqual(np.mean(ma) - np.mean(mb), (np.mean(a) - np.mean(b)))

    def test_lengths_must_match(self):
        with self.assertRaises(ValueError):
            rs.paired_bootstrap_diff([np.ones(10)], [np.ones(9)], True)


class Correlations(unittest.TestCase):
    def test_spearman_is_scipys(self):
        rng = np.random.default_rng(4)
        x, y = rng.random(12), rng.random(12)
        rho, lo, hi = rs.spearman_ci(x, y, draws=300)
        self.assertAlmostEqual(rho, stats.spearmanr(x, y).correlation, places=12)
        self.assertTrue(lo <= rho <= hi)

    def test_partial_spearman_equals_the_residual_correlation_of_ranks(self):
        rng = np.random.default_rng(5)
        z = rng.random(30)
        x, y = z + 0.3 * rng.random(30), z + 0.3 * rng.random(30)
        rx, ry, rz = (stats.rankdata(v) for v in (x, y, z))
        res = lambda v: v - np.polyval(np.polyfit(rz, v, 1), rz)  # noqa: E731
        want = np.corrcoef(res(rx), res(ry))[0, 1]
        self.assertAlmostEqual(rs.partial_spearman(x, y, z), want, places=10)
        # x and y only share depth: high plain rho, partial rho near 0
        self.assertGreater(stats.spearmanr(x, y).correlation, 0.6)
        self.assertLess(abs(rs.partial_spearman(x, y, z)), 0.45)

    def test_matched_cells_need_every_method(self):
        vals = {"dm": {"a": 1.0, "b": 2.0, "c": 3.0}, "fula": {"b": 1.0, "c": float("nan")}}
        sim = {"a": 0.1, "b": 0.2, "c": 0.3, "d": 0.4}
        self.assertEqual(rs.matched_cells(vals, sim), ["b"])


if __name__ == "__main__":
    unittest.main()
