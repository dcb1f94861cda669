#include <gtest/gtest.h>

#include "stitch/objectives/schedule.h"

using stitch::Schedule;
using stitch::schedule_lr;

TEST(Schedule, StepCosineConstant) {
  EXPECT_DOUBLE_EQ(schedule_lr(Schedule::kStep, 1.0, 0, 90), 1.0);
  EXPECT_DOUBLE_EQ(schedule_lr(Schedule::kStep, 1.0, 29, 90), 1.0);
  EXPECT_DOUBLE_EQ(schedule_lr(Schedule::kStep, 1.0, 30, 90), 0.1);   // x0.1 at 1/3
  EXPECT_DOUBLE_EQ(schedule_lr(Schedule::kStep, 1.0, 60, 90), 0.01);  // and again at 2/3
  EXPECT_DOUBLE_EQ(schedule_lr(Schedule::kCosine, 2.0, 0, 10), 2.0);
  EXPECT_NEAR(schedule_lr(Schedule::kCosine, 2.0, 5, 10), 1.0, 1e-12);
  EXPECT_NEAR(schedule_lr(Schedule::kCosine, 2.0, 10, 10), 0.0, 1e-12);
  EXPECT_DOUBLE_EQ(schedule_lr(Schedule::kConstant, 0.3, 7, 10), 0.3);
}
