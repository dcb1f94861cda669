#pragma once
// Representation-similarity metrics (METHODS.md §3, §4) on activations X [n, p], Y [n, q]
// (rows = the same n inputs; flatten conv maps per sample first). Computed in float64 on the
// inputs' device. Inputs that would give NaN or meaningless values are refused with a
// StitchError: mismatched n, NaN/Inf, too few rows, k >= n, zero-variance representations.
#include <cstdint>

#include <ATen/core/Tensor.h>

namespace stitch {

double linear_cka(const at::Tensor& x, const at::Tensor& y);    // biased HSIC_0 (Kornblith)
double unbiased_cka(const at::Tensor& x, const at::Tensor& y);  // HSIC_1 (Song); n >= 4
// HSIC_1 of two n x n Gram matrices (diagonals are ignored), the estimator of Song et al.
double hsic_unbiased(const at::Tensor& k, const at::Tensor& l);

// Minibatch CKA (Nguyen et al.): sums HSIC_1 over batches, then normalises.
class MinibatchCka {
 public:
  void add(const at::Tensor& x, const at::Tensor& y);  // one batch [b, p], [b, q], b >= 4
  double value() const;
  int64_t batches() const { return batches_; }

 private:
  double kl_ = 0, kk_ = 0, ll_ = 0;
  int64_t batches_ = 0;
};

// SVCCA: centre, keep the top singular directions explaining `variance` of each (or exactly
// `dims` when dims > 0), then the mean canonical correlation between the reduced spaces.
double svcca(const at::Tensor& x, const at::Tensor& y, double variance = 0.99, int64_t dims = 0);
// PWCCA (Morcos et al.): canonical correlations weighted by how much of X each canonical
// variate accounts for, alpha_i = sum_j |<h_i, x_j>|. Refuses rank(X) + rank(Y) >= n - 1,
// where CCA correlations are all 1 by construction.
double pwcca(const at::Tensor& x, const at::Tensor& y);
// Mutual k-NN alignment (Huh et al.): outlier clamp, L2-normalised rows, top-k inner products
// (self excluded), mean |N_X(i) ∩ N_Y(i)| / k. Needs k < n.
double mutual_knn(const at::Tensor& x, const at::Tensor& y, int64_t k = 10);
// CKNNA: unbiased CKA restricted to mutual k-nearest neighbours. Needs 2 <= k < n.
double cknna(const at::Tensor& x, const at::Tensor& y, int64_t k = 10);

// Procrustes statistics: fit on (x_fit, y_fit), report on held-out (x_test, y_test).
struct ProcrustesStats {
  double rel_error_fit = 0, rel_error_test = 0;  // ||X_c R - Y_c||_F / ||Y_c||_F
  double ev_before = 0, ev_after = 0;  // 1 - ||Y - Ŷ||²/||Y_c||², Ŷ = X (before), aligned (after)
  double distance = 0;                 // 2 - 2 tr(Σ) on unit-norm centred inputs (fit set)
  double det = 0;                      // det(R) (square case, else 0)
  double r_minus_i = 0, sqrt_2d = 0;  // ||R - I||_F and sqrt(2d) (square case)
};
ProcrustesStats procrustes_stats(const at::Tensor& x_fit, const at::Tensor& y_fit,
                                 const at::Tensor& x_test, const at::Tensor& y_test);

}  // namespace stitch
