#pragma once
// 95 % intervals of per-image results (docs/methods.md §1.8): the one place the C++ side makes
// them. Pure functions of numbers and tensors.
#include <cstdint>

#include <ATen/core/Tensor.h>

namespace stitch {

struct Interval95 {
  double lo = 0, hi = 0;
};

// Wilson score interval of a proportion k / n (z = 1.96); {0, 1} when n == 0.
Interval95 wilson_interval(double k, double n);

// Percentile interval of mean(a - b) over items paired by position (a, b [N], any real dtype):
// `resamples` bootstrap draws of N items with replacement, from a generator seeded with `seed`
// (the same inputs give the same interval). {0, 0} when N == 0.
Interval95 paired_bootstrap_interval(const at::Tensor& a, const at::Tensor& b,
                                     int64_t resamples = 2000, uint64_t seed = 0);

}  // namespace stitch
