// FuLA stitch-training throughput (samples/s) in C++: per step, the stitch on cached front
// activations, the end model's downstream segments with autograd, a no-grad clean pass for the
// targets, relative-distance loss at every layer, backward, Adam. bench/fula_throughput.py does
// the same in Python eager; bench/fula_throughput.sh prints both and the ratio.
// Usage: bench_fula_throughput ARCH POINT [steps] [batch] [threads]   (untrained architectures)
#include <torch/torch.h>

#include <chrono>
#include <cstdio>

#include "stitch/data/fashion_mnist.h"
#include "stitch/model/model_io.h"
#include "stitch/model/staged_model.h"
#include "stitch/objectives/losses.h"
#include "stitch/stitchers/stitch_layer.h"
#include "stitch/util/device.h"

using namespace stitch;

int main(int argc, char** argv) {
  const std::string arch = argc > 1 ? argv[1] : "cnn", point = argc > 2 ? argv[2] : "block1";
  const int64_t steps = argc > 3 ? std::stoll(argv[3]) : 200,
                batch = argc > 4 ? std::stoll(argv[4]) : 128;
  const int threads = argc > 5 ? std::stoi(argv[5]) : 2;
  threads_set(threads);
  torch::manual_seed(0);
  StagedModel front = StagedModel::load(arch_path(arch)), end = StagedModel::load(arch_path(arch));
  model_reinit(front, 1);
  model_reinit(end, 2);
  front.probe();
  end.probe();
  for (auto* m : {&front, &end})
    for (auto& p : m->parameters()) p.requires_grad_(false);

  std::vector<std::string> down;
  for (const auto& p : end.meta().stitch_points)
    if (end.position(p) > end.position(point)) down.push_back(p);
  const Dataset d = dataset_first(fashion_mnist_load("train"), 8192);
  at::Tensor xi, aj;
  {
    torch::NoGradGuard g;
    xi = front.forward_range(d.images, kInput, point);
    aj = end.forward_range(d.images, kInput, point);
  }
  StitchLayer T(StitchSpec{end.point(point).shape, end.point(point).shape});
  torch::optim::Adam opt(T->parameters(), torch::optim::AdamOptions(1e-3).weight_decay(1e-4));
  const int64_t nb = d.size() / batch;
  auto step = [&](int64_t i) {
    at::Tensor x = xi.narrow(0, (i % nb) * batch, batch), a = aj.narrow(0, (i % nb) * batch, batch);
    opt.zero_grad();
    std::vector<at::Tensor> st{T->forward(x)}, cl{a};
    std::string prev = point;
    for (const auto& l : down) {
      st.push_back(end.forward_range(st.back(), prev, l));
      {
        torch::NoGradGuard g;
        cl.push_back(end.forward_range(cl.back(), prev, l));
      }
      prev = l;
    }
    at::Tensor loss = fula_loss(st, cl);
    loss.backward();
    opt.step();
    return loss.item<double>();
  };
  for (int64_t i = 0; i < 20; ++i) step(i);
  const auto t0 = std::chrono::steady_clock::now();
  double loss = 0;
  for (int64_t i = 0; i < steps; ++i) loss = step(20 + i);
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf(
      "cpp arch=%s point=%s layers=%zu batch=%lld threads=%d seconds=%.3f samples_per_s=%.1f "
      "loss=%.4f\n",
      arch.c_str(), point.c_str(), down.size() + 1, static_cast<long long>(batch), threads, s,
      static_cast<double>(steps * batch) / s, loss);
  return 0;
}
