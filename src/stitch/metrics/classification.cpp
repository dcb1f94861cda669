#include "stitch/metrics/classification.h"

#include <ATen/ATen.h>

#include <cmath>

namespace stitch {

double topk_accuracy(const at::Tensor& logits, const at::Tensor& labels, int64_t k) {
  k = std::min<int64_t>(k, logits.size(1));
  at::Tensor top = std::get<1>(logits.topk(k, 1));
  return top.eq(labels.unsqueeze(1)).any(1).to(at::kDouble).mean().item<double>();
}

double prediction_agreement(const at::Tensor& a, const at::Tensor& b) {
  return a.argmax(1).eq(b.argmax(1)).to(at::kDouble).mean().item<double>();
}

double correctness_agreement(const at::Tensor& a, const at::Tensor& b, const at::Tensor& labels) {
  return a.argmax(1).eq(labels).eq(b.argmax(1).eq(labels)).to(at::kDouble).mean().item<double>();
}

double soft_agreement(const at::Tensor& a, const at::Tensor& b) {
  at::Tensor pa = a.to(at::kDouble).softmax(1), pb = b.to(at::kDouble).softmax(1);
  at::Tensor denom = at::max(pa.pow(2).sum(1), pb.pow(2).sum(1));
  return ((pa * pb).sum(1) / denom).mean().item<double>();
}

double error_consistency(const at::Tensor& a, const at::Tensor& b, const at::Tensor& labels) {
  const double acc_a = topk_accuracy(a, labels), acc_b = topk_accuracy(b, labels);
  const double c_obs = correctness_agreement(a, b, labels);
  const double c_exp = acc_a * acc_b + (1 - acc_a) * (1 - acc_b);
  if (c_exp >= 1.0) return c_obs >= 1.0 ? 1.0 : 0.0;
  return (c_obs - c_exp) / (1 - c_exp);
}

MatrixStats matrix_stats(const at::Tensor& w) {
  at::Tensor W = w.detach().to(at::kDouble).cpu();
  at::Tensor s = at::linalg_svdvals(W);
  MatrixStats m;
  const double smax = s.max().item<double>(), smin = s.min().item<double>();
  m.rank = s.gt(1e-3 * smax).sum().item<int64_t>();
  m.condition = smin > 0 ? smax / smin : INFINITY;
  m.sv_ratio = smax > 0 ? smin / smax : 0;
  at::Tensor g = W.size(0) >= W.size(1) ? W.t().mm(W) : W.mm(W.t());
  m.orth_error = (g - at::eye(g.size(0), g.options())).norm().item<double>();
  return m;
}

double explained_variance(const at::Tensor& a_hat, const at::Tensor& a) {
  at::Tensor A = a.detach().to(at::kDouble), H = a_hat.detach().to(at::kDouble);
  const double var = (A - A.mean()).pow(2).mean().item<double>();
  return 1.0 - (A - H).pow(2).mean().item<double>() / std::max(var, 1e-30);
}

}  // namespace stitch
