#include <gtest/gtest.h>
#include <torch/torch.h>

#include "stitch/metrics/evaluate.h"

namespace stitch {
namespace {

// 60 random images with labels 0..9 in turn.
Dataset toy_data() {
  torch::manual_seed(3);
  Dataset d;
  d.images = torch::rand({60, 1, 4, 4});
  d.labels = torch::arange(60, torch::kLong).remainder(10);
  d.index = torch::arange(60, torch::kLong);
  return d;
}

// A linear classifier on the flattened image with fixed random weights.
ForwardFn linear_model(const at::Tensor& w) {
  return [w](const at::Tensor& x) { return x.flatten(1).matmul(w); };
}

TEST(Evaluate, AccuracyCountsHitsOverEveryBatch) {
  const Dataset d = toy_data();
  // A model that always answers class 3 is right on exactly the rows labelled 3 (6 of 60).
  ForwardFn always3 = [](const at::Tensor& x) {
    return torch::one_hot(torch::full({x.size(0)}, 3, torch::kLong), 10).to(torch::kFloat);
  };
  EXPECT_DOUBLE_EQ(accuracy_eval(always3, d, c10::Device("cpu"), 7), 0.1);
  // Independently: argmax by hand over the whole set in one batch.
  const at::Tensor w = torch::randn({16, 10});
  const double by_hand =
      linear_model(w)(d.images).argmax(1).eq(d.labels).to(torch::kDouble).mean().item<double>();
  EXPECT_DOUBLE_EQ(accuracy_eval(linear_model(w), d, c10::Device("cpu"), 7), by_hand);
  EXPECT_DOUBLE_EQ(accuracy_eval(linear_model(w), d, c10::Device("cpu"), 500), by_hand);
}

TEST(Evaluate, RobustPredictionsWithoutBudgetAreTheCleanOnes) {
  const Dataset d = toy_data();
  const at::Tensor w = torch::randn({16, 10});
  PgdOptions o;
  o.epsilon = 0;
  o.steps = 3;
  const at::Tensor p = robust_predictions(linear_model(w), d, o, c10::Device("cpu"), 8);
  ASSERT_EQ(p.size(0), 60);
  EXPECT_TRUE(p.equal(linear_model(w)(d.images).argmax(1)));
}

TEST(Evaluate, AttackLowersAccuracyAndIsReproducible) {
  const Dataset d = toy_data();
  // Weights that make the clean set fully correct: the least-squares fit to one-hot labels
  // of 60 rows in 16 dimensions is not exact, so take the model's own clean predictions as
  // labels instead (clean accuracy 1 by construction).
  const at::Tensor w = torch::randn({16, 10});
  Dataset own = d;
  own.labels = linear_model(w)(d.images).argmax(1);
  PgdOptions o;
  o.epsilon = 0.3;
  o.alpha = 0.05;
  o.steps = 10;
  const double clean = accuracy_eval(linear_model(w), own, c10::Device("cpu"));
  const double robust = robust_accuracy_eval(linear_model(w), own, o, c10::Device("cpu"), 16);
  EXPECT_DOUBLE_EQ(clean, 1.0);
  EXPECT_LT(robust, 0.5);
  EXPECT_DOUBLE_EQ(robust_accuracy_eval(linear_model(w), own, o, c10::Device("cpu"), 16), robust);
}

}  // namespace
}  // namespace stitch
