#include <gtest/gtest.h>
#include <torch/script.h>
#include <torch/torch.h>

#include "stitch/metrics/similarity.h"
#include "stitch/util/error.h"
#include "test_util.h"

using namespace stitch;
using stitch::test::error_of;

namespace {
at::Tensor fixture_ref(const std::string& name) {
  return test::tensor_fixture("similarity_reference.pt", name);
}
double val(const char* name) {
  return fixture_ref(name).item<double>();
}
at::Tensor random_rotation(int64_t d) {
  return std::get<0>(at::linalg_qr(at::randn({d, d}, at::kDouble)));
}
}  // namespace

// Reference: scripts/make_similarity_reference.py (numpy, float64, written from METHODS.md).
// Both sides compute in float64 on 60 x 12 data: agreement to 1e-6 is the bar and
// leaves ~1e6 x machine-epsilon room for different summation orders.
TEST(Similarity, MatchesNumpyReference) {
  at::Tensor x = fixture_ref("x"), y = fixture_ref("y");
  EXPECT_NEAR(linear_cka(x, y), val("linear_cka"), 1e-6);
  EXPECT_NEAR(unbiased_cka(x, y), val("unbiased_cka"), 1e-6);
  MinibatchCka mb;
  for (int64_t s = 0; s < 60; s += 20) mb.add(x.narrow(0, s, 20), y.narrow(0, s, 20));
  EXPECT_NEAR(mb.value(), val("minibatch_cka"), 1e-6);
  EXPECT_NEAR(svcca(x, y), val("svcca"), 1e-6);
  EXPECT_NEAR(pwcca(x, y), val("pwcca"), 1e-6);
  EXPECT_NEAR(mutual_knn(x, y, 5), val("mutual_knn_5"), 1e-6);
  EXPECT_NEAR(cknna(x, y, 5), val("cknna_5"), 1e-6);
}

TEST(Similarity, InvarianceIdentities) {
  torch::manual_seed(11);
  at::Tensor x = at::randn({80, 16}, at::kDouble), q = random_rotation(16);
  for (const at::Tensor& y : {x, x.mm(q), x.mm(q) * 3.5 + 2.0}) {
    EXPECT_NEAR(linear_cka(x, y), 1.0, 1e-10);
    EXPECT_NEAR(unbiased_cka(x, y - y.mean(0)), unbiased_cka(x, x), 1e-9);
    EXPECT_NEAR(svcca(x, y), 1.0, 1e-9);
    EXPECT_NEAR(pwcca(x, y), 1.0, 1e-9);
  }
  EXPECT_NEAR(unbiased_cka(x, x), 1.0, 1e-10);
  EXPECT_NEAR(mutual_knn(x, x, 10), 1.0, 1e-12);
  EXPECT_NEAR(cknna(x, x, 10), 1.0, 1e-10);
  // CKNNA with k = n - 1 is unbiased CKA (METHODS §4).
  at::Tensor y = at::randn({80, 10}, at::kDouble);
  EXPECT_NEAR(cknna(x, y, 79), unbiased_cka(x, y), 1e-9);
  // Independent random representations are far from identical.
  EXPECT_LT(linear_cka(x, y), 0.5);
}

TEST(Similarity, ProcrustesStatistics) {
  torch::manual_seed(5);
  const int64_t d = 32;
  at::Tensor r = random_rotation(d);
  at::Tensor xf = at::randn({400, d}, at::kDouble), xt = at::randn({200, d}, at::kDouble);
  ProcrustesStats s = procrustes_stats(xf, xf.mm(r) + 1.0, xt, xt.mm(r) + 1.0);
  EXPECT_LT(s.rel_error_test, 1e-6);
  EXPECT_NEAR(s.ev_after, 1.0, 1e-9);
  EXPECT_LT(s.ev_before, 0.0) << "before alignment a rotated copy explains nothing";
  EXPECT_NEAR(s.distance, 0.0, 1e-9);
  EXPECT_NEAR(std::abs(s.det), 1.0, 1e-9);
  EXPECT_NEAR(s.sqrt_2d, 8.0, 1e-12);
  EXPECT_NEAR(s.r_minus_i / s.sqrt_2d, 1.0, 0.2) << "a Haar rotation has ||R - I|| ~ sqrt(2d)";
}

TEST(Similarity, RefusesMeaninglessInputs) {
  at::Tensor x = at::randn({10, 4}, at::kDouble);
  EXPECT_NE(
      error_of([&] { unbiased_cka(x.narrow(0, 0, 3), x.narrow(0, 0, 3)); }).find("at least 4"),
      std::string::npos);
  EXPECT_NE(error_of([&] { mutual_knn(x, x, 10); }).find("k must be in [1, n-1]"),
            std::string::npos);
  EXPECT_NE(error_of([&] { cknna(x, x, 1); }).find("k must be in [2, n-1]"), std::string::npos);
  EXPECT_NE(error_of([&] {
              linear_cka(x, at::ones({10, 3}, at::kDouble));
            }).find("zero variance"),
            std::string::npos);
  EXPECT_NE(error_of([&] { linear_cka(x, x.narrow(0, 0, 8)); }).find("rows"), std::string::npos);
  at::Tensor bad = x.clone();
  bad[2][1] = NAN;
  EXPECT_NE(error_of([&] { svcca(bad, x); }).find("NaN"), std::string::npos);
  EXPECT_NE(error_of([&] { MinibatchCka().value(); }).find("no batches"), std::string::npos);
  at::Tensor wide = at::randn({30, 40}, at::kDouble);  // more features than samples: CCA degenerate
  EXPECT_NE(error_of([&] { pwcca(wide, wide.narrow(1, 0, 20)); }).find("PWCCA: rank(X) + rank(Y)"),
            std::string::npos);
}
