#include "stitch/metrics/intervals.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>
#include <cmath>
#include <vector>

namespace stitch {

namespace {
constexpr double kZ = 1.959963984540054;  // the 97.5 % quantile of the standard normal
}  // namespace

Interval95 wilson_interval(double k, double n) {
  if (n <= 0) return {0.0, 1.0};
  const double p = k / n, z2 = kZ * kZ;
  const double centre = (p + z2 / (2 * n)) / (1 + z2 / n);
  const double half = kZ / (1 + z2 / n) * std::sqrt(p * (1 - p) / n + z2 / (4 * n * n));
  return {std::max(0.0, centre - half), std::min(1.0, centre + half)};
}

Interval95 paired_bootstrap_interval(const at::Tensor& a, const at::Tensor& b, int64_t resamples,
                                     uint64_t seed) {
  const at::Tensor d = (a.to(at::kDouble) - b.to(at::kDouble)).flatten().cpu();
  const int64_t n = d.numel();
  if (n == 0) return {0.0, 0.0};
  at::Generator gen = at::detail::createCPUGenerator(seed);
  std::vector<double> means;
  means.reserve(static_cast<size_t>(resamples));
  const int64_t block = std::max<int64_t>(1, (1 << 22) / n);  // ~32 MB of indices at a time
  for (int64_t done = 0; done < resamples; done += block) {
    const int64_t r = std::min(block, resamples - done);
    const at::Tensor idx = at::randint(n, {r, n}, gen, at::TensorOptions().dtype(at::kLong));
    const at::Tensor m = d.index_select(0, idx.flatten()).view({r, n}).mean(1);
    const double* p = m.data_ptr<double>();
    means.insert(means.end(), p, p + r);
  }
  std::sort(means.begin(), means.end());
  // Percentiles by linear interpolation between order statistics (numpy's default).
  auto quantile = [&](double q) {
    const double pos = q * static_cast<double>(means.size() - 1);
    const auto i = static_cast<size_t>(std::floor(pos));
    const size_t j = std::min(i + 1, means.size() - 1);
    return means[i] + (pos - static_cast<double>(i)) * (means[j] - means[i]);
  };
  return {quantile(0.025), quantile(0.975)};
}

}  // namespace stitch
