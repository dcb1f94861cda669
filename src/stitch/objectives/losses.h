#pragma once
// Stitch training losses (docs/methods.md §1.3, §5), differentiable.
#include <vector>

#include <ATen/core/Tensor.h>

namespace stitch {

// d(a_hat, a) = ||a_hat - a||_F / (||a||_F + eps) over the whole batch tensor (non-squared).
at::Tensor relative_distance(const at::Tensor& a_hat, const at::Tensor& a, double eps = 1e-8);

// FuLA: sum_l w_l d(a_hat_l, a_l); weights empty = uniform 1/|S|. Returns the scalar loss and
// fills `terms` (detached, one per layer) when given.
at::Tensor fula_loss(const std::vector<at::Tensor>& stitched, const std::vector<at::Tensor>& clean,
                     const std::vector<double>& weights = {}, std::vector<double>* terms = nullptr);

// SLM: KL(softmax(end) || softmax(stitched)), batch mean, temperature 1.
at::Tensor soft_label_kl(const at::Tensor& end_logits, const at::Tensor& stitched_logits);

// R_iso(W) = ||W^T W - I||_F^2 (q >= p) or ||W W^T - I||_F^2, and its gradient
// 4 W (W^T W - I) or 4 (W W^T - I) W. W is [q, p].
double isometry_penalty(const at::Tensor& w);
at::Tensor isometry_grad(const at::Tensor& w);

}  // namespace stitch
