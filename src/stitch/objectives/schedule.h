#pragma once
// Per-iteration learning-rate schedules shared by zoo training and stitch training.
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "stitch/config/config_table.h"

namespace stitch {

// train.schedule / schedule: cosine (half cosine to 0), step (x0.1 at 1/3 and 2/3,
// docs/methods.md §1.5) or constant.
enum class Schedule { kStep, kCosine, kConstant };
template <>
struct EnumNames<Schedule> {
  static const std::vector<std::string>& names() {
    static const std::vector<std::string> n{"step", "cosine", "constant"};
    return n;
  }
};

// The learning rate at `step` of `total` under `schedule` from `lr`.
inline double schedule_lr(Schedule schedule, double lr, int64_t step, int64_t total) {
  const double t = static_cast<double>(step) / static_cast<double>(total > 0 ? total : 1);
  switch (schedule) {
    case Schedule::kCosine:
      return lr * 0.5 * (1.0 + std::cos(M_PI * t));
    case Schedule::kStep:
      return lr * (t < 1.0 / 3 ? 1.0 : t < 2.0 / 3 ? 0.1 : 0.01);
    case Schedule::kConstant:
      break;
  }
  return lr;
}

}  // namespace stitch
