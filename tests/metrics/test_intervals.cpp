#include <gtest/gtest.h>
#include <torch/torch.h>

#include <fstream>

#include <nlohmann/json.hpp>

#include "stitch/metrics/intervals.h"
#include "test_util.h"

using namespace stitch;

// Wilson intervals against SciPy's binomtest(...).proportion_ci(method="wilson")
// (tests/fixtures/make_interval_reference.py).
TEST(Intervals, WilsonMatchesScipy) {
  std::ifstream in(test::data_dir() + "/interval_reference.json");
  const nlohmann::json ref = nlohmann::json::parse(in);
  ASSERT_GE(ref["wilson"].size(), 5u);
  for (const auto& c : ref["wilson"]) {
    const Interval95 ci = wilson_interval(c["k"].get<double>(), c["n"].get<double>());
    EXPECT_NEAR(ci.lo, c["lo"].get<double>(), 1e-9) << c.dump();
    EXPECT_NEAR(ci.hi, c["hi"].get<double>(), 1e-9) << c.dump();
  }
}

// On simulated data the intervals cover the true value at about their nominal rate: 1000 data
// sets of 400 Bernoulli(0.85) items; a 95 % interval misses about 50 of them (binomial sd ~7).
TEST(Intervals, WilsonAndPairedBootstrapCoverTheTruthAtTheNominalRate) {
  torch::manual_seed(3);
  const int64_t sets = 1000, n = 400;
  const at::Tensor a = at::rand({sets, n}).lt(0.85).to(at::kDouble);
  // b shares most items with a (paired): equal to a except on 20 % of items, where it is an
  // independent Bernoulli(0.75): E[a - b] = 0.2 * (0.85 - 0.75) = 0.02.
  const at::Tensor swap = at::rand({sets, n}).lt(0.2);
  const at::Tensor b = at::where(swap, at::rand({sets, n}).lt(0.75).to(at::kDouble), a);
  int wilson_miss = 0, boot_miss = 0;
  for (int64_t s = 0; s < sets; ++s) {
    const Interval95 w = wilson_interval(a[s].sum().item<double>(), static_cast<double>(n));
    wilson_miss += !(w.lo <= 0.85 && 0.85 <= w.hi);
    if (s < 300) {  // the bootstrap is slower: 300 sets (expected misses 15, sd ~3.8)
      const Interval95 d = paired_bootstrap_interval(a[s], b[s], 1000, static_cast<uint64_t>(s));
      boot_miss += !(d.lo <= 0.02 && 0.02 <= d.hi);
    }
  }
  EXPECT_GE(wilson_miss, 25);
  EXPECT_LE(wilson_miss, 80);
  EXPECT_LE(boot_miss, 30);
  EXPECT_GE(boot_miss, 4);
}

// Pairing matters: two models that agree on 95 % of items have a much narrower interval of their
// difference than their separate Wilson intervals suggest; identical vectors give a point.
TEST(Intervals, PairedBootstrapUsesThePairing) {
  torch::manual_seed(0);
  const at::Tensor a = at::rand({2000}).lt(0.8).to(at::kDouble);
  const at::Tensor b = at::where(at::rand({2000}).lt(0.05), 1 - a, a);
  const Interval95 d = paired_bootstrap_interval(a, b, 2000, 1);
  const Interval95 wa = wilson_interval(a.sum().item<double>(), 2000);
  EXPECT_LT(d.hi - d.lo, 0.6 * (wa.hi - wa.lo));
  const double diff = (a - b).mean().item<double>();
  EXPECT_LE(d.lo, diff);
  EXPECT_GE(d.hi, diff);
  const Interval95 same = paired_bootstrap_interval(a, a, 500, 1);
  EXPECT_EQ(same.lo, 0.0);
  EXPECT_EQ(same.hi, 0.0);
  const Interval95 again = paired_bootstrap_interval(a, b, 2000, 1);
  EXPECT_EQ(again.lo, d.lo) << "same seed, same interval";
}
