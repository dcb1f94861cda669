// Random-row reads from the activation store: seconds per training batch of `batch` random rows
// of a [rows, 16, 28, 28] float32 point (a resnet stem map, 50 KB a row) read from disk, against
// the same rows from RAM. Usage: bench_store_read [rows] [batch] [batches]
#include <ATen/ATen.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>

#include "stitch/cache/activation_store.h"

int main(int argc, char** argv) {
  const int64_t rows = argc > 1 ? std::atoll(argv[1]) : 20000;
  const int64_t batch = argc > 2 ? std::atoll(argv[2]) : 128;
  const int64_t batches = argc > 3 ? std::atoll(argv[3]) : 50;
  const std::string root = "/tmp/bench_store_read";
  std::filesystem::remove_all(root);
  stitch::ActivationStore store(root);
  const stitch::StoreEntry e{"bench.pt", std::string(64, 'b'), "train", at::arange(rows, at::kLong),
                             at::zeros({rows}, at::kLong)};
  auto t0 = std::chrono::steady_clock::now();
  store.ensure(e, {"stem"}, {{16, 28, 28}},
               [](int64_t, int64_t n, const std::vector<std::string>&) {
                 return std::vector<at::Tensor>{at::rand({n, 16, 28, 28})};
               });
  const double build = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  for (const int64_t ram : {int64_t{0}, int64_t{1} << 40}) {
    stitch::StoreReader r(store.file(e, "stem"), "stem", ram);
    const at::Tensor perm = at::randperm(rows, at::kLong);
    t0 = std::chrono::steady_clock::now();
    double sum = 0;
    for (int64_t b = 0; b < batches; ++b)
      sum += r.gather(perm.narrow(0, (b * batch) % (rows - batch), batch)).sum().item<double>();
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::printf("%s: %.2f ms per batch of %lld random rows (%.0f MB/s); build %.1f s (%g)\n",
                r.in_memory() ? "ram " : "disk", 1e3 * s / static_cast<double>(batches),
                static_cast<long long>(batch),
                static_cast<double>(batches * batch) * 16 * 28 * 28 * 4 / s / 1e6, build, sum);
  }
  std::filesystem::remove_all(root);
}
