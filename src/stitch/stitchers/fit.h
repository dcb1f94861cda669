#pragma once
// Closed-form affine maps between paired activation rows (docs/methods.md §1.4, §2.3, §2.5, §3).
// X [n, p] (front rows), Y [n, q] (end rows); computed in float64 on X's device.
#include <ATen/core/Tensor.h>

namespace stitch {

struct Affine {
  at::Tensor weight;  // [q, p]: y = W x + b
  at::Tensor bias;    // [q]
};

// Least squares with bias: A = pinv([X 1]) Y (ridge = 0), or the ridge normal equations with an
// unpenalised bias (ridge > 0). W = A[:-1]^T, b = A[-1].
Affine fit_lstsq(const at::Tensor& x, const at::Tensor& y, double ridge = 0.0);

struct Procrustes {
  at::Tensor rotation;         // R [p, q], R^T R = I (semi-orthogonal when p != q)
  double scale = 1.0;          // isotropic s (1 unless fitted)
  at::Tensor mean_x, mean_y;   // [p], [q] (zeros when not centred)
  at::Tensor singular_values;  // of X_c^T Y_c
};

// Orthogonal Procrustes: min ||s (X - mu_x) R - (Y - mu_y)||_F over R^T R = I.
// kabsch: force det(R) = +1 (square case). with_scale: s = tr(Sigma) / ||X_c||_F^2.
Procrustes fit_procrustes(const at::Tensor& x, const at::Tensor& y, bool center = true,
                          bool with_scale = false, bool kabsch = false);
// y = s R^T (x - mu_x) + mu_y as an affine map.
Affine procrustes_affine(const Procrustes& p);

// Maiorca et al.: standard-scale each space, zero-pad to equal width, Procrustes, de-scale with
// the target statistics; returned as one affine map X -> Y.
Affine fit_maiorca(const at::Tensor& x, const at::Tensor& y);

// Relative residual ||X W^T + b - Y||_F / ||Y - mean(Y)||_F (0 = perfect fit).
double affine_residual(const Affine& a, const at::Tensor& x, const at::Tensor& y);

}  // namespace stitch
