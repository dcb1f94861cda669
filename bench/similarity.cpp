// Similarity metrics on large activations in C++: time and peak memory for one metric on
// X, Y [n, p] (float32, torch::manual_seed(0); Y = 0.6 X + 0.8 noise, so the value is known to
// be far from 0 and 1). bench/similarity.py does the same in Python with torch;
// bench/similarity.sh runs each metric in its own process and prints the ratios.
// Usage: bench_similarity METRIC [n] [p] [threads]   METRIC: linear_cka|unbiased_cka|mutual_knn
#include <torch/torch.h>

#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <string>

#include "stitch/metrics/similarity.h"
#include "stitch/util/device.h"

using namespace stitch;

namespace {
double peak_mb() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_maxrss) / 1024.0;  // Linux: kilobytes
}
}  // namespace

int main(int argc, char** argv) {
  const std::string metric = argc > 1 ? argv[1] : "linear_cka";
  const int64_t n = argc > 2 ? std::stoll(argv[2]) : 10000,
                p = argc > 3 ? std::stoll(argv[3]) : 4096;
  threads_set(argc > 4 ? std::stoi(argv[4]) : 2);
  torch::manual_seed(0);
  const at::Tensor x = torch::randn({n, p});
  const at::Tensor y = 0.6 * x + 0.8 * torch::randn({n, p});
  const double data_mb = peak_mb();
  const auto t0 = std::chrono::steady_clock::now();
  double v = 0;
  if (metric == "linear_cka")
    v = linear_cka(x, y);
  else if (metric == "unbiased_cka")
    v = unbiased_cka(x, y);
  else if (metric == "mutual_knn")
    v = mutual_knn(x, y, 10);
  else {
    std::fprintf(stderr, "unknown metric '%s'; use linear_cka, unbiased_cka or mutual_knn\n",
                 metric.c_str());
    return 2;
  }
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("cpp    %-13s n=%lld p=%lld value=%.8f seconds=%.2f peak_mb=%.0f data_mb=%.0f\n",
              metric.c_str(), static_cast<long long>(n), static_cast<long long>(p), v, s, peak_mb(),
              data_mb);
  return 0;
}
