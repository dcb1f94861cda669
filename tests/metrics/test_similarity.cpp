#include <gtest/gtest.h>

#include <torch/script.h>
#include <torch/torch.h>
#include <tuple>

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

// Reference: scripts/make_similarity_reference.py (numpy, float64, written from docs/methods.md).
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
  // CKNNA as platonic-rep computes it (clamp, L2 rows, +1e-6), and on raw features.
  EXPECT_NEAR(cknna(x, y, 5), val("cknna_platonic_5"), 1e-6);
  EXPECT_NEAR(cknna(x, x, 5), val("cknna_platonic_xx_5"), 1e-6);
  EXPECT_NEAR(cknna(x, y, 5, "raw"), val("cknna_5"), 1e-6);
  EXPECT_GT(std::abs(val("cknna_platonic_5") - val("cknna_5")), 0.1)
      << "the fixture tells them apart";
  // Procrustes statistics, fit on rows [0, 40), held out [40, 60): square and non-square pairs.
  for (const std::string pre : {"procrustes_sq_", "procrustes_"}) {
    const at::Tensor yy = pre == "procrustes_sq_" ? fixture_ref("y_square") : y;
    const ProcrustesStats s = procrustes_stats(x.narrow(0, 0, 40), yy.narrow(0, 0, 40),
                                               x.narrow(0, 40, 20), yy.narrow(0, 40, 20));
    auto ref = [&](const char* k) { return val((pre + k).c_str()); };
    EXPECT_NEAR(s.rel_error_fit, ref("rel_error_fit"), 1e-6) << pre;
    EXPECT_NEAR(s.rel_error_test, ref("rel_error_test"), 1e-6) << pre;
    EXPECT_NEAR(s.ev_after, ref("ev_after"), 1e-6) << pre;
    EXPECT_NEAR(s.ev_affine, ref("ev_affine"), 1e-6) << pre;
    EXPECT_NEAR(s.distance, ref("distance"), 1e-6) << pre;
    if (pre == "procrustes_sq_") {
      EXPECT_NEAR(s.ev_before, ref("ev_before"), 1e-6);
      EXPECT_NEAR(s.det, ref("det"), 1e-6);
      EXPECT_NEAR(s.r_minus_i, ref("r_minus_i"), 1e-6);
    }
  }
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
  EXPECT_NEAR(cknna(x, x, 10, "raw"), 1.0, 1e-10);
  // CKNNA on raw features with k = n - 1 is unbiased CKA (docs/methods.md §4).
  at::Tensor y = at::randn({80, 10}, at::kDouble);
  EXPECT_NEAR(cknna(x, y, 79, "raw"), unbiased_cka(x, y), 1e-9);
  // Independent random representations are far from identical.
  EXPECT_LT(linear_cka(x, y), 0.5);
}

// Linear CKA straight from the definition, HSIC_0 = tr(K H L H) with K = X X^T (docs/methods.md
// §4), on wide data (n < p: the Gram route) and tall data (n > p: the feature route).
TEST(Similarity, LinearCkaMatchesTheHsicDefinitionOnWideAndTallData) {
  torch::manual_seed(3);
  for (auto [n, p, q] : {std::tuple<int64_t, int64_t, int64_t>{20, 50, 30}, {60, 8, 5}}) {
    at::Tensor x = at::randn({n, p}, at::kDouble) + 2.0;
    at::Tensor y = x.mm(at::randn({p, q}, at::kDouble)) * 0.3 + at::randn({n, q}, at::kDouble);
    at::Tensor h = at::eye(n, at::kDouble) - 1.0 / static_cast<double>(n);
    auto hsic0 = [&](const at::Tensor& k, const at::Tensor& l) {
      return k.mm(h).mm(l).mm(h).trace().item<double>();
    };
    at::Tensor k = x.mm(x.t()), l = y.mm(y.t());
    const double expected = hsic0(k, l) / std::sqrt(hsic0(k, k) * hsic0(l, l));
    EXPECT_NEAR(linear_cka(x, y), expected, 1e-10) << n << "x" << p;
    EXPECT_NEAR(linear_cka(x.to(at::kFloat), y.to(at::kFloat)), expected, 1e-5) << "float input";
  }
}

// A Representation keeps per-point quantities for many pairs: using it in other pairs must not
// change its values, and they must equal a fresh computation and the (x, y) functions.
TEST(Similarity, RepresentationsReusedAcrossPairsGiveTheSameValues) {
  torch::manual_seed(8);
  at::Tensor x = at::randn({48, 6}, at::kDouble), z = at::randn({48, 9}, at::kDouble);
  at::Tensor y = x.mm(at::randn({6, 7}, at::kDouble)) + 0.5 * at::randn({48, 7}, at::kDouble);
  SimilarityOptions o;
  o.k = 5;
  o.minibatch = 12;
  using Fn = double (*)(const Representation&, const Representation&);
  for (Fn f : {static_cast<Fn>(linear_cka), static_cast<Fn>(unbiased_cka),
               static_cast<Fn>(minibatch_cka), static_cast<Fn>(svcca), static_cast<Fn>(pwcca),
               static_cast<Fn>(mutual_knn), static_cast<Fn>(cknna)}) {
    const Representation a(x, o), b(y, o, "Y"), c(z, o, "Z");
    const double first = f(a, b);
    f(a, c);
    f(c, b);
    EXPECT_EQ(f(a, b), first);
    EXPECT_NEAR(f(Representation(x, o), Representation(y, o, "Y")), first, 1e-12);
    EXPECT_GT(first, 0.05);
    EXPECT_LT(first, 1.0 - 1e-6);
  }
  const Representation a(x, o), b(y, o, "Y");
  EXPECT_NEAR(linear_cka(a, b), linear_cka(x, y), 1e-12);
  EXPECT_NEAR(unbiased_cka(a, b), unbiased_cka(x, y), 1e-12);
  EXPECT_NEAR(svcca(a, b), svcca(x, y), 1e-12);
  EXPECT_NEAR(mutual_knn(a, b), mutual_knn(x, y, 5), 1e-12);
  EXPECT_NEAR(cknna(a, b), cknna(x, y, 5), 1e-12);
  MinibatchCka mb;  // 48 rows = 4 whole batches of 12
  for (int64_t s = 0; s < 48; s += 12) mb.add(x.narrow(0, s, 12), y.narrow(0, s, 12));
  EXPECT_NEAR(minibatch_cka(a, b), mb.value(), 1e-12);
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
  EXPECT_NEAR(s.ev_affine, 1.0, 1e-9) << "a rotation is an affine map too";
  // An anisotropic scaling is linear but not a rotation: the affine fit explains it, the
  // rotation does not (R ~ I here, EV ~ 1 - E(a-1)^2 / E a^2 ~ 0.69 for a in [0.2, 3]).
  at::Tensor a = at::diag(at::linspace(0.2, 3.0, d, at::kDouble));
  s = procrustes_stats(xf, xf.mm(a), xt, xt.mm(a));
  EXPECT_NEAR(s.ev_affine, 1.0, 1e-9);
  EXPECT_LT(s.ev_after, 0.8);
}

// The Procrustes distance's nuclear norm on QR factors equals the direct singular-value sum of
// a^T b in every shape regime (both wider than n, one wider, neither): singular values are
// invariant under the orthonormal Q factors it drops.
TEST(Similarity, CrossNuclearNormOnQrFactorsEqualsTheDirectSum) {
  torch::manual_seed(9);
  for (const auto& [n, p, q] : {std::tuple<int64_t, int64_t, int64_t>{20, 90, 70},
                                {20, 90, 12},
                                {20, 8, 70},
                                {50, 30, 20}}) {
    const at::Tensor a = at::randn({n, p}, at::kDouble), b = at::randn({n, q}, at::kDouble);
    const double direct = at::linalg_svdvals(a.t().mm(b)).sum().item<double>();
    EXPECT_NEAR(cross_nuclear_norm(a, b), direct, 1e-9 * direct) << n << " " << p << " " << q;
  }
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
  EXPECT_NE(error_of([&] { linear_cka(x.narrow(0, 0, 0), x.narrow(0, 0, 0)); }).find("no rows"),
            std::string::npos);
  at::Tensor inf = x.clone();
  inf[0][0] = INFINITY;
  EXPECT_NE(error_of([&] {
              Representation r(inf, {}, "activations of A at b");
            }).find("activations of A at b has NaN or Inf"),
            std::string::npos);
  // Gram-based metrics refuse n x n matrices too large to hold, before allocating them.
  at::Tensor tall = at::randn({25001, 1});
  EXPECT_NE(error_of([&] { unbiased_cka(tall, tall); }).find("Gram matrix"), std::string::npos);
  at::Tensor wide = at::randn({30, 40}, at::kDouble);  // more features than samples: CCA degenerate
  EXPECT_NE(error_of([&] { pwcca(wide, wide.narrow(1, 0, 20)); }).find("PWCCA: rank(X) + rank(Y)"),
            std::string::npos);
  EXPECT_NE(error_of([&] {
              svcca(wide, wide.narrow(1, 0, 20));
            }).find("kept directions need to be below n - 1 = 29"),
            std::string::npos);
  EXPECT_GT(svcca(wide, wide.narrow(1, 0, 20), 0.99, 5), 0.0) << "5 + 5 directions are fine";
}
