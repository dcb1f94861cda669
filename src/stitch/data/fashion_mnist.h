#pragma once
// Fashion-MNIST from Debian's gzipped IDX files, subsets, deterministic batching, augmentation.
#include <cstdint>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>

namespace stitch {

// Debian's dataset-fashion-mnist folder, or $STITCH_FASHION_MNIST_DIR when set (a machine
// without that package, e.g. the GPU machine with the package unpacked under /tmp/deps).
std::string fashion_mnist_default_dir();
inline const std::string kFashionMnistDir = fashion_mnist_default_dir();
inline constexpr double kFashionMnistMean = 0.2860, kFashionMnistStd = 0.3530;

struct Dataset {
  at::Tensor images;  // [N, 1, 28, 28] float32 in [0, 1]
  at::Tensor labels;  // [N] int64
  at::Tensor index;   // [N] int64: row of each sample in the source file (provenance)
  int64_t size() const { return labels.defined() ? labels.size(0) : 0; }
};

// Reads one IDX file (gzip or plain) into a uint8 tensor of the dimensions its header gives,
// only the first max_rows entries along dim 0 when max_rows > 0 (the rest is not decompressed).
// Throws StitchError for a missing or truncated file, a wrong magic number or a non-uint8 type.
at::Tensor idx_read(const std::string& path, int64_t max_rows = 0);

// Loads images + labels of one split ("train" or "test") from `dir` (the first max_rows when
// max_rows > 0) and checks that the counts match and labels are 0..9.
Dataset fashion_mnist_load(const std::string& split, const std::string& dir = kFashionMnistDir,
                           int64_t max_rows = 0);

Dataset dataset_first(const Dataset& d, int64_t n);  // the first n samples (all if n <= 0)
// The first n samples of every class (classes 0..num_classes-1), in file order.
Dataset dataset_per_class(const Dataset& d, int64_t n_per_class, int64_t num_classes = 10);
Dataset dataset_select(const Dataset& d, const at::Tensor& rows);  // rows: [M] int64

// (images - mean) / std, for models that do not normalise inside (ours do).
at::Tensor images_normalize(const at::Tensor& images, double mean, double std);

struct AugmentOptions {
  int64_t crop_padding = 0;  // random crop back to H x W after zero padding (0 = off)
  bool hflip = false;        // random horizontal flip with p = 0.5
};

// Applies augmentation to a batch [B, C, H, W] with a generator seeded from `seed`.
at::Tensor images_augment(const at::Tensor& images, const AugmentOptions& opt, uint64_t seed);

// Deterministic shuffled mini-batches: the order of epoch e depends only on (seed, e).
class Batcher {
 public:
  Batcher(const Dataset& data, int64_t batch_size, uint64_t seed, bool shuffle = true,
          bool drop_last = false);
  int64_t batches_per_epoch() const;
  void epoch_begin(int64_t epoch);         // reshuffles for this epoch
  at::Tensor batch_rows(int64_t b) const;  // [B] rows of `data` in batch b of this epoch
  Dataset batch(int64_t b) const;          // images/labels of batch b of this epoch

 private:
  const Dataset& data_;
  int64_t batch_size_;
  uint64_t seed_;
  bool shuffle_, drop_last_;
  std::vector<int64_t> order_;
};

// Fisher-Yates permutation of 0..n-1 from a 64-bit seed (same on every platform and torch version).
std::vector<int64_t> permutation(int64_t n, uint64_t seed);

}  // namespace stitch
