#include <gtest/gtest.h>
#include <torch/script.h>
#include <torch/torch.h>

#include "stitch/stitchers/fit.h"
#include "stitch/stitchers/stitch_layer.h"
#include "stitch/util/error.h"
#include "test_util.h"

using namespace stitch;

namespace {
// Inputs and expected values from scripts/make_stitch_reference.py (numpy, float64). Both sides
// compute in float64 on well-conditioned data (cond([X 1]) ~ 10), so any two correct LAPACK
// paths agree to ~1e-13; 1e-9 leaves room for BLAS differences and still catches any formula
// error (those show up at the 1e-2 level).
constexpr double kTol = 1e-9;
at::Tensor fixture_ref(const std::string& name) {
  return test::tensor_fixture("stitch_reference.pt", name);
}
void expect_close(const at::Tensor& a, const at::Tensor& b, const char* what) {
  ASSERT_EQ(a.sizes(), b.sizes()) << what;
  EXPECT_LT((a.to(at::kDouble) - b).abs().max().item<double>(), kTol) << what;
}
}  // namespace

TEST(Fit, LstsqMatchesNumpyReference) {
  Affine a = fit_lstsq(fixture_ref("x"), fixture_ref("y"));
  expect_close(a.weight, fixture_ref("lstsq_w"), "W");
  expect_close(a.bias, fixture_ref("lstsq_b"), "b");
  Affine r =
      fit_lstsq(fixture_ref("x"), fixture_ref("y"), fixture_ref("ridge_lambda").item<double>());
  expect_close(r.weight, fixture_ref("ridge_w"), "ridge W");
  expect_close(r.bias, fixture_ref("ridge_b"), "ridge b");
}

TEST(Fit, ProcrustesMatchesNumpyReference) {
  Procrustes p = fit_procrustes(fixture_ref("x"), fixture_ref("y_square"));
  expect_close(p.rotation, fixture_ref("procrustes_r"), "R");
  expect_close(p.mean_x, fixture_ref("mean_x"), "mu_x");
  Procrustes s =
      fit_procrustes(fixture_ref("x"), fixture_ref("y_square"), true, /*with_scale=*/true);
  EXPECT_NEAR(s.scale, fixture_ref("procrustes_scale").item<double>(), kTol);
  Procrustes k =
      fit_procrustes(fixture_ref("x"), fixture_ref("y_square"), true, false, /*kabsch=*/true);
  expect_close(k.rotation, fixture_ref("kabsch_r"), "Kabsch R");
  EXPECT_NEAR(at::linalg_det(k.rotation).item<double>(), 1.0, 1e-9);
}

TEST(Fit, MaiorcaMatchesNumpyReference) {
  Affine a = fit_maiorca(fixture_ref("x"), fixture_ref("y"));
  at::Tensor pred = fixture_ref("x").mm(a.weight.t()) + a.bias;
  expect_close(pred, fixture_ref("maiorca_pred"), "translated anchors");
}

TEST(Fit, RecoversKnownRotationAndPermutation) {
  torch::manual_seed(3);
  const int64_t d = 12;
  at::Tensor q = std::get<0>(at::linalg_qr(at::randn({d, d}, at::kDouble)));
  at::Tensor x = at::randn({200, d}, at::kDouble);
  Procrustes p = fit_procrustes(x, x.mm(q) + 0.5, true, false, false);
  EXPECT_LT((p.rotation - q).abs().max().item<double>(), 1e-6);
  // A random orthogonal matrix is far from the identity: ||R - I||_F ~ sqrt(2d).
  EXPECT_NEAR((p.rotation - at::eye(d, at::kDouble)).norm().item<double>() / std::sqrt(2.0 * d),
              1.0, 0.35);
  at::Tensor perm = at::randperm(d, at::kLong);
  at::Tensor y = x.index_select(1, perm);
  Affine a = fit_lstsq(x, y);
  at::Tensor P = at::zeros({d, d}, at::kDouble);
  for (int64_t i = 0; i < d; ++i) P[i][perm[i].item<int64_t>()] = 1.0;
  EXPECT_LT((a.weight - P).abs().max().item<double>(), 1e-9);
  EXPECT_LT(affine_residual(a, x, y), 1e-9);
  EXPECT_THROW(fit_lstsq(x, y.narrow(0, 0, 10)), StitchError);
  at::Tensor bad = x.clone();
  bad[0][0] = NAN;
  EXPECT_THROW(fit_lstsq(bad, y), StitchError);
}

TEST(StitchLayer, KindsShapesAndErrors) {
  StitchLayer conv(StitchSpec{{16, 14, 14}, {32, 7, 7}});
  EXPECT_EQ(conv->kind(), StitchKind::kConv);
  EXPECT_EQ(conv->forward(at::rand({2, 16, 14, 14})).sizes(), (std::vector<int64_t>{2, 32, 7, 7}));
  StitchLayer tok(StitchSpec{{16, 64}, {16, 32}});
  EXPECT_EQ(tok->forward(at::rand({3, 16, 64})).sizes(), (std::vector<int64_t>{3, 16, 32}));
  StitchLayer flat(StitchSpec{{64, 7, 7}, {128}});
  EXPECT_EQ(flat->kind(), StitchKind::kFlatten);
  EXPECT_EQ(flat->forward(at::rand({2, 64, 7, 7})).sizes(), (std::vector<int64_t>{2, 128}));
  StitchLayer low(StitchSpec{{20}, {10}, false, false, 3});
  EXPECT_EQ(at::linalg_matrix_rank(low->weight().detach()).item<int64_t>(), 3);
  EXPECT_THROW(StitchLayer(StitchSpec{{256}, {16, 14, 14}}), StitchError);
  EXPECT_THROW(StitchLayer(StitchSpec{{16, 64}, {8, 64}}), StitchError);
  EXPECT_THROW(StitchLayer(StitchSpec{{16, 7, 7}, {32, 7, 7}})->init_eye(), StitchError);
  // A 1x1 conv with W, b acts on every position: equal to torch's conv2d.
  StitchLayer c(StitchSpec{{4, 5, 5}, {3, 5, 5}});
  at::Tensor x = at::rand({2, 4, 5, 5});
  at::Tensor expect = at::conv2d(x, c->weight().view({3, 4, 1, 1}), c->bias());
  EXPECT_TRUE(at::allclose(c->forward(x), expect, 1e-5, 1e-6));
  StitchLayer eye(StitchSpec{{4, 5, 5}, {4, 5, 5}});
  eye->init_eye();
  EXPECT_TRUE(at::allclose(eye->forward(x), x));
}
