#include "stitch/attack/pgd.h"

#include <torch/torch.h>

#include "stitch/util/error.h"

namespace stitch {

at::Tensor pgd_linf(const ForwardFn& forward, const at::Tensor& x, const at::Tensor& y,
                    const PgdOptions& opt) {
  if (opt.epsilon < 0 || opt.alpha <= 0 || opt.steps < 0)
    throw StitchError("PGD needs epsilon >= 0, alpha > 0 and steps >= 0");
  torch::NoGradGuard outer;  // re-enabled only around the loss
  at::Tensor x0 = x.detach();
  at::Tensor adv = x0.clone();
  if (opt.random_start && opt.epsilon > 0) {
    auto gen = at::detail::createCPUGenerator(opt.seed);
    at::Tensor noise =
        at::rand(x0.sizes(), gen, at::TensorOptions().dtype(x0.dtype())).to(x0.device());
    adv = (x0 + (noise * 2 - 1) * opt.epsilon).clamp(0.0, 1.0);
  }
  for (int64_t s = 0; s < opt.steps; ++s) {
    at::Tensor a = adv.detach().requires_grad_(true);
    at::Tensor grad;
    {
      torch::AutoGradMode on(true);
      at::Tensor loss = torch::nn::functional::cross_entropy(forward(a), y);
      grad = torch::autograd::grad({loss}, {a})[0];
    }
    adv = adv + opt.alpha * grad.sign();
    adv = at::min(at::max(adv, x0 - opt.epsilon), x0 + opt.epsilon).clamp(0.0, 1.0);
  }
  return adv.detach();
}

}  // namespace stitch
