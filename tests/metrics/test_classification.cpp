#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include "stitch/metrics/classification.h"

#include <cmath>
#include <vector>

using namespace stitch;

TEST(Metrics, AccuracyAgreementKappaByHand) {
  // 4 samples, 3 classes. a predicts 0,1,2,0; b predicts 0,1,1,1; labels 0,1,2,2.
  at::Tensor a = at::tensor(std::vector<double>{5, 0, 0, 0, 5, 0, 0, 0, 5, 5, 0, 0}).view({4, 3});
  at::Tensor b = at::tensor(std::vector<double>{5, 0, 0, 0, 5, 0, 0, 5, 0, 0, 5, 0}).view({4, 3});
  at::Tensor y = at::tensor({0, 1, 2, 2}, at::kLong);
  EXPECT_DOUBLE_EQ(topk_accuracy(a, y), 0.75);
  EXPECT_DOUBLE_EQ(topk_accuracy(b, y), 0.5);
  EXPECT_DOUBLE_EQ(topk_accuracy(b, y, 3), 1.0);
  EXPECT_DOUBLE_EQ(prediction_agreement(a, b), 0.5);
  EXPECT_DOUBLE_EQ(correctness_agreement(a, b, y), 0.75);  // correct: a 1,1,1,0 / b 1,1,0,0
  const double c_exp = 0.75 * 0.5 + 0.25 * 0.5;
  EXPECT_NEAR(error_consistency(a, b, y), (0.75 - c_exp) / (1 - c_exp), 1e-12);
  EXPECT_NEAR(soft_agreement(a, a), 1.0, 1e-12);
  EXPECT_LT(soft_agreement(a, b), 1.0);
}

TEST(Metrics, MatrixStatsAndExplainedVariance) {
  at::Tensor w = at::diag(at::tensor({4.0, 2.0, 1e-5}, at::kDouble));
  MatrixStats m = matrix_stats(w);
  EXPECT_EQ(m.rank, 2);
  EXPECT_NEAR(m.condition, 4.0 / 1e-5, 1e-3);
  EXPECT_NEAR(m.orth_error, std::sqrt(15.0 * 15 + 3 * 3 + 1), 1e-6);
  EXPECT_NEAR(matrix_stats(at::eye(5, at::kDouble)).orth_error, 0.0, 1e-12);
  at::Tensor a = at::randn({100, 4}, at::kDouble);
  EXPECT_NEAR(explained_variance(a, a), 1.0, 1e-12);
  EXPECT_NEAR(explained_variance(at::full_like(a, a.mean().item<double>()), a), 0.0, 1e-12);
}
