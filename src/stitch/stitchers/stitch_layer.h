#pragma once
// The stitching layer T: an affine map applied per position (docs/methods.md §1.4):
//   conv   [N,C,H,W] -> [N,C',H',W']  1x1 conv (bilinear resize to H'xW' first if sizes differ)
//   tokens [N,T,D]   -> [N,T,D']      per-token linear (token counts must match)
//   vector [N,D]     -> [N,D']        linear
//   conv/tokens      -> vector        flatten, then linear
// Optional BatchNorm before/after (over channels), optional low rank W = U V.
#include <string>
#include <utility>
#include <vector>

#include <torch/nn/module.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/pimpl.h>

#include "stitch/stitchers/fit.h"

namespace stitch {

enum class StitchKind { kConv, kTokens, kVector, kFlatten };

struct StitchSpec {
  std::vector<int64_t> in_shape, out_shape;  // activation shapes without the batch dim
  bool bn_before = false, bn_after = false;
  int64_t rank = 0;  // 0 = full rank
};

// Which rule joins the two shapes; throws StitchError listing the supported pairs otherwise.
StitchKind stitch_kind(const std::vector<int64_t>& in, const std::vector<int64_t>& out);
std::string stitch_kind_name(StitchKind k);
// The affine map's widths {C_in, C_out} for `spec`; throws StitchError when the shapes cannot be
// joined (as stitch_kind) or the rank is out of range. Pure: builds no module.
std::pair<int64_t, int64_t> stitch_widths(const StitchSpec& spec);

class StitchLayerImpl : public torch::nn::Module {
 public:
  explicit StitchLayerImpl(const StitchSpec& spec);
  at::Tensor forward(const at::Tensor& x);  // [N, in_shape...] -> [N, out_shape...]

  // Rows the affine map sees: front activations [N, in...] -> [rows, C_in] (resized for conv),
  // end activations [N, out...] -> [rows, C_out]. Rows of the two line up.
  at::Tensor rows_in(const at::Tensor& x) const;
  at::Tensor rows_out(const at::Tensor& y) const;
  at::Tensor from_rows(const at::Tensor& rows, int64_t n) const;  // [rows, C_out] -> [N, out...]

  at::Tensor weight() const;         // effective W [C_out, C_in]
  at::Tensor bias() const;           // [C_out]
  void set_affine(const Affine& a);  // copies W, b (low rank: truncated SVD of W)
  void init_rand(uint64_t seed);     // PyTorch's Kaiming-uniform default
  void init_eye();                   // identity; needs C_in == C_out
  int64_t in_width() const { return c_in_; }
  int64_t out_width() const { return c_out_; }
  StitchKind kind() const { return kind_; }
  const StitchSpec& spec() const { return spec_; }

 private:
  StitchSpec spec_;
  StitchKind kind_;
  int64_t c_in_ = 0, c_out_ = 0;
  at::Tensor w_, u_, v_, b_;
  torch::nn::BatchNorm1d bn_in_{nullptr}, bn_out_{nullptr};
};
TORCH_MODULE(StitchLayer);

}  // namespace stitch
