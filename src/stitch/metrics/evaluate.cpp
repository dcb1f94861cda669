#include "stitch/metrics/evaluate.h"

#include <torch/torch.h>

#include "stitch/util/fs.h"

namespace stitch {

double accuracy_eval(const ForwardFn& forward, const Dataset& d, c10::Device device,
                     int64_t batch) {
  torch::NoGradGuard no_grad;
  int64_t correct = 0;
  for (int64_t s = 0; s < d.size(); s += batch) {
    const int64_t len = std::min(batch, d.size() - s);
    at::Tensor logits = forward(d.images.narrow(0, s, len).to(device));
    correct += logits.argmax(1).eq(d.labels.narrow(0, s, len).to(device)).sum().item<int64_t>();
  }
  return d.size() ? static_cast<double>(correct) / static_cast<double>(d.size()) : 0.0;
}

at::Tensor robust_predictions(const ForwardFn& forward, const Dataset& d, const PgdOptions& opt,
                              c10::Device device, int64_t batch) {
  std::vector<at::Tensor> preds;
  for (int64_t s = 0; s < d.size(); s += batch) {
    interrupt_throw_if_requested();
    const int64_t len = std::min(batch, d.size() - s);
    at::Tensor x = d.images.narrow(0, s, len).to(device), y = d.labels.narrow(0, s, len).to(device);
    PgdOptions o = opt;
    o.seed = opt.seed + static_cast<uint64_t>(s);
    at::Tensor adv = pgd_linf(forward, x, y, o);
    torch::NoGradGuard no_grad;
    preds.push_back(forward(adv).argmax(1).cpu());
  }
  return preds.empty() ? at::empty({0}, at::kLong) : at::cat(preds);
}

double robust_accuracy_eval(const ForwardFn& forward, const Dataset& d, const PgdOptions& opt,
                            c10::Device device, int64_t batch) {
  const at::Tensor p = robust_predictions(forward, d, opt, device, batch);
  return d.size() ? static_cast<double>(p.eq(d.labels.cpu()).sum().item<int64_t>()) /
                        static_cast<double>(d.size())
                  : 0.0;
}

}  // namespace stitch
