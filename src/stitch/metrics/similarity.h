#pragma once
// Representation-similarity metrics (docs/methods.md §3, §4) on activations X [n, p], Y [n, q]
// (rows = the same n inputs; flatten conv maps per sample first). Computed in float64 on the
// inputs' device. Inputs that would give NaN or meaningless values are refused with a
// StitchError: mismatched n, NaN/Inf, too few rows, k >= n, zero-variance representations.
//
// Two ways in: the (x, y) functions for one pair, or `Representation` objects built once per
// stitch point, which keep what each metric needs per point (centred Gram, SVD, neighbour lists)
// so that a P x Q grid of pairs does the expensive work P + Q times, not P x Q times.
#include <cstdint>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>

namespace stitch {

struct SimilarityOptions {
  double svcca_variance = 0.99;  // SVCCA keeps the directions explaining this much variance,
  int64_t svcca_dims = 0;        // or exactly this many when > 0
  int64_t k = 10;                // neighbours for mutual k-NN and CKNNA
  int64_t minibatch = 0;         // batch size for minibatch CKA (whole batches only)
  // CKNNA features: "platonic" = exactly as Huh et al.'s measure_alignment.py (outliers clamped
  // and every sample L2-normalised, as for mutual k-NN; +1e-6 in the denominator), or "raw"
  // (the features as given, no epsilon: CKNNA(X, X) = 1 and k = n-1 gives unbiased CKA).
  std::string cknna_features = "platonic";
};

// One representation X [n, p]: checked (2-D, finite) and centred in float64 once (the input is
// kept as given, not copied).
// Per-point quantities are computed on first use and kept.
class Representation {
 public:
  // `name` labels errors ("activations of A at block1 contain NaN").
  explicit Representation(const at::Tensor& x, SimilarityOptions o = {}, std::string name = "X");

  int64_t n() const { return x_.size(0); }
  int64_t features() const { return x_.size(1); }
  at::Tensor x() const { return x_.to(at::kDouble); }  // float64 [n, p] (no copy if it is)
  const at::Tensor& centred() const { return xc_; }    // X - mean(X) [n, p]
  const SimilarityOptions& options() const { return o_; }
  const std::string& name() const { return name_; }
  void require_variance(const char* what) const;  // throws when every row is identical

  // A symmetric n x n Gram K with the sums the unbiased HSIC estimator needs, for K~ = K - diag.
  struct Gram {
    at::Tensor k;      // [n, n]
    at::Tensor diag;   // diag(K) [n]
    at::Tensor row;    // K~ 1 [n]
    double total = 0;  // 1^T K~ 1
    double norm = 0;   // ||K||_F
    double hsic1 = 0;  // HSIC_1(K, K) (0 when n < 4)
  };
  const Gram& gram() const;                      // of the centred rows, Xc Xc^T
  const std::vector<Gram>& batch_grams() const;  // per whole minibatch of `options().minibatch`
  double cov_norm() const;                       // ||Xc^T Xc||_F (= ||Xc Xc^T||_F)
  const at::Tensor& svcca_basis() const;         // [n, r]: top SVD directions of Xc
  const at::Tensor& basis() const;               // [n, rank]: orthonormal basis of Xc's columns
  const at::Tensor& basis_t_x() const;           // basis()^T Xc [rank, p]
  const at::Tensor& knn() const;                 // [n, k] neighbours after clamp + L2 norm
  const at::Tensor& cknna_gram() const;          // F F^T [n, n], F = X or its platonic preparation
  const at::Tensor& cknna_mask() const;          // [n, n] 1 at the top-k of each cknna_gram row
  double cknna_self() const;                     // HSIC_1(mask . K, mask . K)

 private:
  void svd_() const;  // thin SVD of Xc, kept
  SimilarityOptions o_;
  std::string name_;
  at::Tensor x_, xc_;
  bool constant_ = false;
  mutable Gram gram_;
  mutable std::vector<Gram> batch_grams_;
  mutable double cov_norm_ = -1, cknna_self_ = -1;
  mutable at::Tensor u_, s_, vh_, svcca_basis_, basis_, basis_t_x_, knn_, cknna_gram_, cknna_mask_;
};

double linear_cka(const Representation& a, const Representation& b);
double unbiased_cka(const Representation& a, const Representation& b);
double minibatch_cka(const Representation& a, const Representation& b);  // options().minibatch
double svcca(const Representation& a, const Representation& b);
double pwcca(const Representation& a, const Representation& b);
double mutual_knn(const Representation& a, const Representation& b);
double cknna(const Representation& a, const Representation& b);

double linear_cka(const at::Tensor& x, const at::Tensor& y);    // biased HSIC_0 (Kornblith)
double unbiased_cka(const at::Tensor& x, const at::Tensor& y);  // HSIC_1 (Song); n >= 4
// HSIC_1 of two n x n Gram matrices (diagonals are ignored), the estimator of Song et al.
double hsic_unbiased(const at::Tensor& k, const at::Tensor& l);

// Minibatch CKA (Nguyen et al.): sums HSIC_1 over batches, then normalises.
class MinibatchCka {
 public:
  void add(const at::Tensor& x, const at::Tensor& y);          // one batch [b, p], [b, q], b >= 4
  void add(const Representation& x, const Representation& y);  // one batch, its Grams kept
  void add(const Representation::Gram& k, const Representation::Gram& l);  // one batch's Grams
  double value() const;
  int64_t batches() const { return batches_; }

 private:
  double kl_ = 0, kk_ = 0, ll_ = 0;
  int64_t batches_ = 0;
};

// SVCCA: centre, keep the top singular directions explaining `variance` of each (or exactly
// `dims` when dims > 0), then the mean canonical correlation between the reduced spaces.
// Refuses r_x + r_y >= n - 1 kept directions, where CCA correlations are all 1 by construction.
double svcca(const at::Tensor& x, const at::Tensor& y, double variance = 0.99, int64_t dims = 0);
// PWCCA (Morcos et al.): canonical correlations weighted by how much of X each canonical
// variate accounts for, alpha_i = sum_j |<h_i, x_j>|. Refuses rank(X) + rank(Y) >= n - 1,
// where CCA correlations are all 1 by construction.
double pwcca(const at::Tensor& x, const at::Tensor& y);
// Mutual k-NN alignment (Huh et al.): outlier clamp, L2-normalised rows, top-k inner products
// (self excluded), mean |N_X(i) ∩ N_Y(i)| / k. Needs k < n.
double mutual_knn(const at::Tensor& x, const at::Tensor& y, int64_t k = 10);
// CKNNA: unbiased CKA restricted to mutual k-nearest neighbours. Needs 2 <= k < n.
double cknna(const at::Tensor& x, const at::Tensor& y, int64_t k = 10,
             const std::string& features = "platonic");

// Sum of the singular values of a^T b (a [n, p], b [n, q]): the nuclear norm of the cross
// product, computed on n x n QR factors when p or q exceeds n (same value, far less work for
// wide maps on few samples).
double cross_nuclear_norm(const at::Tensor& a, const at::Tensor& b);

// Procrustes statistics: fit on (x_fit, y_fit), report on held-out (x_test, y_test).
struct ProcrustesStats {
  double rel_error_fit = 0, rel_error_test = 0;  // ||X_c R - Y_c||_F / ||Y_c||_F
  double ev_before = 0, ev_after = 0;  // 1 - ||Y - Ŷ||²/||Y_c||², Ŷ = X (before), aligned (after)
  double ev_affine = 0;  // the same for the least-squares affine map (the best linear fit)
  double distance = 0;   // 2 - 2 tr(Σ) on unit-norm centred inputs (fit set)
  double det = 0;        // det(R) (square case, else 0)
  double r_minus_i = 0, sqrt_2d = 0;  // ||R - I||_F and sqrt(2d) (square case)
};
ProcrustesStats procrustes_stats(const at::Tensor& x_fit, const at::Tensor& y_fit,
                                 const at::Tensor& x_test, const at::Tensor& y_test);

}  // namespace stitch
