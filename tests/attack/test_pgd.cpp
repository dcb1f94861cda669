#include <gtest/gtest.h>
#include <torch/torch.h>

#include "stitch/attack/pgd.h"
#include "stitch/util/error.h"

using namespace stitch;

TEST(Pgd, StaysInBallAndImageRange) {
  torch::manual_seed(0);
  torch::nn::Linear lin(16, 3);
  ForwardFn f = [&](const at::Tensor& x) { return lin(x.flatten(1)); };
  at::Tensor x = at::rand({32, 1, 4, 4}), y = at::randint(0, 3, {32}, at::kLong);
  PgdOptions o{0.1, 0.03, 7, true, 1};
  at::Tensor adv = pgd_linf(f, x, y, o);
  EXPECT_LE((adv - x).abs().max().item<double>(), 0.1 + 1e-6);
  EXPECT_GE(adv.min().item<double>(), 0.0);
  EXPECT_LE(adv.max().item<double>(), 1.0);
  torch::NoGradGuard g;
  const double clean = torch::nn::functional::cross_entropy(f(x), y).item<double>();
  const double attacked = torch::nn::functional::cross_entropy(f(adv), y).item<double>();
  EXPECT_GT(attacked, clean);
}

// For two-class logits z = (w.x, 0) the loss-maximising point in the box is the corner
// x - eps * sign(w) for label 0 (clipped to [0, 1]): PGD with alpha >= eps reaches it exactly.
TEST(Pgd, ReachesAnalyticOptimumOfLinearModel) {
  at::Tensor w = at::tensor({1.0f, -2.0f, 0.5f, -0.1f});
  ForwardFn f = [&](const at::Tensor& x) {
    return at::stack({at::mv(x, w), at::zeros({x.size(0)})}, 1);
  };
  at::Tensor x = at::full({1, 4}, 0.5), y = at::zeros({1}, at::kLong);
  at::Tensor adv = pgd_linf(f, x, y, PgdOptions{0.2, 0.5, 3, false, 0});
  EXPECT_TRUE(at::allclose(adv, x - 0.2 * w.sign().unsqueeze(0)));
  at::Tensor same = pgd_linf(f, x, y, PgdOptions{0.2, 0.5, 0, false, 0});
  EXPECT_TRUE(at::equal(same, x));
  EXPECT_THROW(pgd_linf(f, x, y, PgdOptions{-1, 0.1, 1, false, 0}), StitchError);
}
