#include "stitch/objectives/losses.h"

#include <torch/torch.h>

#include "stitch/util/error.h"

namespace stitch {

at::Tensor relative_distance(const at::Tensor& a_hat, const at::Tensor& a, double eps) {
  return (a_hat - a).norm() / (a.norm() + eps);
}

at::Tensor fula_loss(const std::vector<at::Tensor>& stitched, const std::vector<at::Tensor>& clean,
                     const std::vector<double>& weights, std::vector<double>* terms) {
  if (stitched.empty() || stitched.size() != clean.size())
    throw StitchError("FuLA needs one clean activation per stitched activation (and at least one)");
  if (!weights.empty() && weights.size() != stitched.size())
    throw StitchError("fula.weights must have one weight per FuLA layer");
  at::Tensor loss;
  if (terms) terms->clear();
  for (size_t l = 0; l < stitched.size(); ++l) {
    const double w = weights.empty() ? 1.0 / static_cast<double>(stitched.size()) : weights[l];
    at::Tensor d = relative_distance(stitched[l], clean[l]);
    if (terms) terms->push_back(d.item<double>());
    loss = loss.defined() ? loss + w * d : w * d;
  }
  return loss;
}

at::Tensor soft_label_kl(const at::Tensor& end_logits, const at::Tensor& stitched_logits) {
  return torch::nn::functional::kl_div(
      stitched_logits.log_softmax(1), end_logits.log_softmax(1),
      torch::nn::functional::KLDivFuncOptions().reduction(torch::kBatchMean).log_target(true));
}

double isometry_penalty(const at::Tensor& w) {
  at::Tensor W = w.detach();
  at::Tensor g = W.size(0) >= W.size(1) ? W.t().mm(W) : W.mm(W.t());
  return (g - at::eye(g.size(0), g.options())).pow(2).sum().item<double>();
}

at::Tensor isometry_grad(const at::Tensor& w) {
  at::Tensor W = w.detach();
  if (W.size(0) >= W.size(1)) return 4 * W.mm(W.t().mm(W) - at::eye(W.size(1), W.options()));
  return 4 * (W.mm(W.t()) - at::eye(W.size(0), W.options())).mm(W);
}

}  // namespace stitch
