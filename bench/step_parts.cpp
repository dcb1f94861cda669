// Milliseconds per training step of a live FuLA job, part by part (medians of `reps`): the frozen
// front to the point, the end model's no-grad pass through the downstream points, and the
// stitched tail forward + backward; with the models' segments plain (the cut TorchScript graphs)
// and optimised (StagedModel::set_optimized: frozen, folded, oneDNN / channels-last).
// Usage: bench_step_parts FRONT END POINT [batch] [threads] [reps]
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cstdio>

#include "stitch/data/fashion_mnist.h"
#include "stitch/model/staged_model.h"
#include "stitch/stitchers/stitch_layer.h"
#include "stitch/util/device.h"

using namespace stitch;

template <class F>
double median_ms(int reps, F f) {
  std::vector<double> t;
  for (int r = 0; r < reps + 3; ++r) {
    const auto a = std::chrono::steady_clock::now();
    f();
    const double ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - a).count();
    if (r >= 3) t.push_back(ms);
  }
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

int main(int argc, char** argv) {
  if (argc < 4) {
    std::fprintf(stderr, "usage: bench_step_parts FRONT END POINT [batch] [threads] [reps]\n");
    return 2;
  }
  const std::string point = argv[3];
  const int64_t batch = argc > 4 ? std::stoll(argv[4]) : 128;
  threads_set(argc > 5 ? std::stoi(argv[5]) : 2);
  const int reps = argc > 6 ? std::stoi(argv[6]) : 30;
  StagedModel front = StagedModel::load(argv[1]), end = StagedModel::load(argv[2]);
  front.probe();
  end.probe();
  for (auto* m : {&front, &end})
    for (auto& p : m->parameters()) p.requires_grad_(false);
  std::vector<std::string> names{point};
  for (const auto& p : end.meta().stitch_points)
    if (end.position(p) > end.position(point)) names.push_back(p);
  const Dataset d = dataset_first(fashion_mnist_load("train"), batch);
  StitchLayer T(StitchSpec{front.point(point).shape, end.point(point).shape});
  double total[2] = {0, 0};
  for (bool opt : {false, true}) {
    front.set_optimized(opt);
    end.set_optimized(opt);
    at::Tensor xi;
    std::vector<at::Tensor> clean;
    const double t_front = median_ms(reps, [&] {
      torch::NoGradGuard g;
      xi = front.forward_range(d.images, kInput, point);
    });
    const double t_end = median_ms(reps, [&] {
      torch::NoGradGuard g;
      clean = end.forward_collect(d.images, names);
    });
    const double t_tail = median_ms(reps, [&] {
      std::vector<at::Tensor> st{T->forward(xi)};
      for (size_t k = 1; k < names.size(); ++k)
        st.push_back(end.forward_range(st.back(), names[k - 1], names[k]));
      at::Tensor loss = at::zeros({});
      for (size_t k = 0; k < st.size(); ++k)
        loss = loss + (st[k] - clean[k]).norm() / clean[k].norm();
      loss.backward();
    });
    total[opt] = t_front + t_end + t_tail;
    std::printf("%-9s front %6.2f ms  end %6.2f ms  tail fwd+bwd %6.2f ms  total %6.2f ms\n",
                opt ? "optimised" : "plain", t_front, t_end, t_tail, total[opt]);
  }
  std::printf("plain / optimised: %.2fx\n", total[0] / total[1]);
  return 0;
}
