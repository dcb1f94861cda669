#include "stitch/stitchers/fit.h"

#include <ATen/ATen.h>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "stitch/util/error.h"

namespace stitch {

namespace {
void check_pair(const at::Tensor& x, const at::Tensor& y) {
  if (x.dim() != 2 || y.dim() != 2 || x.size(0) != y.size(0))
    throw StitchError(fmt::format(
        "closed-form fit needs X [n, p] and Y [n, q] with the same n; got [{}] and [{}]",
        fmt::join(x.sizes(), ","), fmt::join(y.sizes(), ",")));
  if (!at::isfinite(x).all().item<bool>() || !at::isfinite(y).all().item<bool>())
    throw StitchError("closed-form fit: activations contain NaN or Inf");
}
}  // namespace

Affine fit_lstsq(const at::Tensor& x, const at::Tensor& y, double ridge) {
  check_pair(x, y);
  at::Tensor X = x.to(at::kDouble), Y = y.to(at::kDouble);
  const int64_t n = X.size(0), p = X.size(1);
  at::Tensor X1 = at::cat({X, at::ones({n, 1}, X.options())}, 1);
  at::Tensor A;
  if (ridge > 0) {
    at::Tensor G = X1.t().mm(X1);
    at::Tensor reg = at::eye(p + 1, X.options()) * ridge;
    reg[p][p] = 0.0;  // the bias is not penalised
    A = at::linalg_solve(G + reg, X1.t().mm(Y));
  } else {
    A = at::linalg_pinv(X1).mm(Y);
  }
  return {A.narrow(0, 0, p).t().contiguous(), A[p].contiguous()};
}

Procrustes fit_procrustes(const at::Tensor& x, const at::Tensor& y, bool center, bool with_scale,
                          bool kabsch) {
  check_pair(x, y);
  at::Tensor X = x.to(at::kDouble), Y = y.to(at::kDouble);
  Procrustes r;
  r.mean_x = center ? X.mean(0) : at::zeros({X.size(1)}, X.options());
  r.mean_y = center ? Y.mean(0) : at::zeros({Y.size(1)}, Y.options());
  at::Tensor Xc = X - r.mean_x, Yc = Y - r.mean_y;
  auto [U, S, Vh] = at::linalg_svd(Xc.t().mm(Yc), /*full_matrices=*/false);
  if (kabsch && X.size(1) == Y.size(1)) {
    const double d = at::linalg_det(U.mm(Vh)).item<double>();
    if (d < 0) {
      at::Tensor D = at::ones({S.size(0)}, X.options());
      D[S.size(0) - 1] = -1.0;
      U = U * D;  // U diag(1,..,1,-1) V^T
    }
  }
  r.rotation = U.mm(Vh);
  r.singular_values = S;
  if (with_scale) {
    const double sx = Xc.pow(2).sum().item<double>();
    r.scale = sx > 0 ? (Xc.mm(r.rotation) * Yc).sum().item<double>() / sx : 1.0;
  }
  return r;
}

Affine procrustes_affine(const Procrustes& p) {
  at::Tensor W = p.rotation.t() * p.scale;  // [q, p]
  return {W.contiguous(), (p.mean_y - W.mv(p.mean_x)).contiguous()};
}

Affine fit_maiorca(const at::Tensor& x, const at::Tensor& y) {
  check_pair(x, y);
  at::Tensor X = x.to(at::kDouble), Y = y.to(at::kDouble);
  const int64_t p = X.size(1), q = Y.size(1), d = std::max(p, q);
  at::Tensor mx = X.mean(0), my = Y.mean(0);
  at::Tensor sx = X.std(0).clamp_min(1e-12),
             sy = Y.std(0).clamp_min(1e-12);  // unbiased, zeros guarded
  at::Tensor Xs = at::constant_pad_nd((X - mx) / sx, {0, d - p}),
             Ys = at::constant_pad_nd((Y - my) / sy, {0, d - q});
  auto [U, S, Vh] = at::linalg_svd(Xs.t().mm(Ys), false);
  at::Tensor R = U.mm(Vh).narrow(0, 0, p).narrow(1, 0, q);  // [p, q]: padded rows/cols stripped
  // y = ((x - mx)/sx) R * sy + my  =>  W = diag(sy) R^T diag(1/sx)
  at::Tensor W = (sy.unsqueeze(1) * R.t()) / sx.unsqueeze(0);
  return {W.contiguous(), (my - W.mv(mx)).contiguous()};
}

double affine_residual(const Affine& a, const at::Tensor& x, const at::Tensor& y) {
  at::Tensor X = x.to(at::kDouble), Y = y.to(at::kDouble);
  at::Tensor pred = X.mm(a.weight.to(at::kDouble).t()) + a.bias.to(at::kDouble);
  const double denom = (Y - Y.mean(0)).norm().item<double>();
  return (pred - Y).norm().item<double>() / std::max(denom, 1e-30);
}

}  // namespace stitch
