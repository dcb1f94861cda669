#pragma once
// Functional-similarity metrics on logits (docs/methods.md §1.7). Pure functions of tensors.
// logits [N, K], labels [N] int64.
#include <cstdint>

#include <ATen/core/Tensor.h>

namespace stitch {

double topk_accuracy(const at::Tensor& logits, const at::Tensor& labels, int64_t k = 1);
// Fraction of samples where both models predict the same class.
double prediction_agreement(const at::Tensor& a, const at::Tensor& b);
// "Hard agreement" of the reference code: fraction where (a correct) == (b correct).
double correctness_agreement(const at::Tensor& a, const at::Tensor& b, const at::Tensor& labels);
// mean_n p_a . p_b / max(|p_a|^2, |p_b|^2) over softmax outputs (1 for identical outputs).
double soft_agreement(const at::Tensor& a, const at::Tensor& b);
// Error-consistency kappa (c_obs - c_exp) / (1 - c_exp), c_exp = acc_a acc_b + (1-acc_a)(1-acc_b);
// returns 1 when c_exp == 1 and the models agree everywhere.
double error_consistency(const at::Tensor& a, const at::Tensor& b, const at::Tensor& labels);

// Properties of a stitch matrix W [q, p].
struct MatrixStats {
  int64_t rank = 0;       // singular values above 1e-3 * sigma_max
  double condition = 0;   // sigma_max / sigma_min (of the min(p, q) values)
  double orth_error = 0;  // ||W^T W - I||_F (p <= q) or ||W W^T - I||_F
  double sv_ratio = 0;    // sigma_min / sigma_max
};
MatrixStats matrix_stats(const at::Tensor& w);

// R^2 = 1 - mean((a - a_hat)^2) / mean((a - mean(a))^2), one scalar mean over all entries.
double explained_variance(const at::Tensor& a_hat, const at::Tensor& a);

}  // namespace stitch
