#include "stitch/stitchers/stitch_layer.h"

#include <torch/torch.h>

#include <cmath>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "stitch/util/error.h"

namespace stitch {

StitchKind stitch_kind(const std::vector<int64_t>& in, const std::vector<int64_t>& out) {
  if (in.size() == 3 && out.size() == 3) return StitchKind::kConv;
  if (in.size() == 2 && out.size() == 2) {
    if (in[0] != out[0])
      throw StitchError(
          fmt::format("token stitch needs equal token counts, got {} -> {}", in[0], out[0]));
    return StitchKind::kTokens;
  }
  if (in.size() == 1 && out.size() == 1) return StitchKind::kVector;
  if ((in.size() == 3 || in.size() == 2) && out.size() == 1) return StitchKind::kFlatten;
  throw StitchError(fmt::format(
      "cannot stitch a [{}] activation into a [{}] one; supported: conv->conv (1x1 conv, "
      "bilinear resize), tokens->tokens (equal count), vector->vector, conv/tokens->vector "
      "(flatten + linear)",
      fmt::join(in, ","), fmt::join(out, ",")));
}

std::string stitch_kind_name(StitchKind k) {
  switch (k) {
    case StitchKind::kConv:
      return "conv1x1";
    case StitchKind::kTokens:
      return "token_linear";
    case StitchKind::kVector:
      return "linear";
    case StitchKind::kFlatten:
      return "flatten_linear";
  }
  return "?";
}

std::pair<int64_t, int64_t> stitch_widths(const StitchSpec& spec) {
  const StitchKind kind = stitch_kind(spec.in_shape, spec.out_shape);
  int64_t c_in = 1;
  if (kind == StitchKind::kFlatten) {
    for (int64_t d : spec.in_shape) c_in *= d;
  } else {
    c_in = kind == StitchKind::kConv ? spec.in_shape[0] : spec.in_shape.back();
  }
  const int64_t c_out = kind == StitchKind::kConv ? spec.out_shape[0] : spec.out_shape.back();
  if (spec.rank < 0 || spec.rank > std::min(c_in, c_out))
    throw StitchError(fmt::format("stitch rank {} must be between 1 and min(C_in, C_out) = {}",
                                  spec.rank, std::min(c_in, c_out)));
  return {c_in, c_out};
}

StitchLayerImpl::StitchLayerImpl(const StitchSpec& spec)
    : spec_(spec), kind_(stitch_kind(spec.in_shape, spec.out_shape)) {
  std::tie(c_in_, c_out_) = stitch_widths(spec);
  if (spec.rank > 0) {
    u_ = register_parameter("u", torch::zeros({c_out_, spec.rank}));
    v_ = register_parameter("v", torch::zeros({spec.rank, c_in_}));
  } else {
    w_ = register_parameter("weight", torch::zeros({c_out_, c_in_}));
  }
  b_ = register_parameter("bias", torch::zeros({c_out_}));
  if (spec.bn_before) bn_in_ = register_module("bn_in", torch::nn::BatchNorm1d(c_in_));
  if (spec.bn_after) bn_out_ = register_module("bn_out", torch::nn::BatchNorm1d(c_out_));
  init_rand(0);
}

at::Tensor StitchLayerImpl::rows_in(const at::Tensor& x) const {
  switch (kind_) {
    case StitchKind::kConv: {
      at::Tensor z = x;
      const int64_t h = spec_.out_shape[1], w = spec_.out_shape[2];
      if (x.size(2) != h || x.size(3) != w)
        z = torch::nn::functional::interpolate(x, torch::nn::functional::InterpolateFuncOptions()
                                                      .size(std::vector<int64_t>{h, w})
                                                      .mode(torch::kBilinear)
                                                      .align_corners(false));
      return z.permute({0, 2, 3, 1}).reshape({-1, c_in_});
    }
    case StitchKind::kTokens:
      return x.reshape({-1, c_in_});
    case StitchKind::kVector:
      return x;
    case StitchKind::kFlatten:
      return x.flatten(1);
  }
  return x;
}

at::Tensor StitchLayerImpl::rows_out(const at::Tensor& y) const {
  if (kind_ == StitchKind::kConv) return y.permute({0, 2, 3, 1}).reshape({-1, c_out_});
  return y.reshape({-1, c_out_});
}

at::Tensor StitchLayerImpl::from_rows(const at::Tensor& rows, int64_t n) const {
  if (kind_ == StitchKind::kConv)
    return rows.reshape({n, spec_.out_shape[1], spec_.out_shape[2], c_out_})
        .permute({0, 3, 1, 2})
        .contiguous();
  std::vector<int64_t> shape{n};
  shape.insert(shape.end(), spec_.out_shape.begin(), spec_.out_shape.end());
  return rows.reshape(shape);
}

at::Tensor StitchLayerImpl::weight() const {
  return spec_.rank > 0 ? u_.mm(v_) : w_;
}
at::Tensor StitchLayerImpl::bias() const {
  return b_;
}

at::Tensor StitchLayerImpl::forward(const at::Tensor& x) {
  const int64_t n = x.size(0);
  if (kind_ == StitchKind::kConv && !bn_in_ && !bn_out_) {  // same map, as a 1x1 convolution
    at::Tensor z = x;
    if (x.size(2) != spec_.out_shape[1] || x.size(3) != spec_.out_shape[2])
      z = torch::nn::functional::interpolate(
          x, torch::nn::functional::InterpolateFuncOptions()
                 .size(std::vector<int64_t>{spec_.out_shape[1], spec_.out_shape[2]})
                 .mode(torch::kBilinear)
                 .align_corners(false));
    return at::conv2d(z, weight().view({c_out_, c_in_, 1, 1}), b_);
  }
  at::Tensor r = rows_in(x);
  if (bn_in_) r = bn_in_->forward(r);
  r = spec_.rank > 0 ? r.mm(v_.t()).mm(u_.t()) + b_ : at::addmm(b_, r, w_.t());
  if (bn_out_) r = bn_out_->forward(r);
  return from_rows(r, n);
}

void StitchLayerImpl::set_affine(const Affine& a) {
  torch::NoGradGuard g;
  at::Tensor W = a.weight.to(b_.dtype()).to(b_.device()), b = a.bias.to(b_.dtype()).to(b_.device());
  if (W.size(0) != c_out_ || W.size(1) != c_in_)
    throw StitchError(fmt::format("affine map [{}x{}] does not fit a stitch of [{}x{}]", W.size(0),
                                  W.size(1), c_out_, c_in_));
  if (spec_.rank > 0) {
    auto [U, S, Vh] = at::linalg_svd(W.to(at::kDouble), false);
    at::Tensor s = S.narrow(0, 0, spec_.rank).sqrt();
    u_.copy_(U.narrow(1, 0, spec_.rank) * s);
    v_.copy_(s.unsqueeze(1) * Vh.narrow(0, 0, spec_.rank));
  } else {
    w_.copy_(W);
  }
  b_.copy_(b);
}

void StitchLayerImpl::init_rand(uint64_t seed) {
  torch::NoGradGuard g;
  auto gen = at::detail::createCPUGenerator(seed);
  const double bound = 1.0 / std::sqrt(static_cast<double>(c_in_));
  auto fill = [&](at::Tensor t, double bd) {
    t.copy_(at::rand(t.sizes(), gen, at::TensorOptions().dtype(t.dtype())).to(t.device()) *
                (2 * bd) -
            bd);
  };
  if (spec_.rank > 0) {
    fill(u_, 1.0 / std::sqrt(static_cast<double>(spec_.rank)));
    fill(v_, bound);
  } else {
    fill(w_, bound);
  }
  fill(b_, bound);
}

void StitchLayerImpl::init_eye() {
  if (c_in_ != c_out_)
    throw StitchError(
        fmt::format("init 'eye' needs equal widths, got C_in {} and C_out {}; use lstsq or rand",
                    c_in_, c_out_));
  set_affine({at::eye(c_in_, at::kDouble), at::zeros({c_out_}, at::kDouble)});
}

}  // namespace stitch
