#pragma once
// PGD-L-infinity (Madry et al.; docs/methods.md §6) in pixel space [0, 1].
#include <cstdint>
#include <functional>

#include <ATen/core/Tensor.h>

namespace stitch {

struct PgdOptions {
  double epsilon = 0.1;
  double alpha = 0.01;
  int64_t steps = 10;
  bool random_start = true;
  uint64_t seed = 0;
};

// A differentiable model: images [N, C, H, W] -> logits [N, K].
using ForwardFn = std::function<at::Tensor(const at::Tensor&)>;

// Returns adversarial images x' with |x' - x|_inf <= epsilon and x' in [0, 1] that maximise
// cross-entropy of forward(x') against labels y [N]. The caller chooses the model's mode
// (eval() while attacking, as in the reference code); model parameters get no gradient.
at::Tensor pgd_linf(const ForwardFn& forward, const at::Tensor& x, const at::Tensor& y,
                    const PgdOptions& opt);

}  // namespace stitch
