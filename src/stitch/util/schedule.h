#pragma once
// Per-iteration learning-rate schedules shared by zoo training and stitch training.
#include <cmath>
#include <cstdint>
#include <string>

namespace stitch {

// lr at `step` of `total`: "cosine" (half cosine to 0), "step" (x0.1 at 1/3 and 2/3, METHODS
// §1.5) or "constant".
inline double schedule_lr(const std::string& schedule, double lr, int64_t step, int64_t total) {
  const double t = static_cast<double>(step) / static_cast<double>(total > 0 ? total : 1);
  if (schedule == "cosine") return lr * 0.5 * (1.0 + std::cos(M_PI * t));
  if (schedule == "step") return lr * (t < 1.0 / 3 ? 1.0 : t < 2.0 / 3 ? 0.1 : 0.01);
  return lr;
}

}  // namespace stitch
