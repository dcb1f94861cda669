#include "stitch/metrics/similarity.h"

#include <ATen/ATen.h>

#include <cmath>

#include <fmt/format.h>

#include "stitch/stitchers/fit.h"
#include "stitch/util/error.h"

namespace stitch {

namespace {
at::Tensor checked(const at::Tensor& x, const char* what, const char* name) {
  if (x.dim() != 2)
    throw StitchError(
        fmt::format("{}: {} must be 2-D [n, features], got {} dims", what, name, x.dim()));
  if (!at::isfinite(x).all().item<bool>())
    throw StitchError(fmt::format("{}: {} contains NaN or Inf", what, name));
  return x.to(at::kDouble);
}

std::pair<at::Tensor, at::Tensor> pair_checked(const at::Tensor& x, const at::Tensor& y,
                                               const char* what, int64_t min_n) {
  at::Tensor X = checked(x, what, "X"), Y = checked(y, what, "Y");
  if (X.size(0) != Y.size(0))
    throw StitchError(fmt::format("{}: X has {} rows but Y has {}; rows must be the same inputs",
                                  what, X.size(0), Y.size(0)));
  if (X.size(0) < min_n)
    throw StitchError(fmt::format("{}: needs at least {} samples, got {}", what, min_n, X.size(0)));
  return {X, Y};
}

at::Tensor centred(const at::Tensor& x) {
  return x - x.mean(0);
}

void require_variance(const at::Tensor& xc, const char* what, const char* name) {
  if (xc.abs().max().item<double>() == 0.0)
    throw StitchError(
        fmt::format("{}: {} has zero variance (every sample is identical); the metric is undefined",
                    what, name));
}

// Orthonormal basis of the column space of a centred matrix (rank-revealing via SVD).
at::Tensor basis(const at::Tensor& xc) {
  auto [U, S, Vh] = at::linalg_svd(xc, false);
  const double tol =
      S.max().item<double>() * 1e-10 * static_cast<double>(std::max(xc.size(0), xc.size(1)));
  return U.narrow(1, 0, S.gt(tol).sum().item<int64_t>());
}

at::Tensor topk_mask(const at::Tensor& gram, int64_t k) {
  at::Tensor g = gram.clone();
  g.fill_diagonal_(-INFINITY);
  at::Tensor idx = std::get<1>(g.topk(k, 1));
  return at::zeros_like(gram).scatter_(1, idx, 1.0);
}
}  // namespace

double linear_cka(const at::Tensor& x, const at::Tensor& y) {
  auto [X, Y] = pair_checked(x, y, "linear CKA", 2);
  at::Tensor Xc = centred(X), Yc = centred(Y);
  require_variance(Xc, "linear CKA", "X");
  require_variance(Yc, "linear CKA", "Y");
  const double num = Yc.t().mm(Xc).pow(2).sum().item<double>();
  return num / (Xc.t().mm(Xc).norm().item<double>() * Yc.t().mm(Yc).norm().item<double>());
}

double hsic_unbiased(const at::Tensor& k, const at::Tensor& l) {
  const int64_t n = k.size(0);
  if (n < 4) throw StitchError(fmt::format("unbiased HSIC needs n >= 4 samples, got {}", n));
  at::Tensor K = k.to(at::kDouble).clone(), L = l.to(at::kDouble).clone();
  K.fill_diagonal_(0.0);
  L.fill_diagonal_(0.0);
  const double nn = static_cast<double>(n);
  const double tr = (K * L.t()).sum().item<double>();  // tr(K L); masked Grams are not symmetric
  const double sk = K.sum().item<double>(), sl = L.sum().item<double>();
  const double cross = K.sum(0).dot(L.sum(1)).item<double>();  // 1^T K L 1
  return (tr + sk * sl / ((nn - 1) * (nn - 2)) - 2.0 / (nn - 2) * cross) / (nn * (nn - 3));
}

double unbiased_cka(const at::Tensor& x, const at::Tensor& y) {
  auto [X, Y] = pair_checked(x, y, "unbiased CKA", 4);
  at::Tensor K = X.mm(X.t()), L = Y.mm(Y.t());
  const double kk = hsic_unbiased(K, K), ll = hsic_unbiased(L, L);
  if (kk <= 0 || ll <= 0)
    throw StitchError(
        "unbiased CKA: a representation has no (unbiased) variance; the metric is undefined");
  return hsic_unbiased(K, L) / std::sqrt(kk * ll);
}

void MinibatchCka::add(const at::Tensor& x, const at::Tensor& y) {
  auto [X, Y] = pair_checked(x, y, "minibatch CKA", 4);
  at::Tensor K = X.mm(X.t()), L = Y.mm(Y.t());
  kl_ += hsic_unbiased(K, L);
  kk_ += hsic_unbiased(K, K);
  ll_ += hsic_unbiased(L, L);
  ++batches_;
}

double MinibatchCka::value() const {
  if (batches_ == 0) throw StitchError("minibatch CKA: no batches were added");
  if (kk_ <= 0 || ll_ <= 0)
    throw StitchError("minibatch CKA: a representation has no variance over the batches");
  return kl_ / std::sqrt(kk_ * ll_);
}

double svcca(const at::Tensor& x, const at::Tensor& y, double variance, int64_t dims) {
  auto [X, Y] = pair_checked(x, y, "SVCCA", 2);
  auto reduce = [&](const at::Tensor& a, const char* name) {
    at::Tensor ac = centred(a);
    require_variance(ac, "SVCCA", name);
    auto [U, S, Vh] = at::linalg_svd(ac, false);
    int64_t keep = dims;
    if (keep <= 0) {
      at::Tensor frac = (S * S).cumsum(0) / (S * S).sum();
      keep = frac.lt(variance - 1e-12).sum().item<int64_t>() + 1;
    }
    keep = std::min<int64_t>(keep, S.size(0));
    return (U.narrow(1, 0, keep) * S.narrow(0, 0, keep));
  };
  at::Tensor rx = reduce(X, "X"), ry = reduce(Y, "Y");
  at::Tensor rho = at::linalg_svdvals(basis(centred(rx)).t().mm(basis(centred(ry))));
  return rho.clamp(0.0, 1.0).mean().item<double>();
}

double pwcca(const at::Tensor& x, const at::Tensor& y) {
  auto [X, Y] = pair_checked(x, y, "PWCCA", 2);
  at::Tensor Xc = centred(X), Yc = centred(Y);
  require_variance(Xc, "PWCCA", "X");
  require_variance(Yc, "PWCCA", "Y");
  at::Tensor Qx = basis(Xc), Qy = basis(Yc);
  // With as many independent directions as centred samples (n - 1), every direction of the
  // sample space is available to CCA and all correlations are 1: the value means nothing.
  if (Qx.size(1) + Qy.size(1) >= X.size(0) - 1)
    throw StitchError(fmt::format(
        "PWCCA: rank(X) + rank(Y) = {} needs to be below n - 1 = {} samples for CCA to be "
        "meaningful; use more samples (about 2x the feature count) or SVCCA",
        Qx.size(1) + Qy.size(1), X.size(0) - 1));
  auto [U, S, Vh] = at::linalg_svd(Qx.t().mm(Qy), false);
  at::Tensor H = Qx.mm(U);                       // canonical variates of X, unit columns
  at::Tensor alpha = H.t().mm(Xc).abs().sum(1);  // alpha_i = sum_j |<h_i, x_j>|
  alpha = alpha / alpha.sum();
  return (alpha * S.clamp(0.0, 1.0)).sum().item<double>();
}

namespace {
at::Tensor knn_prepare(const at::Tensor& a) {
  // Clamp to +-q, q = mean over samples of each sample's 95th percentile of |feature|.
  const double q = at::quantile(a.abs(), 0.95, 1).mean().item<double>();
  at::Tensor c = a.clamp(-q, q);
  at::Tensor norm = c.norm(2, 1, true);
  if (norm.eq(0).any().item<bool>())
    throw StitchError("mutual k-NN: a sample has an all-zero representation");
  return c / norm;
}
}  // namespace

double mutual_knn(const at::Tensor& x, const at::Tensor& y, int64_t k) {
  auto [X, Y] = pair_checked(x, y, "mutual k-NN", 2);
  if (k < 1 || k >= X.size(0))
    throw StitchError(
        fmt::format("mutual k-NN: k must be in [1, n-1] = [1, {}], got {}", X.size(0) - 1, k));
  at::Tensor a = knn_prepare(X), b = knn_prepare(Y);
  at::Tensor ma = topk_mask(a.mm(a.t()), k), mb = topk_mask(b.mm(b.t()), k);
  return ((ma * mb).sum(1) / static_cast<double>(k)).mean().item<double>();
}

double cknna(const at::Tensor& x, const at::Tensor& y, int64_t k) {
  auto [X, Y] = pair_checked(x, y, "CKNNA", 4);
  if (k < 2 || k >= X.size(0))
    throw StitchError(
        fmt::format("CKNNA: k must be in [2, n-1] = [2, {}], got {}", X.size(0) - 1, k));
  at::Tensor K = X.mm(X.t()), L = Y.mm(Y.t());
  at::Tensor mk = topk_mask(K, k), ml = topk_mask(L, k), m = mk * ml;
  const double kk = hsic_unbiased(mk * K, mk * K), ll = hsic_unbiased(ml * L, ml * L);
  if (kk <= 0 || ll <= 0)
    throw StitchError("CKNNA: a masked representation has no variance; the metric is undefined");
  return hsic_unbiased(m * K, m * L) / std::sqrt(kk * ll);
}

ProcrustesStats procrustes_stats(const at::Tensor& x_fit, const at::Tensor& y_fit,
                                 const at::Tensor& x_test, const at::Tensor& y_test) {
  auto [Xf, Yf] = pair_checked(x_fit, y_fit, "Procrustes", 2);
  auto [Xt, Yt] = pair_checked(x_test, y_test, "Procrustes (held-out)", 2);
  const Procrustes p = fit_procrustes(Xf, Yf, true, false, false);
  ProcrustesStats s;
  auto rel = [&](const at::Tensor& X, const at::Tensor& Y) {
    at::Tensor Yc = Y - p.mean_y;
    return ((X - p.mean_x).mm(p.rotation) - Yc).norm().item<double>() / Yc.norm().item<double>();
  };
  s.rel_error_fit = rel(Xf, Yf);
  s.rel_error_test = rel(Xt, Yt);
  const double var = (Yt - Yt.mean(0)).pow(2).sum().item<double>();
  at::Tensor aligned = (Xt - p.mean_x).mm(p.rotation) + p.mean_y;
  s.ev_after = 1.0 - (Yt - aligned).pow(2).sum().item<double>() / var;
  if (Xt.size(1) == Yt.size(1)) s.ev_before = 1.0 - (Yt - Xt).pow(2).sum().item<double>() / var;
  at::Tensor xc = centred(Xf), yc = centred(Yf);
  xc = xc / xc.norm();
  yc = yc / yc.norm();
  s.distance = 2.0 - 2.0 * at::linalg_svdvals(xc.t().mm(yc)).sum().item<double>();
  if (Xf.size(1) == Yf.size(1)) {
    const int64_t d = Xf.size(1);
    s.det = at::linalg_det(p.rotation).item<double>();
    s.r_minus_i = (p.rotation - at::eye(d, p.rotation.options())).norm().item<double>();
    s.sqrt_2d = std::sqrt(2.0 * static_cast<double>(d));
  }
  return s;
}

}  // namespace stitch
