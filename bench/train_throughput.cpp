// Training throughput of the standard cnn recipe in C++ (images/s), for comparison with the
// same loop in Python eager PyTorch (bench/train_throughput.py); bench/train_throughput.sh runs
// both and prints the ratio. Usage: bench_train_throughput [arch] [steps] [batch] [threads]
#include <torch/torch.h>

#include <chrono>
#include <cstdio>
#include <string>

#include "stitch/data/fashion_mnist.h"
#include "stitch/model/model_io.h"
#include "stitch/model/staged_model.h"
#include "stitch/util/device.h"

int main(int argc, char** argv) {
  const std::string arch = argc > 1 ? argv[1] : "cnn";
  const int64_t steps = argc > 2 ? std::stoll(argv[2]) : 200;
  const int64_t batch = argc > 3 ? std::stoll(argv[3]) : 128;
  const int threads = argc > 4 ? std::stoi(argv[4]) : 2;
  stitch::threads_set(threads);
  torch::manual_seed(0);
  const stitch::Dataset train = stitch::fashion_mnist_load("train");
  stitch::StagedModel m = stitch::StagedModel::load(stitch::arch_path(arch));
  stitch::model_reinit(m, 0);
  std::vector<at::Tensor> params = m.parameters();
  torch::optim::SGD opt(
      params, torch::optim::SGDOptions(0.05).momentum(0.9).nesterov(true).weight_decay(5e-4));
  m.train(true);
  stitch::Batcher batcher(train, batch, 0, true, true);
  auto step = [&](int64_t i) {
    stitch::Dataset b = batcher.batch(i % batcher.batches_per_epoch());
    opt.zero_grad();
    at::Tensor loss = torch::nn::functional::cross_entropy(m.forward(b.images), b.labels);
    loss.backward();
    opt.step();
    return loss.item<double>();
  };
  for (int64_t i = 0; i < 20; ++i) step(i);  // warm-up: JIT profiling runs, allocator
  const auto t0 = std::chrono::steady_clock::now();
  double loss = 0;
  for (int64_t i = 0; i < steps; ++i) loss = step(20 + i);
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf(
      "cpp arch=%s batch=%lld threads=%d steps=%lld seconds=%.3f images_per_s=%.1f "
      "final_loss=%.3f\n",
      arch.c_str(), static_cast<long long>(batch), threads, static_cast<long long>(steps), s,
      static_cast<double>(steps * batch) / s, loss);
  return 0;
}
